use super::offset;
use crate::attention::{AttentionOptions, CausalVariant};
use crate::error::Error;
use crate::shape::{check_attention, AttnDims};
use crate::view::{Tensor4Mut, Tensor4Ref};

/// Reference attention (contract: [`crate::attention`]), every option, in `f64`.
///
/// Two passes per query row over the keys, straight from the definition: the logits of the
/// visible keys, then `lse` and the weighted sum of their value rows. Masked keys are skipped.
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
pub fn attention(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    v: Tensor4Ref<'_>,
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
                let mut max = sink.unwrap_or(f64::NEG_INFINITY);
                for t in (0..d.len_kv).filter_map(row) {
                    // NaN must win the max so it reaches lse and O.
                    max = if t.is_nan() || max.is_nan() {
                        f64::NAN
                    } else {
                        max.max(t)
                    };
                }
                let row_lse = if max == f64::NEG_INFINITY {
                    f64::NEG_INFINITY
                } else {
                    let mut sum: f64 = (0..d.len_kv)
                        .filter_map(row)
                        .map(|t| libm::exp(t - max))
                        .sum();
                    if let Some(s) = sink {
                        sum += libm::exp(s - max);
                    }
                    max + libm::log(sum)
                };
                for e in 0..d.dim_v {
                    let mut acc = 0.0f64;
                    if row_lse != f64::NEG_INFINITY {
                        for j in 0..d.len_kv {
                            if let Some(t) = row(j) {
                                // SAFETY: check_attention proved [b, hk, j, e] inside V.
                                let ve = unsafe { *v.ptr.add(offset([b, hk, j, e], v.strides)) };
                                acc += libm::exp(t - row_lse) * ve as f64;
                            }
                        }
                    }
                    // SAFETY: [b, h, i, e] inside O (validated), O disjoint from all inputs.
                    unsafe { *o.ptr.add(offset([b, h, i, e], o.strides)) = acc as f32 };
                }
                if let Some(l) = lse.as_deref_mut() {
                    l[(b * d.heads_q + h) * d.len_q + i] = row_lse as f32;
                }
            }
        }
    }
    Ok(())
}

/// The logit of key `j` for query `i`, or `None` when the key is not visible.
fn logit(
    q: &Tensor4Ref<'_>,
    k: &Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
    d: &AttnDims,
    [b, h, hk, i, j]: [usize; 5],
) -> Option<f64> {
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
    let bcast = |dims: [usize; 4]| {
        let full = [b, h, i, j];
        let mut idx = [0usize; 4];
        for ax in 0..4 {
            idx[ax] = if dims[ax] == 1 { 0 } else { full[ax] };
        }
        idx
    };
    if let Some(m) = &opts.attn_mask {
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
                *k.ptr.add(offset([b, hk, j, e], k.strides)),
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
