//! Decoding: a few queries against a long KV cache (flash-decoding, Dao et al., 2023).
//!
//! With `Lq ≤` [`MAX_DECODE_LQ`] the tile path would fill a whole `MR`-row microkernel tile with
//! one or two real rows and pack every key first; decoding is instead a stream over K and V,
//! bound by memory bandwidth. The keys are split into fixed chunks of [`KV_CHUNK`]:
//!
//! * phase 0, one task per `(b, kv head, chunk)`: every query row of every query head sharing
//!   the kv head (GQA: each K/V row is read once for the whole group) runs the online softmax
//!   over the chunk's visible keys, leaving a partial `(m, l, acc)`;
//! * phase 1, one task per `(b, kv head)`: partials are merged in chunk order with their
//!   logsumexps, `O = acc / l`, `lse = m + ln l`.
//!
//! Chunk boundaries depend only on `Lk`, and the merge order is fixed, so results are
//! bit-identical whatever the number of threads the tasks are spread over. Masked keys are never
//! read, so NaN in a masked K or V row cannot reach O.

use super::mask::{ElementOpts, Intervals};
use super::tile::Call;
use crate::softmax::exp::exp_lane;
use crate::softmax::simd::SimdF32;

/// Keys per phase-0 chunk.
pub(crate) const KV_CHUNK: usize = 1024;
/// Largest `Lq` that takes the decode path.
pub(crate) const MAX_DECODE_LQ: usize = 4;

/// Query rows one `(b, kv head)` carries through decode: `group · Lq`.
fn rows(c: &Call<'_>) -> usize {
    c.d.group() * c.d.len_q
}

/// KV chunks per `(b, kv head)`.
pub(crate) fn chunks(c: &Call<'_>) -> usize {
    c.d.len_kv.div_ceil(KV_CHUNK)
}

/// Shared scratch for the partials (f32 elements): `B·Hkv·chunks·group·Lq·(dv + 2)`, saturating
/// (an unrepresentable shape fails validation first).
pub(crate) fn shared_len(dims: [usize; 6]) -> usize {
    let [b, hkv, lk, group, lq, dv] = dims;
    let chunks = lk.div_ceil(KV_CHUNK);
    [b, hkv, chunks, group, lq, dv.saturating_add(2)]
        .iter()
        .fold(1usize, |a, &x| a.saturating_mul(x))
}

/// Per-task workspace: the group's query rows and one gathered K and V row.
pub(crate) fn workspace_len(lq: usize, group: usize, dk: usize, dv: usize) -> usize {
    lq.saturating_mul(group)
        .saturating_mul(dk)
        .saturating_add(dk)
        .saturating_add(dv)
}

#[inline(always)]
fn off(idx: [usize; 4], st: [usize; 4]) -> usize {
    idx[0] * st[0] + idx[1] * st[1] + idx[2] * st[2] + idx[3] * st[3]
}

/// `Σ x[e]·y[e]` over `n` floats, lanes first, then the lane sum in the ISA's fixed order.
///
/// # Safety
///
/// `x`, `y` readable for `n` floats; the CPU supports `S`.
#[inline(always)]
unsafe fn dot<S: SimdF32>(s: S, x: *const f32, y: *const f32, n: usize) -> f32 {
    let mut acc = s.splat(0.0);
    let mut e = 0;
    // SAFETY: every load stays below n.
    unsafe {
        while e + S::LANES <= n {
            acc = s.add(acc, s.mul(s.load(x.add(e)), s.load(y.add(e))));
            e += S::LANES;
        }
        if e < n {
            let (a, b) = (
                s.load_part(x.add(e), n - e, 0.0),
                s.load_part(y.add(e), n - e, 0.0),
            );
            acc = s.add(acc, s.mul(a, b));
        }
    }
    s.reduce_add(acc)
}

/// `acc[e] = acc[e]·c + p·v[e]` over `n` floats.
///
/// # Safety
///
/// `acc` writable and `v` readable for `n` floats; the CPU supports `S`.
#[inline(always)]
unsafe fn scale_axpy<S: SimdF32>(s: S, acc: *mut f32, c: f32, p: f32, v: *const f32, n: usize) {
    let (cv, pv) = (s.splat(c), s.splat(p));
    let mut e = 0;
    // SAFETY: every access stays below n.
    unsafe {
        while e + S::LANES <= n {
            let a = s.add(s.mul(s.load(acc.add(e)), cv), s.mul(pv, s.load(v.add(e))));
            s.store(acc.add(e), a);
            e += S::LANES;
        }
        if e < n {
            let a = s.add(
                s.mul(s.load_part(acc.add(e), n - e, 0.0), cv),
                s.mul(pv, s.load_part(v.add(e), n - e, 0.0)),
            );
            s.store_part(acc.add(e), n - e, a);
        }
    }
}

/// Returns a pointer to `n` contiguous floats of row `base` (stride `st`): the row itself when
/// `st == 1`, else a copy in `buf`.
///
/// # Safety
///
/// `base + e·st` readable for `e < n`; `buf` writable for `n` floats.
#[inline(always)]
unsafe fn contiguous(base: *const f32, st: usize, n: usize, buf: *mut f32) -> *const f32 {
    if st == 1 {
        return base;
    }
    for e in 0..n {
        // SAFETY: as documented.
        unsafe { *buf.add(e) = *base.add(e * st) };
    }
    buf
}

/// Phase 0, task `(b, g, chunk)`.
///
/// # Safety
///
/// `c` validated; `shared` valid for [`shared_len`] floats and task indices distinct across
/// concurrent calls (each task writes its own partials); `ws` valid for [`workspace_len`]
/// floats; the CPU supports `S`.
#[inline(always)]
pub(crate) unsafe fn run_chunk<S: SimdF32>(
    s: S,
    c: &Call<'_>,
    task: usize,
    shared: *mut f32,
    ws: *mut f32,
) {
    let d = &c.d;
    let nch = chunks(c);
    let (b, g, ch) = (
        task / (d.heads_kv * nch),
        task / nch % d.heads_kv,
        task % nch,
    );
    let (k0, k1) = (ch * KV_CHUNK, ((ch + 1) * KV_CHUNK).min(d.len_kv));
    let (dk, dv, group, lq) = (d.dim_qk, d.dim_v, d.group(), d.len_q);
    let nrows = rows(c);
    let iv = Intervals::new(&c.opts, d, b);
    // SAFETY: the task's partials and the workspace regions are inside the caller's buffers.
    let (part, qrows, kbuf, vbuf) = unsafe {
        let part = shared.add(task * nrows * (dv + 2));
        let qrows = ws;
        (part, qrows, ws.add(nrows * dk), ws.add(nrows * dk + dk))
    };
    for r in 0..nrows {
        let (h, i) = (g * group + r / lq, r % lq);
        // SAFETY: row (b, h, i) of Q is inside the validated view; qrows holds nrows·dk.
        unsafe {
            let src = c.q.ptr.add(off([b, h, i, 0], c.q.strides));
            for e in 0..dk {
                *qrows.add(r * dk + e) = *src.add(e * c.q.strides[3]);
            }
            let pr = part.add(r * (dv + 2));
            *pr = f32::NEG_INFINITY;
            *pr.add(1) = 0.0;
            core::ptr::write_bytes(pr.add(2), 0, dv);
        }
    }
    let ks = c.k.strides;
    let vs = c.v.strides;
    for j in k0..k1 {
        let mut kj: *const f32 = core::ptr::null();
        let mut vj: *const f32 = core::ptr::null();
        for r in 0..nrows {
            let (h, i) = (g * group + r / lq, r % lq);
            let (lo, hi) = iv.row(i);
            if j < lo || j >= hi {
                continue;
            }
            // SAFETY: key j < Lk of kv head g is inside K and V; rows gathered into the
            // workspace when not contiguous; partial row r inside `part`.
            unsafe {
                if kj.is_null() {
                    kj = contiguous(c.k.ptr.add(off([b, g, j, 0], ks)), ks[3], dk, kbuf);
                }
                let mut t = d.scale * dot(s, qrows.add(r * dk), kj, dk);
                let eo = ElementOpts::new(&c.opts, b, h);
                if eo.any() {
                    t = eo.apply(t, i, iv.pos(i), j);
                }
                if t == f32::NEG_INFINITY {
                    continue;
                }
                if vj.is_null() {
                    vj = contiguous(c.v.ptr.add(off([b, g, j, 0], vs)), vs[3], dv, vbuf);
                }
                let pr = part.add(r * (dv + 2));
                let m = *pr;
                // A new maximum rescales what came before (the first visible key: by 0).
                let (m_new, corr) = if t > m {
                    (t, exp_lane(m - t))
                } else {
                    (m, 1.0)
                };
                let p = exp_lane(t - m_new);
                *pr = m_new;
                *pr.add(1) = *pr.add(1) * corr + p;
                scale_axpy(s, pr.add(2), corr, p, vj, dv);
            }
        }
    }
}

/// Phase 1, task `(b, g)`: merges the chunks' partials into O and lse.
///
/// # Safety
///
/// As [`run_chunk`]; every phase-0 task of this `(b, g)` has finished.
#[inline(always)]
pub(crate) unsafe fn run_merge(c: &Call<'_>, task: usize, shared: *const f32) {
    let d = &c.d;
    let (b, g) = (task / d.heads_kv, task % d.heads_kv);
    let (dv, group, lq, nch) = (d.dim_v, d.group(), d.len_q, chunks(c));
    let nrows = rows(c);
    for r in 0..nrows {
        let (h, i) = (g * group + r / lq, r % lq);
        let part = |ch: usize| {
            let t = (b * d.heads_kv + g) * nch + ch;
            // SAFETY: partial (t, r) lies in the shared buffer.
            unsafe { shared.add((t * nrows + r) * (dv + 2)) }
        };
        let sink = c.opts.sinks.map(|s| s[h]);
        let mx = (0..nch).fold(sink.unwrap_or(f32::NEG_INFINITY), |a, ch| {
            // SAFETY: partial `ch` lies in the shared buffer, written by phase 0.
            a.max(unsafe { *part(ch) })
        });
        let base = mx.max(-f32::MAX);
        let mut l = sink.map_or(0.0, |s| exp_lane(s - base));
        for ch in 0..nch {
            // SAFETY: as above.
            let (m, lc) = unsafe { (*part(ch), *part(ch).add(1)) };
            l += lc * exp_lane(m - base);
        }
        for e in 0..dv {
            let mut a = 0.0f32;
            for ch in 0..nch {
                // SAFETY: as above.
                let (m, x) = unsafe { (*part(ch), *part(ch).add(2 + e)) };
                a += x * exp_lane(m - base);
            }
            // SAFETY: O element (b, h, i, e) is inside the validated O view.
            unsafe { *c.o.add(off([b, h, i, e], c.os)) = if l == 0.0 { 0.0 } else { a / l } };
        }
        if !c.lse.is_null() {
            let lse = if l == 0.0 {
                f32::NEG_INFINITY
            } else {
                mx + libm::logf(l)
            };
            // SAFETY: lse holds B·Hq·Lq floats.
            unsafe { *c.lse.add((b * d.heads_q + h) * lq + i) = lse };
        }
    }
}
