//! The seed's plain-text report of a model and its memory plan:
//! size, layers, hidden size, vocabulary, layout, and where each group lives.

use std::fmt::Write;

use super::groups::GroupId;
use super::plan::{LayoutKind, MemoryPlan};
use crate::gguf::TensorInfo;
use crate::model::ModelConfig;

const GIB: f64 = (1u64 << 30) as f64;

/// `1536` → "1.5 KB", `4.2e9` → "4.20 GB" (decimal units, as download sizes are quoted).
pub fn human_bytes(n: u64) -> String {
    let x = n as f64;
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", x / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", x / 1e6),
        _ => format!("{:.2} GB", x / 1e9),
    }
}

/// The type that holds most of the tensor bytes of `tensors` ("Q4_K").
pub fn dominant_type<'a>(tensors: impl IntoIterator<Item = &'a TensorInfo>) -> &'static str {
    let mut by_type: Vec<(&'static str, u64)> = Vec::new();
    for t in tensors {
        match by_type.iter_mut().find(|(n, _)| *n == t.ggml_type.name()) {
            Some((_, b)) => *b += t.n_bytes,
            None => by_type.push((t.ggml_type.name(), t.n_bytes)),
        }
    }
    by_type.into_iter().max_by_key(|(_, b)| *b).map_or("no tensors", |(n, _)| n)
}

/// The report, one line per fact, groups of consecutive layers with the same home folded.
pub fn summary(plan: &MemoryPlan, config: Option<&ModelConfig>, dominant_type: &str) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Model analysis:");
    let _ = writeln!(w, "   - Size: {} ({dominant_type})", human_bytes(plan.model_bytes));
    if let Some(c) = config {
        let _ = writeln!(w, "   - Architecture: {}", c.arch.name());
        let _ = writeln!(w, "   - Layers: {}", c.n_layers);
        let _ = writeln!(w, "   - Hidden size: {}", c.n_embd);
        let _ = writeln!(w, "   - Vocab size: {}", c.n_vocab);
    }
    let _ = writeln!(w, "Memory plan:");
    for line in layout_lines(plan) {
        let _ = writeln!(w, "   - {line}");
    }
    let _ = writeln!(w, "Placement:");
    for line in placement_lines(plan) {
        let _ = writeln!(w, "   - {line}");
    }
    out
}

fn layout_lines(plan: &MemoryPlan) -> Vec<String> {
    let main = plan.memories.first().map_or(0, |m| m.bytes);
    let gib = |b: u64| format!("{:.0} GB", (b as f64 / GIB).ceil().max(1.0));
    let layers = || plan.groups.iter().filter(|g| matches!(g.id, GroupId::Layer(_)));
    let (n_layers, resident) = (layers().count(), layers().filter(|g| g.home.memory == 0).count());
    let ws = plan.working_set.map_or(0, |w| w.slots);
    let mut lines = match plan.kind {
        LayoutKind::Standard => return vec![format!("Standard layout: everything in the main memory ({})", human_bytes(main))],
        LayoutKind::Memory64 => return vec!["Memory64 enabled (model > 3 GB)".to_string(), format!("Single region layout ({})", gib(main))],
        LayoutKind::Disk => {
            let mut lines = vec!["Disk tier (disk layout): the layers in one file of the origin's private file system".to_string()];
            if let Some(limit) = plan.memory_limit {
                lines.push(format!("Memory limit: {} (the model is {})", human_bytes(limit), human_bytes(plan.model_bytes)));
            }
            lines
        }
        LayoutKind::Paged | LayoutKind::Multi => {
            let storage = plan.memories.len() - 1;
            vec![
                format!("Memory64 enabled ({} layout)", plan.kind.name()),
                format!("{storage} storage memor{} for the layers", if storage == 1 { "y" } else { "ies" }),
            ]
        }
    };
    let (kept, read) = if plan.kind == LayoutKind::Disk { ("never read from disk", ", read from disk as they are used") } else { ("never copied", "") };
    if resident > 0 {
        lines.push(format!("Resident: {resident} of {n_layers} layers in the main memory, {kept}"));
        lines.push(format!("Working set: {ws} slots for the other {} layers{read}", n_layers - resident));
    } else {
        lines.push(format!("Working set: {ws} of {n_layers} layers in the main memory{read}"));
    }
    lines
}

/// "Embeddings (30.1 MB) in memory 0", "Layers 0-29 (2.1 MB each) in memory 1", …
fn placement_lines(plan: &MemoryPlan) -> Vec<String> {
    let mut lines = Vec::new();
    let mut run: Option<(u32, u32, u32, u64)> = None; // first layer, last layer, memory, bytes
    let flush = |run: &mut Option<(u32, u32, u32, u64)>, lines: &mut Vec<String>| {
        if let Some((a, b, m, bytes)) = run.take() {
            let what = if a == b { format!("Layer {a}") } else { format!("Layers {a}-{b}") };
            let place = if m > 0 && plan.kind == LayoutKind::Disk { "on disk".to_string() } else { format!("in memory {m}") };
            lines.push(format!("{what} ({}{}) {place}", human_bytes(bytes), if a == b { "" } else { " max" }));
        }
    };
    for g in &plan.groups {
        match (g.id, run.as_mut()) {
            (GroupId::Layer(n), Some((_, last, m, bytes))) if *m == g.home.memory && *last + 1 == n => {
                *last = n;
                *bytes = (*bytes).max(g.bytes);
            }
            (GroupId::Layer(n), _) => {
                flush(&mut run, &mut lines);
                run = Some((n, n, g.home.memory, g.bytes));
            }
            (id, _) => {
                flush(&mut run, &mut lines);
                let name = if id == GroupId::Output { "Output (LM head)".to_string() } else { "Embeddings".to_string() };
                lines.push(format!("{name} ({}) in memory {}", human_bytes(g.bytes), g.home.memory));
            }
        }
    }
    flush(&mut run, &mut lines);
    lines
}
