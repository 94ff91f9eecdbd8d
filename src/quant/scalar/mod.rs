//! Reference kernels in plain Rust: the definition every SIMD kernel is tested against, and the
//! kernels used wherever SIMD128 is not compiled in (native builds and tests).

mod attention;
mod dequant;
mod dot;
mod pointwise;
mod unpack;

pub use attention::*;
pub use dequant::*;
pub use dot::*;
pub use pointwise::*;
