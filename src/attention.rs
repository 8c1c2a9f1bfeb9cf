//! Scaled dot-product attention (contract: [`huiyan_kernels::attention`]).

use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
use huiyan_kernels::{Error, Kernels, Tensor4Mut, Tensor4Ref};

use crate::dispatch;
use crate::scratch::with_scratch;

thread_local! {
    /// Decode partials of calls made on this thread.
    static SHARED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `O = softmax(scale·QKᵀ + masks)·V` in PyTorch SDPA vocabulary, with every option of
/// [`AttentionOptions`]; writes the per-row logsumexp into `lse` (`[B, Hq, Lq]`) when given.
///
/// Flash-style: the `Lq × Lk` score matrix is never materialised (memory is `O(Lk·d)` per
/// thread), causal and windowed calls skip the blocks they cannot see, and decode-shaped calls
/// (`Lq ≤ 4`) stream the KV cache in chunks merged by logsumexp. With the `rayon` feature the
/// work is spread over the pool; the result has the same bits for any thread count.
///
/// Validates everything first: on `Err`, `o` and `lse` are untouched.
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
    attention_with(dispatch::kernels(), q, k, v, o, opts, lse)
}

/// [`attention`] with an explicit kernel table (for example one of [`dispatch::available`]).
///
/// ```
/// use huiyan::{attention_with, AttentionOptions, Tensor4Mut, Tensor4Ref};
/// let x = [1.0f32, 2.0];
/// for k in huiyan::dispatch::available() {
///     let mut o = [0.0f32; 2];
///     attention_with(&k, Tensor4Ref::bhsd(&x, [1, 1, 1, 2]), Tensor4Ref::bhsd(&x, [1, 1, 1, 2]),
///                    Tensor4Ref::bhsd(&x, [1, 1, 1, 2]), Tensor4Mut::bhsd(&mut o, [1, 1, 1, 2]),
///                    &AttentionOptions::default(), None)?;
///     assert_eq!(o, x, "{}", k.isa().name()); // one key: weight 1
/// }
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn attention_with(
    kernels: &Kernels,
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
    o: Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    // Validate before growing any scratch: a bad shape must not cost an allocation.
    huiyan_kernels::shape::check_attention(&q, &k, &v, &o, opts, lse.as_deref())?;
    let shared_len = AttentionJob::shared_len(kernels, &q, &k, &v);
    with_scratch(&SHARED, shared_len, |shared| {
        let job = AttentionJob::new(kernels, q, k, v, o, opts, lse, shared)?;
        crate::run::run(&job)
    })
}
