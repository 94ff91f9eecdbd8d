//! Times native header parsing for `tools/bench/parse.mjs` (a benchmark, not a test).
//!
//!   parse_bench <file.gguf> [--runs N] [--warmup N] [--prefix-mb N]
//!
//! Reads the first `--prefix-mb` MB of the file into memory once (default 8: the browser
//! benchmark parses the same prefix), parses the header (metadata and tensor infos, with the
//! real file length, so the layout checks run too) `--warmup` times untimed, then `--runs`
//! times, and prints one JSON line: per-run milliseconds and what was parsed.

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

use gguf64::gguf::{Header, parse_header};

const USAGE: &str = "usage: parse_bench <file.gguf> [--runs N] [--warmup N] [--prefix-mb N]";

struct Args {
    path: String,
    runs: usize,
    warmup: usize,
    prefix_bytes: u64,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&argv).and_then(|args| run(&args)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("parse_bench: {msg}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut args = Args { path: String::new(), runs: 10, warmup: 2, prefix_bytes: 8 << 20 };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = it.next().ok_or(format!("{name} needs a value"))?;
            value.parse().map_err(|_| format!("{name}: not a whole number: {value}"))
        };
        match arg.as_str() {
            "--runs" => args.runs = number("--runs")?.max(1) as usize,
            "--warmup" => args.warmup = number("--warmup")? as usize,
            "--prefix-mb" => args.prefix_bytes = number("--prefix-mb")?.saturating_mul(1 << 20),
            _ if arg.starts_with("--") => return Err(format!("unknown flag {arg}")),
            _ if args.path.is_empty() => args.path = arg.clone(),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    if args.path.is_empty() {
        return Err("no file given".into());
    }
    Ok(args)
}

fn run(args: &Args) -> Result<String, String> {
    let file = File::open(&args.path).map_err(|e| format!("{}: {e}", args.path))?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut bytes = Vec::new();
    file.take(args.prefix_bytes)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", args.path))?;
    let parse = || parse_header(&bytes, Some(file_len)).map_err(|e| e.to_string());

    for _ in 0..args.warmup {
        parse()?;
    }
    // Each timed run parses and drops the header, like a `parse()` of the wasm `HeaderBench`.
    let mut runs_ms = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let start = Instant::now();
        drop(parse()?);
        runs_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let header: Header = parse()?;
    let runs: Vec<String> = runs_ms.iter().map(|ms| format!("{ms:.4}")).collect();
    Ok(format!(
        "{{\"runs_ms\":[{}],\"n_tensors\":{},\"n_kv\":{},\"header_bytes\":{},\"prefix_bytes\":{},\"file_len\":{}}}",
        runs.join(","),
        header.tensors.len(),
        header.metadata.len(),
        header.tensor_info_end,
        bytes.len(),
        file_len,
    ))
}
