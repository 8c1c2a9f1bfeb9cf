//! Plain rows in three passes, software-pipelined ([`Path::Pipelined`](super::plan::Path)):
//! pass 1 of row `r + 1` runs in the loop of pass 3 of row `r` (contract: [`super`]).

use super::call::{degenerate, log_out, row_ext, Call, FromX};
use crate::simd::exp::FLUSH;
use crate::simd::row::{extremes, mul_inplace, sum_exp};
use crate::simd::SimdF32;

/// Every row of a plain call on this path.
///
/// # Safety
/// As [`run`](super::run), with no mask and no bias and at least one row.
#[inline(always)]
pub(crate) unsafe fn rows<S: SimdF32, const SCALED: bool>(s: S, c: &Call) {
    // SAFETY: forwarded; IN_PLACE is exactly whether the call is in place.
    unsafe {
        if c.in_place() {
            pipelined_rows::<S, SCALED, true>(s, c)
        } else {
            pipelined_rows::<S, SCALED, false>(s, c)
        }
    }
}

/// Plain rows, software-pipelined: pass 1 of row `r + 1` runs fused with pass 3 of row `r`
/// ([`extremes`] with `SCALE_Y`), so the loads of the next row overlap the normalisation of this
/// one, and pass 2 prefetches row `r + 1` of `x` (what bounds rows larger than L1: their
/// passes 2–3 run from cache while memory would otherwise idle).
///
/// Pass 1 takes the row's largest and smallest `x`. The largest logit `m` is the logit of one
/// of them (`t = scale·x` is monotone in `x`); when the smallest logit `t_lo` has
/// `t_lo − m ≥ FLUSH`, so has every `tⱼ − m` (rounding is monotone), and pass 2 runs the `exp`
/// without its flush compare — the same bits.
///
/// NaN: out of place (`IN_PLACE = false`) pass 1 does not look for one. A NaN logit makes the sum
/// NaN (and a `+∞` one makes `m` infinite), which sends the row to [`degenerate`] with `x`
/// still intact. In place, pass 2 would overwrite `x`, so pass 1 also takes the NaN flag
/// and the row goes to [`degenerate`] before pass 2.
///
/// # Safety
/// As [`rows`], with no mask and no bias; `IN_PLACE` exactly when `c.x == c.y`.
#[inline(always)]
unsafe fn pipelined_rows<S: SimdF32, const SCALED: bool, const IN_PLACE: bool>(s: S, c: &Call) {
    let n = c.cols;
    let want_lse = !c.lse.is_null();
    // SAFETY: row 0 < rows (the caller has at least one row).
    let mut cur = unsafe { row_ext::<S, IN_PLACE>(s, c, 0) };
    for r in 0..c.rows {
        // SAFETY: r < rows: the row is inside the validated ranges.
        let (x, y) = unsafe { (c.x.add(r * c.rsx), c.y.add(r * c.rsy)) };
        let next = r + 1 < c.rows;
        // Row r + 1 of x (a prefetch target when r is the last row: any address will do).
        let xn = c.x.wrapping_add((r + 1) * c.rsx);
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
        let store = !c.log;
        let sum = if cur.nan || !m.is_finite() {
            f32::NAN
        } else if src.logit1(lo) - m >= FLUSH {
            // SAFETY: x and y rows cover n elements; every tⱼ − m ≥ FLUSH (above).
            unsafe { sum_exp::<S, _, false, true>(s, src, y, n, m, store, Some(xn)) }
        } else {
            // SAFETY: x and y rows cover n elements.
            unsafe { sum_exp::<S, _, true, true>(s, src, y, n, m, store, Some(xn)) }
        };
        let lse = if sum.is_nan() {
            // SAFETY: y covers n elements; x is intact (out of place, or in place and caught
            // before pass 2) and read before each y[j] is written.
            let l = unsafe { degenerate(y, n, c.log, |j| src.logit1(*x.add(j))) };
            if next {
                // SAFETY: r + 1 < rows.
                cur = unsafe { row_ext::<S, IN_PLACE>(s, c, r + 1) };
            }
            l
        } else if c.log {
            if next {
                // SAFETY: r + 1 < rows.
                cur = unsafe { row_ext::<S, IN_PLACE>(s, c, r + 1) };
            }
            let ln_sum = libm::logf(sum);
            // SAFETY: x and y rows cover n elements.
            unsafe { log_out(s, src, y, n, m, ln_sum) };
            m + ln_sum
        } else {
            let f = 1.0 / sum;
            // SAFETY: y row r and x row r + 1 cover n elements and do not overlap (rows of a
            // validated call); row r + 1 exists when `next`.
            unsafe {
                if next {
                    cur = extremes::<S, IN_PLACE, true>(s, xn, n, y, f);
                } else {
                    mul_inplace(s, y, n, f);
                }
            }
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
}
