#!/usr/bin/env python3
"""Chat-template expectations for tests/tokenizer_llamacpp.rs, rendered with Python jinja2.

Usage: tools/golden/chat_golden.py            (both test models -> tests/golden/llamacpp/<model>.chat.json)
       tools/golden/chat_golden.py <model.gguf> <out.json>

Each conversation below is rendered from the model's own `tokenizer.chat_template` the way
Hugging Face transformers renders it (jinja2 ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, `raise_exception` raising TemplateError), with `bos_token`/`eos_token` set to the
text of the model's BOS/EOS tokens.

gemma-3-270m-q4_k_m.gguf carries no `tokenizer.chat_template`. For such a Gemma file the script
renders Gemma 3's published instruction template (google/gemma-3-*-it tokenizer_config.json,
`GEMMA3_TEMPLATE` below, text parts only; it starts with `{{ bos_token }}`) and records that in
`template_source`.

Output per case: `messages`, `add_generation_prompt`, and either `rendered` (the jinja2 text) and
`prompt_text` (what gets tokenized: `rendered` without a leading BOS string when the model adds a
BOS token itself, as llama.cpp's common/chat.cpp does) or `error` (the template raised).
"""

import json
import os
import sys

from gguf import GGUFReader
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODELS = ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-q4_k_m"]

# Gemma 3's instruction-tuned chat template, as published with google/gemma-3-*-it (the string
# parts; the image branch is kept, it is not exercised here).
GEMMA3_TEMPLATE = r"""{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""


def msg(role, content):
    return {"role": role, "content": content}


def conversations():
    """(name, messages, add_generation_prompt) for every model."""
    with open(os.path.join(ROOT, "tests/golden/llamacpp/prompts.json"), encoding="utf-8") as f:
        prompts = json.load(f)["prompts"]
    cases = [(f"prompts.{p['name']}", p["messages"], True) for p in prompts if "messages" in p]
    cases += [
        ("user_only", [msg("user", "Hello! Who are you?")], True),
        ("system_user", [msg("system", "You are a terse assistant."), msg("user", "Name three colours.")], True),
        ("multi_turn", [msg("user", "Hi"), msg("assistant", "Hello! How can I help?"),
                        msg("user", "Tell me a joke about cats.")], True),
        ("system_multi_turn", [msg("system", "Answer in French."), msg("user", "What is 2+2?"),
                               msg("assistant", "Quatre."), msg("user", "And 3+3?")], True),
        ("no_generation_prompt", [msg("user", "Say nothing."), msg("assistant", "...")], False),
        ("whitespace_content", [msg("system", "  Be brief.\n"), msg("user", "\n  Spaces around me.  \n")], True),
        ("unicode_content", [msg("user", "Привет, 世界! 👋🏽 café <b>bold</b>")], True),
        ("special_text_in_content", [msg("user", "What does <|im_end|> or <end_of_turn> mean?")], True),
        ("empty_content", [msg("user", "")], True),
        ("system_only", [msg("system", "Only a system message.")], True),
        ("two_users_in_a_row", [msg("user", "First."), msg("user", "Second.")], True),
        ("starts_with_assistant", [msg("assistant", "I speak first."), msg("user", "Fine.")], True),
    ]
    return cases


def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def render(env, template, messages, add_generation_prompt, bos, eos):
    try:
        return {"rendered": env.from_string(template).render(
            messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos)}
    except TemplateError as e:
        return {"error": str(e)}


def golden(model_path):
    reader = GGUFReader(model_path)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    token_text = lambda i: bytes(tokens.parts[tokens.data[i]]).decode("utf-8")
    bos_id, eos_id = field(reader, "tokenizer.ggml.bos_token_id"), field(reader, "tokenizer.ggml.eos_token_id")
    bos = token_text(bos_id) if bos_id is not None else ""
    eos = token_text(eos_id) if eos_id is not None else ""
    add_bos = bool(field(reader, "tokenizer.ggml.add_bos_token"))
    template = field(reader, "tokenizer.chat_template")
    arch = field(reader, "general.architecture")
    if template is not None:
        source = "file: tokenizer.chat_template"
    elif arch in ("gemma", "gemma2", "gemma3"):
        template, source = GEMMA3_TEMPLATE, "none in file; Gemma 3's published template (google/gemma-3-*-it)"
    else:
        raise SystemExit(f"{model_path}: no chat template")

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    cases = []
    for name, messages, add_gen in conversations():
        case = {"name": name, "messages": messages, "add_generation_prompt": add_gen}
        case.update(render(env, template, messages, add_gen, bos, eos))
        if "rendered" in case:
            text = case["rendered"]
            case["prompt_text"] = text[len(bos):] if add_bos and bos and text.startswith(bos) else text
        cases.append(case)
    return {
        "about": "Chat templates rendered by Python jinja2 (tools/golden/chat_golden.py); prompt_text drops a leading "
                 "BOS string when the model adds BOS itself (llama.cpp common/chat.cpp).",
        "template_source": source,
        "template": template,
        "bos_token": bos,
        "eos_token": eos,
        "add_bos": add_bos,
        "cases": cases,
    }


def write(value, path):
    lines = [json.dumps({k: v for k, v in value.items() if k != "cases"}, ensure_ascii=False, indent=1)[:-2] + ","]
    lines.append(' "cases": [')
    body = [json.dumps(c, ensure_ascii=False) for c in value["cases"]]
    lines.append(",\n".join("  " + b for b in body))
    lines.append(" ]\n}\n")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))
    json.load(open(path, encoding="utf-8"))  # the hand-joined layout is valid JSON


def main(argv):
    if len(argv) == 2:
        write(golden(argv[0]), argv[1])
        return
    if argv:
        raise SystemExit(__doc__)
    for stem in MODELS:
        out = os.path.join(ROOT, f"tests/golden/llamacpp/{stem}.chat.json")
        write(golden(os.path.join(ROOT, f"models/{stem}.gguf")), out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
