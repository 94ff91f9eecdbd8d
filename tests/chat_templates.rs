//! llama.cpp's real chat templates (models/templates/*.jinja of its source, extracted by
//! `tools/dev/fetch-models.sh templates` into models/llama.cpp-templates/) rendered by gguf64 on
//! the conversations of tests/golden/chat_templates.json, which Python jinja2 rendered the way
//! Hugging Face transformers does (tools/golden/chat_template_golden.py). Wherever Python
//! rendered text, gguf64's text must be byte-for-byte the same, with one known exception
//! (`MARKUP_ADD`). Where Python raised (a template that needs tools, rejects a role, uses a
//! mutating method, or adds a string to a list), gguf64 must fail too, except for `LENIENT`:
//! minijinja iterates None as an empty list where Python raises TypeError, and its `map` filter
//! makes a list where Python's makes a generator that `json.dumps` rejects.

#[path = "support/json.rs"]
mod json;
#[path = "support/models.rs"]
mod models;

use std::path::Path;

use gguf64::digest::Sha256;
use gguf64::tokenizer::template::{ChatInput, FUEL_BASE};
use gguf64::tokenizer::{ChatRequest, ChatTemplate, ChatValue};
use json::Json;

const TEMPLATES: &str = "models/llama.cpp-templates";
const GOLDEN: &str = "tests/golden/chat_templates.json";

/// A golden JSON value as a template input.
fn chat_value(j: &Json) -> ChatValue {
    match j {
        Json::Null => ChatValue::Null,
        Json::Bool(b) => ChatValue::Bool(*b),
        Json::Num(n) => match n.parse::<i64>() {
            Ok(i) => ChatValue::Int(i),
            Err(_) => ChatValue::Float(n.parse().expect("a number")),
        },
        Json::Str(s) => ChatValue::String(s.clone()),
        Json::Arr(items) => ChatValue::List(items.iter().map(chat_value).collect()),
        Json::Obj(pairs) => ChatValue::Map(pairs.iter().map(|(k, v)| (k.clone(), chat_value(v))).collect()),
    }
}

/// Renderings that differ by Python's MarkupSafe rule: `"x"|safe + text` HTML-escapes `text`
/// (Markup.__add__), which minijinja's `+` does not do. functionary-v3.1 writes its tool
/// schemas that way, so Python's prompt has `&#34;` for every quote of the tools' JSON.
const MARKUP_ADD: &[(&str, &str)] = &[("meetkai-functionary-medium-v3.1.jinja", "tool_call")];

/// Python errors that gguf64 does not reproduce (it renders instead); see the module comment.
const LENIENT: &[&str] = &["TypeError: 'NoneType' object is not iterable", "TypeError: Object of type generator is not JSON serializable"];

/// MarkupSafe's `escape`.
fn markup_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// Python's text equals ours once the lines that differ are HTML-escaped.
fn differs_only_by_markup_add(python: &str, ours: &str) -> bool {
    let (p, o): (Vec<&str>, Vec<&str>) = (python.split('\n').collect(), ours.split('\n').collect());
    p.len() == o.len() && p.iter().zip(&o).all(|(p, o)| p == o || *p == markup_escape(o)) && python != ours
}

struct Conversation {
    name: String,
    messages: Vec<ChatValue>,
    tools: Option<ChatValue>,
    add_generation_prompt: bool,
}

#[test]
fn llamacpp_templates_render_as_python_jinja2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(TEMPLATES);
    if !dir.is_dir() {
        models::absent(&dir);
        return;
    }
    let golden_text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN)).unwrap();
    let golden = Json::parse(&golden_text);
    let now = golden.get("now_unix").u64() as i64;
    let bos = golden.get("bos_token").str();
    let eos = golden.get("eos_token").str();
    let conversations: Vec<Conversation> = golden
        .get("conversations")
        .items()
        .iter()
        .map(|c| Conversation {
            name: c.get("name").str().to_string(),
            messages: c.get("messages").items().iter().map(chat_value).collect(),
            tools: c.find("tools").map(chat_value),
            add_generation_prompt: c.get("add_generation_prompt").bool(),
        })
        .collect();

    let templates = golden.get("templates").items();
    assert_eq!(templates.len(), 70, "llama.cpp 0c1e5709 ships 70 templates");
    let (mut equal, mut rendered, mut both_failed, mut python_failed, mut markup_add) = (0, 0, 0, 0, 0);
    let mut templates_all_equal = 0;
    let mut max_fuel = (0, "");
    let mut lenient = Vec::new();
    let mut failures = Vec::new();
    for t in templates {
        let file = t.get("file").str();
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut sha = Sha256::new();
        sha.update(&bytes);
        assert_eq!(sha.finish_hex(), t.get("sha256").str(), "{file} is not the file the golden was made from");
        let source = String::from_utf8(bytes).unwrap();
        let template = ChatTemplate::parse(&source);
        let mut all_equal = true;
        for result in t.get("results").items() {
            let name = result.get("conversation").str();
            let c = conversations.iter().find(|c| c.name == name).expect("conversation");
            let request = ChatRequest {
                messages: &c.messages,
                tools: c.tools.as_ref(),
                add_generation_prompt: c.add_generation_prompt,
                template: None,
                now_unix: Some(now),
            };
            let ours = template.clone().and_then(|t| t.render(&request, bos, eos));
            if let Ok(ChatTemplate::Jinja(jinja)) = &template {
                let input = ChatInput {
                    messages: &c.messages,
                    tools: c.tools.as_ref(),
                    add_generation_prompt: c.add_generation_prompt,
                    bos_token: bos,
                    eos_token: eos,
                    now_unix: now,
                };
                if let Ok((_, fuel)) = jinja.render_counting_fuel(&input) {
                    max_fuel = max_fuel.max((fuel, file));
                }
            }
            match (result.find("rendered"), &ours) {
                (Some(want), Ok(got)) if got == want.str() => {
                    rendered += 1;
                    equal += 1;
                }
                (Some(want), Ok(got))
                    if MARKUP_ADD.contains(&(file, name)) && differs_only_by_markup_add(want.str(), got) =>
                {
                    rendered += 1;
                    markup_add += 1;
                }
                (Some(want), _) => {
                    rendered += 1;
                    all_equal = false;
                    failures.push(format!("{file} / {name}: python rendered\n{:?}\ngguf64: {ours:?}", want.str()));
                }
                (None, Err(_)) => {
                    python_failed += 1;
                    both_failed += 1;
                }
                (None, Ok(got)) => {
                    python_failed += 1;
                    all_equal = false;
                    let error = result.get("error").str();
                    lenient.push(format!("{file} / {name} ({error})"));
                    if !LENIENT.contains(&error) {
                        failures.push(format!("{file} / {name}: python raised {error:?}, gguf64 rendered\n{got:?}"));
                    }
                }
            }
        }
        templates_all_equal += usize::from(all_equal);
    }
    eprintln!(
        "{equal}/{rendered} Python renderings equal byte for byte ({markup_add} differ by MarkupSafe's escaping only); \
         gguf64 also fails on {both_failed}/{python_failed} that Python rejects; \
         {templates_all_equal}/{} templates agree on every conversation",
        templates.len()
    );
    assert_eq!(markup_add, MARKUP_ADD.len(), "a known MarkupSafe difference went away: update MARKUP_ADD");
    eprintln!("gguf64 renders where Python raised:\n  {}", lenient.join("\n  "));
    eprintln!("most fuel one rendering used: {} ({})", max_fuel.0, max_fuel.1);
    // The budget leaves a wide margin over the real templates on these short chats.
    assert!(max_fuel.0 < FUEL_BASE / 20, "{max_fuel:?} is too close to the budget of {FUEL_BASE}");
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n\n"));
}
