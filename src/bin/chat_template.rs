//! `npm run chat-template -- --template FILE.jinja --messages FILE.json [--tools FILE.json]
//!  [--add-generation-prompt] [--bos TEXT] [--eos TEXT]`
//!
//! Renders a Jinja chat template the way Hugging Face transformers does (gguf64's engine, the one
//! models use) and prints the text as one JSON string. `--messages` is a JSON array of messages
//! (`{"role": ..., "content": ...}`, plus whatever the template reads, e.g. `tool_calls`);
//! `--tools` a JSON array of tool schemas. `bos_token`/`eos_token` are empty unless given. The
//! text is the template's own: no BOS/EOS is dropped (that depends on a model's tokenizer). A
//! template or input error exits with status 1 and the error on stderr.

use std::process::ExitCode;

use gguf64::report::Json;
use gguf64::tokenizer::template::{ChatInput, ChatValue, JinjaTemplate, now_local_unix, parse_json};

const USAGE: &str = "usage: chat_template --template FILE.jinja --messages FILE.json [--tools FILE.json] \
                     [--add-generation-prompt] [--bos TEXT] [--eos TEXT]";

#[derive(Default)]
struct Args {
    template: String,
    messages: String,
    tools: Option<String>,
    add_generation_prompt: bool,
    bos: String,
    eos: String,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--template" => args.template = value()?,
            "--messages" => args.messages = value()?,
            "--tools" => args.tools = Some(value()?),
            "--bos" => args.bos = value()?,
            "--eos" => args.eos = value()?,
            "--add-generation-prompt" => args.add_generation_prompt = true,
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    if args.template.is_empty() || args.messages.is_empty() {
        return Err("--template and --messages are required".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(text) => {
            println!("{}", Json::Str(text));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let source = read(&args.template)?;
    let template = JinjaTemplate::parse(&source).map_err(|e| format!("{}: {e}", args.template))?;
    let messages = match read_json(&args.messages)? {
        ChatValue::List(items) => items,
        _ => return Err(format!("{}: expected a JSON array of messages", args.messages)),
    };
    let tools = args.tools.as_deref().map(read_json).transpose()?;
    let input = ChatInput {
        messages: &messages,
        tools: tools.as_ref(),
        add_generation_prompt: args.add_generation_prompt,
        bos_token: &args.bos,
        eos_token: &args.eos,
        now_unix: now_local_unix(),
    };
    template.render(&input).map_err(|e| format!("{}: {e}", args.template))
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn read_json(path: &str) -> Result<ChatValue, String> {
    parse_json(&read(path)?).map_err(|e| format!("{path}: {e}"))
}
