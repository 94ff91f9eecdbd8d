//! The element-wise and per-row operations of a transformer layer, each written to round the way
//! llama.cpp's CPU backend (ggml) does, so that logits agree closely.

use half::f16;

use super::libm;
pub use crate::quant::{exp_ggml, swiglu};

/// RMS normalisation of `x` in place, then multiplication by `weight` (ggml's `rms_norm` + `mul`:
/// the sum of squares in f64, the scale `1 / sqrt(mean + eps)` in f32).
pub fn rms_norm(x: &mut [f32], weight: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for (v, &w) in x.iter_mut().zip(weight) {
        *v = (*v * scale) * w;
    }
}

/// How RoPE pairs the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (2i, 2i+1): llama.
    Interleaved,
    /// Halves (i, i + d/2): GPT-NeoX, qwen2, gemma3.
    Halves,
}

/// One RoPE application, with the parameters ggml's `rope_ext` takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeParams {
    /// Dimensions rotated (the first `n_dims` of each head).
    pub n_dims: usize,
    pub base: f32,
    /// Multiplies every angle (1/factor under linear or YaRN scaling).
    pub freq_scale: f32,
    /// YaRN's blend toward the unscaled angle for the fast-turning dimensions, if on.
    pub yarn: Option<YarnRamp>,
    /// Multiplies cos and sin: the attention factor, times YaRN's `1 + 0.1 ln(1/freq_scale)`.
    pub mscale: f32,
}

/// YaRN's ramp: dimension pair `i` takes `ramp(i) * ext_factor` of the extrapolated
/// (unscaled) angle, `ramp` falling from 1 to 0 between the two correction dimensions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YarnRamp {
    pub ext_factor: f32,
    pub corr_dims: [f32; 2],
}

impl RopeParams {
    /// Plain RoPE: no scaling, no YaRN, unit magnitude.
    pub fn plain(n_dims: usize, base: f32) -> RopeParams {
        RopeParams { n_dims, base, freq_scale: 1.0, yarn: None, mscale: 1.0 }
    }

    /// With YaRN on (`ext_factor` nonzero): its ramp over the dimensions and its magnitude
    /// correction folded into `mscale`, as ggml's `rope_yarn` applies them.
    pub fn with_yarn(mut self, ext_factor: f32, beta_fast: f32, beta_slow: f32, n_ctx_orig: usize) -> RopeParams {
        if ext_factor != 0.0 {
            let corr_dims = yarn_corr_dims(self.n_dims, n_ctx_orig, self.base, beta_fast, beta_slow);
            self.yarn = Some(YarnRamp { ext_factor, corr_dims });
            self.mscale *= 1.0 + 0.1 * libm::logf(1.0 / self.freq_scale);
        }
        self
    }
}

/// The dimension at which a frequency turns `n_rot` times over the original context:
/// `n_dims · ln(n_ctx_orig / (2π n_rot)) / (2 ln base)`.
fn yarn_corr_dim(n_dims: usize, n_ctx_orig: usize, n_rot: f32, base: f32) -> f32 {
    n_dims as f32 * libm::logf(n_ctx_orig as f32 / (n_rot * 2.0 * std::f32::consts::PI)) / (2.0 * libm::logf(base))
}

/// YaRN's correction range `[max(0, ⌊dim(β_fast)⌋), min(n_dims − 1, ⌈dim(β_slow)⌉)]`.
pub fn yarn_corr_dims(n_dims: usize, n_ctx_orig: usize, base: f32, beta_fast: f32, beta_slow: f32) -> [f32; 2] {
    let start = yarn_corr_dim(n_dims, n_ctx_orig, beta_fast, base).floor();
    let end = yarn_corr_dim(n_dims, n_ctx_orig, beta_slow, base).ceil();
    [start.max(0.0), end.min(n_dims as f32 - 1.0)]
}

/// The share of the extrapolated angle for pair `pair` (ggml: 1 − clamp((pair − low) / (high − low))).
fn yarn_ramp(corr_dims: [f32; 2], pair: usize) -> f32 {
    let y = (pair as f32 - corr_dims[0]) / (corr_dims[1] - corr_dims[0]).max(0.001);
    1.0 - y.clamp(0.0, 1.0)
}

/// The cos/sin table of one position: for pair `i`, the angle `pos · base^(-2i/n_dims)`
/// (by repeated multiplication in f32, as ggml's rope cache does), divided by the frequency
/// factor `factors[i]` if given, scaled by `freq_scale`, blended by YaRN, and cos and sin times
/// `mscale`. The step, cos and sin are glibc's `powf`/`cosf`/`sinf` to the bit ([`libm`]) on
/// every target.
pub fn rope_angles(pos: usize, p: &RopeParams, factors: Option<&[f32]>, out: &mut Vec<(f32, f32)>) {
    out.clear();
    let step = libm::powf(p.base, -2.0 / p.n_dims as f32);
    let mut theta = pos as f32;
    for i in 0..p.n_dims / 2 {
        let extrapolated = factors.map_or(theta, |f| theta / f[i]);
        let interpolated = p.freq_scale * extrapolated;
        let angle = match p.yarn {
            Some(y) => {
                let mix = yarn_ramp(y.corr_dims, i) * y.ext_factor;
                interpolated * (1.0 - mix) + extrapolated * mix
            }
            None => interpolated,
        };
        out.push((libm::cosf(angle) * p.mscale, libm::sinf(angle) * p.mscale));
        theta *= step;
    }
}

/// Rotates the first `2 * angles.len()` dimensions of one head in place.
pub fn rope(head: &mut [f32], angles: &[(f32, f32)], style: RopeStyle) {
    let half = angles.len();
    for (i, &(cos, sin)) in angles.iter().enumerate() {
        let (a, b) = match style {
            RopeStyle::Interleaved => (2 * i, 2 * i + 1),
            RopeStyle::Halves => (i, i + half),
        };
        let (x0, x1) = (head[a], head[b]);
        head[a] = x0 * cos - x1 * sin;
        head[b] = x0 * sin + x1 * cos;
    }
}

/// Softmax of `x` in place, as ggml's CPU softmax computes it on x86-64's baseline (the
/// portable reference build): `exp_ggml(v - max)` for every value; the exponentials summed in
/// f32 in groups of four KV cells by absolute position (`first` is the cell of `x[0]`; cells
/// outside `x` are ggml's masked ones and count 0), each group as `(e0 + e1) + (e2 + e3)` and
/// added to an f64 sum; then every value times the f32 reciprocal of that sum. ggml's rows
/// span the whole cache, padded to 256 cells, so there is no partial group at the end.
pub fn softmax(x: &mut [f32], first: usize) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    let mut group = [0.0f32; 4];
    let last = x.len().saturating_sub(1);
    for (j, v) in x.iter_mut().enumerate() {
        *v = exp_ggml(*v - max);
        let lane = (first + j) % 4;
        group[lane] = *v;
        if lane == 3 || j == last {
            sum += f64::from((group[0] + group[1]) + (group[2] + group[3]));
            group = [0.0; 4];
        }
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// GELU (tanh approximation) of one value, in f32.
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044_715;
    0.5 * x * (1.0 + libm::tanhf(SQRT_2_OVER_PI * x * (1.0 + COEF_A * x * x)))
}

/// GELU as ggml's CPU backend computes it: 0 below -10, the identity above 10, and in between
/// the tanh approximation read from a table indexed by the input rounded to f16, whose entries
/// are themselves f16 (`ggml_table_gelu_f16`). The table is built the same way, on first use
/// (65,536 entries, 128 KiB), so each value costs a rounding and a lookup.
pub fn gelu_ggml(x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        let table = GELU_TABLE.get_or_init(|| (0..=u16::MAX).map(|h| gelu_entry(f16::from_bits(h))).collect());
        f16::from_bits(table[usize::from(f16::from_f32(x).to_bits())]).to_f32()
    }
}

/// `ggml_table_gelu_f16`: GELU of every half, rounded to a half, by bit pattern.
static GELU_TABLE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();

/// One entry of the GELU table: the tanh approximation of `h`, in f32, rounded to f16.
fn gelu_entry(h: f16) -> u16 {
    f16::from_f32(gelu_tanh(h.to_f32())).to_bits()
}

/// GELU(gate) * up, in place in `gate` (GeGLU, gemma).
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = gelu_ggml(*g) * u;
    }
}

/// `c * tanh(x / c)` on every value (soft-capping of logits or attention scores), computed as
/// ggml's scale, tanh, scale: `x` times the f32 reciprocal of `c`, not divided by `c`.
pub fn softcap(x: &mut [f32], cap: f32) {
    let inv = 1.0 / cap;
    for v in x.iter_mut() {
        *v = libm::tanhf(*v * inv) * cap;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_gives_unit_rms_times_weight() {
        let mut x = vec![3.0f32, 4.0];
        rms_norm(&mut x, &[1.0, 2.0], 0.0);
        // rms = sqrt((9 + 16) / 2) = sqrt(12.5)
        let r = 12.5f32.sqrt();
        assert!((x[0] - 3.0 / r).abs() < 1e-6 && (x[1] - 8.0 / r).abs() < 1e-6);
    }

    #[test]
    fn rope_at_position_zero_is_identity_and_preserves_norm() {
        let mut angles = Vec::new();
        rope_angles(0, &RopeParams::plain(4, 10_000.0), None, &mut angles);
        let mut h = [1.0f32, 2.0, 3.0, 4.0];
        rope(&mut h, &angles, RopeStyle::Halves);
        assert_eq!(h, [1.0, 2.0, 3.0, 4.0]);
        rope_angles(7, &RopeParams::plain(4, 10_000.0), None, &mut angles);
        for style in [RopeStyle::Halves, RopeStyle::Interleaved] {
            let mut h = [1.0f32, 2.0, 3.0, 4.0];
            rope(&mut h, &angles, style);
            let norm: f32 = h.iter().map(|v| v * v).sum();
            assert!((norm - 30.0).abs() < 1e-4, "{style:?}: {norm}");
        }
    }

    #[test]
    fn rope_rotates_the_first_pair_by_the_position() {
        let mut angles = Vec::new();
        rope_angles(3, &RopeParams::plain(2, 10_000.0), None, &mut angles);
        let mut h = [1.0f32, 0.0];
        rope(&mut h, &angles, RopeStyle::Interleaved);
        assert!((h[0] - 3f32.cos()).abs() < 1e-6 && (h[1] - 3f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut x = vec![1.0f32, 2.0, 3.0, -1e30];
        softmax(&mut x, 1);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[2] > x[1] && x[1] > x[0] && x[3] == 0.0);
    }

    #[test]
    fn the_gelu_table_gives_the_tanh_formula_on_the_rounded_input_rounded() {
        // Every half in (-10, 10), and values between halves (rounded to the nearest first).
        for h in 0..=u16::MAX {
            let x = f16::from_bits(h).to_f32();
            for v in [x, x * (1.0 + 3e-4), x + 1e-3] {
                if v.is_finite() && v > -10.0 && v < 10.0 {
                    let direct = f16::from_f32(gelu_tanh(f16::from_f32(v).to_f32())).to_f32();
                    assert_eq!(gelu_ggml(v).to_bits(), direct.to_bits(), "{v}");
                }
            }
        }
    }

    #[test]
    fn gelu_matches_the_formula_within_f16_rounding() {
        for i in -1200..1200 {
            let x = i as f32 / 100.0;
            let exact = if x <= -10.0 { 0.0 } else if x >= 10.0 { x } else { gelu_tanh(x) };
            assert!((gelu_ggml(x) - exact).abs() <= 2e-3 * exact.abs().max(1.0), "{x}");
        }
        assert_eq!(gelu_ggml(0.0), 0.0);
    }

    #[test]
    fn swiglu_and_softcap() {
        let mut g = [0.0f32, 1.0];
        swiglu(&mut g, &[5.0, 2.0], 2);
        assert_eq!(g[0], 0.0);
        assert!((g[1] - 2.0 / (1.0 + (-1f32).exp())).abs() < 1e-6);
        let mut l = [100.0f32, -100.0, 0.0];
        softcap(&mut l, 30.0);
        assert!(l[0] < 30.0 && l[0] > 29.0 && l[1] > -30.0 && l[2] == 0.0);
    }

    #[test]
    fn frequency_factors_divide_each_pairs_angle() {
        // pos 3, 4 dims, base 10 000: pair 0 turns by 3, pair 1 by 3 · 10000^(-1/2) = 0.03.
        // Factors [2, 4] (Llama 3's rope_freqs) divide them: 1.5 and 0.0075.
        let mut angles = Vec::new();
        rope_angles(3, &RopeParams::plain(4, 10_000.0), Some(&[2.0, 4.0]), &mut angles);
        let expected = [1.5f32, 0.0075];
        for (&(cos, sin), a) in angles.iter().zip(expected) {
            assert!((cos - a.cos()).abs() < 1e-6 && (sin - a.sin()).abs() < 1e-6, "{cos} {sin} vs angle {a}");
        }
    }

    #[test]
    fn linear_scaling_and_attention_factor() {
        // freq_scale 0.5 halves every angle; mscale 2 doubles cos and sin (no YaRN).
        let p = RopeParams { n_dims: 2, base: 10_000.0, freq_scale: 0.5, yarn: None, mscale: 2.0 };
        let mut angles = Vec::new();
        rope_angles(4, &p, None, &mut angles);
        assert!((angles[0].0 - 2.0 * 2f32.cos()).abs() < 1e-6 && (angles[0].1 - 2.0 * 2f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn yarn_correction_dims_by_hand() {
        // dim(β) = n_dims · ln(n_ctx_orig / (2π β)) / (2 ln base), n_dims 4, n_ctx_orig 4096, base 1e4:
        // β_fast 32: 4 · ln(4096 / 201.062) / 18.4207 = 4 · 3.01414 / 18.4207 = 0.6545 → ⌊⌋ = 0;
        // β_slow 1: 4 · ln(4096 / 6.28319) / 18.4207 = 4 · 6.47989 / 18.4207 = 1.4071 → ⌈⌉ = 2.
        assert_eq!(yarn_corr_dims(4, 4096, 10_000.0, 32.0, 1.0), [0.0, 2.0]);
        // For 128 dims, base 500 000, context 8192: dim(32) = 128 · ln(40.74) / 26.2447 = 18.08 → 18;
        // dim(1) = 128 · ln(1303.8) / 26.2447 = 34.99 → 35.
        assert_eq!(yarn_corr_dims(128, 8192, 500_000.0, 32.0, 1.0), [18.0, 35.0]);
    }

    #[test]
    fn yarn_angles_blend_toward_extrapolation_and_scale_magnitude() {
        // 4 dims, base 1e4, factor 4 (freq_scale 0.25), original context 4096: correction dims
        // [0, 2] (above). Pair 0: ramp 1 - clamp(0/2) = 1, fully extrapolated: angle = pos = 10.
        // Pair 1: ramp 1 - 1/2 = 0.5; theta 10 · 0.01 = 0.1; angle = 0.5 · 0.025 + 0.5 · 0.1 = 0.0625.
        // Magnitude: 1 + 0.1 ln 4 = 1.1386294.
        let p = RopeParams { n_dims: 4, base: 10_000.0, freq_scale: 0.25, yarn: None, mscale: 1.0 }.with_yarn(1.0, 32.0, 1.0, 4096);
        assert!((p.mscale - 1.138_629_4).abs() < 1e-6, "{}", p.mscale);
        let mut angles = Vec::new();
        rope_angles(10, &p, None, &mut angles);
        for (&(cos, sin), a) in angles.iter().zip([10.0f32, 0.0625]) {
            assert!((cos - 1.138_629_4 * a.cos()).abs() < 1e-5 && (sin - 1.138_629_4 * a.sin()).abs() < 1e-5, "angle {a}: {cos} {sin}");
        }
        // ext_factor 0 leaves plain linear scaling: no ramp, unit magnitude, pair 0 turns by 10 · 0.25.
        let linear = RopeParams { n_dims: 4, base: 10_000.0, freq_scale: 0.25, yarn: None, mscale: 1.0 }.with_yarn(0.0, 32.0, 1.0, 4096);
        assert_eq!((linear.yarn, linear.mscale), (None, 1.0));
        rope_angles(10, &linear, None, &mut angles);
        assert!((angles[0].0 - 2.5f32.cos()).abs() < 1e-6);
    }

    #[test]
    fn softcap_of_scores_by_hand() {
        // 50 · tanh(100 / 50) = 50 · 0.9640276 = 48.20138; 50 · tanh(-25 / 50) = -23.105858.
        let mut s = [100.0f32, -25.0, 0.0];
        softcap(&mut s, 50.0);
        assert!((s[0] - 48.201_38).abs() < 1e-4 && (s[1] + 23.105_858).abs() < 1e-4 && s[2] == 0.0, "{s:?}");
    }

    #[test]
    fn exp_ggml_is_within_two_ulp_of_the_exponential() {
        // Against f64's exp rounded to f32, over [-87, 88] (normal results) and beyond.
        let mut worst = 0i64;
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0 + 0.000_37;
            let exact = (f64::from(x)).exp() as f32;
            let ulps = (i64::from(exp_ggml(x).to_bits() as i32) - i64::from(exact.to_bits() as i32)).abs();
            worst = worst.max(ulps);
        }
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!((exp_ggml(0.0), exp_ggml(f32::NEG_INFINITY), exp_ggml(-200.0)), (1.0, 0.0, 0.0));
        assert_eq!(exp_ggml(200.0), f32::INFINITY);
        // Subnormal results take the |n| > 126 branch: e^-100 = 3.72e-44.
        assert!((f64::from(exp_ggml(-100.0)) - (-100f64).exp()).abs() < 3e-45);
    }

    #[test]
    fn softmax_groups_exponentials_by_cell_and_sums_to_one() {
        // Same values at another alignment: each still sums to 1 and is the f64 formula within
        // f32 rounding, but the groups of four differ, so the bits may too.
        let values = [0.5f32, -1.0, 2.0, 0.25, 1.5, -0.75];
        let (mut a, mut b) = (values, values);
        softmax(&mut a, 0);
        softmax(&mut b, 3);
        let total: f64 = values.iter().map(|&v| f64::from(v - 2.0).exp()).sum();
        for ((x, y), &v) in a.iter().zip(&b).zip(&values) {
            let exact = f64::from(v - 2.0).exp() / total;
            assert!((f64::from(*x) - exact).abs() < 1e-6 && (f64::from(*y) - exact).abs() < 1e-6);
        }
        // By hand, cells 3..9 (first = 3): groups {3}, {4, 5, 6, 7}, {8}; the sum is
        // e3 + ((e4 + e5) + (e6 + e7)) + e8 with every e from exp_ggml, in f64.
        let e: Vec<f32> = values.iter().map(|&v| exp_ggml(v - 2.0)).collect();
        let sum = f64::from(e[0]) + f64::from((e[1] + e[2]) + (e[3] + e[4])) + f64::from(e[5]);
        let inv = (1.0 / sum) as f32;
        for (got, e) in b.iter().zip(&e) {
            assert_eq!(got.to_bits(), (e * inv).to_bits());
        }
    }

    #[test]
    fn swiglu_takes_ggml_exp_on_whole_groups_of_four_and_libm_on_the_tail() {
        let g: Vec<f32> = (0..6).map(|i| i as f32 * 0.37 - 1.1).collect();
        let u = [1.5f32; 6];
        let mut out = g.clone();
        swiglu(&mut out, &u, 6);
        for (i, (&o, &x)) in out.iter().zip(&g).enumerate() {
            let e = if i < 4 { exp_ggml(0.0 - x) } else { (-x).exp() };
            assert_eq!(o.to_bits(), (x / (1.0 + e) * 1.5).to_bits(), "value {i}");
        }
    }
}
