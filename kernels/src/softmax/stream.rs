//! Memory-sized plain softmax rows with the output **streamed** ([`Path::Stream`]): non-temporal
//! stores through a one-row scratch, software-pipelined over three rows (see [`rows`];
//! contract: [`super`]).
//!
//! Taken on tiers whose [`SimdF32::STREAM`] is set (x86-64-v4, x86-64-v3) when the caller
//! lends a scratch row ([`super::softmax_scratch`]) and the shape qualifies
//! ([`stream_shape`](super::plan::stream_shape)).
//!
//! [`Path::Stream`]: super::plan::Path::Stream

use super::call::{degenerate, row_ext, Call, FromX};
use super::plan::SCRATCH_SLACK;
use crate::simd::exp::{exp_flush, exp_softmax_xn, FLUSH};
use crate::simd::row::{ext_part, head, Ext, Logits};
use crate::simd::SimdF32;

/// Every row of a call on this path, three rows in flight.
///
/// One loop per row `r` runs three streams side by side:
///
/// 1. row `r − 1`'s output: `yⱼ ← wⱼ · (1/Σ)` from the scratch row `w`, stored
///    non-temporally (aligned whole vectors; the part-vectors at either end plainly);
/// 2. row `r`'s terms: `wⱼ ← exp(tⱼ − m)` and their sum, into the same scratch row (stream 1
///    runs ahead of it, so it reads each vector before stream 2 overwrites it);
/// 3. row `r + 1`'s extremes (its maximum and minimum `x`, as pass 1 of the
///    [pipelined](super::pipelined) path), with row `r + 2` of `x` prefetched into L2.
///
/// Memory sees `x` read once and `y` written once, never read for ownership, and the `exp`
/// work overlaps both. Row `r`'s `x` is read twice, the second time from L2.
///
/// Stream 1 runs [`lead`] vectors ahead of stream 2 (the vectors it skips are stored in a
/// burst first), chosen per row so that its stores sit half a page away, modulo 4 KiB, from
/// the loads of streams 2 and 3: in step with them (`x` and `y` at the same offset in a page,
/// rows of 1024·k columns) the loads wait on the queued streamed stores (4096 columns: 2.6–3.0
/// elements/ns against 3.8–4.3).
///
/// Degenerate rows (NaN or `+∞` logits, or none taking part) are found as in the pipelined
/// path (a NaN sum or a non-finite maximum) and filled by
/// [`degenerate`] from the intact `x`; they leave nothing pending.
///
/// Arithmetic: the terms and their sum are those of the pipelined path's pass 2 up to
/// the order of the sum (four accumulators of one vector each, in row order from the row's
/// first element whatever `y`'s alignment), and `yⱼ = eⱼ · (1/Σ)` elementwise: the bits do
/// not depend on where `y` starts.
///
/// # Safety
/// As [`run`](super::run), with the path [`Path::Stream`](super::plan::Path::Stream): the
/// call's scratch `c.w` holds at least `scratch_len(cols)` writable elements disjoint from
/// every operand.
#[inline(always)]
pub(crate) unsafe fn rows<S: SimdF32, const SCALED: bool>(s: S, c: &Call) {
    // The scratch from its first 64-byte boundary (for speed only: it is accessed with
    // unaligned loads and stores). w_len ≥ cols + SCRATCH_SLACK and the offset is at most
    // SCRATCH_SLACK, so cols elements follow w inside the scratch.
    let w = c.w.wrapping_add(c.w.align_offset(64).min(SCRATCH_SLACK));
    let n = c.cols;
    let want_lse = !c.lse.is_null();
    // Row r − 1's output and its factor 1/Σ, while its terms wait in w.
    let mut pending: Option<(*mut f32, f32)> = None;
    // SAFETY: row 0 < rows (the caller returned on an empty call).
    let mut cur = unsafe { row_ext::<S, false>(s, c, 0) };
    for r in 0..c.rows {
        // SAFETY: r < rows: the row is inside the validated ranges.
        let (x, y) = unsafe { (c.x.add(r * c.rsx), c.y.add(r * c.rsy)) };
        let next = r + 1 < c.rows;
        // Rows r + 1 and r + 2 of x: read when `next`, otherwise unused; prefetch target only.
        let xn = c.x.wrapping_add((r + 1) * c.rsx);
        let xp = c.x.wrapping_add((r + 2) * c.rsx);
        let src = FromX::<SCALED, false> {
            x,
            scale: c.scale,
            b: 0.0,
        };
        let (hi, lo) = if c.scale > 0.0 {
            (cur.max, cur.min)
        } else {
            (cur.min, cur.max)
        };
        let m = src.logit1(hi);
        let mut sum = f32::NAN;
        // The lines holding this row's part-vectors of y, stored plainly next row: fetched
        // now, so that those stores do not wait on memory with streamed stores queued behind.
        s.prefetch_read(y);
        s.prefetch_read(y.wrapping_add(n - 1));
        if m.is_finite() {
            let o = Side {
                pending: pending.take(),
                x,
                xn: next.then_some(xn),
                xp,
            };
            // SAFETY: row r of x, row r + 1 of x when `next`, the pending row of y and w each
            // cover n elements (rows of a validated call; the caller's scratch), w disjoint
            // from them; every tⱼ − m ≥ FLUSH when CHECK_FLUSH is false (checked here).
            let (sm, e) = unsafe {
                if src.logit1(lo) - m >= FLUSH {
                    fused::<S, _, false>(s, src, w, n, m, o)
                } else {
                    fused::<S, _, true>(s, src, w, n, m, o)
                }
            };
            sum = sm;
            if next {
                cur = e;
            }
        } else if let Some((yp, f)) = pending.take() {
            // SAFETY: yp is a row of y (n elements) whose terms are in w.
            unsafe { drain(s, w, yp, n, f) };
        }
        let lse = if sum.is_nan() {
            // SAFETY: y covers n elements; x is intact (out of place).
            let l = unsafe { degenerate(y, n, false, |j| src.logit1(*x.add(j))) };
            if next && !m.is_finite() {
                // The fused loop did not run: row r + 1's extremes. SAFETY: r + 1 < rows.
                cur = unsafe { row_ext::<S, false>(s, c, r + 1) };
            }
            l
        } else {
            pending = Some((y, 1.0 / sum));
            if want_lse {
                m + libm::logf(sum)
            } else {
                m
            }
        };
        if want_lse {
            // SAFETY: lse has rows entries (validated).
            unsafe { *c.lse.add(r) = lse };
        }
    }
    if let Some((yp, f)) = pending {
        // SAFETY: as above.
        unsafe { drain(s, w, yp, n, f) };
    }
    s.stream_fence();
}

/// The side streams of [`fused`]: the row of `y` waiting in the scratch (with its factor),
/// this row's `x`, the next row of `x` (its extremes) and the one after it (a prefetch
/// target).
#[derive(Clone, Copy)]
struct Side {
    pending: Option<(*mut f32, f32)>,
    x: *const f32,
    xn: Option<*const f32>,
    xp: *const f32,
}

/// How many whole vectors (fewer than `ns`) the streamed stores from `ya` (the pending row's
/// first aligned vector) run ahead of the loads from `x` and `xn` in [`fused`]: the lead that
/// puts both load streams furthest from the stores, modulo 4 KiB (half a page at best).
#[inline(always)]
fn lead<S: SimdF32>(ya: *const f32, x: *const f32, xn: *const f32, ns: usize) -> usize {
    let vb = 4 * S::LANES;
    // Distance modulo 4 KiB, either way, between a load and the store `c` vectors ahead.
    let dist = |c: usize, l: *const f32| {
        let g = (l as usize).wrapping_sub((ya as usize).wrapping_add(c * vb)) % 4096;
        g.min(4096 - g)
    };
    let mut best = (0, 0);
    for c in 0..(4096 / vb).min(ns) {
        let d = dist(c, x).min(dist(c, xn));
        if d > best.1 {
            best = (c, d);
        }
    }
    best.0
}

/// One row of [`rows`]: streams `o.pending` out of `w` ([`lead`] vectors ahead, each
/// read before it is overwritten) while `w ← exp(t − m)`; takes the extremes of `o.xn` and
/// prefetches `o.xp`. Returns `Σ exp(tⱼ − m)` and the extremes (unspecified without `o.xn`).
///
/// # Safety
/// `src`, `w`, the pending row and `o.xn` cover `n` elements; `w` is disjoint from the
/// others; `tⱼ − m ≤ 0` or NaN, and `≥ FLUSH` when `!CHECK_FLUSH`.
#[inline(always)]
unsafe fn fused<S: SimdF32, T: Logits<S>, const CHECK_FLUSH: bool>(
    s: S,
    src: T,
    w: *mut f32,
    n: usize,
    m: f32,
    o: Side,
) -> (f32, Ext) {
    let l = S::LANES;
    let mv = s.splat(m);
    let z = s.splat(0.0);
    let (ninf, pinf) = (s.splat(f32::NEG_INFINITY), s.splat(f32::INFINITY));
    let mut acc = Acc {
        sum: [z; 4],
        hi: ninf,
        lo: pinf,
    };
    let xn = o.xn.unwrap_or(o.x);
    let ext = o.xn.is_some();
    let ne = n / l;
    let (yp, f) = o.pending.unwrap_or((core::ptr::null_mut(), 0.0));
    let st = o.pending.is_some();
    let fv = s.splat(f);
    // The pending row's aligned whole vectors: `ns` of them from h; vector k is streamed at
    // step k − c (the first c in a burst now), where it is still in w.
    let h = if st { head::<S>(yp, n) } else { 0 };
    let ns = if st { (n - h) / l } else { 0 };
    let c = if st {
        lead::<S>(yp.wrapping_add(h), o.x, xn, ns)
    } else {
        0
    };
    if st {
        // SAFETY: the pending row's part-vectors [0, h) and [h + ns·LANES, n) (each
        // < LANES elements) and its first c < ns whole vectors, inside it and w; all read
        // before row r's terms overwrite w.
        unsafe {
            if h > 0 {
                s.store_part(yp, h, s.mul(s.load_part(w, h, 0.0), fv));
            }
            tail(s, w, yp, n, h + ns * l, fv);
            for k in 0..c {
                let k = h + k * l;
                s.store_stream(yp.add(k), s.mul(s.load(w.add(k)), fv));
            }
        }
    }
    let mut i = 0;
    // Row r's whole vectors four at a time (the blocks depend on n alone, so the sum's order
    // does too), with the pending row's vectors i + c.. and row r + 1's. The flags are
    // hoisted into const generics so the loop carries no tests.
    let full = ne.min(if ns >= c + 4 { ns - c } else { 0 }) & !3;
    let io = Streams {
        src,
        w,
        mv,
        yp,
        off: h + c * l,
        fv,
        xn,
        xp: o.xp,
    };
    let end = if st { full } else { ne & !3 };
    // SAFETY: as for the loop body below; with `st`, full + c ≤ ns.
    unsafe {
        match (st, ext) {
            (true, true) => block::<S, T, CHECK_FLUSH, true, true>(s, &io, end, &mut i, &mut acc),
            (true, false) => block::<S, T, CHECK_FLUSH, true, false>(s, &io, end, &mut i, &mut acc),
            (false, true) => block::<S, T, CHECK_FLUSH, false, true>(s, &io, end, &mut i, &mut acc),
            (false, false) => {
                block::<S, T, CHECK_FLUSH, false, false>(s, &io, end, &mut i, &mut acc)
            }
        }
    }
    while i + 4 <= ne {
        let j = i * l;
        for q in 0..4 {
            s.prefetch_read(o.xp.wrapping_add(j + q * l));
        }
        // SAFETY: j + 4·LANES ≤ n for row r, w and xn. The pending row's vector k < ns is
        // whole and aligned at h + k·LANES (head), inside the row and w; k ≥ i + c ≥ i, so
        // it is read from w before row r's terms reach it.
        unsafe {
            let k0 = i + c;
            if st {
                for k in k0..(k0 + 4).min(ns) {
                    let k = h + k * l;
                    s.store_stream(yp.add(k), s.mul(s.load(w.add(k)), fv));
                }
            }
            if ext {
                let (v0, v1) = (s.load(xn.add(j)), s.load(xn.add(j + l)));
                let (v2, v3) = (s.load(xn.add(j + 2 * l)), s.load(xn.add(j + 3 * l)));
                acc.hi = s.max(acc.hi, s.max(s.max(v0, v1), s.max(v2, v3)));
                acc.lo = s.min(acc.lo, s.min(s.min(v0, v1), s.min(v2, v3)));
            }
            let mut t = [mv; 4];
            for (q, v) in t.iter_mut().enumerate() {
                *v = s.sub(src.at(s, j + q * l), mv);
            }
            let [e0, e1, e2, e3] = exp_softmax_xn::<S, 4, CHECK_FLUSH>(s, t);
            s.store(w.add(j), e0);
            s.store(w.add(j + l), e1);
            s.store(w.add(j + 2 * l), e2);
            s.store(w.add(j + 3 * l), e3);
            let [a0, a1, a2, a3] = acc.sum;
            acc.sum = [s.add(a0, e0), s.add(a1, e1), s.add(a2, e2), s.add(a3, e3)];
        }
        i += 4;
    }
    // The remaining whole vectors of row r, one at a time.
    while i < ne {
        let j = i * l;
        s.prefetch_read(o.xp.wrapping_add(j));
        // SAFETY: j + LANES ≤ n for row r, w and xn; the pending row's vector as above.
        unsafe {
            if st && i + c < ns {
                let k = h + (i + c) * l;
                s.store_stream(yp.add(k), s.mul(s.load(w.add(k)), fv));
            }
            if ext {
                let v = s.load(xn.add(j));
                acc.hi = s.max(acc.hi, v);
                acc.lo = s.min(acc.lo, v);
            }
            let [e] = exp_softmax_xn::<S, 1, CHECK_FLUSH>(s, [s.sub(src.at(s, j), mv)]);
            s.store(w.add(j), e);
            acc.sum[0] = s.add(acc.sum[0], e);
        }
        i += 1;
    }
    let j = ne * l;
    if j < n {
        // SAFETY: j + (n − j) = n: the last part-vector of row r, w and xn.
        unsafe {
            if ext {
                let mut nn = s.is_nan(ninf);
                ext_part::<S, false>(s, xn.add(j), n - j, &mut acc.hi, &mut acc.lo, &mut nn);
            }
            // Pad lanes are −∞: their terms are exactly 0.
            let e = exp_flush(s, s.sub(src.part(s, j, n - j), mv));
            s.store_part(w.add(j), n - j, e);
            acc.sum[1] = s.add(acc.sum[1], e);
        }
    }
    let [a0, a1, a2, a3] = acc.sum;
    let sum = s.reduce_add(s.add(s.add(a0, a1), s.add(a2, a3)));
    let e = Ext {
        max: s.reduce_max(acc.hi),
        min: s.reduce_min(acc.lo),
        nan: false,
    };
    (sum, e)
}

/// What stays fixed through one row of [`fused`]: row `r`'s logit source and maximum (`mv`),
/// the scratch row `w`, the pending row `yp` with its factor `fv` and the offset of its vector
/// streamed at step 0 (`off`), the next row `xn` and the one after it `xp`.
#[derive(Clone, Copy)]
struct Streams<S: SimdF32, T> {
    src: T,
    w: *mut f32,
    mv: S::V,
    yp: *mut f32,
    off: usize,
    fv: S::V,
    xn: *const f32,
    xp: *const f32,
}

/// The running values of [`fused`]: four partial sums of row `r`'s terms and row `r + 1`'s
/// running maximum and minimum.
struct Acc<S: SimdF32> {
    sum: [S::V; 4],
    hi: S::V,
    lo: S::V,
}

/// The main blocks of [`fused`]: vectors `*i..end` of row `r` four at a time, each block also
/// streaming 4 vectors of the pending row (`PENDING`) and taking row `r + 1`'s extremes
/// (`NEXT_EXT`), with every pointer stepped rather than recomputed and the running values in
/// locals.
///
/// # Safety
/// As [`fused`]; `end ≤ ne`, a multiple of 4, and with `PENDING` `end + c ≤ ns`.
#[inline(always)]
unsafe fn block<
    S: SimdF32,
    T: Logits<S>,
    const CHECK_FLUSH: bool,
    const PENDING: bool,
    const NEXT_EXT: bool,
>(
    s: S,
    io: &Streams<S, T>,
    end: usize,
    i: &mut usize,
    acc: &mut Acc<S>,
) {
    let l = S::LANES;
    let Streams {
        src,
        w,
        mv,
        yp,
        off,
        fv,
        xn,
        xp,
    } = *io;
    let [mut b0, mut b1, mut b2, mut b3] = acc.sum;
    let (mut h0, mut l0) = (acc.hi, acc.lo);
    let mut j = *i * l;
    let end_j = end * l;
    while j < end_j {
        // SAFETY: forwarded (see fused's loop).
        unsafe {
            for q in 0..4 {
                s.prefetch_read(xp.wrapping_add(j + q * l));
            }
            if PENDING {
                for q in 0..4 {
                    let k = off + j + q * l;
                    s.store_stream(yp.add(k), s.mul(s.load(w.add(k)), fv));
                }
            }
            if NEXT_EXT {
                let (v0, v1) = (s.load(xn.add(j)), s.load(xn.add(j + l)));
                let (v2, v3) = (s.load(xn.add(j + 2 * l)), s.load(xn.add(j + 3 * l)));
                h0 = s.max(h0, s.max(s.max(v0, v1), s.max(v2, v3)));
                l0 = s.min(l0, s.min(s.min(v0, v1), s.min(v2, v3)));
            }
            let t = [
                s.sub(src.at(s, j), mv),
                s.sub(src.at(s, j + l), mv),
                s.sub(src.at(s, j + 2 * l), mv),
                s.sub(src.at(s, j + 3 * l), mv),
            ];
            let [e0, e1, e2, e3] = exp_softmax_xn::<S, 4, CHECK_FLUSH>(s, t);
            s.store(w.add(j), e0);
            s.store(w.add(j + l), e1);
            s.store(w.add(j + 2 * l), e2);
            s.store(w.add(j + 3 * l), e3);
            (b0, b1, b2, b3) = (s.add(b0, e0), s.add(b1, e1), s.add(b2, e2), s.add(b3, e3));
        }
        j += 4 * l;
    }
    *i = end.max(*i);
    acc.sum = [b0, b1, b2, b3];
    (acc.hi, acc.lo) = (h0, l0);
}

/// `y[k..n] ← fv · w[k..n]` with a plain part-vector store (`n − k < LANES`; nothing when
/// `k ≥ n`).
///
/// # Safety
/// `w` and `y` cover `n` elements.
#[inline(always)]
unsafe fn tail<S: SimdF32>(s: S, w: *const f32, y: *mut f32, n: usize, k: usize, fv: S::V) {
    if k < n {
        // SAFETY: k + (n − k) = n.
        unsafe {
            s.store_part(
                y.add(k),
                n - k,
                s.mul(s.load_part(w.add(k), n - k, 0.0), fv),
            )
        };
    }
}

/// `y[..n] ← f · w[..n]` alone (the last row, or the row before a degenerate one): aligned
/// whole vectors streamed, the part-vectors at either end stored plainly.
///
/// # Safety
/// `w` and `y` cover `n` elements, disjoint.
#[inline(always)]
unsafe fn drain<S: SimdF32>(s: S, w: *const f32, y: *mut f32, n: usize, f: f32) {
    let l = S::LANES;
    let fv = s.splat(f);
    let h = head::<S>(y, n);
    if h > 0 {
        // SAFETY: h ≤ n.
        unsafe { s.store_part(y, h, s.mul(s.load_part(w, h, 0.0), fv)) };
    }
    let mut k = h;
    while k + l <= n {
        // SAFETY: k + LANES ≤ n; y + k aligned (head, whole vectors from there).
        unsafe { s.store_stream(y.add(k), s.mul(s.load(w.add(k)), fv)) };
        k += l;
    }
    // SAFETY: forwarded.
    unsafe { tail(s, w, y, n, k, fv) };
}
