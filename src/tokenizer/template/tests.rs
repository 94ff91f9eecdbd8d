//! Unit tests of the template engine's Python parts against Python's own output (the expected
//! strings were printed by CPython 3 `repr`, `json.dumps`, `str` and `datetime.strftime`), and of
//! the limits that stop hostile templates with a typed error.

use super::python::{Bounded, JsonStyle, float_repr, write_json, write_str};
use super::*;

fn render(source: &str, messages: &[ChatValue]) -> Result<String, ChatTemplateError> {
    let input = ChatInput {
        messages,
        tools: None,
        add_generation_prompt: true,
        bos_token: "<s>",
        eos_token: "</s>",
        now_unix: 1_741_338_245,
    };
    JinjaTemplate::parse(source)?.render(&input)
}

fn user(text: &str) -> Vec<ChatValue> {
    vec![ChatValue::message("user", text)]
}

fn json(value: &ChatValue, style: &JsonStyle) -> String {
    let mut out = Bounded::new(1 << 20);
    write_json(&mut out, &value.to_value(), style, 0).unwrap();
    out.text
}

#[test]
fn float_repr_matches_python() {
    let cases = [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (21.5, "21.5"),
        (0.1, "0.1"),
        (1e-4, "0.0001"),
        (1e-5, "1e-05"),
        (1.5e-5, "1.5e-05"),
        (1e16, "1e+16"),
        (1.2345e16, "1.2345e+16"),
        (123456789012345.6, "123456789012345.6"),
        (1e22, "1e+22"),
        (-2.5e-7, "-2.5e-07"),
        (3e300, "3e+300"),
        (5e-324, "5e-324"),
    ];
    for (x, python) in cases {
        assert_eq!(float_repr(x), python, "repr({x:e})");
    }
}

#[test]
fn json_dumps_matches_python() {
    let value = parse_json(r#"{"a": [1, 2.0, null, true], "é": "x\"\\\n\t\u0001☃😀", "e": [], "f": {}}"#).unwrap();
    assert_eq!(
        json(&value, &JsonStyle::new(false, None, false)),
        "{\"a\": [1, 2.0, null, true], \"é\": \"x\\\"\\\\\\n\\t\\u0001☃😀\", \"e\": [], \"f\": {}}"
    );
    let nested = parse_json(r#"{"a": [1, {"b": null}], "e": [], "f": {}}"#).unwrap();
    assert_eq!(
        json(&nested, &JsonStyle::new(false, Some("  ".into()), false)),
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"e\": [],\n  \"f\": {}\n}"
    );
    let ascii = ChatValue::Map(vec![("é".into(), ChatValue::String("☃😀\u{7f}".into()))]);
    assert_eq!(json(&ascii, &JsonStyle::new(true, None, false)), r#"{"\u00e9": "\u2603\ud83d\ude00\u007f"}"#);
    let mut compact = JsonStyle::new(false, None, true);
    compact.item_separator = ",".into();
    compact.key_separator = ":".into();
    let unsorted = parse_json(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
    assert_eq!(json(&unsorted, &compact), r#"{"a":[1,2],"b":1}"#);
}

#[test]
fn printed_values_match_python_str() {
    let list = parse_json(r#"[1, "a", "it's", null, 2.5, {"k": false}]"#).unwrap();
    let mut out = Bounded::new(1000);
    write_str(&mut out, &list.to_value()).unwrap();
    assert_eq!(out.text, r#"[1, 'a', "it's", None, 2.5, {'k': False}]"#);
    let map = ChatValue::Map(vec![("x".into(), ChatValue::String("a\nb".into()))]);
    let mut out = Bounded::new(1000);
    write_str(&mut out, &map.to_value()).unwrap();
    assert_eq!(out.text, r"{'x': 'a\nb'}");
    assert_eq!(render("{{ none }} {{ true }} {{ 1.0 }} {{ x }}|{{ false|string }}", &[]).unwrap(), "None True 1.0 |False");
}

#[test]
fn strftime_matches_python() {
    let format = "%Y-%m-%d %H:%M:%S|%d %b %Y|%B %d, %Y|%a %A %j %p %I %y|%-d %e|%F %T %D %%";
    let cases = [
        (0, "1970-01-01 00:00:00|01 Jan 1970|January 01, 1970|Thu Thursday 001 AM 12 70|1  1|1970-01-01 00:00:00 01/01/70 %"),
        (1_741_338_245, "2025-03-07 09:04:05|07 Mar 2025|March 07, 2025|Fri Friday 066 AM 09 25|7  7|2025-03-07 09:04:05 03/07/25 %"),
        (951_782_400, "2000-02-29 00:00:00|29 Feb 2000|February 29, 2000|Tue Tuesday 060 AM 12 00|29 29|2000-02-29 00:00:00 02/29/00 %"),
        (-86_400, "1969-12-31 00:00:00|31 Dec 1969|December 31, 1969|Wed Wednesday 365 AM 12 69|31 31|1969-12-31 00:00:00 12/31/69 %"),
        (4_102_444_799, "2099-12-31 23:59:59|31 Dec 2099|December 31, 2099|Thu Thursday 365 PM 11 99|31 31|2099-12-31 23:59:59 12/31/99 %"),
        (1_709_251_199, "2024-02-29 23:59:59|29 Feb 2024|February 29, 2024|Thu Thursday 060 PM 11 24|29 29|2024-02-29 23:59:59 02/29/24 %"),
    ];
    for (unix, python) in cases {
        assert_eq!(CivilTime::from_unix(unix).format(format), python, "at {unix}");
    }
    assert_eq!(render("{{ strftime_now('%d %b %Y') }}", &[]).unwrap(), "07 Mar 2025");
}

#[test]
fn hf_environment() {
    // trim_blocks + lstrip_blocks, loop controls, pycompat methods, raise_exception.
    let t = "  {% for m in messages %}\n{% if loop.index > 1 %}{% break %}{% endif %}[{{ m.content.strip().upper() }}]\n{% endfor %}";
    assert_eq!(render(t, &[ChatValue::message("user", " hi "), ChatValue::message("user", "x")]).unwrap(), "[HI]\n");
    assert_eq!(
        render("{{ raise_exception('roles must alternate') }}", &[]),
        Err(ChatTemplateError::Raised { message: "roles must alternate".into() })
    );
    // transformers' generation tag renders its body.
    assert_eq!(render("a{%- generation -%} b {%- endgeneration -%}c", &[]).unwrap(), "abc");
    assert_eq!(rewrite_generation_tags("{% generations %}{%+ endgeneration %}"), "{% generations %}{%+ endif %}");
    // Python's tests: None is not iterable, a string is a sequence.
    assert_eq!(render("{{ none is iterable }} {{ 'ab' is sequence }} {{ tools is none }}", &[]).unwrap(), "False True True");
}

#[test]
fn syntax_errors_carry_the_line() {
    assert!(matches!(JinjaTemplate::parse("ok\n{% if %}"), Err(ChatTemplateError::Syntax { line: 2, .. })));
    assert!(matches!(render("{{ messages[0].content.nope() }}", &user("x")), Err(ChatTemplateError::Render { line: 1, .. })));
}

// ---- hostile templates: each ends in its typed error (no hang, no huge allocation) ----------

#[test]
fn endless_loop_runs_out_of_fuel() {
    let t = "{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}";
    assert!(matches!(render(t, &[]), Err(ChatTemplateError::OutOfFuel { .. })));
}

#[test]
fn huge_string_multiplication_is_refused() {
    for t in ["{{ 'a' * 10**12 }}", "{% set x = 'ab' * 100000000 %}", "{{ [1] * 10**12 }}"] {
        let e = render(t, &[]).unwrap_err();
        assert!(matches!(e, ChatTemplateError::OutOfFuel { .. } | ChatTemplateError::Render { .. }), "{t}: {e:?}");
    }
}

#[test]
fn doubling_a_string_runs_out_of_fuel() {
    let t = "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}";
    assert!(matches!(render(t, &[]), Err(ChatTemplateError::OutOfFuel { .. })));
    let t = "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s|replace('x', ns.s) %}{% endfor %}";
    assert!(matches!(render(t, &[]), Err(ChatTemplateError::OutOfFuel { .. })));
}

#[test]
fn huge_range_is_refused() {
    assert!(matches!(render("{{ range(10**15)|list|length }}", &[]), Err(ChatTemplateError::Render { .. })));
}

#[test]
fn deep_macro_recursion_is_refused() {
    let t = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    assert_eq!(render(t, &[]), Err(ChatTemplateError::TooDeep { limit: RECURSION_LIMIT }));
}

#[test]
fn deeply_nested_source_is_a_syntax_error() {
    let t = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(JinjaTemplate::parse(&t), Err(ChatTemplateError::Syntax { .. })));
    let t = "{% if true %}".repeat(10_000);
    assert!(matches!(JinjaTemplate::parse(&t), Err(ChatTemplateError::Syntax { .. })));
}

#[test]
fn output_is_capped() {
    // 80 MiB of output from cheap instructions (a 1 MiB message printed 80 times) hits the output
    // cap, and a huge indent string on a deep structure hits tojson's cap.
    let big = ChatValue::String("y".repeat(1 << 20));
    let messages = [ChatValue::Map(vec![("content".into(), big)])];
    let t = "{% for i in range(80) %}{{ messages[0].content }}{% endfor %}";
    assert!(matches!(render(t, &messages), Err(ChatTemplateError::OutputTooLarge { .. })));
    let nested = format!("{}1{}", "[".repeat(20), "]".repeat(20));
    let t = format!("{{{{ {nested}|tojson(indent='x' * 1000000) }}}}");
    assert!(matches!(render(&t, &[]), Err(ChatTemplateError::OutputTooLarge { .. })));
}

#[test]
fn json_text_errors_carry_the_offset() {
    assert_eq!(parse_json("[1, }").unwrap_err().offset, 4);
    assert_eq!(parse_json(&"[".repeat(1000)).unwrap_err().what, "nested too deeply");
    assert_eq!(
        parse_json(r#"[{"role": "user", "content": "\ud83d\ude00 x"}, 1.5, -2]"#).unwrap(),
        ChatValue::List(vec![ChatValue::message("user", "😀 x"), ChatValue::Float(1.5), ChatValue::Int(-2)])
    );
}
