//! What differs between architectures in a file: `general.architecture`, the hyper-parameter
//! keys and the tensor list. Facts from llama.cpp (src/llama-arch.cpp for names,
//! src/models/<arch>.cpp `load_arch_hparams` / `load_arch_tensors` for which keys and tensors
//! each one reads, conversion/*.py for what its converter writes).

use super::blocks::Fill;
use super::model::{ModelConfig, Role};
use super::rope::{
    RopeScaling, llama3_factors, longrope_attn_factor, longrope_long_factors,
    longrope_short_factors,
};
use super::vocab::add_spm_vocab;
use crate::gguf::{GgmlType, Metadata, TensorSpec, Value};

/// The architectures the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Llama 1/2/3: separate q/k/v, SwiGLU, untied output.
    Llama,
    /// Qwen2 / Qwen2.5: llama plus biases on q, k and v.
    Qwen2,
    /// Qwen3: llama plus per-head RMS norms of q and k, head size given by `key_length`.
    Qwen3,
    /// Phi-3: fused `attn_qkv`, fused `ffn_up` (gate rows then up rows), LongRoPE factors.
    Phi3,
    /// Gemma 2: post-attention and post-FFN norms, attention and final logit soft-capping,
    /// sliding window on every other layer, output tied to the token embeddings.
    Gemma2,
    /// Gemma 3: Gemma 2's post norms plus q/k norms, a sliding-window layer pattern and a
    /// second RoPE base for the sliding layers; no soft-capping.
    Gemma3,
    /// SmolLM3: llama's tensors and keys; llama.cpp skips RoPE in every fourth layer (NoPE).
    SmolLM3,
    /// Granite (3.x dense): llama's tensors plus four multipliers (`synth::Multipliers`).
    Granite,
    /// OLMo 2: no pre-norms; RMS norms of the whole q and k projections, and after the
    /// attention and the FFN.
    Olmo2,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 9] = [
        Arch::Llama,
        Arch::Qwen2,
        Arch::Qwen3,
        Arch::Phi3,
        Arch::Gemma2,
        Arch::Gemma3,
        Arch::SmolLM3,
        Arch::Granite,
        Arch::Olmo2,
    ];

    /// `general.architecture`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::SmolLM3 => "smollm3",
            Arch::Granite => "granite",
            Arch::Olmo2 => "olmo2",
        }
    }

    /// The architecture called `name`.
    pub fn from_name(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether llama.cpp's loader for this architecture has no `output.weight` (Gemma 2 always
    /// reuses the token embeddings; the others may, and real Gemma 3 files do).
    pub fn tied_output(self) -> bool {
        matches!(self, Arch::Gemma2 | Arch::Gemma3)
    }

    fn is_gemma(self) -> bool {
        matches!(self, Arch::Gemma2 | Arch::Gemma3)
    }

    /// Norms after the attention and the FFN (`post_attention_norm`, `post_ffw_norm`).
    fn post_norms(self) -> bool {
        self.is_gemma() || self == Arch::Olmo2
    }
}

/// The `general.*`, `<arch>.*` and tokenizer keys. For the plain llama config the keys and
/// their order are those of the first (llama-only) version of the generator, so its files are
/// unchanged.
pub fn metadata(c: &ModelConfig) -> Result<Metadata, Value> {
    let mut md = Metadata::new();
    let arch = c.arch.name();
    let s = |v: &str| Value::String(v.to_owned());
    let u32_of = |v: u64| Value::U32(u32::try_from(v).unwrap_or(u32::MAX));
    let put = |md: &mut Metadata, key: &str, v: Value| md.insert(format!("{arch}.{key}"), v);
    md.insert("general.architecture".into(), s(arch))?;
    md.insert("general.name".into(), s(&c.name))?;
    md.insert("general.alignment".into(), Value::U32(32))?;
    md.insert("general.file_type".into(), Value::U32(c.quant.file_type()))?;
    md.insert("general.quantization_version".into(), Value::U32(2))?;
    put(&mut md, "context_length", Value::U32(c.n_ctx))?;
    put(&mut md, "embedding_length", u32_of(c.n_embd))?;
    put(&mut md, "block_count", Value::U32(c.n_layer))?;
    put(&mut md, "feed_forward_length", u32_of(c.n_ff))?;
    put(&mut md, "attention.head_count", Value::U32(c.n_head))?;
    put(&mut md, "attention.head_count_kv", Value::U32(c.n_head_kv))?;
    if c.head_dim.is_some() {
        put(&mut md, "attention.key_length", u32_of(c.head_dim()))?;
        put(&mut md, "attention.value_length", u32_of(c.head_dim()))?;
    }
    put(&mut md, "rope.dimension_count", u32_of(c.head_dim()))?;
    put(&mut md, "rope.freq_base", Value::F32(c.rope_freq_base))?;
    if let Some(base) = c.rope_freq_base_swa {
        put(&mut md, "rope.freq_base_swa", Value::F32(base))?;
    }
    put(
        &mut md,
        "attention.layer_norm_rms_epsilon",
        Value::F32(c.rms_eps),
    )?;
    match c.rope_scaling {
        RopeScaling::None | RopeScaling::Llama3 { .. } => {}
        RopeScaling::Linear { factor } => {
            put(&mut md, "rope.scaling.type", s("linear"))?;
            put(&mut md, "rope.scaling.factor", Value::F32(factor))?;
        }
        RopeScaling::Yarn {
            factor,
            original_ctx,
        } => {
            put(&mut md, "rope.scaling.type", s("yarn"))?;
            put(&mut md, "rope.scaling.factor", Value::F32(factor))?;
            put(
                &mut md,
                "rope.scaling.original_context_length",
                Value::U32(original_ctx),
            )?;
        }
        RopeScaling::LongRope { original_ctx } => {
            put(
                &mut md,
                "rope.scaling.original_context_length",
                Value::U32(original_ctx),
            )?;
            let attn = longrope_attn_factor(c.n_ctx, original_ctx);
            put(&mut md, "rope.scaling.attn_factor", Value::F32(attn))?;
        }
    }
    if let Some(window) = c.sliding_window {
        put(&mut md, "attention.sliding_window", Value::U32(window))?;
    }
    if let Some(pattern) = c.swa_pattern {
        put(
            &mut md,
            "attention.sliding_window_pattern",
            Value::U32(pattern),
        )?;
    }
    if let Some(cap) = c.attn_softcap {
        put(&mut md, "attn_logit_softcapping", Value::F32(cap))?;
    }
    if let Some(cap) = c.final_softcap {
        put(&mut md, "final_logit_softcapping", Value::F32(cap))?;
    }
    if let Some(m) = c.multipliers {
        put(&mut md, "embedding_scale", Value::F32(m.embedding))?;
        put(&mut md, "attention.scale", Value::F32(m.attention))?;
        put(&mut md, "residual_scale", Value::F32(m.residual))?;
        put(&mut md, "logit_scale", Value::F32(m.logit))?;
    }
    if c.arch == Arch::Llama {
        // Only the llama converter writes it.
        md.insert("llama.vocab_size".into(), Value::U32(c.n_vocab))?;
    }
    add_spm_vocab(&mut md, c.n_vocab)?;
    Ok(md)
}

/// What one planned tensor holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Pseudo-random values of this kind, in blocks of the tensor's type.
    Random(Fill),
    /// These F32 values (RoPE factor tensors).
    Fixed(Vec<f32>),
}

/// Every tensor in file order: RoPE factor tensors, token embeddings, each layer, the output
/// norm and (unless tied) the output head.
pub fn tensors(c: &ModelConfig) -> Vec<(TensorSpec, Content)> {
    let plan = Planner { c };
    let mut out = Vec::with_capacity(16 * c.n_layer as usize + 5);
    out.push(plan.matrix(
        "token_embd.weight".into(),
        Role::TokenEmbd,
        0,
        c.n_embd,
        u64::from(c.n_vocab),
    ));
    out.extend(rope_tensors(c));
    for l in 0..c.n_layer {
        layer(&plan, l, &mut out);
    }
    let output_norm = if c.output_gain == 1.0 {
        Fill::Norm
    } else {
        Fill::NormAt {
            level: c.output_gain,
        }
    };
    out.push(plan.vector("output_norm.weight".into(), c.n_embd, output_norm));
    if !c.arch.tied_output() {
        out.push(plan.matrix(
            "output.weight".into(),
            Role::Output,
            0,
            c.n_embd,
            u64::from(c.n_vocab),
        ));
    }
    out
}

/// The global RoPE factor tensors of the config's scaling, if any.
fn rope_tensors(c: &ModelConfig) -> Vec<(TensorSpec, Content)> {
    let f32_tensor = |name: &str, values: Vec<f32>| {
        (
            TensorSpec {
                name: name.into(),
                dims: vec![values.len() as u64],
                ggml_type: GgmlType::F32,
            },
            Content::Fixed(values),
        )
    };
    match c.rope_scaling {
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_ctx,
        } => vec![f32_tensor(
            "rope_freqs.weight",
            llama3_factors(
                c.head_dim(),
                c.rope_freq_base,
                factor,
                low_freq_factor,
                high_freq_factor,
                original_ctx,
            ),
        )],
        RopeScaling::LongRope { original_ctx } => {
            let scale = c.n_ctx as f32 / original_ctx as f32;
            vec![
                f32_tensor(
                    "rope_factors_long.weight",
                    longrope_long_factors(c.head_dim(), scale.max(1.0)),
                ),
                f32_tensor(
                    "rope_factors_short.weight",
                    longrope_short_factors(c.head_dim()),
                ),
            ]
        }
        _ => Vec::new(),
    }
}

/// Layer `l`'s tensors, in the order llama.cpp's converters write them.
fn layer(p: &Planner, l: u32, out: &mut Vec<(TensorSpec, Content)>) {
    let c = p.c;
    let (embd, ff) = (c.n_embd, c.n_ff);
    let (q, kv) = (c.head_dim() * u64::from(c.n_head), c.n_embd_kv());
    let n = |part: &str| format!("blk.{l}.{part}.weight");
    let bias = |part: &str| format!("blk.{l}.{part}.bias");
    if c.arch != Arch::Olmo2 {
        out.push(p.vector(n("attn_norm"), embd, Fill::Norm));
    }
    if c.arch == Arch::Phi3 {
        out.push(p.matrix(n("attn_qkv"), Role::AttnQkv, l, embd, q + 2 * kv));
    } else {
        out.push(p.matrix(n("attn_q"), Role::AttnQ, l, embd, q));
        match c.arch {
            Arch::Qwen2 => out.push(p.vector(bias("attn_q"), q, BIAS)),
            Arch::Qwen3 | Arch::Gemma3 => {
                out.push(p.vector(n("attn_q_norm"), c.head_dim(), Fill::Norm))
            }
            Arch::Olmo2 => out.push(p.vector(n("attn_q_norm"), q, Fill::Norm)),
            _ => {}
        }
        out.push(p.matrix(n("attn_k"), Role::AttnK, l, embd, kv));
        match c.arch {
            Arch::Qwen2 => out.push(p.vector(bias("attn_k"), kv, BIAS)),
            Arch::Qwen3 | Arch::Gemma3 => {
                out.push(p.vector(n("attn_k_norm"), c.head_dim(), Fill::Norm))
            }
            Arch::Olmo2 => out.push(p.vector(n("attn_k_norm"), kv, Fill::Norm)),
            _ => {}
        }
        out.push(p.matrix(n("attn_v"), Role::AttnV, l, embd, kv));
        if c.arch == Arch::Qwen2 {
            out.push(p.vector(bias("attn_v"), kv, BIAS));
        }
    }
    out.push(p.matrix(n("attn_output"), Role::AttnOutput, l, q, embd));
    if c.arch.post_norms() {
        out.push(p.vector(n("post_attention_norm"), embd, Fill::Norm));
    }
    if c.arch != Arch::Olmo2 {
        out.push(p.vector(n("ffn_norm"), embd, Fill::Norm));
    }
    if c.arch == Arch::Phi3 {
        // Gate rows then up rows: llama.cpp splits the 2 * n_ff outputs in that order.
        out.push(p.matrix(n("ffn_up"), Role::FfnUp, l, embd, 2 * ff));
    } else {
        out.push(p.matrix(n("ffn_gate"), Role::FfnGate, l, embd, ff));
        out.push(p.matrix(n("ffn_up"), Role::FfnUp, l, embd, ff));
    }
    out.push(p.matrix(n("ffn_down"), Role::FfnDown, l, ff, embd));
    if c.arch.post_norms() {
        out.push(p.vector(n("post_ffw_norm"), embd, Fill::Norm));
    }
}

/// Biases: centred, spread 0.5, so they shift q, k and v visibly.
const BIAS: Fill = Fill::Weights { sigma: 0.5 };

/// Picks each tensor's type and fill.
struct Planner<'a> {
    c: &'a ModelConfig,
}

impl Planner<'_> {
    /// A weight matrix of `ne0` inputs and `ne1` outputs: the plan's type for its role (F32 if
    /// ne0 is not whole blocks of it), values of spread 1/sqrt(ne0) so unit-variance inputs
    /// give unit-variance outputs.
    fn matrix(&self, name: String, role: Role, layer: u32, ne0: u64, ne1: u64) -> (TensorSpec, Content) {
        let c = self.c;
        // A tied token embedding is also the output head, and is quantized like one.
        let role = if role == Role::TokenEmbd && c.arch.tied_output() {
            Role::TiedEmbd
        } else {
            role
        };
        let planned = c.quant.type_for(role, layer, c.n_layer);
        let ty = if ne0.is_multiple_of(planned.block_size()) {
            planned
        } else {
            GgmlType::F32
        };
        let gain = match role {
            Role::TokenEmbd | Role::TiedEmbd => c.embd_gain,
            _ => 1.0,
        };
        let sigma = gain / (ne0 as f32).sqrt();
        (
            TensorSpec {
                name,
                dims: vec![ne0, ne1],
                ggml_type: ty,
            },
            Content::Random(Fill::Weights { sigma }),
        )
    }

    /// An F32 vector: a norm or a bias.
    fn vector(&self, name: String, len: u64, fill: Fill) -> (TensorSpec, Content) {
        (
            TensorSpec {
                name,
                dims: vec![len],
                ggml_type: GgmlType::F32,
            },
            Content::Random(fill),
        )
    }
}
