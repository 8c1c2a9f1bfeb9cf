//! Rows with a mask or a bias ([`Path::PerRow`](super::plan::Path::PerRow)), each by itself
//! (contract: [`super`]).
//!
//! * A row whose per-row mask says "attend" and whose bias is absent or one value per row is
//!   **plain** ([`plain`]): pass 1 takes the maximum logit (and a NaN flag), pass 2 writes
//!   `eⱼ = exp(tⱼ − m)` and sums, pass 3 multiplies by `1/Σ` (log-softmax: pass 2 only sums,
//!   pass 3 writes `(tⱼ − m) − ln Σ`).
//! * A row with a mask row or a bias row is **general** ([`general`]): pass 1 forms
//!   `tⱼ = scale·xⱼ + biasⱼ`, masked → `−∞`, *stores it into `y`* and takes the maximum and a
//!   NaN flag; passes 2–3 run on `y` in place.
//! * A row that is degenerate (a NaN or `+∞` logit, or no entry taking part) is found in pass
//!   1, before its `x` is overwritten, and filled by [`degenerate`].

use super::call::{degenerate, fill, log_out, Call, FromX};
use crate::simd::row::{extreme, mul_inplace, sum_exp, Logits, Stored};
use crate::simd::SimdF32;

/// Every row of a call with a mask or a bias ([`Path::PerRow`](super::plan::Path::PerRow)).
///
/// # Safety
/// As [`run`](super::run).
#[inline(always)]
pub(crate) unsafe fn rows<S: SimdF32>(s: S, c: &Call) {
    for r in 0..c.rows {
        // SAFETY: r < rows, so every offset below is inside the validated ranges.
        unsafe {
            let x = c.x.add(r * c.rsx);
            let y = c.y.add(r * c.rsy);
            let mask = match c.mask {
                None => None,
                Some(m) if m.per_row => {
                    if *m.ptr.add(r * m.rs) {
                        None
                    } else {
                        fill(y, c.cols, if c.log { f32::NEG_INFINITY } else { 0.0 });
                        if !c.lse.is_null() {
                            *c.lse.add(r) = f32::NEG_INFINITY;
                        }
                        continue;
                    }
                }
                Some(m) => Some(m.ptr.add(r * m.rs)),
            };
            let bias = match c.bias {
                None => Bias::None,
                Some(b) if b.per_row => Bias::Const(*b.ptr.add(r * b.rs)),
                Some(b) => Bias::Row(b.ptr.add(r * b.rs)),
            };
            let out = Out {
                log: c.log,
                lse: !c.lse.is_null(),
            };
            let lse = match (mask, bias) {
                (None, Bias::None) if c.scale == 1.0 => {
                    plain::<S, false, false>(s, x, y, c.cols, c.scale, 0.0, out)
                }
                (None, Bias::None) => plain::<S, true, false>(s, x, y, c.cols, c.scale, 0.0, out),
                (None, Bias::Const(b)) => plain::<S, true, true>(s, x, y, c.cols, c.scale, b, out),
                (mask, bias) => general(s, x, y, c.cols, c.scale, mask, bias, out),
            };
            if !c.lse.is_null() {
                *c.lse.add(r) = lse;
            }
        }
    }
}

/// What a row must produce besides `y`.
#[derive(Clone, Copy)]
struct Out {
    /// Log-softmax instead of softmax.
    log: bool,
    /// The caller wants the logsumexp (otherwise `ln Σ` is skipped for softmax).
    lse: bool,
}

#[derive(Clone, Copy)]
enum Bias {
    None,
    Const(f32),
    Row(*const f32),
}

/// A plain row. Returns its logsumexp.
#[inline(always)]
unsafe fn plain<S: SimdF32, const SCALED: bool, const ROW_BIAS: bool>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    b: f32,
    out: Out,
) -> f32 {
    let src = FromX::<SCALED, ROW_BIAS> { x, scale, b };
    // Pass 1. In the blocks below: x and y cover n elements (caller).
    // SAFETY: x and y cover n elements (caller).
    let (ext, nan) = unsafe {
        if scale > 0.0 {
            extreme::<S, true, true>(s, x, n)
        } else {
            extreme::<S, false, true>(s, x, n)
        }
    };
    let m = src.logit1(ext);
    if nan || !m.is_finite() {
        // SAFETY: y covers n elements; x is read before each y[j] is written.
        return unsafe { degenerate(y, n, out.log, |j| src.logit1(*x.add(j))) };
    }
    finish(s, src, y, n, m, out)
}

/// A row with a mask row and/or a bias row. Returns its logsumexp.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn general<S: SimdF32>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    mask: Option<*const bool>,
    bias: Bias,
    out: Out,
) -> f32 {
    let l = S::LANES;
    let ninf = s.splat(f32::NEG_INFINITY);
    let (sc, bc) = (
        s.splat(scale),
        s.splat(if let Bias::Const(b) = bias { b } else { 0.0 }),
    );
    let mut acc = ninf;
    let mut nan = s.is_nan(s.splat(0.0));
    let mut j = 0;
    // Pass 1: t = scale·x + bias, masked → −∞, stored into y.
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: j + k ≤ n; x, y, the mask row and the bias row cover n elements (caller);
        // y may be x (in place): each chunk is read before it is written.
        unsafe {
            let xv = if k == l {
                s.load(x.add(j))
            } else {
                s.load_part(x.add(j), k, 0.0)
            };
            let mut t = s.mul(xv, sc);
            t = match bias {
                Bias::None => t,
                Bias::Const(_) => s.add(t, bc),
                Bias::Row(p) => {
                    let bv = if k == l {
                        s.load(p.add(j))
                    } else {
                        s.load_part(p.add(j), k, 0.0)
                    };
                    s.add(t, bv)
                }
            };
            if let Some(p) = mask {
                let mv = if k == l {
                    s.load_bools(p.add(j))
                } else {
                    s.load_bools_part(p.add(j), k)
                };
                t = s.select(mv, t, ninf);
            }
            if k == l {
                s.store(y.add(j), t);
            } else {
                s.store_part(y.add(j), k, t);
                // Keep the pad lanes out of the max and the NaN flag.
                t = s.load_part(y.add(j), k, f32::NEG_INFINITY);
            }
            acc = s.max(acc, t);
            nan = s.mask_or(nan, s.is_nan(t));
        }
        j += k;
    }
    let m = s.reduce_max(acc);
    if s.mask_any(nan) || !m.is_finite() {
        // SAFETY: y holds the n logits.
        return unsafe { degenerate(y, n, out.log, |j| *y.add(j)) };
    }
    finish(s, Stored(y), y, n, m, out)
}

/// Passes 2 and 3 of a row whose maximum logit `m` is finite and which has no NaN. Returns
/// the logsumexp when `out` needs it (otherwise `m`, unused).
#[inline(always)]
fn finish<S: SimdF32, T: Logits<S>>(s: S, src: T, y: *mut f32, n: usize, m: f32, out: Out) -> f32 {
    // SAFETY: src and y cover n elements (callers); src is x or y itself.
    let sum = unsafe { sum_exp::<S, T, true, true>(s, src, y, n, m, !out.log, None) };
    normalise(s, src, y, n, m, sum, out)
}

/// Pass 3 given pass 2's `sum` (≥ 1: the maximum contributes exp(0) = 1; ≤ n).
#[inline(always)]
fn normalise<S: SimdF32, T: Logits<S>>(
    s: S,
    src: T,
    y: *mut f32,
    n: usize,
    m: f32,
    sum: f32,
    out: Out,
) -> f32 {
    // In the blocks below: src and y cover n elements (callers).
    if !out.log && !out.lse {
        // SAFETY: y covers n elements (caller).
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
        return m;
    }
    let ln_sum = libm::logf(sum);
    if out.log {
        // SAFETY: src and y cover n elements (caller).
        unsafe { log_out(s, src, y, n, m, ln_sum) };
    } else {
        // SAFETY: y covers n elements (caller).
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
    }
    m + ln_sum
}
