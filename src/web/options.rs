//! Options objects from JS, each field checked: a field that is present (not `undefined` or
//! `null`) but of the wrong kind is an `INVALID_ARGUMENT` error, never silently ignored.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use super::error::invalid;
use crate::generate::GenerateOptions;
use crate::memory::{LayoutKind, PlanLimits, Target};
use crate::sample::SamplerConfig;

/// Field `key` of `obj`, unless absent, `undefined` or `null`.
fn field(obj: &JsValue, key: &str) -> Option<JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return None;
    }
    Reflect::get(obj, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn number(obj: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    field(obj, key).map(|v| v.as_f64().ok_or_else(|| invalid(&format!("{key} must be a number")))).transpose()
}

/// A whole number in 0..2^53.
pub fn whole(key: &str, v: f64) -> Result<u64, JsValue> {
    let ok = v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53);
    if ok { Ok(v as u64) } else { Err(invalid(&format!("{key} must be a whole number ≥ 0, got {v}"))) }
}

fn count(obj: &JsValue, key: &str) -> Result<Option<u64>, JsValue> {
    number(obj, key)?.map(|v| whole(key, v)).transpose()
}

fn flag(obj: &JsValue, key: &str) -> Result<Option<bool>, JsValue> {
    field(obj, key).map(|v| v.as_bool().ok_or_else(|| invalid(&format!("{key} must be true or false")))).transpose()
}

/// The plan limits of this build with `{ shardCap, memoryBudget, memoryLimit, layout, workingSetLayers }`.
pub fn plan_limits(obj: &JsValue) -> Result<PlanLimits, JsValue> {
    let target = if cfg!(target_arch = "wasm64") { Target::Wasm64 } else { Target::Wasm32 };
    let mut limits = PlanLimits::for_target(target);
    if let Some(cap) = count(obj, "shardCap")? {
        limits.shard_cap = cap.min(limits.shard_cap);
    }
    limits.layer_budget = count(obj, "memoryBudget")?;
    limits.memory_limit = count(obj, "memoryLimit")?;
    limits.working_set_layers = count(obj, "workingSetLayers")?.map(|n| n as usize);
    limits.force = match field(obj, "layout").map(|v| v.as_string()) {
        None => None,
        Some(Some(name)) if name == "auto" => None,
        Some(Some(name)) => Some(LayoutKind::from_name(&name).ok_or_else(|| invalid(&format!("unknown layout \"{name}\" (auto, standard, memory64, paged, multi, disk)")))?),
        Some(None) => return Err(invalid("layout must be a string")),
    };
    Ok(limits)
}

/// `{ maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, stop, ignoreEos }`.
pub fn generate_options(obj: &JsValue) -> Result<GenerateOptions, JsValue> {
    let d = GenerateOptions::default();
    let s = SamplerConfig::default();
    let float = |key: &str, default: f32| Ok::<f32, JsValue>(number(obj, key)?.map_or(default, |v| v as f32));
    let sampler = SamplerConfig {
        temperature: float("temperature", s.temperature)?,
        top_k: count(obj, "topK")?.map_or(s.top_k, |n| n as usize),
        top_p: float("topP", s.top_p)?,
        min_p: float("minP", s.min_p)?,
        repeat_penalty: float("repeatPenalty", s.repeat_penalty)?,
        repeat_last_n: count(obj, "repeatLastN")?.map_or(s.repeat_last_n, |n| n as usize),
        seed: count(obj, "seed")?.unwrap_or(s.seed),
    };
    let stop = match field(obj, "stop") {
        None => Vec::new(),
        Some(v) if Array::is_array(&v) => {
            Array::from(&v).iter().map(|s| s.as_string().ok_or_else(|| invalid("stop must be an array of strings"))).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(invalid("stop must be an array of strings")),
    };
    Ok(GenerateOptions {
        max_tokens: count(obj, "maxTokens")?.map_or(d.max_tokens, |n| n as usize),
        sampler,
        stop,
        stop_at_end_of_generation: !flag(obj, "ignoreEos")?.unwrap_or(false),
    })
}
