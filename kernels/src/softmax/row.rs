//! Row kernels and the row primitives of the online softmax, generic over [`SimdF32`]: all
//! loops, tails and special rows live here, no ISA code (contract: [`super`]).
//!
//! # Passes over a row of `n` logits
//!
//! * **plain** rows (no mask, no per-element bias — the hot case): pass 1 reads `x` for its
//!   maximum (minimum when `scale < 0`: `t = scale·x` is monotone in `x`, so the largest logit
//!   is the logit of the extreme `x`) and a NaN flag; pass 2 recomputes `tⱼ`, writes
//!   `eⱼ = exp(tⱼ − m)` and sums; pass 3 multiplies by `1/Σ`. Passes 2 and 3 re-read a row
//!   that pass 1 just brought into cache, so memory sees one read of `x` and one write of `y`.
//! * **general** rows (a mask row or a bias row): pass 1 forms `tⱼ = scale·xⱼ + biasⱼ`,
//!   masked → `−∞`, *stores it into `y`* and takes the maximum and a NaN flag; passes 2–3 are
//!   the primitives below on `y` in place.
//! * **degenerate** rows (a NaN or `+∞` logit, or no entry taking part) are found before
//!   anything is written past pass 1 and are filled by a plain scalar loop that evaluates the
//!   contract entry by entry.
//!
//! # Row primitives (the interface the flash-attention driver uses)
//!
//! All `#[inline(always)]`, generic over the ISA token `S`, so a driver that is itself
//! instantiated inside a `#[target_feature]` entry point gets them inlined with that ISA's
//! instructions. Pointers are raw; each function lists the ranges it touches.
//!
//! * [`max_nan`]`(s, p, n) -> (m, nan)`: maximum of `p[..n]` and whether any is NaN.
//! * [`scale_max`]`(s, p, n, scale) -> (m, nan)`: `p[j] ← scale·p[j]` in place, then as
//!   `max_nan` (the logits of a score tile; softcap would slot in here once a `tanh` exists).
//! * [`exp_sub_sum`]`(s, src, dst, n, m, store) -> Σ`: `dst[j] ← exp(src[j] − m)` (when
//!   `store`; `src == dst` allowed) and returns `Σ exp(src[j] − m)` summed in a fixed order.
//!   Needs `src[j] − m ≤ 88` or NaN, which holds when `m` is a running maximum.
//! * [`mul_inplace`]`(s, p, n, f)`: `p[j] ← f·p[j]` (the online-softmax rescale by
//!   `exp(m_old − m_new)`, or the final `1/l`).

use super::exp::{exp, exp_flush, exp_flush_x4};
use super::simd::SimdF32;

/// A validated softmax call: the whole operation, in raw pointers (see [`super::softmax`]).
pub(crate) struct Call {
    pub(crate) x: *const f32,
    pub(crate) rsx: usize,
    /// Equal to `x` for in-place calls.
    pub(crate) y: *mut f32,
    pub(crate) rsy: usize,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) scale: f32,
    pub(crate) mask: Option<Bcast<bool>>,
    pub(crate) bias: Option<Bcast<f32>>,
    pub(crate) log: bool,
    /// One entry per row, or null when the caller did not ask for the logsumexp.
    pub(crate) lse: *mut f32,
}

/// A broadcast operand: row `r` starts at `ptr + r·rs` (`rs = 0` when it has one row); with
/// `per_row` (one column) that row is a single value for the whole row.
#[derive(Clone, Copy)]
pub(crate) struct Bcast<T> {
    pub(crate) ptr: *const T,
    pub(crate) rs: usize,
    pub(crate) per_row: bool,
}

/// Runs the whole call, row by row.
///
/// # Safety
/// `c` passed [`check_softmax`](crate::shape::check_softmax): every pointer covers its
/// `rows × cols` (or broadcast) range, `y` does not overlap the inputs other than being `x`
/// itself for in-place calls, and `lse` (if not null) has `rows` entries.
#[inline(always)]
pub(crate) unsafe fn softmax_rows<S: SimdF32>(s: S, c: &Call) {
    if c.mask.is_none() && c.bias.is_none() {
        // SAFETY: forwarded.
        unsafe {
            if c.scale == 1.0 {
                plain_rows::<S, false>(s, c)
            } else {
                plain_rows::<S, true>(s, c)
            }
        }
        return;
    }
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

/// All rows of a call without mask or bias, software-pipelined: the maximum of row `r + 1`
/// (pass 1) is taken between passes 2 and 3 of row `r`, so its loads and reduction overlap
/// the latency of row `r`'s sum → `1/Σ` chain instead of waiting behind it (what bounds short
/// rows); pass 2 prefetches row `r + 1` of `x` and `y` (what bounds long rows: their passes
/// 2–3 run from cache while memory would otherwise idle).
///
/// # Safety
/// As [`softmax_rows`], with no mask and no bias.
#[inline(always)]
unsafe fn plain_rows<S: SimdF32, const SC: bool>(s: S, c: &Call) {
    let n = c.cols;
    let out = Out {
        log: c.log,
        lse: !c.lse.is_null(),
    };
    if c.rows == 0 {
        return;
    }
    // SAFETY (all blocks): rows r < c.rows of x and y are inside the validated ranges.
    let mut cur = unsafe { row_extreme(s, c, 0) };
    for r in 0..c.rows {
        let (x, y) = unsafe { (c.x.add(r * c.rsx), c.y.add(r * c.rsy)) };
        let next = if r + 1 < c.rows { r + 1 } else { r };
        // Prefetch targets; wrapping arithmetic: only ever used as hints.
        let (px, py) = (
            c.x.wrapping_add(next * c.rsx),
            c.y.wrapping_add(next * c.rsy),
        );
        let src = FromX::<SC, false> {
            x,
            scale: c.scale,
            b: 0.0,
        };
        let (e, nan) = cur;
        let m = src.logit1(e);
        let lse = if nan || !m.is_finite() {
            let l = unsafe { degenerate(y, n, out.log, |j| src.logit1(*x.add(j))) };
            if r + 1 < c.rows {
                cur = unsafe { row_extreme(s, c, r + 1) };
            }
            l
        } else {
            let sum = unsafe { sum_exp(s, src, y, n, m, !out.log, px, py) };
            if r + 1 < c.rows {
                cur = unsafe { row_extreme(s, c, r + 1) };
            }
            normalise(s, src, y, n, m, sum, out)
        };
        if !c.lse.is_null() {
            unsafe { *c.lse.add(r) = lse };
        }
    }
}

/// Pass 1 of plain row `r`: the extreme `x` whose logit is the largest, and the NaN flag.
///
/// # Safety
/// `r < c.rows` of a validated call.
#[inline(always)]
unsafe fn row_extreme<S: SimdF32>(s: S, c: &Call, r: usize) -> (f32, bool) {
    // SAFETY: row r of x is inside the validated range.
    unsafe {
        let x = c.x.add(r * c.rsx);
        if c.scale > 0.0 {
            extreme::<S, true>(s, x, c.cols)
        } else {
            extreme::<S, false>(s, x, c.cols)
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

/// Where pass 2 gets its logits from.
trait Logits<S: SimdF32>: Copy {
    /// Logits `j..j+LANES`.
    unsafe fn at(self, s: S, j: usize) -> S::V;
    /// Logits `j..j+n` (`n < LANES`) in the low lanes, `−∞` above.
    unsafe fn part(self, s: S, j: usize, n: usize) -> S::V;
}

/// `t = scale·x (+ b)` recomputed from `x` (`SC`: scale ≠ 1, `BI`: a per-row bias).
#[derive(Clone, Copy)]
struct FromX<const SC: bool, const BI: bool> {
    x: *const f32,
    scale: f32,
    b: f32,
}

impl<const SC: bool, const BI: bool> FromX<SC, BI> {
    #[inline(always)]
    fn logit<S: SimdF32>(self, s: S, v: S::V) -> S::V {
        let t = if SC { s.mul(v, s.splat(self.scale)) } else { v };
        if BI {
            s.add(t, s.splat(self.b))
        } else {
            t
        }
    }
    #[inline(always)]
    fn logit1(self, v: f32) -> f32 {
        let t = if SC { v * self.scale } else { v };
        if BI {
            t + self.b
        } else {
            t
        }
    }
}

impl<S: SimdF32, const SC: bool, const BI: bool> Logits<S> for FromX<SC, BI> {
    #[inline(always)]
    unsafe fn at(self, s: S, j: usize) -> S::V {
        // SAFETY: the caller passes j with j + LANES ≤ n, inside x's row.
        self.logit(s, unsafe { s.load(self.x.add(j)) })
    }
    #[inline(always)]
    unsafe fn part(self, s: S, j: usize, n: usize) -> S::V {
        // The pad value whose logit is −∞ (b is finite on this path: an infinite b makes
        // the row degenerate before pass 2).
        let pad = if self.scale > 0.0 {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        };
        // SAFETY: the caller passes j + n ≤ the row length.
        self.logit(s, unsafe { s.load_part(self.x.add(j), n, pad) })
    }
}

/// Logits already stored in memory.
#[derive(Clone, Copy)]
struct Stored(*const f32);

impl<S: SimdF32> Logits<S> for Stored {
    #[inline(always)]
    unsafe fn at(self, s: S, j: usize) -> S::V {
        // SAFETY: as for FromX.
        unsafe { s.load(self.0.add(j)) }
    }
    #[inline(always)]
    unsafe fn part(self, s: S, j: usize, n: usize) -> S::V {
        // SAFETY: as for FromX.
        unsafe { s.load_part(self.0.add(j), n, f32::NEG_INFINITY) }
    }
}

/// A plain row. Returns its logsumexp.
#[inline(always)]
unsafe fn plain<S: SimdF32, const SC: bool, const BI: bool>(
    s: S,
    x: *const f32,
    y: *mut f32,
    n: usize,
    scale: f32,
    b: f32,
    out: Out,
) -> f32 {
    let src = FromX::<SC, BI> { x, scale, b };
    // Pass 1. SAFETY (all blocks below): x and y cover n elements (caller).
    let (ext, nan) = unsafe {
        if scale > 0.0 {
            extreme::<S, true>(s, x, n)
        } else {
            extreme::<S, false>(s, x, n)
        }
    };
    let m = src.logit1(ext);
    if nan || !m.is_finite() {
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
    // SAFETY: src and y cover n elements (callers); src is x or y itself. No prefetch.
    let sum = unsafe { sum_exp(s, src, y, n, m, !out.log, y, y) };
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
    // SAFETY (all blocks): src and y cover n elements (callers).
    if !out.log && !out.lse {
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
        return m;
    }
    let ln_sum = libm::logf(sum);
    if out.log {
        unsafe { log_out(s, src, y, n, m, ln_sum) };
    } else {
        unsafe { mul_inplace(s, y, n, 1.0 / sum) };
    }
    m + ln_sum
}

/// Fills a degenerate row (a NaN or `+∞` logit, or none taking part) entry by entry from the
/// contract. `logit(j)` is `tⱼ`. Returns the logsumexp (NaN or `−∞`).
///
/// # Safety
/// `y` covers `n` elements; `logit(j)` is sound for `j < n` and reads `y[j]` at most.
#[inline(never)]
#[cold]
unsafe fn degenerate(y: *mut f32, n: usize, log: bool, logit: impl Fn(usize) -> f32) -> f32 {
    let mut nan_row = false;
    for j in 0..n {
        // Unreachable for a row with neither NaN, +∞ nor only −∞ logits; any entry taking
        // part in a degenerate row therefore means the row is NaN.
        nan_row |= logit(j) != f32::NEG_INFINITY;
    }
    let off = if log { f32::NEG_INFINITY } else { 0.0 };
    for j in 0..n {
        let t = logit(j);
        let out = if t == f32::NEG_INFINITY {
            off
        } else {
            f32::NAN
        };
        // SAFETY: j < n.
        unsafe { *y.add(j) = out };
    }
    if nan_row {
        f32::NAN
    } else {
        f32::NEG_INFINITY
    }
}

/// `y[..n] ← v`.
///
/// # Safety
/// `y` covers `n` elements.
unsafe fn fill(y: *mut f32, n: usize, v: f32) {
    for j in 0..n {
        // SAFETY: j < n.
        unsafe { *y.add(j) = v };
    }
}

/// Maximum (`MAX`) or minimum of `p[..n]`, and whether any element is NaN.
///
/// # Safety
/// `p` covers `n` elements.
#[inline(always)]
unsafe fn extreme<S: SimdF32, const MAX: bool>(s: S, p: *const f32, n: usize) -> (f32, bool) {
    let l = S::LANES;
    let pad = if MAX {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let op = |a, b| if MAX { s.max(a, b) } else { s.min(a, b) };
    let (mut a0, mut a1, mut a2, mut a3) = (s.splat(pad), s.splat(pad), s.splat(pad), s.splat(pad));
    let (mut n0, mut n1) = (s.is_nan(a0), s.is_nan(a0));
    let mut j = 0;
    // SAFETY (loop bodies): every load ends at or before p + n.
    while j + 4 * l <= n {
        unsafe {
            let (v0, v1) = (s.load(p.add(j)), s.load(p.add(j + l)));
            let (v2, v3) = (s.load(p.add(j + 2 * l)), s.load(p.add(j + 3 * l)));
            (a0, a1, a2, a3) = (op(a0, v0), op(a1, v1), op(a2, v2), op(a3, v3));
            n0 = s.mask_or(n0, s.mask_or(s.is_nan(v0), s.is_nan(v1)));
            n1 = s.mask_or(n1, s.mask_or(s.is_nan(v2), s.is_nan(v3)));
        }
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        let v = unsafe {
            if k == l {
                s.load(p.add(j))
            } else {
                s.load_part(p.add(j), k, pad)
            }
        };
        a0 = op(a0, v);
        n0 = s.mask_or(n0, s.is_nan(v));
        j += k;
    }
    let a = op(op(a0, a1), op(a2, a3));
    let e = if MAX {
        s.reduce_max(a)
    } else {
        s.reduce_min(a)
    };
    (e, s.mask_any(s.mask_or(n0, n1)))
}

/// Pass 2: `Σ exp(tⱼ − m)`, also storing each term into `y` when `store`; prefetches
/// `px[j]` for reading and `py[j]` for writing as it goes (hints only: any address).
///
/// # Safety
/// `src` and `y` cover `n` elements; `tⱼ − m ≤ 88` or NaN.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn sum_exp<S: SimdF32, T: Logits<S>>(
    s: S,
    src: T,
    y: *mut f32,
    n: usize,
    m: f32,
    store: bool,
    px: *const f32,
    py: *const f32,
) -> f32 {
    let l = S::LANES;
    let mv = s.splat(m);
    let z = s.splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let mut j = 0;
    // SAFETY (loop bodies): every access ends at or before offset n.
    while j + 4 * l <= n {
        for i in 0..4 {
            s.prefetch_read(px.wrapping_add(j + i * l));
            s.prefetch_write(py.wrapping_add(j + i * l));
        }
        unsafe {
            let t = [
                s.sub(src.at(s, j), mv),
                s.sub(src.at(s, j + l), mv),
                s.sub(src.at(s, j + 2 * l), mv),
                s.sub(src.at(s, j + 3 * l), mv),
            ];
            let [e0, e1, e2, e3] = exp_flush_x4(s, t);
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
        unsafe {
            let e = exp_flush(s, s.sub(src.at(s, j), mv));
            if store {
                s.store(y.add(j), e);
            }
            a0 = s.add(a0, e);
        }
        j += l;
    }
    if j < n {
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

/// Pass 3 of log-softmax: `y[j] ← (tⱼ − m) − ln Σ`.
///
/// # Safety
/// `src` and `y` cover `n` elements.
#[inline(always)]
unsafe fn log_out<S: SimdF32, T: Logits<S>>(
    s: S,
    src: T,
    y: *mut f32,
    n: usize,
    m: f32,
    ln_sum: f32,
) {
    let l = S::LANES;
    let (mv, lv) = (s.splat(m), s.splat(ln_sum));
    let mut j = 0;
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        // SAFETY: j + k ≤ n.
        unsafe {
            let t = if k == l {
                src.at(s, j)
            } else {
                src.part(s, j, k)
            };
            let o = s.sub(s.sub(t, mv), lv);
            if k == l {
                s.store(y.add(j), o);
            } else {
                s.store_part(y.add(j), k, o);
            }
        }
        j += k;
    }
}

/// `p[..n] ← f · p[..n]`.
///
/// # Safety
/// `p` covers `n` elements, readable and writable.
#[inline(always)]
pub(crate) unsafe fn mul_inplace<S: SimdF32>(s: S, p: *mut f32, n: usize, f: f32) {
    let l = S::LANES;
    let fv = s.splat(f);
    let mut j = 0;
    // SAFETY (loop bodies): every access ends at or before p + n.
    while j + 4 * l <= n {
        unsafe {
            let v0 = s.mul(s.load(p.add(j)), fv);
            let v1 = s.mul(s.load(p.add(j + l)), fv);
            let v2 = s.mul(s.load(p.add(j + 2 * l)), fv);
            let v3 = s.mul(s.load(p.add(j + 3 * l)), fv);
            s.store(p.add(j), v0);
            s.store(p.add(j + l), v1);
            s.store(p.add(j + 2 * l), v2);
            s.store(p.add(j + 3 * l), v3);
        }
        j += 4 * l;
    }
    while j < n {
        let k = if j + l <= n { l } else { n - j };
        unsafe {
            if k == l {
                s.store(p.add(j), s.mul(s.load(p.add(j)), fv));
            } else {
                s.store_part(p.add(j), k, s.mul(s.load_part(p.add(j), k, 0.0), fv));
            }
        }
        j += k;
    }
}

/// Maximum of `p[..n]` and whether any element is NaN (`−∞` for `n = 0`).
///
/// # Safety
/// `p` covers `n` elements.
#[inline(always)]
#[allow(dead_code)] // the attention driver's entry (see the module docs)
pub(crate) unsafe fn max_nan<S: SimdF32>(s: S, p: *const f32, n: usize) -> (f32, bool) {
    // SAFETY: forwarded.
    unsafe { extreme::<S, true>(s, p, n) }
}

/// `p[j] ← scale·p[j]`, then [`max_nan`] of the result.
///
/// # Safety
/// `p` covers `n` elements, readable and writable.
#[inline(always)]
#[allow(dead_code)] // the attention driver's entry (see the module docs)
pub(crate) unsafe fn scale_max<S: SimdF32>(s: S, p: *mut f32, n: usize, scale: f32) -> (f32, bool) {
    // SAFETY: forwarded.
    unsafe {
        mul_inplace(s, p, n, scale);
        extreme::<S, true>(s, p, n)
    }
}

/// `dst[j] ← exp(src[j] − m)` when `store`, returning `Σ exp(src[j] − m)`.
///
/// # Safety
/// `src` and `dst` cover `n` elements (`dst` writable when `store`; `src == dst` allowed);
/// `src[j] − m ≤ 88` or NaN.
#[inline(always)]
#[allow(dead_code)] // the attention driver's entry (see the module docs)
pub(crate) unsafe fn exp_sub_sum<S: SimdF32>(
    s: S,
    src: *const f32,
    dst: *mut f32,
    n: usize,
    m: f32,
    store: bool,
) -> f32 {
    // SAFETY: forwarded.
    unsafe { sum_exp(s, Stored(src), dst, n, m, store, src, src) }
}

/// `y[j] ← exp(x[j])` for `j < n`.
///
/// # Safety
/// `x` and `y` cover `n` elements; `y` writable; they are equal or do not overlap.
#[inline(always)]
pub(crate) unsafe fn exp_slice<S: SimdF32>(s: S, x: *const f32, y: *mut f32, n: usize) {
    let l = S::LANES;
    let mut j = 0;
    // SAFETY (loop bodies): every access ends at or before offset n.
    while j + 4 * l <= n {
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
