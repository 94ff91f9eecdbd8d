//! f32 functions that return, bit for bit, what glibc 2.36's libm returns on x86-64, on every
//! target: the wasm builds' own libm (Rust's port of musl) rounds some inputs differently, and a
//! last-bit difference in a RoPE angle or step can flip an 8-bit activation rounding downstream.
//! llama.cpp's reference build calls glibc for these: `sinf`/`cosf` for the rope cache, `powf`
//! for its frequency step, `logf` for YaRN's parameters, `tanhf` for soft-capping (and the GELU
//! table).
//!
//! Every function uses IEEE f32/f64 additions, multiplications, divisions and conversions only,
//! plus `f64::mul_add` where glibc's build fuses a multiply-add; each is exact on every target.
//!
//! glibc's x86-64 libm has two builds of `sinf`, `cosf`, `powf` and `logf` (and `expf`, ...),
//! picked when the library loads (ifunc, sysdeps/x86_64/fpu/multiarch/ifunc-fma.h): one compiled
//! with `-mfma -mavx2`, used when the CPU has FMA and AVX2, in which GCC fused every
//! single-use `a·b + c` into one rounding, and the plain SSE2 one otherwise. Both are here
//! ([`Rounding`]); the public functions are the FMA build's, which is what x86-64 CPUs since 2013
//! run. The builds rarely differ (sinf/cosf at 34 of 2^32 inputs; powf nowhere on RoPE's steps),
//! and not on any angle of the test prompts, so the goldens cannot tell which one made them.
//! `tanhf` has one build. (wasm has no scalar FMA instruction: there `mul_add` is Rust's software
//! fma, a few dozen instructions, on a few thousand calls per token.)

mod ln;
mod pow;
mod sincos;
mod tanh;

pub use ln::{logf, logf_with};
pub use pow::{powf, powf_with};
pub use sincos::{cosf, cosf_with, sinf, sinf_with};
pub use tanh::tanhf;

/// How glibc's build evaluates each `a + b·c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// One rounding (the FMA/AVX2 build).
    Fused,
    /// The product rounded, then the sum (the SSE2 build).
    Separate,
}

impl Rounding {
    /// `b·c + a`, rounded as the build rounds it.
    pub(crate) fn mul_add(self, b: f64, c: f64, a: f64) -> f64 {
        match self {
            Rounding::Fused => b.mul_add(c, a),
            Rounding::Separate => a + b * c,
        }
    }
}

