//! Naive, obviously correct implementations: the oracle every test, bench and fuzz target names.
//!
//! Each function validates its input with [`crate::shape`] (a matmul bias with
//! [`shape::check_gemm_bias`](crate::shape::check_gemm_bias)) exactly as the fast kernels do (so
//! it returns the same [`Error`](crate::Error) for the same bad input), then computes with plain
//! loops and `f64` accumulation, rounding to `f32` once per output element. Outputs are
//! caller-provided; nothing allocates. Speed is not a goal.

mod attention;
mod matmul;
mod norm;
mod softmax;

pub use attention::attention;
pub use matmul::{matmul, matmul_bias};
pub use norm::{bias_act, gelu, layer_norm};
pub use softmax::softmax;

/// Offset of element `idx` in a strided view (validated callers only: cannot overflow).
#[inline]
pub(crate) fn offset<const N: usize>(idx: [usize; N], strides: [usize; N]) -> usize {
    idx.iter().zip(strides.iter()).map(|(i, s)| i * s).sum()
}
