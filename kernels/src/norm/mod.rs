//! The row operations of a transformer encoder around its matmuls: LayerNorm with the bias and
//! residual adds fused in, and the bias epilogue with an optional GELU.
//!
//! # Contract
//!
//! **LayerNorm** ([`layer_norm`], [`layer_norm_inplace`], options [`LayerNormOptions`]): for
//! each row of `x` (`rows × cols`),
//!
//! * `z_j = (x_j + bias_j) + residual_j` in `f32`, in that order (a term that is not given is
//!   not added);
//! * `μ = Σ z_j / cols`, `σ² = Σ (z_j − μ)² / cols` (two passes; the population variance, as
//!   PyTorch's `LayerNorm`);
//! * `y_j = (z_j − μ) · (γ_j / √(σ² + eps)) + β_j`, written as `fma(z_j − μ, r·γ_j, β_j)` with
//!   `r = 1/√(σ² + eps)`.
//!
//! A NaN or an infinity in a row makes every output of that row NaN. `eps` must be finite and
//! positive ([`Error::InvalidEpsilon`]), `cols` at least 1; `gamma`, `beta` and `bias` have
//! `cols` entries and `residual` the shape of `x`. Every matrix has unit column stride.
//!
//! **Bias epilogue** ([`bias_act`], in place): `x_j ← act(x_j + bias_j)` with
//! [`Activation::Identity`] or [`Activation::Gelu`] (erf form, [`gelu_lane`]: derivation and
//! measured error bound in `simd/gelu.rs`); without a bias, `x_j ← act(x_j)`.
//!
//! Rows never interact, and a row's arithmetic depends only on the row and `cols`: the result
//! has the same bits for any split of the rows into tasks ([`NormJob`]) and any thread count.
//! Tiers differ only in the order of the two row sums (a tier's vector width): LayerNorm
//! agrees across tiers within the `tol::layer_norm` bound of `huiyan-testkit`, and the
//! epilogue is bit-identical on every tier (no sum).
//!
//! Validation lives in `check.rs` beside the kernels (every entry point calls it before it
//! touches memory; on `Err` nothing was written).

mod job;
mod rows;

pub use crate::shape::{check_bias_act, check_layer_norm};
pub use job::NormJob;
pub(crate) use rows::{EpiCall, LnCall};

pub use crate::options::{Activation, LayerNormOptions};
pub use crate::simd::gelu_lane;

use crate::error::Error;
use crate::kernels::Kernels;
use crate::simd::SimdF32;
use crate::view::{MatMut, MatRef};

/// A tier's LayerNorm over every row of a call.
///
/// # Safety (of calling one)
///
/// The call passed [`check_layer_norm`]; the CPU has the features of the tier the entry was
/// built for (guaranteed by the token that built the table).
pub(crate) type LayerNormEntry = unsafe fn(&LnCall);

/// A tier's bias epilogue over every row of a call.
///
/// # Safety (of calling one)
///
/// The call passed [`check_bias_act`]; the CPU guarantee of [`LayerNormEntry`].
pub(crate) type EpilogueEntry = unsafe fn(&EpiCall);

/// The norm entries of one tier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormKernel {
    pub(crate) layer_norm: LayerNormEntry,
    pub(crate) epilogue: EpilogueEntry,
}

/// Runs a validated LayerNorm call on tier `S`.
///
/// # Safety
/// `c` passed [`check_layer_norm`] (pointers cover their ranges, `y` overlaps no input other
/// than being `x` itself in place); the CPU has `S`'s features.
#[inline(always)]
pub(crate) unsafe fn run_layer_norm<S: SimdF32>(s: S, c: &LnCall) {
    // SAFETY: forwarded.
    unsafe { rows::layer_norm_rows(s, c) }
}

/// Runs a validated epilogue call on tier `S`.
///
/// # Safety
/// `c` passed [`check_bias_act`]; the CPU has `S`'s features.
#[inline(always)]
pub(crate) unsafe fn run_epilogue<S: SimdF32>(s: S, c: &EpiCall) {
    // SAFETY: forwarded.
    unsafe { rows::epilogue_rows(s, c) }
}

/// LayerNorm of the rows of `x` into `y` (contract: [this module](self)). Validates everything
/// first; on `Err` nothing was written. Never allocates, never panics.
///
/// ```
/// use huiyan_kernels::norm::{layer_norm, LayerNormOptions};
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let k = Kernels::best_compile_time();
/// let x = [1.0f32, 2.0, 3.0, 4.0];
/// let res = [1.0f32, 1.0, 1.0, 1.0];
/// let (gamma, beta) = ([1.0f32; 4], [0.5f32; 4]);
/// let opts = LayerNormOptions {
///     gamma: &gamma, beta: &beta, bias: None,
///     residual: Some(MatRef::row_major(&res, 1, 4)), eps: 1e-12,
/// };
/// let mut y = [0.0f32; 4];
/// layer_norm(&k, MatRef::row_major(&x, 1, 4), MatMut::row_major(&mut y, 1, 4), &opts)?;
/// // (z − 3.5)/√1.25 + 0.5
/// assert!((y[0] - (-1.5 / 1.25f32.sqrt() + 0.5)).abs() < 1e-6);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn layer_norm(
    kernels: &Kernels,
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &LayerNormOptions<'_>,
) -> Result<(), Error> {
    check_layer_norm(&x, Some(&y), opts)?;
    let call = LnCall::new(&x, y.ptr, y.rs, opts);
    // SAFETY: validated above; the table's constructor took the tier's token.
    unsafe { (kernels.norm.layer_norm)(&call) };
    Ok(())
}

/// LayerNorm of the rows of `x` in place; otherwise as [`layer_norm`].
///
/// ```
/// use huiyan_kernels::norm::{layer_norm_inplace, LayerNormOptions};
/// use huiyan_kernels::{Kernels, MatMut};
/// let k = Kernels::best_compile_time();
/// let mut x = [1.0f32, 3.0];
/// let (gamma, beta, bias) = ([2.0f32; 2], [0.0f32; 2], [10.0f32; 2]);
/// let opts = LayerNormOptions { gamma: &gamma, beta: &beta, bias: Some(&bias), residual: None, eps: 1e-12 };
/// layer_norm_inplace(&k, MatMut::row_major(&mut x, 1, 2), &opts)?;
/// assert_eq!(x, [-2.0, 2.0]);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn layer_norm_inplace(
    kernels: &Kernels,
    x: MatMut<'_>,
    opts: &LayerNormOptions<'_>,
) -> Result<(), Error> {
    let xr = x.as_ref();
    check_layer_norm(&xr, None, opts)?;
    let call = LnCall::new(&xr, x.ptr, x.rs, opts);
    // SAFETY: as in `layer_norm`; in place, `y` is `x` itself, which the kernel allows.
    unsafe { (kernels.norm.layer_norm)(&call) };
    Ok(())
}

/// `x ← act(x + bias)` in place, row by row (contract: [this module](self)).
///
/// ```
/// use huiyan_kernels::norm::{bias_act, gelu_lane, Activation};
/// use huiyan_kernels::{Kernels, MatMut};
/// let k = Kernels::best_compile_time();
/// let mut x = [0.0f32, 1.0, 2.0, 3.0];
/// bias_act(&k, MatMut::row_major(&mut x, 2, 2), Some(&[1.0, -1.0]), Activation::Gelu)?;
/// assert_eq!(x, [gelu_lane(1.0), 0.0, gelu_lane(3.0), gelu_lane(2.0)]);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn bias_act(
    kernels: &Kernels,
    x: MatMut<'_>,
    bias: Option<&[f32]>,
    act: Activation,
) -> Result<(), Error> {
    check_bias_act(&x, bias)?;
    let call = EpiCall::new(&x, bias, act);
    // SAFETY: validated above; the table's constructor took the tier's token.
    unsafe { (kernels.norm.epilogue)(&call) };
    Ok(())
}
