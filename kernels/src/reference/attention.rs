use super::offset;
use crate::elem::Element;
use crate::error::Error;
use crate::options::{AttentionOptions, CausalVariant};
use crate::shape::{check_attention, AttnDims};
use crate::view::{Tensor4Mut, Tensor4Ref};

/// Output columns accumulated per pass over the keys: a stack buffer of `f64`s, so the
/// reference allocates nothing and recomputes each logit only `⌈dv / CHUNK⌉` times.
const CHUNK: usize = 32;

/// Reference attention (contract: [`crate::attention`]), every option, in `f64`.
///
/// Straight from the definition, per query row: pass 1 finds `m`, the max over the visible
/// logits and the sink; pass 2 sums `Σ = Σ exp(t − m)` (plus `exp(sink − m)`); pass 3 forms
/// `O = Σ_visible (exp(t − m) / Σ) · v` (`CHUNK` columns at a time) and `lse = m + ln Σ`.
/// Masked keys are skipped: their K and V rows are never read. Half-precision K and V are
/// taken as the values they hold (widened exactly), the semantics every kernel follows. Weights are never formed as
/// `exp(t − lse)`, which loses `Σ` when `|m| ≳ 1e16`.
///
/// ```
/// use huiyan_kernels::{attention::AttentionOptions, reference, Tensor4Mut, Tensor4Ref};
/// // One query, two keys with equal logits: the output is the mean of the two value rows.
/// let (q, k, v) = ([1.0f32], [2.0f32, 2.0], [1.0f32, 3.0]);
/// let mut o = [0.0f32];
/// reference::attention(
///     Tensor4Ref::bhsd(&q, [1, 1, 1, 1]),
///     Tensor4Ref::bhsd(&k, [1, 1, 2, 1]),
///     Tensor4Ref::bhsd(&v, [1, 1, 2, 1]),
///     Tensor4Mut::bhsd(&mut o, [1, 1, 1, 1]),
///     &AttentionOptions::default(),
///     None,
/// ).unwrap();
/// assert_eq!(o, [2.0]);
/// ```
pub fn attention<E: Element>(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_, E>,
    v: Tensor4Ref<'_, E>,
    o: Tensor4Mut<'_>,
    opts: &AttentionOptions<'_>,
    mut lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let d = check_attention(&q, &k, &v, &o, opts, lse.as_deref())?;
    for b in 0..d.batch {
        for h in 0..d.heads_q {
            let hk = h / d.group();
            for i in 0..d.len_q {
                let row = |j: usize| logit(&q, &k, opts, &d, [b, h, hk, i, j]);
                let sink = opts.sinks.map(|s| s[h] as f64);
                // Pass 1: the max. NaN must win it so that it reaches lse and O.
                let mut max = sink.unwrap_or(f64::NEG_INFINITY);
                for j in 0..d.len_kv {
                    if let Some(t) = row(j) {
                        max = if t.is_nan() || max.is_nan() {
                            f64::NAN
                        } else {
                            max.max(t)
                        };
                    }
                }
                // Pass 2: the normaliser (an empty row leaves it 0 and is caught below).
                let mut sum = 0.0f64;
                if max != f64::NEG_INFINITY {
                    for j in 0..d.len_kv {
                        if let Some(t) = row(j) {
                            sum += libm::exp(t - max);
                        }
                    }
                    if let Some(s) = sink {
                        sum += libm::exp(s - max);
                    }
                }
                let row_lse = if max == f64::NEG_INFINITY {
                    f64::NEG_INFINITY // no visible key, no (finite) sink
                } else {
                    max + libm::log(sum)
                };
                // Pass 3: the weighted sum of the visible value rows.
                let mut e0 = 0;
                while e0 < d.dim_v {
                    let e1 = (e0 + CHUNK).min(d.dim_v);
                    let mut acc = [0.0f64; CHUNK];
                    if max != f64::NEG_INFINITY {
                        for j in 0..d.len_kv {
                            if let Some(t) = row(j) {
                                let p = libm::exp(t - max) / sum;
                                for e in e0..e1 {
                                    // SAFETY: check_attention proved [b, hk, j, e] inside V.
                                    let ve = unsafe {
                                        (*v.ptr.add(offset([b, hk, j, e], v.strides))).widen()
                                    };
                                    acc[e - e0] += p * ve as f64;
                                }
                            }
                        }
                    }
                    // A NaN or +∞ sink poisons the whole row, visible keys or not (the
                    // contract).
                    if sink.is_some_and(|s| s.is_nan() || s == f64::INFINITY) {
                        acc = [f64::NAN; CHUNK];
                    }
                    for e in e0..e1 {
                        // SAFETY: [b, h, i, e] inside O (validated); O is disjoint from every
                        // input and exclusively borrowed.
                        unsafe { *o.ptr.add(offset([b, h, i, e], o.strides)) = acc[e - e0] as f32 };
                    }
                    e0 = e1;
                }
                if let Some(l) = lse.as_deref_mut() {
                    l[(b * d.heads_q + h) * d.len_q + i] = row_lse as f32;
                }
            }
        }
    }
    Ok(())
}

/// The logit of key `j` for query `i` (head `h`, kv head `hk`, batch `b`), or `None` when the
/// key is not visible. Visibility is decided before K is read, so a masked key's K row is
/// never touched.
fn logit<E: Element>(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_, E>,
    opts: &AttentionOptions<'_>,
    d: &AttnDims,
    [b, h, hk, i, j]: [usize; 5],
) -> Option<f64> {
    // Query position p(i); i64 because LowerRight with Lq > Lk puts early queries before key 0.
    let pos = match opts.causal_variant {
        CausalVariant::UpperLeft => i as i64,
        CausalVariant::LowerRight => i as i64 + d.len_kv as i64 - d.len_q as i64,
    };
    let jj = j as i64;
    if let Some(lens) = opts.key_padding_lens {
        if j >= lens[b] {
            return None;
        }
    }
    if opts.is_causal && jj > pos {
        return None;
    }
    if let Some(w) = opts.window {
        let w = w as i64;
        if pos - jj >= w || (!opts.is_causal && jj - pos >= w) {
            return None;
        }
    }
    // Index of [b, h, i, j] in a broadcast operand: axes of size 1 read index 0.
    let bcast = |dims: [usize; 4]| {
        let full = [b, h, i, j];
        let mut idx = [0usize; 4];
        for ax in 0..4 {
            idx[ax] = if dims[ax] == 1 { 0 } else { full[ax] };
        }
        idx
    };
    if let Some(m) = &opts.attn_mask {
        // `get` cannot fail: check_attention proved the broadcast shape and extent.
        if !*m.get(bcast(m.dims))? {
            return None;
        }
    }
    let mut dot = 0.0f64;
    for e in 0..d.dim_qk {
        // SAFETY: check_attention proved [b, h, i, e] inside Q and [b, hk, j, e] inside K.
        let (x, y) = unsafe {
            (
                *q.ptr.add(offset([b, h, i, e], q.strides)),
                (*k.ptr.add(offset([b, hk, j, e], k.strides))).widen(),
            )
        };
        dot += x as f64 * y as f64;
    }
    let mut t = d.scale as f64 * dot;
    if let Some(c) = opts.softcap {
        let c = c as f64;
        t = c * libm::tanh(t / c);
    }
    if let Some(bias) = &opts.attn_bias {
        t += *bias.get(bcast(bias.dims))? as f64;
    }
    if let Some(s) = opts.alibi_slopes {
        t -= s[h] as f64 * (pos - jj).unsigned_abs() as f64;
    }
    if t == f64::NEG_INFINITY {
        None
    } else {
        Some(t)
    }
}
