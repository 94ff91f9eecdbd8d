//! `split <model.gguf> --parts N [--out PREFIX]`: cuts a GGUF file into N gguf-split-style parts
//! (`PREFIX-00001-of-0000N.gguf`, …): tensors in header order, in runs of about equal bytes; the
//! first part carries the metadata; every part has `split.no`, `split.count`, `split.tensors.count`.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::process::ExitCode;

use gguf64::gguf::{GgufWriter, Metadata, TensorInfo, TensorSpec, Value, parse_header};

const USAGE: &str = "usage: split <model.gguf> --parts N [--out PREFIX]";
/// Headers larger than this are refused (the parser has its own caps too).
const MAX_HEADER: u64 = 512 << 20;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.starts_with("usage") { 2 } else { 1 })
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (mut input, mut parts, mut out) = (None, None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--parts" => parts = it.next().and_then(|v| v.parse::<usize>().ok()),
            "--out" => out = it.next(),
            _ if input.is_none() && !a.starts_with("--") => input = Some(a),
            _ => return Err(USAGE.to_string()),
        }
    }
    let (input, parts) = match (input, parts) {
        (Some(i), Some(p)) if (1..=99999).contains(&p) => (i, p),
        _ => return Err(USAGE.to_string()),
    };
    let prefix = out.unwrap_or_else(|| input.trim_end_matches(".gguf").to_string());
    let mut file = File::open(&input).map_err(|e| format!("{input}: {e}"))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = vec![0u8; len.min(MAX_HEADER) as usize];
    file.read_exact(&mut head).map_err(|e| e.to_string())?;
    let header = parse_header(&head, Some(len)).map_err(|e| format!("{input}: {e}"))?;
    drop(head);
    for (no, run) in runs(&header.tensors, parts).iter().enumerate() {
        let name = format!("{prefix}-{:05}-of-{parts:05}.gguf", no + 1);
        write_part(&mut file, &header.metadata, header.data_offset, run, no, parts, header.tensors.len(), &name)?;
        eprintln!("split: wrote {name} ({} tensors)", run.len());
    }
    Ok(())
}

/// Tensors in header order, cut into `parts` runs of about equal bytes (none empty if possible).
fn runs(tensors: &[TensorInfo], parts: usize) -> Vec<Vec<&TensorInfo>> {
    let total: u64 = tensors.iter().map(|t| t.n_bytes).sum();
    let mut out: Vec<Vec<&TensorInfo>> = vec![Vec::new(); parts];
    let mut acc = 0u64;
    for (i, t) in tensors.iter().enumerate() {
        let left = tensors.len() - i;
        let mut part = ((acc as u128 * parts as u128) / total.max(1) as u128) as usize;
        // Leave at least one tensor for each later part.
        part = part.min(parts - 1).max(parts.saturating_sub(left));
        out[part].push(t);
        acc += t.n_bytes;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn write_part(src: &mut File, meta: &Metadata, data_offset: u64, run: &[&TensorInfo], no: usize, count: usize, total: usize, name: &str) -> Result<(), String> {
    let mut m = Metadata::new();
    if no == 0 {
        for (k, v) in meta.iter() {
            m.insert(k.to_string(), v.clone()).map_err(|_| format!("duplicate key {k}"))?;
        }
    } else if let Some(v) = meta.get("general.alignment") {
        m.insert("general.alignment".into(), v.clone()).map_err(|_| "duplicate key".to_string())?;
    }
    let put = |m: &mut Metadata, k: &str, v: Value| m.insert(k.into(), v).map_err(|_| format!("{k} is already set"));
    put(&mut m, "split.no", Value::U16(no as u16))?;
    put(&mut m, "split.count", Value::U16(count as u16))?;
    put(&mut m, "split.tensors.count", Value::I32(total as i32))?;
    let specs: Vec<TensorSpec> = run.iter().map(|t| TensorSpec::new(&t.name, &t.dims, t.ggml_type)).collect();
    let out = File::create(name).map_err(|e| format!("{name}: {e}"))?;
    let mut w = GgufWriter::new(BufWriter::with_capacity(8 << 20, out), &m, &specs).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 8 << 20];
    for t in run {
        src.seek(SeekFrom::Start(data_offset + t.offset)).map_err(|e| e.to_string())?;
        w.begin_tensor(&t.name).map_err(|e| e.to_string())?;
        let mut left = t.n_bytes;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            src.read_exact(&mut buf[..n]).map_err(|e| e.to_string())?;
            w.write_data(&buf[..n]).map_err(|e| e.to_string())?;
            left -= n as u64;
        }
        w.end_tensor().map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())?;
    Ok(())
}
