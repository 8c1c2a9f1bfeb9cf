//! LayerNorm (bias and residual fused) and the bias(+GELU) epilogue through the dispatched
//! kernels (contract: [`huiyan_kernels::norm`]).
//!
//! Each call runs as a [`NormJob`](huiyan_kernels::norm::NormJob): tasks of whole rows cut by
//! the shape alone, spread over rayon's pool with the `rayon` feature; rows never interact, so
//! the result has the same bits for any thread count. Bad input returns a typed [`Error`] and
//! leaves every output untouched.

use huiyan_kernels::norm::{Activation, LayerNormOptions, NormJob};
use huiyan_kernels::{Error, Kernels, MatMut};

use crate::dispatch;

/// LayerNorm of the rows of `x` in place with the dispatched kernels:
/// `z = (x + bias) + residual`, `x ← (z − μ)/√(σ² + eps)·γ + β`.
///
/// ```
/// use huiyan::{layer_norm_inplace, LayerNormOptions, MatMut, MatRef};
/// let mut x = [1.0f32, 2.0, 3.0, 4.0];
/// let res = [0.0f32, 0.0, 0.0, 2.0];
/// let (g, b) = ([1.0f32; 2], [0.0f32; 2]);
/// let opts = LayerNormOptions {
///     gamma: &g, beta: &b, bias: None, residual: Some(MatRef::row_major(&res, 2, 2)), eps: 1e-12,
/// };
/// layer_norm_inplace(MatMut::row_major(&mut x, 2, 2), &opts)?;
/// assert_eq!(x, [-1.0, 1.0, -1.0, 1.0]);
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn layer_norm_inplace(x: MatMut<'_>, opts: &LayerNormOptions<'_>) -> Result<(), Error> {
    layer_norm_inplace_with(dispatch::kernels(), x, opts)
}

/// [`layer_norm_inplace`] with an explicit kernel table.
pub fn layer_norm_inplace_with(
    kernels: &Kernels,
    x: MatMut<'_>,
    opts: &LayerNormOptions<'_>,
) -> Result<(), Error> {
    crate::run::run(&NormJob::layer_norm_inplace(kernels, x, opts)?)
}

/// `x ← act(x + bias)` in place with the dispatched kernels ([`Activation::Gelu`]: the erf
/// form of GELU, [`huiyan_kernels::norm::gelu_lane`], within 9 ulp).
///
/// ```
/// use huiyan::{bias_act, Activation, MatMut};
/// let mut x = [-1.0f32, 0.0, 1.0];
/// bias_act(MatMut::row_major(&mut x, 1, 3), Some(&[1.0, 1.0, 1.0]), Activation::Identity)?;
/// assert_eq!(x, [0.0, 1.0, 2.0]);
/// bias_act(MatMut::row_major(&mut x, 1, 3), None, Activation::Gelu)?;
/// assert!((x[1] - 0.8413447).abs() < 1e-6);
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn bias_act(x: MatMut<'_>, bias: Option<&[f32]>, act: Activation) -> Result<(), Error> {
    bias_act_with(dispatch::kernels(), x, bias, act)
}

/// [`bias_act`] with an explicit kernel table.
pub fn bias_act_with(
    kernels: &Kernels,
    x: MatMut<'_>,
    bias: Option<&[f32]>,
    act: Activation,
) -> Result<(), Error> {
    crate::run::run(&NormJob::bias_act(kernels, x, bias, act)?)
}
