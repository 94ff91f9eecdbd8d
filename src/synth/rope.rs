//! RoPE scaling as llama.cpp files carry it: the scaling kinds, and the per-dimension factor
//! tensors some of them need (`rope_freqs.weight` for Llama 3.1, `rope_factors_long/short` for
//! Phi-3 LongRoPE). ggml divides rotary frequency `i` (of `head_dim / 2`) by factor `i`.

/// How a model stretches RoPE beyond its original context.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor`: `<arch>.rope.scaling.type = "linear"`.
    Linear { factor: f32 },
    /// YaRN: `rope.scaling.type = "yarn"`, its factor and the original context length.
    Yarn { factor: f32, original_ctx: u32 },
    /// Llama 3.1: no scaling keys, only a `rope_freqs.weight` tensor computed from these (the
    /// `rope_scaling` block of the model's config.json) as llama.cpp's converter does.
    Llama3 {
        factor: f32,
        low_freq_factor: f32,
        high_freq_factor: f32,
        original_ctx: u32,
    },
    /// Phi-3 LongRoPE: `rope.scaling.original_context_length`, `rope.scaling.attn_factor` and
    /// the `rope_factors_long` / `rope_factors_short` tensors. llama.cpp uses the long factors
    /// when its context is longer than `original_ctx`, else the short ones.
    LongRope { original_ctx: u32 },
}

/// Llama 3.1's frequency factors (llama.cpp's converter, from the Llama 3.1 reference code):
/// frequencies whose wavelength is shorter than `original_ctx / high_freq_factor` are kept,
/// those longer than `original_ctx / low_freq_factor` are divided by `factor`, and the band
/// between is interpolated smoothly in 1/factor.
pub fn llama3_factors(
    head_dim: u64,
    base: f32,
    factor: f32,
    low_freq_factor: f32,
    high_freq_factor: f32,
    original_ctx: u32,
) -> Vec<f32> {
    let old = original_ctx as f32;
    let (low_wavelen, high_wavelen) = (old / low_freq_factor, old / high_freq_factor);
    (0..head_dim / 2)
        .map(|i| {
            // torch.arange(0, dim, 2) / dim, in f32 as the converter computes it.
            let freq = 1.0 / base.powf((2 * i) as f32 / head_dim as f32);
            let wavelen = 2.0 * std::f32::consts::PI / freq;
            if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor
            } else {
                let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                1.0 / ((1.0 - smooth) / factor + smooth)
            }
        })
        .collect()
}

/// Synthetic LongRoPE long factors: rising from 1 at the highest frequency to `scale` at the
/// lowest, quadratically (the shape of Phi-3's trained factors, which stretch low frequencies
/// most). Distinct from the short ones, so using the wrong set shows in the logits.
pub fn longrope_long_factors(head_dim: u64, scale: f32) -> Vec<f32> {
    let n = head_dim / 2;
    (0..n)
        .map(|i| {
            let t = i as f32 / (n.max(2) - 1) as f32;
            1.0 + (scale - 1.0) * t * t
        })
        .collect()
}

/// Synthetic LongRoPE short factors: 1 to 1.5, linear (Phi-3's short factors stay near 1).
pub fn longrope_short_factors(head_dim: u64) -> Vec<f32> {
    let n = head_dim / 2;
    (0..n).map(|i| 1.0 + 0.5 * i as f32 / (n.max(2) - 1) as f32).collect()
}

/// LongRoPE's attention factor, as llama.cpp's Phi-3 converter writes it:
/// sqrt(1 + ln(scale) / ln(original_ctx)) with scale = context / original context, 1 if not
/// stretched.
pub fn longrope_attn_factor(n_ctx: u32, original_ctx: u32) -> f32 {
    let scale = n_ctx as f64 / original_ctx as f64;
    if scale <= 1.0 {
        return 1.0;
    }
    (1.0 + scale.ln() / (original_ctx as f64).ln()).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_factors_keep_high_and_divide_low_frequencies() {
        // Llama 3.1 8B: head 128, base 500000, factor 8, 1, 4, 8192.
        let f = llama3_factors(128, 500_000.0, 8.0, 1.0, 4.0, 8192);
        assert_eq!(f.len(), 64);
        assert_eq!(f[0], 1.0);
        assert_eq!(f[63], 8.0);
        assert!(f.windows(2).all(|w| w[0] <= w[1]));
        assert!(f.iter().any(|&x| x > 1.0 && x < 8.0), "a smooth band");
    }

    #[test]
    fn phi3_mini_128k_attn_factor() {
        // Phi-3-mini-128k: 131072 / 4096 = 32; sqrt(1 + ln 32 / ln 4096) = 1.19024.
        assert!((longrope_attn_factor(131_072, 4096) - 1.190_239).abs() < 1e-6);
        assert_eq!(longrope_attn_factor(4096, 4096), 1.0);
    }
}
