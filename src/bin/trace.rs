//! `bash tools/dev/native.sh trace <file.gguf> --ids 1,2,3 --out DIR`
//!
//! gguf64's side of the per-op comparison with llama.cpp (`tools/golden/trace_compare.py`; the
//! reference side is `tools/golden/llamacpp_trace.py`): loads the model natively, evaluates the
//! token ids as ONE batch (the scalar kernels, the same arithmetic as the SIMD128 ones), and
//! records every intermediate result the forward pass shows its weight source
//! (`WeightSource::trace`) in order: `DIR/NNNN.f32` (raw little-endian floats, `rows` rows of
//! `width`) and `DIR/index.json` (name, rows, width, file). Names say what the rows are and which
//! tensor made them: `embeddings`, `norm_input:blk.3.ffn_norm.weight`, `norm:blk.3.ffn_norm.weight`,
//! `matmul_input:blk.3.ffn_down.weight`, `matmul:blk.3.attn_q.weight`, `matmul:output.weight`.
//! Bad input exits with status 1 and the error on stderr.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use gguf64::memory::{PlanLimits, Target};
use gguf64::model::{ModelConfig, ModelError, Session, TensorId, TensorView, Trace, WeightSource};
use gguf64::runtime::{PlacedWeights, TensorIndex, native};

const USAGE: &str = "usage: trace <file.gguf> --ids 1,2,3 --out DIR";

struct Args {
    path: String,
    ids: Vec<u32>,
    out: PathBuf,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut path, mut ids, mut out) = (None, None, None);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--ids" => {
                let list = argv.next().ok_or("--ids needs a value")?;
                let parsed = list.split(',').map(|s| s.trim().parse::<u32>().map_err(|e| format!("--ids {s}: {e}")));
                ids = Some(parsed.collect::<Result<Vec<_>, _>>()?);
            }
            "--out" => out = Some(PathBuf::from(argv.next().ok_or("--out needs a value")?)),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if path.is_none() => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let ids: Vec<u32> = ids.ok_or("--ids is required")?;
    if ids.is_empty() {
        return Err("--ids is empty".into());
    }
    Ok(Args { path: path.ok_or("no model file")?, ids, out: out.ok_or("--out is required")? })
}

/// One recorded result.
struct Entry {
    name: String,
    width: usize,
    values: Vec<f32>,
}

/// A weight source that records what the forward pass traces and otherwise passes through.
struct Tracing<W> {
    inner: W,
    entries: RefCell<Vec<Entry>>,
}

impl<W: WeightSource> WeightSource for Tracing<W> {
    fn begin_layer(&mut self, layer: usize) -> Result<(), ModelError> {
        self.inner.begin_layer(layer)
    }

    fn end_layer(&mut self, layer: usize) {
        self.inner.end_layer(layer)
    }

    fn tensor(&self, id: TensorId) -> Result<TensorView<'_>, ModelError> {
        self.inner.tensor(id)
    }

    fn trace(&self, what: Trace, rows: &[f32], width: usize) {
        let name = match what {
            Trace::Embeddings => "embeddings".to_string(),
            Trace::NormInput(id) => format!("norm_input:{}", id.name()),
            Trace::Norm(id) => format!("norm:{}", id.name()),
            Trace::MatmulInput(id) => format!("matmul_input:{}", id.name()),
            Trace::MatmulOutput(id) => format!("matmul:{}", id.name()),
        };
        self.entries.borrow_mut().push(Entry { name, width, values: rows.to_vec() });
    }
}

fn run(args: &Args) -> Result<usize, String> {
    let file = File::open(&args.path).map_err(|e| format!("{}: {e}", args.path))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let limits = PlanLimits::for_target(Target::Wasm64);
    let (mut model, mut storage) = native::load(std::io::BufReader::new(file), len, limits).map_err(|e| e.to_string())?;
    let config = ModelConfig::from_header(model.placed.header()).map_err(|e| e.to_string())?;
    let index = TensorIndex::new(&model.placed, &config).map_err(|e| e.to_string())?;
    let inner = PlacedWeights { model: &mut model, pager: None, index: &index, host: &mut storage };
    let mut w = Tracing { inner, entries: RefCell::new(Vec::new()) };
    let n_ctx = args.ids.len().max(64);
    let mut session = Session::new(&config, n_ctx, args.ids.len()).map_err(|e| e.to_string())?;
    let mut logits = vec![0.0; config.n_vocab];
    session.eval(&mut w, &args.ids, &mut logits).map_err(|e| e.to_string())?;
    write(&args.out, &args.ids, &w.entries.into_inner())
}

fn write(out: &PathBuf, ids: &[u32], entries: &[Entry]) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut index = String::from("{\"side\": \"gguf64 (native, scalar kernels)\", \"ids\": [");
    index.push_str(&ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", "));
    index.push_str("], \"tensors\": [\n");
    for (n, e) in entries.iter().enumerate() {
        let file = format!("{n:04}.f32");
        let bytes: Vec<u8> = e.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(out.join(&file), bytes).map_err(|err| format!("{file}: {err}"))?;
        let sep = if n + 1 < entries.len() { "," } else { "" };
        let rows = e.values.len() / e.width.max(1);
        let _ = writeln!(index, " {{\"name\": \"{}\", \"rows\": {rows}, \"width\": {}, \"file\": \"{file}\"}}{sep}", e.name, e.width);
    }
    index.push_str("]}\n");
    std::fs::write(out.join("index.json"), index).map_err(|e| format!("index.json: {e}"))?;
    Ok(entries.len())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args) {
        Ok(n) => {
            eprintln!("{n} tensors -> {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
