//! Scaled dot-product attention (contract: [`huiyan_kernels::attention`]).

use huiyan_kernels::attention::{AttentionJob, AttentionOptions};
use huiyan_kernels::convert::convert4;
use huiyan_kernels::elem::Element;
use huiyan_kernels::{Error, Kernels, Tensor4Mut, Tensor4Ref};

use crate::dispatch;
use crate::scratch::with_scratch;

thread_local! {
    /// Decode partials of calls made on this thread.
    static SHARED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// A half-precision Q widened, and the f32 O of a half-precision output.
    static Q32: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    static O32: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `O = softmax(scale·QKᵀ + masks)·V` in PyTorch SDPA vocabulary, with every option of
/// [`AttentionOptions`]; writes the per-row logsumexp into `lse` (`[B, Hq, Lq]`) when given.
///
/// Flash-style: the `Lq × Lk` score matrix is never materialised (memory is `O(Lk·d)` per
/// thread), causal and windowed calls skip the blocks they cannot see, and decode-shaped calls
/// (`Lq ≤ 4`) stream the KV cache in chunks merged by logsumexp. With the `rayon` feature the
/// work is spread over the pool; the result has the same bits for any thread count.
///
/// Q, K, V and O may each be stored in `f32`, [`bf16`](crate::bf16) or [`f16`](crate::f16)
/// (K and V in one type: a KV cache). Arithmetic is `f32`: a half-precision Q is widened
/// first, K and V as the kernels read them, and a half-precision O receives the `f32` result
/// rounded once, to nearest even; `lse` is `f32`.
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
pub fn attention<Q: Element, E: Element, O: Element>(
    q: Tensor4Ref<'_, Q>,
    k: Tensor4Ref<'_, E>,
    v: Tensor4Ref<'_, E>,
    o: Tensor4Mut<'_, O>,
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
pub fn attention_with<Q: Element, E: Element, O: Element>(
    kernels: &Kernels,
    q: Tensor4Ref<'_, Q>,
    k: Tensor4Ref<'_, E>,
    v: Tensor4Ref<'_, E>,
    o: Tensor4Mut<'_, O>,
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    // Validate before growing any scratch: a bad shape must not cost an allocation.
    huiyan_kernels::shape::check_attention(&q, &k, &v, &o, opts, lse.as_deref())?;
    let mut o = match o.as_f32() {
        Ok(o) => return with_f32_q(q, |q| attention_f32(kernels, q, k, v, o, opts, lse)),
        Err(o) => o,
    };
    // A half-precision O: computed into a dense f32 copy, then rounded once into `o`.
    let od = o.dims;
    let n = od.iter().product();
    with_scratch(&O32, n, |buf| {
        with_f32_q(q, |q| {
            attention_f32(kernels, q, k, v, Tensor4Mut::bhsd(buf, od), opts, lse)
        })?;
        convert4(Tensor4Ref::bhsd(buf, od), o.rb_mut())
    })
}

/// `run` on Q as `f32`: itself, or (half precision) widened into a dense per-thread copy.
fn with_f32_q<Q: Element>(
    q: Tensor4Ref<'_, Q>,
    run: impl FnOnce(Tensor4Ref<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    if let Some(q) = q.as_f32() {
        return run(q);
    }
    let qd = q.dims;
    with_scratch(&Q32, qd.iter().product(), |buf| {
        convert4(q, Tensor4Mut::bhsd(buf, qd))?;
        run(Tensor4Ref::bhsd(buf, qd))
    })
}

/// The `f32` call (validated by the caller).
fn attention_f32<E: Element>(
    kernels: &Kernels,
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_, E>,
    v: Tensor4Ref<'_, E>,
    o: Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let shared_len = AttentionJob::shared_len(kernels, &q, &k, &v);
    with_scratch(&SHARED, shared_len, |shared| {
        let job = AttentionJob::new(kernels, q, k, v, o, opts, lse, shared)?;
        crate::run::run(&job)
    })
}

/// Attention over a variable-length batch: sequences packed end to end without padding, as
/// FlashAttention's varlen interface takes them (contract:
/// [`huiyan_kernels::attention::attention_varlen`]). Q `[total_q, Hq, dk]`, K and V
/// `[total_k, Hkv, d]`, O `[total_q, Hq, dv]` as views with a batch axis of 1
/// ([`Tensor4Ref::thd`]); sequence `s` owns query tokens `cu_seqlens_q[s]..cu_seqlens_q[s+1]`
/// and key tokens `cu_seqlens_k[s]..cu_seqlens_k[s+1]`, and sees only its own keys. The cost
/// is proportional to `Σ Lqₛ·Lkₛ`, not to a padded batch. `lse` is `[Hq, total_q]`.
///
/// Each sequence gets exactly the bits of the same call made for it alone (the varlen tests
/// check it); with the `rayon` feature the work spreads over the pool, with the same bits.
///
/// ```
/// use huiyan::{attention_varlen, AttentionOptions, Tensor4Mut, Tensor4Ref};
/// // Three sentences of 3, 5 and 2 tokens, 2 heads of dimension 4, packed.
/// let (total, h, d) = (10, 2, 4);
/// let x: Vec<f32> = (0..total * h * d).map(|i| (i % 7) as f32 * 0.1).collect();
/// let mut o = vec![0.0f32; total * h * d];
/// let cu = [0usize, 3, 8, 10];
/// let t = |s| Tensor4Ref::thd(s, [total, h, d]);
/// attention_varlen(t(&x), t(&x), t(&x), Tensor4Mut::thd(&mut o, [total, h, d]), &cu, &cu,
///                  &AttentionOptions::default(), None)?;
/// # Ok::<(), huiyan::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn attention_varlen(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
    o: Tensor4Mut<'_>,
    cu_seqlens_q: &[usize],
    cu_seqlens_k: &[usize],
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    attention_varlen_with(
        dispatch::kernels(),
        q,
        k,
        v,
        o,
        cu_seqlens_q,
        cu_seqlens_k,
        opts,
        lse,
    )
}

/// [`attention_varlen`] with an explicit kernel table.
///
/// ```
/// use huiyan::{attention_varlen_with, AttentionOptions, Tensor4Mut, Tensor4Ref};
/// let x = [1.0f32, 2.0, 3.0, 4.0];
/// for k in huiyan::dispatch::available() {
///     let mut o = [0.0f32; 4];
///     // Two sequences of one token each: each sees only itself.
///     attention_varlen_with(&k, Tensor4Ref::thd(&x, [2, 1, 2]), Tensor4Ref::thd(&x, [2, 1, 2]),
///                           Tensor4Ref::thd(&x, [2, 1, 2]), Tensor4Mut::thd(&mut o, [2, 1, 2]),
///                           &[0, 1, 2], &[0, 1, 2], &AttentionOptions::default(), None)?;
///     assert_eq!(o, x, "{}", k.isa().name());
/// }
/// # Ok::<(), huiyan::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn attention_varlen_with(
    kernels: &Kernels,
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
    o: Tensor4Mut<'_>,
    cu_seqlens_q: &[usize],
    cu_seqlens_k: &[usize],
    opts: &AttentionOptions<'_>,
    lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    huiyan_kernels::attention::check_attention_varlen(
        &q,
        &k,
        &v,
        &o,
        cu_seqlens_q,
        cu_seqlens_k,
        opts,
        lse.as_deref(),
    )?;
    let (cu_q, cu_k) = (cu_seqlens_q, cu_seqlens_k);
    let shared_len = AttentionJob::varlen_shared_len(kernels, &q, &k, &v, cu_q, cu_k);
    with_scratch(&SHARED, shared_len, |shared| {
        let job = AttentionJob::new_varlen(kernels, q, k, v, o, cu_q, cu_k, opts, lse, shared)?;
        crate::run::run(&job)
    })
}
