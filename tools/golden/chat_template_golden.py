#!/usr/bin/env python3
"""Reference renderings of llama.cpp's real chat templates, for tests/chat_templates.rs.

Usage: tools/golden/chat_template_golden.py [TEMPLATES_DIR] [OUT_JSON]
       (defaults: models/llama.cpp-templates, tests/golden/chat_templates.json)

Every `*.jinja` file in TEMPLATES_DIR (llama.cpp's models/templates, extracted by
`tools/dev/fetch-models.sh templates`) is rendered on each conversation in CONVERSATIONS the way
Hugging Face transformers renders a chat template: a jinja2 ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loopcontrols extension and the `{% generation %}` tag, the globals `raise_exception` (raises
TemplateError) and `strftime_now`, and a `tojson` filter that is `json.dumps` with
ensure_ascii=False. The variables are messages, tools, documents, add_generation_prompt, bos_token
and eos_token, as transformers passes them (tools and documents are None unless a conversation
gives tools).

`strftime_now` reads a fixed clock (NOW, recorded in the output as `now_unix`) so that the
rendering is repeatable; gguf64's test renders with the same instant.

Output: {"now_unix", "bos_token", "eos_token", "conversations": [{name, messages, tools,
add_generation_prompt}], "templates": [{"file", "sha256", "results": [{"conversation",
"rendered"} or {"conversation", "error"}]}]}. `error` is the Python exception's type and message
(a template that needs tools, other roles, or rejects the conversation).
"""

import hashlib
import json
import os
import sys
from datetime import datetime, timezone

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NOW = datetime(2025, 3, 7, 9, 4, 5, tzinfo=timezone.utc)
BOS = "<s>"
EOS = "</s>"

SYSTEM = {"role": "system", "content": "You are a terse assistant.\nAnswer in one line."}
USER_1 = {"role": "user", "content": "Hello! What is 2+2?"}
ASSISTANT_1 = {"role": "assistant", "content": "2+2 is 4."}
USER_2 = {"role": "user", "content": "And in French?"}
UNICODE_USER = {
    "role": "user",
    "content": "  Grüße, 世界! 🚀 \"quotes\" 'single' {{ not a tag }} {% raw %} back\\slash\n\nTabs\there\n  ",
}
UNICODE_ASSISTANT = {"role": "assistant", "content": "Ça va — ☃ ✓\n```py\nprint('hi')\n```"}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city (°C).",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Zürich"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    },
}
TOOL_CALL_ASSISTANT = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call12345",
            "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}},
        }
    ],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
               "content": "{\"temp\": 21.5, \"sky\": \"clear\"}"}

PARTS_USER = {"role": "user", "content": [{"type": "text", "text": "Describe this:"},
                                          {"type": "text", "text": " a red kite ✈"}]}
THINKING_ASSISTANT = {"role": "assistant", "reasoning_content": "The user greets; answer briefly.",
                      "content": "<think>\nhmm\n</think>\n\nHi there!"}

CONVERSATIONS = [
    {"name": "system_user_assistant_user", "messages": [SYSTEM, USER_1, ASSISTANT_1, USER_2],
     "add_generation_prompt": True},
    {"name": "system_user_assistant_user_no_prompt", "messages": [SYSTEM, USER_1, ASSISTANT_1, USER_2],
     "add_generation_prompt": False},
    {"name": "user_only", "messages": [USER_1], "add_generation_prompt": True},
    {"name": "user_assistant_closed", "messages": [USER_1, ASSISTANT_1], "add_generation_prompt": False},
    {"name": "unicode_and_whitespace", "messages": [SYSTEM, UNICODE_USER, UNICODE_ASSISTANT, USER_2],
     "add_generation_prompt": True},
    {"name": "tool_call", "messages": [SYSTEM, {"role": "user", "content": "Weather in Zürich?"},
                                       TOOL_CALL_ASSISTANT, TOOL_RESULT],
     "tools": [WEATHER_TOOL], "add_generation_prompt": True},
    {"name": "content_parts", "messages": [PARTS_USER], "add_generation_prompt": True},
    {"name": "reasoning_then_user", "messages": [USER_1, THINKING_ASSISTANT, USER_2],
     "add_generation_prompt": True},
]


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}`, which transformers' AssistantTracker extension
    adds (it marks assistant text for training masks); when rendering, the body is output as is."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def environment():
    """transformers' chat-template environment (facts from its chat_template_utils)."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, conversation):
    try:
        template = env.from_string(source)
        text = template.render(
            messages=conversation["messages"],
            tools=conversation.get("tools"),
            documents=None,
            add_generation_prompt=conversation["add_generation_prompt"],
            bos_token=BOS,
            eos_token=EOS,
        )
        return {"conversation": conversation["name"], "rendered": text}
    except Exception as e:  # the template's own failure is the reference too
        return {"conversation": conversation["name"], "error": f"{type(e).__name__}: {e}"}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "llama.cpp-templates")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "golden", "chat_templates.json")
    env = environment()
    templates = []
    for name in sorted(f for f in os.listdir(src) if f.endswith(".jinja")):
        raw = open(os.path.join(src, name), "rb").read()
        source = raw.decode("utf-8")
        results = [render(env, source, c) for c in CONVERSATIONS]
        templates.append({"file": name, "sha256": hashlib.sha256(raw).hexdigest(), "results": results})
    doc = {
        "generator": "tools/golden/chat_template_golden.py (Python jinja2 %s)" % jinja2.__version__,
        "now_unix": int(NOW.timestamp()),
        "bos_token": BOS,
        "eos_token": EOS,
        "conversations": CONVERSATIONS,
        "templates": templates,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    ok = sum(1 for t in templates for r in t["results"] if "rendered" in r)
    total = sum(len(t["results"]) for t in templates)
    print(f"{len(templates)} templates, {ok}/{total} renderings (the rest raised) -> {out}")


if __name__ == "__main__":
    main()
