//! Fused scale-softmax over rows.
//!
//! # Contract
//!
//! For each row `r` of `x` (`rows × cols`, unit column stride) the logits are
//! `t_j = scale · x_j + bias_j`, formed in `f32` (an `f32` overflow to ±∞ is part of the
//! contract), and
//!
//! * a **masked** entry (`mask[r][j] == false`; true = attend, PyTorch's polarity) and an entry
//!   whose logit is `−∞` do not take part: its output is exactly `0` (log-softmax: `−∞`);
//! * every other entry gets `y_j = exp(t_j − lse)`, `lse = ln Σ exp(t_k)` over the entries that
//!   take part (log-softmax: `y_j = t_j − lse`);
//! * a row where no entry takes part (fully masked, or all `−∞`) gives all zeros (log-softmax:
//!   all `−∞`) and `lse = −∞` — the same rule as attention's fully masked rows;
//! * a NaN, or a `+∞`, among the logits that take part makes every non-masked output of that
//!   row NaN (and `lse` NaN); masked entries stay exactly 0.
//!
//! The mask and bias broadcast: each of their two axes is 1 or the full size. `scale` must be
//! finite and non-zero. `lse`, when asked for, has one entry per row.

#[cfg(target_arch = "aarch64")]
use crate::isa::Neon;
use crate::isa::{Portable, Scalar};
#[cfg(target_arch = "x86_64")]
use crate::isa::{X86V3, X86V4};
use crate::view::MatRef;

/// Options of a softmax call. [`Default`] is plain softmax: scale 1, no mask, no bias.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxOptions<'a> {
    /// Multiplies `x` before the bias is added. Finite and non-zero.
    pub scale: f32,
    /// Boolean mask, true = attend; `rows × cols` or broadcast (an axis of 1).
    pub mask: Option<MatRef<'a, bool>>,
    /// Additive bias applied after scaling; `rows × cols` or broadcast.
    pub bias: Option<MatRef<'a, f32>>,
    /// Produce log-softmax instead of softmax.
    pub log: bool,
}

impl Default for SoftmaxOptions<'_> {
    fn default() -> Self {
        SoftmaxOptions {
            scale: 1.0,
            mask: None,
            bias: None,
            log: false,
        }
    }
}

/// The softmax entry of one ISA tier (filled in by the softmax kernels).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftmaxKernel;

impl SoftmaxKernel {
    pub(crate) fn scalar() -> Self {
        let _ = Scalar;
        SoftmaxKernel
    }
    pub(crate) fn portable() -> Self {
        let _ = Portable;
        SoftmaxKernel
    }
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn x86_v3(_t: X86V3) -> Self {
        SoftmaxKernel
    }
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn x86_v4(_t: X86V4) -> Self {
        SoftmaxKernel
    }
    #[cfg(target_arch = "aarch64")]
    pub(crate) fn neon(_t: Neon) -> Self {
        SoftmaxKernel
    }
}
