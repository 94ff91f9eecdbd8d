//! `npm run inspect -- <file.gguf> [--json] [--shard-cap BYTES] [--budget BYTES] [--memory-limit BYTES] [--layout KIND] [--target wasm64|wasm32]`
//!
//! Reads only the header of a GGUF file (in bounded memory, never the weights) and prints its
//! metadata, tensor table, model config, size per group and the MemoryPlan. A bad file exits with
//! status 1 and its typed error on stderr.


use std::fs::File;
use std::process::ExitCode;

use gguf64::gguf::{Array, Header, Value, ValueType};
use gguf64::memory::plan::MemoryPlan;
use gguf64::memory::summary::{dominant_type, human_bytes, summary};
use gguf64::memory::{Groups, LayoutKind, PlanLimits, Target};
use gguf64::model::ModelConfig;
use gguf64::report::Json;
use gguf64::runtime::native;

const USAGE: &str = "usage: inspect <file.gguf> [--json] [--shard-cap BYTES] [--budget BYTES] [--memory-limit BYTES] [--working-set LAYERS] [--layout standard|memory64|paged|multi|disk] [--target wasm64|wasm32]";
/// Arrays longer than this are summarised (count, first and last elements).
const ARRAY_PREVIEW: usize = 8;

struct Args {
    path: String,
    json: bool,
    limits: PlanLimits,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut path, mut json) = (None, false);
    let (mut shard_cap, mut budget, mut layout, mut target) = (None, None, None, Target::Wasm64);
    let (mut working_set, mut memory_limit) = (None, None);
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => json = true,
            "--shard-cap" => shard_cap = Some(bytes_arg(&value("--shard-cap")?)?),
            "--budget" => budget = Some(bytes_arg(&value("--budget")?)?),
            "--memory-limit" => memory_limit = Some(bytes_arg(&value("--memory-limit")?)?),
            "--working-set" => working_set = Some(bytes_arg(&value("--working-set")?)? as usize),
            "--layout" => {
                let v = value("--layout")?;
                layout = Some(LayoutKind::from_name(&v).ok_or(format!("unknown layout {v}"))?);
            }
            "--target" => {
                target = match value("--target")?.as_str() {
                    "wasm64" => Target::Wasm64,
                    "wasm32" => Target::Wasm32,
                    other => return Err(format!("unknown target {other}")),
                }
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if path.is_none() => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let mut limits = PlanLimits::for_target(target);
    limits.shard_cap = shard_cap.unwrap_or(limits.shard_cap);
    limits.layer_budget = budget;
    limits.working_set_layers = working_set;
    limits.memory_limit = memory_limit;
    limits.force = layout;
    Ok(Args { path: path.ok_or("no file given")?, json, limits })
}

fn bytes_arg(s: &str) -> Result<u64, String> {
    s.replace('_', "").parse().map_err(|_| format!("{s} is not a byte count"))
}

/// The file's header (the tensor data is never read) and the file's length.
fn read_header(path: &str) -> Result<(Header, u64), String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let file_len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    let header = native::read_header(file, file_len).map_err(|e| format!("{path}: {e}"))?;
    Ok((header, file_len))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (header, file_len) = match read_header(&args.path) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let report = Report::new(&header, file_len, &args.limits);
    if args.json {
        println!("{}", report.json(&args.path));
    } else {
        report.print();
    }
    ExitCode::SUCCESS
}

/// Everything derived from the header; config and plan may fail without hiding the rest.
struct Report<'a> {
    header: &'a Header,
    file_len: u64,
    config: Result<ModelConfig, String>,
    groups: Result<Groups, String>,
    plan: Result<MemoryPlan, String>,
}

impl<'a> Report<'a> {
    fn new(header: &'a Header, file_len: u64, limits: &PlanLimits) -> Self {
        let config = ModelConfig::from_header(header).map_err(|e| e.to_string());
        let groups = Groups::from_header(header).map_err(|e| e.to_string());
        let plan = match &groups {
            Ok(g) => MemoryPlan::new(g, &limits.with_room_for(header)).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        Report { header, file_len, config, groups, plan }
    }

    fn print(&self) {
        let h = self.header;
        println!("GGUF v{} · {} · alignment {} · tensor data at byte {}", h.version, human_bytes(self.file_len), h.alignment, h.data_offset);
        println!("\nMetadata ({} keys):", h.metadata.len());
        for (key, value) in h.metadata.iter() {
            println!("  {key:<44} {}", preview(value));
        }
        println!("\nTensors ({}):", h.tensors.len());
        println!("  {:<36} {:<7} {:<22} {:>12} {:>12}", "name", "type", "shape", "offset", "bytes");
        for t in &h.tensors {
            let shape = format!("{:?}", t.dims);
            println!("  {:<36} {:<7} {:<22} {:>12} {:>12}", t.name, t.ggml_type.name(), shape, t.offset, t.n_bytes);
        }
        match &self.config {
            Ok(c) => println!("\nConfig: {c:?}"),
            Err(e) => println!("\nConfig: unavailable ({e})"),
        }
        if let Ok(g) = &self.groups {
            println!("\nSize by group:");
            for group in &g.groups {
                println!("  {:<14} {:>10}  ({} tensors)", group.id.to_string(), human_bytes(group.bytes), group.tensors.len());
            }
            println!("  {:<14} {:>10}", "total", human_bytes(g.total_bytes()));
        }
        match &self.plan {
            Ok(p) => print!("\n{}", summary(p, self.config.as_ref().ok(), dominant_type(&self.header.tensors))),
            Err(e) => println!("\nMemory plan: unavailable ({e})"),
        }
    }

    fn json(&self, path: &str) -> Json {
        let h = self.header;
        let metadata = h.metadata.iter().map(|(k, v)| (k.to_string(), value_json(v))).collect();
        let tensors = h.tensors.iter().map(|t| {
            Json::Obj(vec![
                ("name", t.name.as_str().into()),
                ("type", t.ggml_type.name().into()),
                ("shape", Json::Arr(t.dims.iter().map(|&d| d.into()).collect())),
                ("offset", t.offset.into()),
                ("n_bytes", t.n_bytes.into()),
            ])
        });
        Json::Obj(vec![
            ("file", path.into()),
            ("file_bytes", self.file_len.into()),
            ("version", u64::from(h.version).into()),
            ("alignment", h.alignment.into()),
            ("data_offset", h.data_offset.into()),
            ("metadata", Json::Map(metadata)),
            ("tensors", Json::Arr(tensors.collect())),
            ("config", self.config.as_ref().map_or_else(|e| error_json(e), config_json)),
            ("plan", self.plan.as_ref().map_or_else(|e| error_json(e), plan_json)),
        ])
    }
}

fn error_json(e: &str) -> Json {
    Json::Obj(vec![("error", e.into())])
}

fn config_json(c: &ModelConfig) -> Json {
    let f = |x: f32| Json::Float(f64::from(x));
    Json::Obj(vec![
        ("arch", c.arch.name().into()),
        ("n_layers", c.n_layers.into()),
        ("n_embd", c.n_embd.into()),
        ("n_heads", c.n_heads.into()),
        ("n_kv_heads", c.n_kv_heads.into()),
        ("head_dim", c.head_dim.into()),
        ("n_ff", c.n_ff.into()),
        ("n_vocab", c.n_vocab.into()),
        ("n_ctx_train", c.n_ctx_train.into()),
        ("norm_eps", f(c.norm_eps)),
        ("rope_base", f(c.rope_base)),
        ("rope_base_local", f(c.rope_base_local)),
        ("rope_dims", c.rope_dims.into()),
        ("sliding_window", c.sliding_window.into()),
        ("tied_embeddings", Json::Bool(c.tied_embeddings)),
        ("qkv_bias", Json::Bool(c.qkv_bias)),
        ("qk_norm", Json::Bool(c.qk_norm)),
    ])
}

fn plan_json(p: &MemoryPlan) -> Json {
    let memories = p.memories.iter().map(|m| {
        let groups = p.groups_in(m.index).map(|g| {
            Json::Obj(vec![("group", g.id.to_string().as_str().into()), ("offset", g.home.offset.into()), ("bytes", g.bytes.into())])
        });
        Json::Obj(vec![("index", u64::from(m.index).into()), ("bytes", m.bytes.into()), ("groups", Json::Arr(groups.collect()))])
    });
    let ws = p.working_set.map_or(Json::Null, |w| {
        Json::Obj(vec![("slots", w.slots.into()), ("slot_bytes", w.slot_bytes.into()), ("offset", w.offset.into())])
    });
    Json::Obj(vec![
        ("kind", p.kind.name().into()),
        ("model_bytes", p.model_bytes.into()),
        ("memories", Json::Arr(memories.collect())),
        ("working_set", ws),
    ])
}

/// Type names as Python `gguf` spells them (`UINT32`, `STRING`, …).
fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::U8 => "UINT8",
        ValueType::I8 => "INT8",
        ValueType::U16 => "UINT16",
        ValueType::I16 => "INT16",
        ValueType::U32 => "UINT32",
        ValueType::I32 => "INT32",
        ValueType::U64 => "UINT64",
        ValueType::I64 => "INT64",
        ValueType::F32 => "FLOAT32",
        ValueType::F64 => "FLOAT64",
        ValueType::Bool => "BOOL",
        ValueType::String => "STRING",
        ValueType::Array => "ARRAY",
    }
}

fn scalar_json(v: &Value) -> Json {
    match v {
        Value::F32(x) => Json::Float(f64::from(*x)),
        Value::F64(x) => Json::Float(*x),
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => array_json(a),
        other => other.as_i64().map(|n| Json::Int(n.into())).or(other.as_u64().map(Json::from)).unwrap_or(Json::Null),
    }
}

/// `{ type, value }`; arrays as `{ type: "ARRAY", elem_type, count, values }` with long ones cut
/// to their first and last elements (`truncated: true`).
fn value_json(v: &Value) -> Json {
    match v {
        Value::Array(a) => array_json(a),
        _ => Json::Obj(vec![("type", type_name(v.value_type()).into()), ("value", scalar_json(v))]),
    }
}

fn array_json(a: &Array) -> Json {
    let n = a.len();
    let indices: Vec<usize> = if n <= ARRAY_PREVIEW { (0..n).collect() } else { (0..3).chain(n - 3..n).collect() };
    let values = indices.iter().map(|&i| element(a, i).map_or(Json::Null, |v| scalar_json(&v))).collect();
    Json::Obj(vec![
        ("type", "ARRAY".into()),
        ("elem_type", type_name(a.elem_type()).into()),
        ("count", n.into()),
        ("truncated", Json::Bool(n > ARRAY_PREVIEW)),
        ("values", Json::Arr(values)),
    ])
}

/// Element `i` as a standalone value.
fn element(a: &Array, i: usize) -> Option<Value> {
    Some(match a {
        Array::U8(v) => Value::U8(*v.get(i)?),
        Array::I8(v) => Value::I8(*v.get(i)?),
        Array::U16(v) => Value::U16(*v.get(i)?),
        Array::I16(v) => Value::I16(*v.get(i)?),
        Array::U32(v) => Value::U32(*v.get(i)?),
        Array::I32(v) => Value::I32(*v.get(i)?),
        Array::U64(v) => Value::U64(*v.get(i)?),
        Array::I64(v) => Value::I64(*v.get(i)?),
        Array::F32(v) => Value::F32(*v.get(i)?),
        Array::F64(v) => Value::F64(*v.get(i)?),
        Array::Bool(v) => Value::Bool(*v.get(i)?),
        Array::String(v) => Value::String(v.get(i)?.to_string()),
        Array::Array(v) => Value::Array(v.get(i)?.clone()),
    })
}

/// One line: scalars in full, strings cut at 60 characters, arrays summarised.
fn preview(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > 60 => format!("{:?}… ({} bytes)", s.chars().take(60).collect::<String>(), s.len()),
        Value::Array(a) => {
            let n = a.len();
            let shown: Vec<String> = (0..n.min(3)).filter_map(|i| element(a, i)).map(|e| preview(&e)).collect();
            let more = if n > 3 { ", …" } else { "" };
            format!("[{n} × {}] [{}{more}]", type_name(a.elem_type()), shown.join(", "))
        }
        Value::String(s) => format!("{s:?}"),
        other => match scalar_json(other) {
            Json::Null => "?".to_string(),
            j => j.to_string(),
        },
    }
}
