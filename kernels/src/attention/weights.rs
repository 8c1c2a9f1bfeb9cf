//! The attention weights themselves, `P = softmax(logits)` of the [contract](super), for
//! callers that want to inspect them (PyTorch's `need_weights`).
//!
//! The fast paths never form `P`; this one writes it, row by row, in `O(Lq·Lk·dk)` time and one
//! `Lk` row of workspace. It takes its visibility and logit adjustments from the same
//! `mask.rs` code as the kernels (`Intervals`, `ElementOpts`, `sink_logit`), its softcap from
//! the scalar `tanh` every tier mirrors, and its exponentials from `exp_lane`, so the weights
//! obey the contract exactly as `O` does: masked keys get exactly 0 and are never read, a row
//! with no visible key is all zeros, a NaN or `+∞` logit makes its row NaN, a NaN or `+∞` sink
//! every row of its head. It is portable code (the dot products are left to the compiler's
//! vectoriser): weights are for inspection, and `P·V` with these weights equals the kernels'
//! `O` within the attention error bound, not bit for bit.

use super::mask::{sink_logit, ElementOpts, Intervals};
use crate::error::Error;
use crate::options::AttentionOptions;
use crate::shape::{check_attention_weights, check_workspace, AttnDims};
use crate::simd::exp::exp_lane;
use crate::simd::tanh::tanh_lane;
use crate::view::{Tensor4Mut, Tensor4Ref};

/// Elements of workspace [`attention_weights`] needs: one row of `len_kv` logits.
///
/// ```
/// assert_eq!(huiyan_kernels::attention::attention_weights_workspace_len(4096), 4096);
/// ```
pub fn attention_weights_workspace_len(len_kv: usize) -> usize {
    len_kv
}

/// Writes the attention weights `P[b, h, i, j] = exp(t_ij − lse_i)` of the [contract](super)
/// (the probabilities `O` is the `P`-weighted sum of `V` rows with; with sinks a row sums to
/// less than 1) into `out`, of dims `[B, Hq, Lq, Lk]`, or `[B, 1, Lq, Lk]` for the mean over
/// the query heads (PyTorch's `average_attn_weights`). Masked keys get exactly 0; a row with no
/// visible key is all zeros. Any strides; `workspace` has at least
/// [`attention_weights_workspace_len`] elements (none when `out` is empty).
///
/// Validates everything first ([`check_attention_weights`]): on `Err`, `out` is untouched.
/// Cost `O(B·Hq·Lq·Lk·dk)`, like the logits themselves; nothing `Lk × Lk` is ever formed.
///
/// ```
/// use huiyan_kernels::attention::{attention_weights, AttentionOptions};
/// use huiyan_kernels::{Tensor4Mut, Tensor4Ref};
/// // One query against three keys, the last one padded away.
/// let (q, k) = ([1.0f32, 0.0], [1.0f32, 0.0, 0.0, 1.0, 9.0, 9.0]);
/// let lens = [2usize];
/// let opts = AttentionOptions { scale: Some(1.0), key_padding_lens: Some(&lens), ..Default::default() };
/// let mut w = [f32::NAN; 3];
/// let mut ws = [0.0f32; 3];
/// attention_weights(Tensor4Ref::bhsd(&q, [1, 1, 1, 2]), Tensor4Ref::bhsd(&k, [1, 1, 3, 2]),
///                   &opts, Tensor4Mut::bhsd(&mut w, [1, 1, 1, 3]), &mut ws)?;
/// let e = core::f32::consts::E;
/// assert!((w[0] - e / (e + 1.0)).abs() < 1e-6 && (w[1] - 1.0 / (e + 1.0)).abs() < 1e-6);
/// assert_eq!(w[2], 0.0);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
pub fn attention_weights(
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
    out: Tensor4Mut<'_>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    let d = check_attention_weights(&q, &k, &out, opts)?;
    if d.batch == 0 || d.heads_q == 0 || d.len_q == 0 || d.len_kv == 0 {
        // Nothing to write, and no workspace needed: `Lk` alone is unbounded by `out`'s size
        // when another axis is 0.
        return Ok(());
    }
    check_workspace(attention_weights_workspace_len(d.len_kv), workspace.len())?;
    let row = &mut workspace[..d.len_kv];
    let average = out.dims[1] == 1 && d.heads_q > 1;
    // SAFETY: a view's `ptr`/`len` are the slice it was built from (or the caller's promise to
    // `from_raw_parts`), borrowed for the view's lifetime; validation proved every element the
    // strides reach lies inside it, and `out` is disjoint from `q` and `k`.
    let (qs, ks) = unsafe {
        (
            core::slice::from_raw_parts(q.ptr, q.len),
            core::slice::from_raw_parts(k.ptr, k.len),
        )
    };
    // SAFETY: as above, for the mutable view (exclusively borrowed by `out`).
    let os = unsafe { core::slice::from_raw_parts_mut(out.ptr, out.len) };
    let inv_heads = 1.0 / d.heads_q as f32;
    for b in 0..d.batch {
        let iv = Intervals::new(opts, &d, b);
        for i in 0..d.len_q {
            for h in 0..d.heads_q {
                weights_row(&q, qs, &k, ks, opts, &d, &iv, [b, h, i], row);
                let oh = if average { 0 } else { h };
                let base = b * out.strides[0] + oh * out.strides[1] + i * out.strides[2];
                let sj = out.strides[3];
                for (j, &w) in row.iter().enumerate() {
                    let o = &mut os[base + j * sj];
                    *o = match (average, h) {
                        (false, _) | (true, 0) => w,
                        (true, _) => *o + w,
                    };
                }
                if average && h + 1 == d.heads_q {
                    for j in 0..d.len_kv {
                        os[base + j * sj] *= inv_heads;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `Σ_x a[x·sa]·b[x·sb]` over `n` terms, in eight interleaved partial sums (so the compiler
/// vectorises the unit-stride case).
#[inline]
fn dot(a: &[f32], sa: usize, b: &[f32], sb: usize, n: usize) -> f32 {
    let mut acc = [0.0f32; 8];
    if sa == 1 && sb == 1 {
        let (a, b) = (&a[..n], &b[..n]);
        let mut ca = a.chunks_exact(8);
        let mut cb = b.chunks_exact(8);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for l in 0..8 {
                acc[l] += x[l] * y[l];
            }
        }
        for (l, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
            acc[l] += x * y;
        }
    } else {
        for x in 0..n {
            acc[x % 8] += a[x * sa] * b[x * sb];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// One row of weights, query `i` of batch `b`, head `h`, into `row` (`Lk` long).
#[allow(clippy::too_many_arguments)]
fn weights_row(
    q: &Tensor4Ref<'_>,
    qs: &[f32],
    k: &Tensor4Ref<'_>,
    ks: &[f32],
    opts: &AttentionOptions<'_>,
    d: &AttnDims,
    iv: &Intervals,
    [b, h, i]: [usize; 3],
    row: &mut [f32],
) {
    row.fill(0.0);
    let sink = sink_logit(opts.sinks, h);
    if sink.is_some_and(f32::is_nan) {
        row.fill(f32::NAN);
        return;
    }
    let (lo, hi) = iv.row(i);
    let eo = ElementOpts::new(opts, b, h);
    let kvh = h / d.group();
    let q0 = b * q.strides[0] + h * q.strides[1] + i * q.strides[2];
    let qrow = &qs[q0..];
    let pos = iv.pos(i);
    let mut m = sink.unwrap_or(f32::NEG_INFINITY);
    for (j, t) in row.iter_mut().enumerate().take(hi).skip(lo) {
        let k0 = b * k.strides[0] + kvh * k.strides[1] + j * k.strides[2];
        let mut s = d.scale * dot(qrow, q.strides[3], &ks[k0..], k.strides[3], d.dim_qk);
        if let Some(c) = eo.softcap {
            s = c * tanh_lane(s / c);
        }
        if eo.any_scalar() {
            s = eo.apply(s, i, pos, j);
        }
        if s.is_nan() || s == f32::INFINITY {
            // The NaN / +∞ logit rule: the whole row is NaN.
            row.fill(f32::NAN);
            return;
        }
        m = m.max(s);
        *t = s;
    }
    if m == f32::NEG_INFINITY {
        // No visible key with a finite logit and no sink: all zeros (−∞ logits are masked).
        row[lo..hi].fill(0.0);
        return;
    }
    // The normaliser in f64: a row may have millions of terms, and an f32 running sum would
    // drift by ~n·2⁻²⁴ relative (0.2 % at 1 Mi keys, measured); f64 keeps it below 1 ulp of f32.
    let mut sum = sink.map_or(0.0, |s| exp_lane(s - m) as f64);
    for t in &mut row[lo..hi] {
        *t = exp_lane(*t - m);
        sum += *t as f64;
    }
    let inv = (1.0 / sum) as f32;
    row[lo..hi].iter_mut().for_each(|t| *t *= inv);
}
