//! Materialised attention weights, for inspection (PyTorch's `need_weights`).

use huiyan_kernels::attention::{self, AttentionOptions};
use huiyan_kernels::{Error, Tensor4Mut, Tensor4Ref};

/// The attention weights `P = softmax(scale·QKᵀ + masks)` of an [`attention`](crate::attention)
/// call with the same `q`, `k` and options, written into `out` — `[B, Hq, Lq, Lk]`, or
/// `[B, 1, Lq, Lk]` for the mean over the query heads. Masked keys get exactly 0, a row with
/// no visible key is all zeros, and with sinks a row sums to less than 1 (contract:
/// [`huiyan_kernels::attention::attention_weights`]).
///
/// `O(B·Hq·Lq·Lk·dk)` time and one `Lk` row of scratch: only `out` is `Lq × Lk`-sized.
/// Validates everything first: on `Err`, `out` is untouched.
///
/// ```
/// use huiyan::{attention_weights, AttentionOptions, Tensor4Mut, Tensor4Ref};
/// let q = vec![0.3f32; 2 * 3 * 4]; // [B=1, H=2, L=3, d=4]
/// let mut w = vec![f32::NAN; 2 * 3 * 3];
/// let opts = AttentionOptions { is_causal: true, ..Default::default() };
/// attention_weights(Tensor4Ref::bhsd(&q, [1, 2, 3, 4]), Tensor4Ref::bhsd(&q, [1, 2, 3, 4]),
///                   &opts, Tensor4Mut::bhsd(&mut w, [1, 2, 3, 3]))?;
/// assert_eq!(&w[..9], &[1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn attention_weights(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
    out: Tensor4Mut<'_>,
) -> Result<(), Error> {
    // Validate before allocating: a bad shape must not cost an allocation.
    let d = huiyan_kernels::shape::check_attention_weights(&q, &k, &out, opts)?;
    // An empty `out` needs no row (and its `Lk` may be anything: regression, from
    // fuzz/mha_layer, where `Lq = 0` with a raw `Lk` near 2⁶⁰ asked for that many floats).
    let empty = out.dims.contains(&0);
    let mut row = vec![
        0.0f32;
        if empty {
            0
        } else {
            attention::attention_weights_workspace_len(d.len_kv)
        }
    ];
    attention::attention_weights(q, k, opts, out, &mut row)
}
