//! Row primitives over [`SimdF32`]: the loops over one contiguous row that softmax and
//! attention's decode path share. No ISA code; every function is `#[inline(always)]`, so a
//! caller instantiated inside a tier's `#[target_feature]` entry gets that tier's instructions.
//!
//! * [`extreme`]: the maximum or the minimum of a row, with a NaN flag;
//! * [`extremes`]: both at once ([`Ext`]), optionally fused with the scaling of another row;
//! * [`sum_exp`]: `Σ exp(tⱼ − m)`, storing the terms — the softmax `exp` with its flush;
//! * [`mul_inplace`]: `p[j] ← f·p[j]` with aligned stores;
//! * [`exp_slice`]: `y[j] ← exp(x[j])`.
//!
//! Where a row's values come from is a [`Logits`] source: [`Stored`] reads them from memory;
//! softmax recomputes `scale·x + b` on the fly with a source of its own.

use super::exp::{exp, exp_flush, exp_softmax_xn};
use super::SimdF32;

/// Where [`sum_exp`] gets its values from.
pub(crate) trait Logits<S: SimdF32>: Copy {
    /// Logits `j..j+LANES`.
    ///
    /// # Safety
    /// `j + LANES` is within the source row.
    unsafe fn at(self, s: S, j: usize) -> S::V;
    /// Logits `j..j+n` (`n < LANES`) in the low lanes, `−∞` above.
    ///
    /// # Safety
    /// `j + n` is within the source row.
    unsafe fn part(self, s: S, j: usize, n: usize) -> S::V;
}

/// Logits already stored in memory.
#[derive(Clone, Copy)]
pub(crate) struct Stored(pub(crate) *const f32);

impl<S: SimdF32> Logits<S> for Stored {
    #[inline(always)]
    unsafe fn at(self, s: S, j: usize) -> S::V {
        // SAFETY: the caller keeps j + LANES (or j + n) within the row.
        unsafe { s.load(self.0.add(j)) }
    }
    #[inline(always)]
    unsafe fn part(self, s: S, j: usize, n: usize) -> S::V {
        // SAFETY: the caller keeps j + LANES (or j + n) within the row.
        unsafe { s.load_part(self.0.add(j), n, f32::NEG_INFINITY) }
    }
}

/// Maximum (`MAX`) or minimum of `p[..n]`, and whether any element is NaN.
///
/// # Safety
/// `p` covers `n` elements.
#[inline(always)]
pub(crate) unsafe fn extreme<S: SimdF32, const MAX: bool, const CHECK_NAN: bool>(
    s: S,
    p: *const f32,
    n: usize,
) -> (f32, bool) {
    let l = S::LANES;
    let pad = if MAX {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let op = |a, b| if MAX { s.max(a, b) } else { s.min(a, b) };
    let (mut a0, mut a1) = (s.splat(pad), s.splat(pad));
    let (mut n0, mut n1) = (s.is_nan(a0), s.is_nan(a0));
    let mut j = 0;
    // In the loop bodies below: every load ends at or before p + n.
    while j + 4 * l <= n {
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            let (v0, v1) = (s.load(p.add(j)), s.load(p.add(j + l)));
            let (v2, v3) = (s.load(p.add(j + 2 * l)), s.load(p.add(j + 3 * l)));
            if j == 0 {
                (a0, a1) = (op(v0, v1), op(v2, v3));
            } else {
                (a0, a1) = (op(a0, op(v0, v1)), op(a1, op(v2, v3)));
            }
            if CHECK_NAN {
                n0 = s.mask_or(n0, s.mask_or(s.is_nan(v0), s.is_nan(v1)));
                n1 = s.mask_or(n1, s.mask_or(s.is_nan(v2), s.is_nan(v3)));
            }
        }
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        let v = unsafe {
            if k == l {
                s.load(p.add(j))
            } else {
                s.load_part(p.add(j), k, pad)
            }
        };
        a0 = op(a0, v);
        if CHECK_NAN {
            n0 = s.mask_or(n0, s.is_nan(v));
        }
        j += k;
    }
    let a = op(a0, a1);
    let e = if MAX {
        s.reduce_max(a)
    } else {
        s.reduce_min(a)
    };
    (e, CHECK_NAN && s.mask_any(s.mask_or(n0, n1)))
}

/// `Σ exp(tⱼ − m)` over a row of `n` values from `src`, also storing each term into `y` when
/// `store` (`y` may be the source row itself). With `px`, prefetches `px[j]` as it goes (a
/// hint: any address; softmax passes its next row). With `CHECK_FLUSH = false` the full vectors skip
/// the flush ([`exp_softmax_xn`] with `CHECK_FLUSH = false`), which needs every `tⱼ − m ≥ FLUSH` or
/// NaN; the last part-vector always flushes (its pad lanes are `−∞`). Both give the same bits
/// where the `CHECK_FLUSH = false` requirement holds. `WIDE` keeps eight vectors of `exp` in
/// flight per step, else four: eight hide the latency on long rows (softmax), four fit
/// AVX2's sixteen registers without spills on short blocks (decode's 64-key rows). The sum
/// runs in a fixed order that depends only on `n`, `WIDE` and the tier: four vector
/// accumulators, then [`SimdF32::reduce_add`].
///
/// # Safety
/// `src` and `y` cover `n` elements; `tⱼ − m ≤ 0` or NaN (and `≥ FLUSH` when `!CHECK_FLUSH`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sum_exp<
    S: SimdF32,
    T: Logits<S>,
    const CHECK_FLUSH: bool,
    const WIDE: bool,
>(
    s: S,
    src: T,
    y: *mut f32,
    n: usize,
    m: f32,
    store: bool,
    px: Option<*const f32>,
) -> f32 {
    let l = S::LANES;
    let mv = s.splat(m);
    let z = s.splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let mut j = 0;
    // In the loop bodies below: every access ends at or before offset n.
    while WIDE && j + 8 * l <= n {
        if let Some(px) = px {
            for i in 0..8 {
                s.prefetch_read(px.wrapping_add(j + i * l));
            }
        }
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            let mut t = [mv; 8];
            for (i, v) in t.iter_mut().enumerate() {
                *v = s.sub(src.at(s, j + i * l), mv);
            }
            let e = exp_softmax_xn::<S, 8, CHECK_FLUSH>(s, t);
            if store {
                for (i, v) in e.iter().enumerate() {
                    s.store(y.add(j + i * l), *v);
                }
            }
            a0 = s.add(a0, s.add(e[0], e[4]));
            a1 = s.add(a1, s.add(e[1], e[5]));
            a2 = s.add(a2, s.add(e[2], e[6]));
            a3 = s.add(a3, s.add(e[3], e[7]));
        }
        j += 8 * l;
    }
    while j + 4 * l <= n {
        if let Some(px) = px {
            for i in 0..4 {
                s.prefetch_read(px.wrapping_add(j + i * l));
            }
        }
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            let mut t = [mv; 4];
            for (i, v) in t.iter_mut().enumerate() {
                *v = s.sub(src.at(s, j + i * l), mv);
            }
            let [e0, e1, e2, e3] = exp_softmax_xn::<S, 4, CHECK_FLUSH>(s, t);
            if store {
                s.store(y.add(j), e0);
                s.store(y.add(j + l), e1);
                s.store(y.add(j + 2 * l), e2);
                s.store(y.add(j + 3 * l), e3);
            }
            (a0, a1, a2, a3) = (s.add(a0, e0), s.add(a1, e1), s.add(a2, e2), s.add(a3, e3));
        }
        j += 4 * l;
    }
    while j + l <= n {
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            let [e] = exp_softmax_xn::<S, 1, CHECK_FLUSH>(s, [s.sub(src.at(s, j), mv)]);
            if store {
                s.store(y.add(j), e);
            }
            a0 = s.add(a0, e);
        }
        j += l;
    }
    if j < n {
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            // Pad lanes are −∞: their terms are exactly 0.
            let e = exp_flush(s, s.sub(src.part(s, j, n - j), mv));
            if store {
                s.store_part(y.add(j), n - j, e);
            }
            a1 = s.add(a1, e);
        }
    }
    s.reduce_add(s.add(s.add(a0, a1), s.add(a2, a3)))
}

/// Elements before the first address of `p` aligned to a whole vector (`4·LANES` bytes),
/// at most `n`: stores from there on do not split cache lines.
#[inline(always)]
pub(crate) fn head<S: SimdF32>(p: *const f32, n: usize) -> usize {
    let a = 4 * S::LANES;
    (((a - (p as usize) % a) % a) / 4).min(n)
}

/// `p[..n] ← f · p[..n]`, with the stores aligned (a part-vector first when `p` is not):
/// elementwise, so the bits do not depend on the alignment.
///
/// # Safety
/// `p` covers `n` elements, readable and writable.
#[inline(always)]
pub(crate) unsafe fn mul_inplace<S: SimdF32>(s: S, p: *mut f32, n: usize, f: f32) {
    let l = S::LANES;
    let fv = s.splat(f);
    let h = head::<S>(p, n);
    // In the blocks below: every access ends at or before offset n (caller), and p + j is
    // aligned for j ≥ h (it steps in whole vectors from h).
    if h > 0 {
        // SAFETY: h ≤ n, h < LANES.
        unsafe { scale_vec(s, p, 0, h, fv) };
    }
    let mut j = h;
    while j + 4 * l <= n {
        // SAFETY: j + 4·LANES ≤ n.
        unsafe { scale4(s, p, j, fv) };
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: j + k ≤ n.
        unsafe { scale_vec(s, p, j, k, fv) };
        j += k;
    }
}

/// `p[j..j+k] ← fv · p[j..j+k]`: a whole vector (`k = LANES`) or a part.
///
/// # Safety
/// `p[j..j+k]` readable and writable.
#[inline(always)]
unsafe fn scale_vec<S: SimdF32>(s: S, p: *mut f32, j: usize, k: usize, fv: S::V) {
    // SAFETY: forwarded.
    unsafe {
        if k == S::LANES {
            s.store(p.add(j), s.mul(s.load(p.add(j)), fv));
        } else {
            s.store_part(p.add(j), k, s.mul(s.load_part(p.add(j), k, 0.0), fv));
        }
    }
}

/// Four whole vectors of [`scale_vec`] from `j`, loads first.
///
/// # Safety
/// As [`scale_vec`] for `k = 4·LANES`.
#[inline(always)]
unsafe fn scale4<S: SimdF32>(s: S, p: *mut f32, j: usize, fv: S::V) {
    let l = S::LANES;
    // SAFETY: forwarded.
    unsafe {
        // Plain loops, not `array::map` (which is not always inlined into the kernel).
        let mut w = [fv; 4];
        for (i, w) in w.iter_mut().enumerate() {
            *w = s.mul(s.load(p.add(j + i * l)), fv);
        }
        for (i, w) in w.into_iter().enumerate() {
            s.store(p.add(j + i * l), w);
        }
    }
}

/// The largest and smallest element of a row, and (when asked) whether it holds a NaN.
/// With a NaN in the row, `max` and `min` are unspecified (possibly NaN).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ext {
    pub(crate) max: f32,
    pub(crate) min: f32,
    pub(crate) nan: bool,
}

/// `x[..k]` (`k < LANES`) into the accumulators of [`extremes`].
///
/// # Safety
/// `x` covers `k` elements.
#[inline(always)]
pub(crate) unsafe fn ext_part<S: SimdF32, const CHECK_NAN: bool>(
    s: S,
    x: *const f32,
    k: usize,
    hi: &mut S::V,
    lo: &mut S::V,
    nn: &mut S::M,
) {
    // SAFETY: x covers k elements (caller).
    unsafe {
        let v = s.load_part(x, k, f32::NEG_INFINITY);
        *hi = s.max(*hi, v);
        if CHECK_NAN {
            *nn = s.mask_or(*nn, s.is_nan(v));
        }
        *lo = s.min(*lo, s.load_part(x, k, f32::INFINITY));
    }
}

/// [`Ext`] of `x[..n]` (`CHECK_NAN`: also the NaN flag, otherwise `nan` is false), fused with
/// `y[..n] ← f · y[..n]` when `SCALE_Y` (pass 1 of one row with pass 3 of another: two streams
/// in one loop, so the loads of `x` overlap the multiplies and stores of `y`). The `y` stores
/// are aligned as in [`mul_inplace`]; maximum and minimum are exact in any order.
///
/// # Safety
/// `x` covers `n` elements; with `SCALE_Y`, `y` covers `n` readable and writable elements that do
/// not overlap `x`.
#[inline(always)]
pub(crate) unsafe fn extremes<S: SimdF32, const CHECK_NAN: bool, const SCALE_Y: bool>(
    s: S,
    x: *const f32,
    n: usize,
    y: *mut f32,
    f: f32,
) -> Ext {
    let l = S::LANES;
    let (ninf, pinf) = (s.splat(f32::NEG_INFINITY), s.splat(f32::INFINITY));
    let fv = s.splat(f);
    let (mut hi0, mut hi1, mut lo0, mut lo1) = (ninf, ninf, pinf, pinf);
    let (mut n0, mut n1) = (s.is_nan(ninf), s.is_nan(ninf));
    let h = if SCALE_Y { head::<S>(y, n) } else { 0 };
    if h > 0 {
        // SAFETY: h ≤ n.
        unsafe { ext_part::<S, CHECK_NAN>(s, x, h, &mut hi0, &mut lo0, &mut n0) };
        // SAFETY: h ≤ n, h < LANES.
        unsafe { scale_vec(s, y, 0, h, fv) };
    }
    let mut j = h;
    // In the loop bodies below: every access ends at or before offset n (caller); y + j is
    // aligned (j ≥ h steps in whole vectors).
    while j + 4 * l <= n {
        // SAFETY: j + 4·LANES ≤ n.
        unsafe {
            let (v0, v1) = (s.load(x.add(j)), s.load(x.add(j + l)));
            let (v2, v3) = (s.load(x.add(j + 2 * l)), s.load(x.add(j + 3 * l)));
            hi0 = s.max(hi0, s.max(v0, v1));
            hi1 = s.max(hi1, s.max(v2, v3));
            lo0 = s.min(lo0, s.min(v0, v1));
            lo1 = s.min(lo1, s.min(v2, v3));
            if CHECK_NAN {
                n0 = s.mask_or(n0, s.mask_or(s.is_nan(v0), s.is_nan(v1)));
                n1 = s.mask_or(n1, s.mask_or(s.is_nan(v2), s.is_nan(v3)));
            }
            if SCALE_Y {
                scale4(s, y, j, fv);
            }
        }
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        if k == l {
            // SAFETY: j + LANES ≤ n.
            unsafe {
                let v = s.load(x.add(j));
                hi1 = s.max(hi1, v);
                lo1 = s.min(lo1, v);
                if CHECK_NAN {
                    n1 = s.mask_or(n1, s.is_nan(v));
                }
            }
        } else {
            // SAFETY: j + k ≤ n.
            unsafe { ext_part::<S, CHECK_NAN>(s, x.add(j), k, &mut hi1, &mut lo1, &mut n1) };
        }
        if SCALE_Y {
            // SAFETY: j + k ≤ n (y + j is aligned as in the loop above, for speed only).
            unsafe { scale_vec(s, y, j, k, fv) };
        }
        j += k;
    }
    Ext {
        max: s.reduce_max(s.max(hi0, hi1)),
        min: s.reduce_min(s.min(lo0, lo1)),
        nan: CHECK_NAN && s.mask_any(s.mask_or(n0, n1)),
    }
}

/// `y[j] ← exp(x[j])` for `j < n`.
///
/// # Safety
/// `x` and `y` cover `n` elements; `y` writable; they are equal or do not overlap.
#[inline(always)]
pub(crate) unsafe fn exp_slice<S: SimdF32>(s: S, x: *const f32, y: *mut f32, n: usize) {
    let l = S::LANES;
    let mut j = 0;
    // In the loop bodies below: every access ends at or before offset n.
    while j + 4 * l <= n {
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            let e0 = exp(s, s.load(x.add(j)));
            let e1 = exp(s, s.load(x.add(j + l)));
            let e2 = exp(s, s.load(x.add(j + 2 * l)));
            let e3 = exp(s, s.load(x.add(j + 3 * l)));
            s.store(y.add(j), e0);
            s.store(y.add(j + l), e1);
            s.store(y.add(j + 2 * l), e2);
            s.store(y.add(j + 3 * l), e3);
        }
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: every access ends at or before offset n of ranges the caller guarantees.
        unsafe {
            if k == l {
                s.store(y.add(j), exp(s, s.load(x.add(j))));
            } else {
                s.store_part(y.add(j), k, exp(s, s.load_part(x.add(j), k, 0.0)));
            }
        }
        j += k;
    }
}
