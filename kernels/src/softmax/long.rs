//! Long plain rows out of place, two passes over memory chunk by chunk
//! ([`Path::Long`](super::plan::Path)) (contract: [`super`]).

use super::call::{degenerate, exp1, fill, Call, FromX};
use super::plan::CHUNK;
use crate::simd::exp::FLUSH;
use crate::simd::row::{extremes, mul_inplace, sum_exp};
use crate::simd::SimdF32;

/// Every row of a plain call on this path.
///
/// # Safety
/// As [`run`](super::run), with no mask and no bias, out of place, softmax (not log).
#[inline(always)]
pub(crate) unsafe fn rows<S: SimdF32, const SCALED: bool>(s: S, c: &Call) {
    for r in 0..c.rows {
        // SAFETY: row r of x and y is inside the validated ranges; out of place.
        unsafe {
            let (x, y) = (c.x.add(r * c.rsx), c.y.add(r * c.rsy));
            let l = long_row::<S, SCALED>(s, x, y, c.cols, c.scale, !c.lse.is_null());
            if !c.lse.is_null() {
                *c.lse.add(r) = l;
            }
        }
    }
}

/// Most chunks per row (their maxima live in a stack array).
const MAX_CHUNKS: usize = 64;

/// A long plain row, out of place, softmax: **two passes over memory**, chunk by chunk.
///
/// Pass A, per chunk of `c ≥ CHUNK` elements: the chunk's maximum `mₖ` (this read brings the
/// chunk into L1), then `yⱼ ← exp(tⱼ − mₖ)` and `sₖ = Σ` from L1; the running pair `(M, S)`
/// absorbs it as in online softmax (`S ← S·e^(M−mₖ) + sₖ` when `mₖ > M`, else
/// `S ← S + sₖ·e^(mₖ−M)`). Pass B: `yⱼ ← yⱼ · e^(mₖ−M)/S`, one factor per chunk, on `y`
/// still in cache, **last chunk first**: pass A wrote those last, so they are still in L1
/// (first-to-last would evict each chunk just before reaching it: 4096 columns from memory
/// 2.6 → 3.4 elements/ns). Memory sees `x` read once and `y` written once, and every chunk's
/// read overlaps the previous chunk's `exp`. A NaN or `+∞` found in a later chunk sends the
/// row to [`degenerate`], which re-reads `x` (hence out of place only).
///
/// # Safety
/// `x` covers `n` elements, `y` covers `n` writable elements disjoint from `x`.
#[inline(always)]
unsafe fn long_row<S: SimdF32, const SCALED: bool>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    want_lse: bool,
) -> f32 {
    let whole = FromX::<SCALED, false> { x, scale, b: 0.0 };
    // A multiple of 64 elements (whole vectors on every tier).
    let c = CHUNK.max(n.div_ceil(MAX_CHUNKS).div_ceil(64) * 64);
    let mut ms = [f32::NEG_INFINITY; MAX_CHUNKS];
    let (mut big_m, mut big_s) = (f32::NEG_INFINITY, 0.0f32);
    let mut start = 0;
    let mut k = 0;
    while start < n {
        let len = c.min(n - start);
        // SAFETY: start + len ≤ n.
        let (xk, yk) = unsafe { (x.add(start), y.add(start)) };
        // SAFETY: xk covers len elements.
        let e = unsafe {
            let null = core::ptr::null_mut();
            extremes::<S, false, false>(s, xk, len, null, 0.0)
        };
        let (hi, lo) = if scale > 0.0 {
            (e.max, e.min)
        } else {
            (e.min, e.max)
        };
        let mk = whole.logit1(hi);
        if mk.is_nan() || mk == f32::INFINITY {
            // SAFETY: x is intact (out of place).
            return unsafe { degenerate(y, n, false, |j| whole.logit1(*x.add(j))) };
        }
        if let Some(slot) = ms.get_mut(k) {
            *slot = mk;
        }
        if mk == f32::NEG_INFINITY {
            // No entry of this chunk takes part.
            // SAFETY: yk covers len writable elements.
            unsafe { fill(yk, len, 0.0) };
        } else {
            let src = FromX::<SCALED, false> {
                x: xk,
                scale,
                b: 0.0,
            };
            // The next chunk (or row) of x: a prefetch target only.
            let px = xk.wrapping_add(len);
            // SAFETY: xk and yk cover len elements; without the flush every tⱼ − mₖ ≥ FLUSH.
            let sk = unsafe {
                if whole.logit1(lo) - mk >= FLUSH {
                    sum_exp::<S, _, false, true>(s, src, yk, len, mk, true, Some(px))
                } else {
                    sum_exp::<S, _, true, true>(s, src, yk, len, mk, true, Some(px))
                }
            };
            if sk.is_nan() {
                // A NaN logit in this chunk. SAFETY: x is intact (out of place).
                return unsafe { degenerate(y, n, false, |j| whole.logit1(*x.add(j))) };
            }
            if mk > big_m {
                big_s = big_s * exp1(s, big_m - mk) + sk;
                big_m = mk;
            } else {
                big_s += sk * exp1(s, mk - big_m);
            }
        }
        start += len;
        k += 1;
    }
    if big_m == f32::NEG_INFINITY {
        return f32::NEG_INFINITY; // every chunk filled with zeros
    }
    let inv = 1.0 / big_s;
    // Pass B from the last chunk back: the chunks pass A wrote last are the ones still in L1.
    for k in (0..n.div_ceil(c)).rev() {
        let start = k * c;
        let mk = ms.get(k).copied().unwrap_or(big_m);
        if mk != f32::NEG_INFINITY {
            // SAFETY: start < n (k < ⌈n/c⌉), and the chunk ends at or before n.
            unsafe { mul_inplace(s, y.add(start), c.min(n - start), exp1(s, mk - big_m) * inv) };
        }
    }
    if want_lse {
        big_m + libm::logf(big_s)
    } else {
        big_m
    }
}
