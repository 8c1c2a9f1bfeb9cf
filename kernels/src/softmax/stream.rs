//! Memory-sized plain rows with the output **streamed**: non-temporal stores through a one-row
//! scratch, software-pipelined over three rows (see [`stream_rows`]).
//!
//! Taken only on tiers whose [`SimdF32::STREAM`] is set (x86-64-v4, x86-64-v3), out of place,
//! softmax (not log-softmax) of plain rows (no mask, no per-element bias), when the caller
//! lends a scratch ([`super::softmax_scratch`]) and the output is memory-sized
//! ([`streams`]).

use super::exp::{exp_flush, exp_softmax_xn, FLUSH};
use super::pass::{ext_part, head, Ext, FromX, Logits};
use super::row::{degenerate, row_ext, Call, MEMORY_BYTES};
use super::simd::SimdF32;

/// Narrowest rows that stream. Below it [`mid_rows`](super::row) or
/// [`long_row`](super::row) is as fast or faster (measured: see [`streams`]).
pub(crate) const STREAM_MIN: usize = 2048;
/// Widest rows that stream: the scratch row and three rows of `x` (512 KiB at this width)
/// stay in a 1 MiB L2.
pub(crate) const STREAM_MAX: usize = 1 << 15;
/// Scratch elements beyond the row: room to start it on a 64-byte boundary.
pub(crate) const SCRATCH_SLACK: usize = 32;

/// Scratch elements a streaming call of `cols` columns uses.
#[inline(always)]
pub(crate) const fn scratch_len(cols: usize) -> usize {
    cols + SCRATCH_SLACK
}

/// Whether a plain softmax call of this shape streams when a scratch of
/// [`scratch_len`] elements is lent: out of place, rows of `STREAM_MIN..=STREAM_MAX`
/// elements, an output spanning [`MEMORY_BYTES`] or more, on a tier with non-temporal stores.
///
/// Measured on Zen 4 (x86-v4, one thread, 16 MiB in and out, session 8, every variant
/// alternated in one process): 4096 columns 3.3 → 4.6–5.1 elements/ns (the copy in the same
/// run 5.1–5.4), 32768 columns 3.9 → 4.3–5.1.
/// Session 11, `x` and `y` two `Vec`s (16 bytes past a page), one process alternating the
/// chunked path, this one and a copy, medians of 5 rounds: 2048 columns 3.93 → 4.20 (copy
/// 5.01), 4096 3.42 → 4.17 (4.91), 8192 3.23 → 4.74 (4.91), 32768 3.64 → 4.92 (4.83). The
/// criterion bench the same hour: 4.55 at 4096 (copy 5.40), 5.12 at 32768 (copy 5.65).
#[inline(always)]
pub(crate) fn streams(stream_tier: bool, c: &Call) -> bool {
    stream_shape(stream_tier, c) && !c.w.is_null() && c.w_len >= scratch_len(c.cols)
}

/// [`streams`] but for the scratch: whether the call would stream given one.
#[inline(always)]
pub(crate) fn stream_shape(stream_tier: bool, c: &Call) -> bool {
    stream_tier
        && !c.log
        && !core::ptr::eq(c.x, c.y)
        && c.mask.is_none()
        && c.bias.is_none()
        && (STREAM_MIN..=STREAM_MAX).contains(&c.cols)
        && c.rows.saturating_mul(c.rsy).saturating_mul(4) >= MEMORY_BYTES
}

/// The rows of a call that [`streams`], three rows in flight.
///
/// One loop per row `r` runs three streams side by side:
///
/// 1. row `r − 1`'s output: `yⱼ ← wⱼ · (1/Σ)` from the scratch row `w`, stored
///    non-temporally (aligned whole vectors; the part-vectors at either end plainly);
/// 2. row `r`'s terms: `wⱼ ← exp(tⱼ − m)` and their sum, into the same scratch row (stream 1
///    runs ahead of it, so it reads each vector before stream 2 overwrites it);
/// 3. row `r + 1`'s extremes (its maximum and minimum `x`, as pass 1 of
///    [`mid_rows`](super::row)), with row `r + 2` of `x` prefetched into L2.
///
/// Memory sees `x` read once and `y` written once, never read for ownership, and the `exp`
/// work overlaps both. Row `r`'s `x` is read twice, the second time from L2.
///
/// Stream 1 runs [`lead`] vectors ahead of stream 2 (the vectors it skips are stored in a
/// burst first), chosen per row so that its stores sit half a page away, modulo 4 KiB, from
/// the loads of streams 2 and 3. In step with them, when `y`'s rows start at the same offset
/// in a page as `x`'s (two buffers from the same allocator, rows of 1024·k columns), the
/// loads wait on the queued streamed stores: 4096 columns ran at 2.6–3.0 elements/ns where
/// half a page apart gave 3.8–4.3.
///
/// Degenerate rows (NaN or `+∞` logits, or none taking part) are found as in
/// [`mid_rows`](super::row) (a NaN sum or a non-finite maximum) and filled by
/// [`degenerate`] from the intact `x`; they leave nothing pending.
///
/// Arithmetic: the terms and their sum are those of [`mid_rows`](super::row)'s pass 2 up to
/// the order of the sum (four accumulators of one vector each, in row order from the row's
/// first element whatever `y`'s alignment), and `yⱼ = eⱼ · (1/Σ)` elementwise: the bits do
/// not depend on where `y` starts.
///
/// # Safety
/// As [`super::row::softmax_rows`], with [`streams`] true; `w` covers `c.cols` writable
/// elements disjoint from every operand (64-byte aligned for speed, not for soundness).
#[inline(always)]
pub(super) unsafe fn stream_rows<S: SimdF32, const SC: bool>(s: S, c: &Call, w: *mut f32) {
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
        let src = FromX::<SC, false> {
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
            // from them; every tⱼ − m ≥ FLUSH when FL is false (checked here).
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

/// One row of [`stream_rows`]: streams `o.pending` out of `w` ([`lead`] vectors ahead, each
/// read before it is overwritten) while `w ← exp(t − m)`; takes the extremes of `o.xn` and
/// prefetches `o.xp`. Returns `Σ exp(tⱼ − m)` and the extremes (unspecified without `o.xn`).
///
/// # Safety
/// `src`, `w`, the pending row and `o.xn` cover `n` elements; `w` is disjoint from the
/// others; `tⱼ − m ≤ 0` or NaN, and `≥ FLUSH` when `!FL`.
#[inline(always)]
unsafe fn fused<S: SimdF32, T: Logits<S>, const FL: bool>(
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
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let (mut hi, mut lo) = (ninf, pinf);
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
    // SAFETY: as for the loop body below.
    unsafe {
        match (st, ext) {
            (true, true) => block::<S, T, FL, true, true>(
                s,
                src,
                w,
                mv,
                yp,
                h,
                c,
                fv,
                xn,
                o.xp,
                full,
                &mut i,
                [&mut a0, &mut a1, &mut a2, &mut a3],
                &mut hi,
                &mut lo,
            ),
            (true, false) => block::<S, T, FL, true, false>(
                s,
                src,
                w,
                mv,
                yp,
                h,
                c,
                fv,
                xn,
                o.xp,
                full,
                &mut i,
                [&mut a0, &mut a1, &mut a2, &mut a3],
                &mut hi,
                &mut lo,
            ),
            (false, true) => block::<S, T, FL, false, true>(
                s,
                src,
                w,
                mv,
                yp,
                h,
                c,
                fv,
                xn,
                o.xp,
                ne & !3,
                &mut i,
                [&mut a0, &mut a1, &mut a2, &mut a3],
                &mut hi,
                &mut lo,
            ),
            (false, false) => block::<S, T, FL, false, false>(
                s,
                src,
                w,
                mv,
                yp,
                h,
                c,
                fv,
                xn,
                o.xp,
                ne & !3,
                &mut i,
                [&mut a0, &mut a1, &mut a2, &mut a3],
                &mut hi,
                &mut lo,
            ),
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
                hi = s.max(hi, s.max(s.max(v0, v1), s.max(v2, v3)));
                lo = s.min(lo, s.min(s.min(v0, v1), s.min(v2, v3)));
            }
            let mut t = [mv; 4];
            for (q, v) in t.iter_mut().enumerate() {
                *v = s.sub(src.at(s, j + q * l), mv);
            }
            let [e0, e1, e2, e3] = exp_softmax_xn::<S, 4, FL>(s, t);
            s.store(w.add(j), e0);
            s.store(w.add(j + l), e1);
            s.store(w.add(j + 2 * l), e2);
            s.store(w.add(j + 3 * l), e3);
            (a0, a1, a2, a3) = (s.add(a0, e0), s.add(a1, e1), s.add(a2, e2), s.add(a3, e3));
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
                hi = s.max(hi, v);
                lo = s.min(lo, v);
            }
            let [e] = exp_softmax_xn::<S, 1, FL>(s, [s.sub(src.at(s, j), mv)]);
            s.store(w.add(j), e);
            a0 = s.add(a0, e);
        }
        i += 1;
    }
    let j = ne * l;
    if j < n {
        // SAFETY: j + (n − j) = n: the last part-vector of row r, w and xn.
        unsafe {
            if ext {
                let mut nn = s.is_nan(ninf);
                ext_part::<S, false>(s, xn.add(j), n - j, &mut hi, &mut lo, &mut nn);
            }
            // Pad lanes are −∞: their terms are exactly 0.
            let e = exp_flush(s, s.sub(src.part(s, j, n - j), mv));
            s.store_part(w.add(j), n - j, e);
            a1 = s.add(a1, e);
        }
    }
    let sum = s.reduce_add(s.add(s.add(a0, a1), s.add(a2, a3)));
    let e = Ext {
        max: s.reduce_max(hi),
        min: s.reduce_min(lo),
        nan: false,
    };
    (sum, e)
}

/// The main blocks of [`fused`]: vectors `i..full` of row `r` four at a time, each block
/// also streaming 4 vectors of the pending row (`ST`) and taking row `r + 1`'s extremes
/// (`EXT`), with every pointer stepped rather than recomputed.
///
/// # Safety
/// As [`fused`]; `full ≤ ne`, a multiple of 4, and with `ST` `full + c ≤ ns`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<S: SimdF32, T: Logits<S>, const FL: bool, const ST: bool, const EXT: bool>(
    s: S,
    src: T,
    w: *mut f32,
    mv: S::V,
    yp: *mut f32,
    h: usize,
    c: usize,
    fv: S::V,
    xn: *const f32,
    xp: *const f32,
    full: usize,
    i: &mut usize,
    acc: [&mut S::V; 4],
    hi: &mut S::V,
    lo: &mut S::V,
) {
    let l = S::LANES;
    let [a0, a1, a2, a3] = acc;
    let (mut b0, mut b1, mut b2, mut b3) = (*a0, *a1, *a2, *a3);
    let (mut h0, mut l0) = (*hi, *lo);
    let mut j = *i * l;
    let end = full * l;
    let off = h + c * l;
    while j < end {
        // SAFETY: forwarded (see fused's loop).
        unsafe {
            for q in 0..4 {
                s.prefetch_read(xp.wrapping_add(j + q * l));
            }
            if ST {
                for q in 0..4 {
                    let k = off + j + q * l;
                    s.store_stream(yp.add(k), s.mul(s.load(w.add(k)), fv));
                }
            }
            if EXT {
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
            let [e0, e1, e2, e3] = exp_softmax_xn::<S, 4, FL>(s, t);
            s.store(w.add(j), e0);
            s.store(w.add(j + l), e1);
            s.store(w.add(j + 2 * l), e2);
            s.store(w.add(j + 3 * l), e3);
            (b0, b1, b2, b3) = (s.add(b0, e0), s.add(b1, e1), s.add(b2, e2), s.add(b3, e3));
        }
        j += 4 * l;
    }
    *i = full.max(*i);
    (*a0, *a1, *a2, *a3) = (b0, b1, b2, b3);
    (*hi, *lo) = (h0, l0);
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
