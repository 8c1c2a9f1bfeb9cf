//! Validation of attention and of its weights.

use super::common::{
    check_broadcast, check_disjoint, check_finite_nonzero_scale, check_slice_len, check_t4_mut,
    check_t4_ref, product, Span,
};
use crate::elem::Element;
use crate::error::{Dim, Error, Operand};
use crate::options::AttentionOptions;
use crate::view::{Tensor4Mut, Tensor4Ref};

/// Shape of a validated attention call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnDims {
    /// Batch size `B`.
    pub batch: usize,
    /// Query heads `Hq`.
    pub heads_q: usize,
    /// Key/value heads `Hkv` (divides `Hq`).
    pub heads_kv: usize,
    /// Query length `Lq`.
    pub len_q: usize,
    /// Key/value length `Lk`.
    pub len_kv: usize,
    /// Query/key head dimension `dk`.
    pub dim_qk: usize,
    /// Value head dimension `dv`.
    pub dim_v: usize,
    /// The scale actually used (`opts.scale` or `1/√dk`).
    pub scale: f32,
}

impl AttnDims {
    /// Query heads per kv head (`Hq / Hkv`): query head `h` reads kv head `h / group()`.
    ///
    /// ```
    /// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention, Tensor4Mut, Tensor4Ref};
    /// let (q, kv) = (vec![0.0f32; 8 * 4], vec![0.0f32; 2 * 4]);
    /// let mut o = vec![0.0f32; 8 * 4];
    /// let d = check_attention(
    ///     &Tensor4Ref::bhsd(&q, [1, 8, 1, 4]),
    ///     &Tensor4Ref::bhsd(&kv, [1, 2, 1, 4]),
    ///     &Tensor4Ref::bhsd(&kv, [1, 2, 1, 4]),
    ///     &Tensor4Mut::bhsd(&mut o, [1, 8, 1, 4]),
    ///     &AttentionOptions::default(),
    ///     None,
    /// )?;
    /// assert_eq!(d.group(), 4); // 8 query heads share 2 kv heads
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn group(&self) -> usize {
        self.heads_q / self.heads_kv
    }
}

/// Validates an attention call (see [`crate::attention`] for the contract).
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention, Error};
/// use huiyan_kernels::{Tensor4Mut, Tensor4Ref};
/// let (q, k, v) = (vec![0.0f32; 2 * 3 * 16], vec![0.0f32; 5 * 16], vec![0.0f32; 5 * 8]);
/// let mut o = vec![0.0f32; 2 * 3 * 8];
/// let (qv, kv, vv) = (
///     Tensor4Ref::bhsd(&q, [1, 2, 3, 16]),
///     Tensor4Ref::bhsd(&k, [1, 1, 5, 16]),
///     Tensor4Ref::bhsd(&v, [1, 1, 5, 8]),
/// );
/// let opts = AttentionOptions::default();
/// let d = check_attention(&qv, &kv, &vv, &Tensor4Mut::bhsd(&mut o, [1, 2, 3, 8]), &opts, None)?;
/// assert_eq!((d.len_q, d.len_kv, d.dim_qk, d.dim_v), (3, 5, 16, 8));
/// assert_eq!(d.scale, 0.25); // 1/√16
/// let bad = AttentionOptions { window: Some(0), ..opts };
/// let err = check_attention(&qv, &kv, &vv, &Tensor4Mut::bhsd(&mut o, [1, 2, 3, 8]), &bad, None);
/// assert_eq!(err, Err(Error::ZeroWindow));
/// # Ok::<(), Error>(())
/// ```
pub fn check_attention<Q, E: Element, O>(
    q: &Tensor4Ref<'_, Q>,
    k: &Tensor4Ref<'_, E>,
    v: &Tensor4Ref<'_, E>,
    o: &Tensor4Mut<'_, O>,
    opts: &AttentionOptions<'_>,
    lse: Option<&[f32]>,
) -> Result<AttnDims, Error> {
    let [batch, heads_q, len_q, dim_qk] = q.dims;
    let [kb, heads_kv, len_kv, kd] = k.dims;
    let [vb, vh, vl, dim_v] = v.dims;
    let mismatch = |dim, expected, got| Err(Error::DimMismatch { dim, expected, got });
    if kb != batch {
        return mismatch(Dim::Batch, batch, kb);
    }
    if vb != batch {
        return mismatch(Dim::Batch, batch, vb);
    }
    if kd != dim_qk {
        return mismatch(Dim::DimQk, dim_qk, kd);
    }
    if vh != heads_kv {
        return mismatch(Dim::HeadsKv, heads_kv, vh);
    }
    if vl != len_kv {
        return mismatch(Dim::LenKv, len_kv, vl);
    }
    let od = [batch, heads_q, len_q, dim_v];
    for (ax, dim) in [Dim::Batch, Dim::HeadsQ, Dim::LenQ, Dim::DimV]
        .into_iter()
        .enumerate()
    {
        if o.dims[ax] != od[ax] {
            return mismatch(dim, od[ax], o.dims[ax]);
        }
    }
    if dim_qk == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimQk });
    }
    if dim_v == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimV });
    }
    check_kv_heads(heads_q, heads_kv)?;
    let sq = check_t4_ref(Operand::Q, q)?;
    let sk = check_t4_ref(Operand::K, k)?;
    let sv = check_t4_ref(Operand::V, v)?;
    let so = check_t4_mut(Operand::O, o)?;
    for (op, s) in [(Operand::Q, sq), (Operand::K, sk), (Operand::V, sv)] {
        check_disjoint(Operand::O, so, op, s)?;
    }
    let scale = check_attention_options(
        opts,
        [batch, heads_q, len_q, len_kv],
        dim_qk,
        Operand::O,
        so,
    )?;
    if let Some(l) = lse {
        let rows = product(&[batch, heads_q, len_q]).ok_or(Error::Overflow {
            operand: Operand::Lse,
        })?;
        let sl = check_slice_len(Operand::Lse, l, rows)?;
        for (op, s) in [
            (Operand::Q, sq),
            (Operand::K, sk),
            (Operand::V, sv),
            (Operand::O, so),
        ] {
            check_disjoint(Operand::Lse, sl, op, s)?;
        }
    }
    Ok(AttnDims {
        batch,
        heads_q,
        heads_kv,
        len_q,
        len_kv,
        dim_qk,
        dim_v,
        scale,
    })
}

/// Validates an [`attention_weights`](crate::attention::attention_weights) call: `q` and `k`
/// as in [`check_attention`], the weights `out` of dims `[B, Hq, Lq, Lk]` (per head) or
/// `[B, 1, Lq, Lk]` (averaged over heads), disjoint from every input. The returned
/// [`AttnDims::dim_v`] is `Lk`: the weights are the output of attention with `V = I`.
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention_weights};
/// use huiyan_kernels::{Dim, Error, Tensor4Mut, Tensor4Ref};
/// let (q, k) = (vec![0.0f32; 2 * 3 * 4], vec![0.0f32; 5 * 4]);
/// let mut w = vec![0.0f32; 2 * 3 * 5];
/// let (qv, kv) = (Tensor4Ref::bhsd(&q, [1, 2, 3, 4]), Tensor4Ref::bhsd(&k, [1, 1, 5, 4]));
/// let opts = AttentionOptions::default();
/// let d = check_attention_weights(&qv, &kv, &Tensor4Mut::bhsd(&mut w, [1, 2, 3, 5]), &opts)?;
/// assert_eq!((d.len_q, d.len_kv, d.dim_v), (3, 5, 5));
/// let bad = check_attention_weights(&qv, &kv, &Tensor4Mut::bhsd(&mut w, [1, 2, 3, 4]), &opts);
/// assert_eq!(bad, Err(Error::DimMismatch { dim: Dim::LenKv, expected: 5, got: 4 }));
/// # Ok::<(), Error>(())
/// ```
pub fn check_attention_weights(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    out: &Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
) -> Result<AttnDims, Error> {
    let [batch, heads_q, len_q, dim_qk] = q.dims;
    let [kb, heads_kv, len_kv, kd] = k.dims;
    let mismatch = |dim, expected, got| Err(Error::DimMismatch { dim, expected, got });
    if kb != batch {
        return mismatch(Dim::Batch, batch, kb);
    }
    if kd != dim_qk {
        return mismatch(Dim::DimQk, dim_qk, kd);
    }
    // A head axis of 1 asks for the average over heads (the same thing when `Hq = 1`).
    let heads_out = if out.dims[1] == 1 { 1 } else { heads_q };
    let od = [batch, heads_out, len_q, len_kv];
    for (ax, dim) in [Dim::Batch, Dim::HeadsQ, Dim::LenQ, Dim::LenKv]
        .into_iter()
        .enumerate()
    {
        if out.dims[ax] != od[ax] {
            return mismatch(dim, od[ax], out.dims[ax]);
        }
    }
    if dim_qk == 0 {
        return Err(Error::ZeroDim { dim: Dim::DimQk });
    }
    check_kv_heads(heads_q, heads_kv)?;
    let sq = check_t4_ref(Operand::Q, q)?;
    let sk = check_t4_ref(Operand::K, k)?;
    let so = check_t4_mut(Operand::Weights, out)?;
    for (op, s) in [(Operand::Q, sq), (Operand::K, sk)] {
        check_disjoint(Operand::Weights, so, op, s)?;
    }
    let full = [batch, heads_q, len_q, len_kv];
    let scale = check_attention_options(opts, full, dim_qk, Operand::Weights, so)?;
    Ok(AttnDims {
        batch,
        heads_q,
        heads_kv,
        len_q,
        len_kv,
        dim_qk,
        dim_v: len_kv,
        scale,
    })
}

/// `Hkv ≥ 1` and `Hq % Hkv == 0` (GQA: each kv head serves `Hq / Hkv` query heads).
fn check_kv_heads(heads_q: usize, heads_kv: usize) -> Result<(), Error> {
    if heads_kv == 0 {
        return Err(Error::ZeroDim { dim: Dim::HeadsKv });
    }
    if !heads_q.is_multiple_of(heads_kv) {
        return Err(Error::HeadsNotDivisible { heads_q, heads_kv });
    }
    Ok(())
}

/// The option checks shared by [`check_attention`] and [`check_attention_weights`]: scale,
/// softcap, window, and every optional operand (its shape, its extent, and that the output
/// span `so` of `out_op` does not overlap it). `full` is `[B, Hq, Lq, Lk]`. Returns the scale
/// in use.
fn check_attention_options(
    opts: &AttentionOptions<'_>,
    full: [usize; 4],
    dim_qk: usize,
    out_op: Operand,
    so: Span,
) -> Result<f32, Error> {
    let [batch, heads_q, _, len_kv] = full;
    let scale = match opts.scale {
        Some(s) => s,
        None => (1.0 / libm::sqrt(dim_qk as f64)) as f32,
    };
    check_finite_nonzero_scale(scale)?;
    if let Some(c) = opts.softcap {
        if !(c.is_finite() && c > 0.0) {
            return Err(Error::InvalidSoftcap { softcap: c });
        }
    }
    if opts.window == Some(0) {
        return Err(Error::ZeroWindow);
    }
    if let Some(m) = &opts.attn_mask {
        check_broadcast::<bool>(Operand::Mask, &m.dims, &full)?;
        let sm = check_t4_ref(Operand::Mask, m)?;
        check_disjoint(out_op, so, Operand::Mask, sm)?;
    }
    if let Some(b) = &opts.attn_bias {
        check_broadcast::<f32>(Operand::Bias, &b.dims, &full)?;
        let sb = check_t4_ref(Operand::Bias, b)?;
        check_disjoint(out_op, so, Operand::Bias, sb)?;
    }
    if let Some(p) = opts.key_padding_lens {
        let sp = check_slice_len(Operand::KeyPadding, p, batch)?;
        check_disjoint(out_op, so, Operand::KeyPadding, sp)?;
        if let Some((b, &len)) = p[..batch].iter().enumerate().find(|(_, &l)| l > len_kv) {
            return Err(Error::PaddingTooLong {
                batch: b,
                len,
                len_kv,
            });
        }
    }
    if let Some(s) = opts.alibi_slopes {
        let ss = check_slice_len(Operand::AlibiSlopes, s, heads_q)?;
        check_disjoint(out_op, so, Operand::AlibiSlopes, ss)?;
    }
    if let Some(s) = opts.sinks {
        let ss = check_slice_len(Operand::Sinks, s, heads_q)?;
        check_disjoint(out_op, so, Operand::Sinks, ss)?;
    }
    Ok(scale)
}

/// Validates a variable-length call (`attention::attention_varlen`): the packed views as one call with `B = 1` (coverage,
/// overlaps, heads, options — all of [`check_attention`]), a batch axis of 1, no option without
/// a per-sequence meaning, and the offsets. Returns the packed call's dimensions.
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, shape::check_attention_varlen};
/// use huiyan_kernels::{Error, Tensor4Mut, Tensor4Ref, Operand};
/// let (q, mut o) = (vec![0.0f32; 7 * 2 * 4], vec![0.0f32; 7 * 2 * 4]);
/// let t = |x| Tensor4Ref::thd(x, [7, 2, 4]);
/// let opts = AttentionOptions::default();
/// // Two sequences of 3 and 4 tokens.
/// let ok = check_attention_varlen(&t(&q), &t(&q), &t(&q), &Tensor4Mut::thd(&mut o, [7, 2, 4]),
///                                 &[0, 3, 7], &[0, 3, 7], &opts, None);
/// assert!(ok.is_ok());
/// // Offsets that go back: a typed error naming the offset.
/// let bad = check_attention_varlen(&t(&q), &t(&q), &t(&q), &Tensor4Mut::thd(&mut o, [7, 2, 4]),
///                                  &[0, 5, 3], &[0, 3, 7], &opts, None);
/// assert!(matches!(bad, Err(Error::BadOffset { operand: Operand::SeqOffsetsQ, index: 2, .. })));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn check_attention_varlen(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    v: &Tensor4Ref<'_>,
    o: &Tensor4Mut<'_>,
    cu_seqlens_q: &[usize],
    cu_seqlens_k: &[usize],
    opts: &AttentionOptions<'_>,
    lse: Option<&[f32]>,
) -> Result<AttnDims, Error> {
    for (operand, given) in [
        (Operand::Mask, opts.attn_mask.is_some()),
        (Operand::Bias, opts.attn_bias.is_some()),
        (Operand::KeyPadding, opts.key_padding_lens.is_some()),
    ] {
        if given {
            return Err(Error::NotPerSequence { operand });
        }
    }
    let d = check_attention(q, k, v, o, opts, lse)?;
    if d.batch != 1 {
        return Err(Error::DimMismatch {
            dim: Dim::Batch,
            expected: 1,
            got: d.batch,
        });
    }
    if cu_seqlens_q.is_empty() {
        return Err(Error::ZeroDim { dim: Dim::Batch });
    }
    if cu_seqlens_k.len() != cu_seqlens_q.len() {
        return Err(Error::DimMismatch {
            dim: Dim::Batch,
            expected: cu_seqlens_q.len() - 1,
            got: cu_seqlens_k.len().saturating_sub(1),
        });
    }
    check_offsets(Operand::SeqOffsetsQ, cu_seqlens_q, d.len_q)?;
    check_offsets(Operand::SeqOffsetsK, cu_seqlens_k, d.len_kv)?;
    Ok(d)
}

/// Offsets non-decreasing and at most `total`.
fn check_offsets(operand: Operand, cu: &[usize], total: usize) -> Result<(), Error> {
    let mut min = 0;
    for (index, &value) in cu.iter().enumerate() {
        if value < min || value > total {
            return Err(Error::BadOffset {
                operand,
                index,
                value,
                min,
                max: total,
            });
        }
        min = value;
    }
    Ok(())
}
