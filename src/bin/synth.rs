//! Writes a synthetic GGUF model of any architecture gguf64 checks (see `gguf64::synth`).
//!
//!   synth --preset tiny --seed 1 --out /tmp/tiny.gguf
//!   synth --preset tiny-qwen3 --seed 1 --out /tmp/qwen3.gguf
//!   synth --arch gemma2 --layers 4 --seed 1 --out /tmp/g2.gguf   (tiny-gemma2 with 4 layers)
//!   synth --preset custom --layers 4 --embd 512 --ff 1024 --heads 8 --vocab 1000 --type q8_0 --out x.gguf
//!
//! The file is written to `<out>.part`, synced, then renamed, so `<out>` is never a half file.
//! Data is generated on a second thread while the first writes, in 8 MB pieces.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

use gguf64::gguf::{GgmlType, GgufWriter};
use gguf64::synth::{Arch, ModelConfig, Preset, QuantPlan, SynthModel};

const USAGE: &str = "\
usage: synth --preset <name> --seed <n> --out <file.gguf> [custom flags]
       synth --arch <arch> --seed <n> --out <file.gguf> [custom flags]
       synth ... --dry-run   (print the layout only, write nothing)

presets: tiny, tiny-llama3, tiny-llama-yarn, tiny-llama-linear, tiny-qwen2, tiny-qwen3,
         tiny-phi3, tiny-gemma2, tiny-gemma3, tiny-smollm3, tiny-granite, tiny-olmo2,
         llama-7b-q4_k,
         llama-13b-q4_k, llama-17g, llama3-8b-q4_k, qwen2.5-7b-q4_k, gemma2-9b-q4_k, custom
archs:   llama, qwen2, qwen3, phi3, gemma2, gemma3, smollm3, granite, olmo2 (--arch a starts from preset tiny-a, or tiny
         for llama; --preset custom starts from tiny)
custom flags (only with --preset custom or --arch; --type also with a named preset):
  --layers <n> --embd <n> --ff <n> --heads <n> --kv-heads <n> --head-dim <n> --vocab <n> --ctx <n>
  --type <f32|f16|q4_0|q5_0|q8_0|q4_k|q6_k|iq4_nl|iq4_xs|q4_k_m|mixed|varied>
  --name <general.name>";

/// Target bytes per generated piece.
const PIECE_BYTES: u64 = 8 << 20;
/// Pieces in flight between the generator thread and the writer.
const PIECES_IN_FLIGHT: usize = 4;

struct Args {
    config: ModelConfig,
    seed: u64,
    /// `None` for a dry run.
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(args) => args,
        Err(msg) if msg == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("synth: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---- arguments ---------------------------------------------------------------------------------

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let (mut preset, mut arch) = (None, None);
    let (mut seed, mut out, mut dry_run) = (None, None, false);
    let mut custom: Vec<(&str, &str)> = Vec::new();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err("help".into());
        }
        if flag == "--dry-run" {
            dry_run = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--preset" => preset = Some(value.as_str()),
            "--arch" => {
                arch = Some(Arch::from_name(value).ok_or_else(|| format!("unknown arch {value}"))?)
            }
            "--seed" => {
                seed = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("bad --seed {value}"))?,
                )
            }
            "--out" => out = Some(PathBuf::from(value)),
            "--layers" | "--embd" | "--ff" | "--heads" | "--kv-heads" | "--head-dim"
            | "--vocab" | "--ctx" | "--type" | "--name" => custom.push((flag, value)),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let preset = match (preset, arch) {
        (Some(_), Some(_)) => return Err("--arch and --preset exclude each other".into()),
        (None, None) => return Err("--preset or --arch is required".into()),
        (Some(p), None) => p,
        (None, Some(_)) => "custom",
    };
    let seed = seed.ok_or("--seed is required")?;
    if out.is_none() && !dry_run {
        return Err("--out is required".into());
    }
    let out = if dry_run { None } else { out };
    let config = if preset == "custom" {
        custom_config(arch_base(arch), &custom)?
    } else {
        let p = Preset::from_name(preset).ok_or_else(|| format!("unknown preset {preset}"))?;
        let mut c = p.config();
        for &(flag, value) in &custom {
            // A preset keeps its shape; only its tensor types may change.
            if flag != "--type" {
                return Err(format!("{flag} needs --preset custom or --arch"));
            }
            c.quant = parse_plan(value).ok_or_else(|| format!("bad --type {value}"))?;
        }
        c
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(Args { config, seed, out })
}

/// The preset a custom shape starts from: the architecture's small preset.
fn arch_base(arch: Option<Arch>) -> Preset {
    let name = match arch {
        None | Some(Arch::Llama) => "tiny".to_owned(),
        Some(a) => format!("tiny-{}", a.name()),
    };
    Preset::from_name(&name).unwrap_or(Preset::Tiny)
}

fn custom_config(base: Preset, flags: &[(&str, &str)]) -> Result<ModelConfig, String> {
    let mut c = base.config();
    c.name = "synth-custom".into();
    for &(flag, value) in flags {
        let num = || {
            value
                .parse::<u32>()
                .map_err(|_| format!("bad {flag} {value}"))
        };
        match flag {
            "--layers" => c.n_layer = num()?,
            "--embd" => c.n_embd = num()?.into(),
            "--ff" => c.n_ff = num()?.into(),
            "--heads" => c.n_head = num()?,
            "--kv-heads" => c.n_head_kv = num()?,
            "--vocab" => c.n_vocab = num()?,
            "--ctx" => c.n_ctx = num()?,
            "--head-dim" => c.head_dim = Some(num()?.into()),
            "--name" => c.name = value.to_owned(),
            _ => c.quant = parse_plan(value).ok_or_else(|| format!("bad --type {value}"))?,
        }
    }
    Ok(c)
}

fn parse_plan(s: &str) -> Option<QuantPlan> {
    Some(match s.to_ascii_lowercase().as_str() {
        "f32" => QuantPlan::Uniform(GgmlType::F32),
        "f16" => QuantPlan::Uniform(GgmlType::F16),
        "q4_0" => QuantPlan::Uniform(GgmlType::Q4_0),
        "q5_0" => QuantPlan::Uniform(GgmlType::Q5_0),
        "q8_0" => QuantPlan::Uniform(GgmlType::Q8_0),
        "q4_k" => QuantPlan::Uniform(GgmlType::Q4_K),
        "q6_k" => QuantPlan::Uniform(GgmlType::Q6_K),
        "iq4_nl" => QuantPlan::Uniform(GgmlType::IQ4_NL),
        "iq4_xs" => QuantPlan::Uniform(GgmlType::IQ4_XS),
        "q4_k_m" => QuantPlan::Q4KMedium,
        "mixed" => QuantPlan::Mixed,
        "varied" => QuantPlan::Varied,
        _ => return None,
    })
}

// ---- writing -----------------------------------------------------------------------------------

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let model = SynthModel::new(&args.config, args.seed)?;
    let layout = model.layout()?;
    let (file_len, n_tensors) = (layout.file_len, layout.tensors.len());
    let Some(out) = &args.out else {
        print_plan(&args.config, &layout);
        return Ok(());
    };
    let part = part_path(out);
    let start = Instant::now();
    let result = write_file(&model, layout, &part);
    if let Err(e) = result {
        let _ = fs::remove_file(&part);
        return Err(e);
    }
    fs::rename(&part, out)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "synth: wrote {} ({}): {file_len} bytes, {n_tensors} tensors, {secs:.2} s, {:.0} MB/s",
        out.display(),
        args.config.name,
        file_len as f64 / 1e6 / secs.max(1e-9),
    );
    Ok(())
}

/// The file size, header size and bytes per tensor type, on stdout.
fn print_plan(config: &ModelConfig, layout: &gguf64::gguf::HeaderLayout) {
    let mut by_type: Vec<(GgmlType, usize, u64)> = Vec::new();
    for t in &layout.tensors {
        match by_type.iter_mut().find(|(ty, _, _)| *ty == t.ggml_type) {
            Some((_, n, bytes)) => (*n, *bytes) = (*n + 1, *bytes + t.n_bytes),
            None => by_type.push((t.ggml_type, 1, t.n_bytes)),
        }
    }
    println!(
        "{}: {} bytes, {} tensors, header {} bytes",
        config.name,
        layout.file_len,
        layout.tensors.len(),
        layout.data_offset
    );
    for (ty, n, bytes) in by_type {
        println!("  {ty}: {n} tensors, {bytes} bytes");
    }
}

fn part_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// One generated piece: tensor index and its bytes.
type Piece = (usize, Vec<u8>);

/// Generates on a scoped thread, writes on this one; recycled buffers bound the memory to
/// `PIECES_IN_FLIGHT + 1` pieces.
fn write_file(
    model: &SynthModel,
    layout: gguf64::gguf::HeaderLayout,
    part: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let file = File::create(part)?;
    let mut w = GgufWriter::with_layout(BufWriter::with_capacity(1 << 20, file), layout)?;
    let total = w.file_len();
    let (tx, rx) = mpsc::sync_channel::<io::Result<Piece>>(PIECES_IN_FLIGHT);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
    let mut next_report = total / 10;
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        s.spawn(move || generate(model, &tx, &recycle_rx));
        let mut current: Option<usize> = None;
        for piece in rx {
            let (index, buf) = piece?;
            if current != Some(index) {
                if current.is_some() {
                    w.end_tensor()?;
                }
                w.begin_tensor(&model.tensors()[index].spec.name)?;
                current = Some(index);
            }
            w.write_data(&buf)?;
            let _ = recycle_tx.send(buf);
            if total >= 256 << 20 && w.bytes_written() >= next_report {
                eprintln!(
                    "synth: {:.0}%",
                    w.bytes_written() as f64 * 100.0 / total as f64
                );
                next_report += total / 10;
            }
        }
        if current.is_some() {
            w.end_tensor()?;
        }
        Ok(())
    })?;
    let file = w.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// Sends every tensor's data in pieces of whole streams, in file order. Stops early if the
/// writer hangs up.
fn generate(
    model: &SynthModel,
    tx: &mpsc::SyncSender<io::Result<Piece>>,
    recycled: &mpsc::Receiver<Vec<u8>>,
) {
    for (index, t) in model.tensors().iter().enumerate() {
        let n_bytes = t
            .spec
            .ggml_type
            .bytes_for(t.spec.dims.iter().product())
            .unwrap_or(0);
        let stream_bytes = model.stream_bytes(index).unwrap_or(1);
        let per_piece = (PIECE_BYTES / stream_bytes).max(1);
        let (mut done, mut stream) = (0u64, 0u64);
        while done < n_bytes {
            let len = (per_piece * stream_bytes).min(n_bytes - done);
            let mut buf = recycled.try_recv().unwrap_or_default();
            buf.resize(len as usize, 0);
            let piece = model
                .fill(index, stream, &mut buf)
                .map(|()| (index, buf))
                .map_err(io::Error::other);
            if tx.send(piece).is_err() {
                return;
            }
            (done, stream) = (done + len, stream + per_piece);
        }
    }
}
