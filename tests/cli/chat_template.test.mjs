// `npm run chat-template`: gguf64's Jinja engine on llama.cpp's real templates must print the text
// Python jinja2 rendered, set up as Hugging Face transformers (tests/golden/chat_templates.json,
// tools/golden/chat_template_golden.py), as one JSON string; a template that raises exits 1 with
// its message. Templates that call strftime_now are left out: the tool renders today's date.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPLATES = path.join(ROOT, 'models/llama.cpp-templates');
const required = !!process.env.GGUF64_REQUIRE_MODELS && process.env.GGUF64_REQUIRE_MODELS !== '0';
const native = (...args) => run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'chat_template', ...args], { cwd: ROOT, maxBuffer: 64 << 20 });

const CASES = [
  ['Qwen-Qwen2.5-7B-Instruct.jinja', 'tool_call'],
  ['Qwen-Qwen2.5-7B-Instruct.jinja', 'unicode_and_whitespace'],
  ['google-gemma-2-2b-it.jinja', 'user_only'],
  ['mistralai-Mistral-Nemo-Instruct-2407.jinja', 'system_user_assistant_user_no_prompt'],
];

let dir;
let golden;
before(async () => {
  if (!existsSync(TEMPLATES) && required) throw new Error(`${TEMPLATES} is absent: run tools/dev/fetch-models.sh templates`);
  dir = await mkdtemp(path.join(os.tmpdir(), 'gguf64-chat-'));
  golden = JSON.parse(await readFile(path.join(ROOT, 'tests/golden/chat_templates.json'), 'utf8'));
});
after(() => dir && rm(dir, { recursive: true, force: true }));

/** The CLI's arguments for one golden conversation. */
async function argsFor(file, name) {
  const conversation = golden.conversations.find((c) => c.name === name);
  const messages = path.join(dir, `${name}.messages.json`);
  await writeFile(messages, JSON.stringify(conversation.messages));
  const args = ['--template', path.join(TEMPLATES, file), '--messages', messages, '--bos', golden.bos_token, '--eos', golden.eos_token];
  if (conversation.tools) {
    const tools = path.join(dir, `${name}.tools.json`);
    await writeFile(tools, JSON.stringify(conversation.tools));
    args.push('--tools', tools);
  }
  if (conversation.add_generation_prompt) args.push('--add-generation-prompt');
  return args;
}

const result = (file, name) => golden.templates.find((t) => t.file === file).results.find((r) => r.conversation === name);

test('renders real templates as Python jinja2 does', { skip: !existsSync(TEMPLATES) && 'models/llama.cpp-templates is absent' }, async () => {
  for (const [file, name] of CASES) {
    const want = result(file, name);
    assert.ok('rendered' in want, `${file} / ${name} rendered in Python`);
    const { stdout } = await native(...(await argsFor(file, name)));
    assert.equal(JSON.parse(stdout), want.rendered, `${file} / ${name}`);
  }
});

test('a template that raises exits 1 with its message', { skip: !existsSync(TEMPLATES) && 'models/llama.cpp-templates is absent' }, async () => {
  const file = 'google-gemma-2-2b-it.jinja';
  assert.match(result(file, 'system_user_assistant_user').error, /System role not supported/);
  const failed = await native(...(await argsFor(file, 'system_user_assistant_user'))).then(() => null, (e) => e);
  assert.equal(failed?.code, 1);
  assert.match(failed.stderr, /System role not supported/);
});
