//! Scaled dot-product attention (contract: [`huiyan_kernels::attention`]).

use huiyan_kernels::attention::AttentionOptions;
use huiyan_kernels::{reference, Error, Tensor4Mut, Tensor4Ref};

/// `O = softmax(scale·QKᵀ + mask)·V`, PyTorch SDPA vocabulary, every option of
/// [`AttentionOptions`]; writes the per-row logsumexp into `lse` (`[B, Hq, Lq]`) when given.
///
/// Validates everything first: on `Err`, `o` and `lse` are untouched.
///
/// Interim implementation: until the flash-style tiled kernel lands (issue 5) this runs the
/// `f64` reference, which is exact but `O(Lq·Lk·d)` scalar work.
///
/// ```
/// use huiyan::{attention, AttentionOptions, Tensor4Mut, Tensor4Ref};
/// let (b, h, l, d) = (1, 2, 4, 8);
/// let q = vec![0.1f32; b * h * l * d];
/// let mut o = vec![0.0f32; b * h * l * d];
/// let t = |s| Tensor4Ref::bhsd(s, [b, h, l, d]);
/// attention(t(&q), t(&q), t(&q), Tensor4Mut::bhsd(&mut o, [b, h, l, d]),
///           &AttentionOptions { is_causal: true, ..Default::default() }, None)?;
/// assert!((o[0] - 0.1).abs() < 1e-6);
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn attention(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
    o: Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    reference::attention(q, k, v, o, opts, lse)
}
