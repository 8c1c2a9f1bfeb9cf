//! Short plain softmax rows (at most [`SHORT_VECTORS`] vectors: 64 columns on x86-v4), two at
//! a time, in registers ([`Path::Short`]; contract: [`super`]).
//!
//! A short row is at most four vectors, so its `exp` terms stay in registers between the sum
//! and the normalisation: each `y` element is stored once, never re-read. Two rows go
//! through one 8-vector interleaved `exp`, which gives the out-of-order core two independent
//! max → exp → sum → `1/Σ` chains to overlap — on rows this short that latency, not
//! arithmetic, is the limit. A row's arithmetic is the same whether it is paired or alone
//! (every row sums `((e₀ + e₁) + (e₂ + e₃))` with absent vectors exactly 0), so results do
//! not depend on the row count or on how rows are split between threads.
//!
//! Two rows, not four: a 16-vector `exp` keeps more values live than 32 registers hold, and
//! its spills cost more than the shuffles it saves (64 columns in L2: 3.1 against 3.9
//! elements/ns). The maximum of a row is taken in straight-line code ([`short_extreme`]), and
//! rows of exactly `4·LANES` are compiled with the length as a constant (`FULL`): 64 columns
//! in L2 3.9 → 4.1. From memory these rows run at about 0.75 of a copy of the same bytes
//! (bench `softmax/65536x64`); neither streaming stores nor software prefetch moved that.
//!
//! [`SHORT_VECTORS`]: super::plan::SHORT_VECTORS
//! [`Path::Short`]: super::plan::Path::Short

use super::call::{degenerate, Call, FromX};
use crate::simd::exp::exp_flush_xn;
use crate::simd::row::Logits;
use crate::simd::SimdF32;

/// All rows of a plain softmax call with `cols ≤ 4·LANES`.
///
/// Software-pipelined by pairs: the maxima of rows `r + 2`, `r + 3` are taken before the
/// `exp` of rows `r`, `r + 1`, so their loads and reductions overlap that work instead of
/// waiting behind it. Out of place no NaN flag is taken: a NaN logit makes its row's sum
/// NaN, and the row is then refilled by [`degenerate`] from `x`, which is intact. In place,
/// a row with a NaN goes to [`degenerate`] before its `x` is overwritten.
///
/// # Safety
/// As [`run`](super::run), with no mask and no bias, softmax (not log), and
/// `1 ≤ cols ≤ 4·LANES`.
#[inline(always)]
pub(crate) unsafe fn rows<S: SimdF32, const SCALED: bool>(s: S, c: &Call) {
    // SAFETY: forwarded.
    unsafe {
        let full = c.cols == 4 * S::LANES;
        match (core::ptr::eq(c.x, c.y), full) {
            (true, true) => rows_ip::<S, SCALED, true, true>(s, c),
            (true, false) => rows_ip::<S, SCALED, true, false>(s, c),
            (false, true) => rows_ip::<S, SCALED, false, true>(s, c),
            (false, false) => rows_ip::<S, SCALED, false, false>(s, c),
        }
    }
}

/// [`rows`] for in-place (`IN_PLACE`) or out-of-place calls.
///
/// `FULL` (rows of exactly `4·LANES`) makes the row length a constant, so every per-vector
/// tail test folds away and a pair is straight-line code.
///
/// # Safety
/// As [`rows`]; `IN_PLACE` exactly when `c.x == c.y`, `FULL` exactly when
/// `c.cols == 4·LANES`.
#[inline(always)]
unsafe fn rows_ip<S: SimdF32, const SCALED: bool, const IN_PLACE: bool, const FULL: bool>(
    s: S,
    c: &Call,
) {
    let mut r = 0;
    // SAFETY: rows ≥ 1 (a validated call with no rows does not get here).
    let mut cur = unsafe { setup2::<S, SCALED, IN_PLACE, FULL>(s, c, 0) };
    while r < c.rows {
        let nxt = if r + 2 < c.rows {
            // SAFETY: r + 2 < rows.
            Some(unsafe { setup2::<S, SCALED, IN_PLACE, FULL>(s, c, r + 2) })
        } else {
            None
        };
        // SAFETY: r < rows, and r + 1 < rows when the pair has a second row.
        unsafe {
            match cur {
                (Some(a), Some(Some(b))) => pair::<S, SCALED, FULL>(s, c, r, a, b),
                (a, b) => {
                    one::<S, SCALED, FULL>(s, c, r, a);
                    if let Some(b) = b {
                        one::<S, SCALED, FULL>(s, c, r + 1, b);
                    }
                }
            }
        }
        r += 2;
        if let Some(n) = nxt {
            cur = n;
        }
    }
}

/// The row length: `4·LANES` known at compile time when `FULL` (no tail branches).
#[inline(always)]
fn cols<S: SimdF32, const FULL: bool>(c: &Call) -> usize {
    if FULL {
        4 * S::LANES
    } else {
        c.cols
    }
}

/// A row's logit source and maximum logit, `None` when degenerate (see [`setup`]).
type Setup<const SCALED: bool> = Option<(FromX<SCALED, false>, f32)>;

/// [`setup`] of rows `r` and `r + 1` (`None` when `r + 1` is past the last row).
///
/// # Safety
/// `r < c.rows`.
#[inline(always)]
unsafe fn setup2<S: SimdF32, const SCALED: bool, const IN_PLACE: bool, const FULL: bool>(
    s: S,
    c: &Call,
    r: usize,
) -> (Setup<SCALED>, Option<Setup<SCALED>>) {
    // SAFETY: r < rows, and r + 1 < rows when it is set up.
    unsafe {
        let a = setup::<S, SCALED, IN_PLACE, FULL>(s, c, r);
        let b = if r + 1 < c.rows {
            Some(setup::<S, SCALED, IN_PLACE, FULL>(s, c, r + 1))
        } else {
            None
        };
        (a, b)
    }
}

/// Row `r`'s logit source and maximum logit, or `None` for a row known to be degenerate
/// (`m` not finite, or — in place — a NaN).
///
/// # Safety
/// `r < c.rows`.
#[inline(always)]
unsafe fn setup<S: SimdF32, const SCALED: bool, const IN_PLACE: bool, const FULL: bool>(
    s: S,
    c: &Call,
    r: usize,
) -> Option<(FromX<SCALED, false>, f32)> {
    // SAFETY: row r of x is inside the validated range.
    let x = unsafe { c.x.add(r * c.rsx) };
    // SAFETY: x covers cols elements.
    let (e, nan) = unsafe {
        if c.scale > 0.0 {
            short_extreme::<S, true, IN_PLACE>(s, x, cols::<S, FULL>(c))
        } else {
            short_extreme::<S, false, IN_PLACE>(s, x, cols::<S, FULL>(c))
        }
    };
    let src = FromX::<SCALED, false> {
        x,
        scale: c.scale,
        b: 0.0,
    };
    let m = src.logit1(e);
    (!nan && m.is_finite()).then_some((src, m))
}

/// Vector `i` of a short row's `x` (`pad` past its end).
///
/// # Safety
/// `p` covers `n` elements.
#[inline(always)]
unsafe fn raw<S: SimdF32>(s: S, p: *const f32, n: usize, i: usize, pad: f32) -> S::V {
    let (l, j) = (S::LANES, i * S::LANES);
    // SAFETY: loads end at or before offset n.
    unsafe {
        if j + l <= n {
            s.load(p.add(j))
        } else if j < n {
            s.load_part(p.add(j), n - j, pad)
        } else {
            s.splat(pad)
        }
    }
}

/// Largest (`MAX`) or smallest element of a short row (`n ≤ 4·LANES`) in straight-line code,
/// and whether any is NaN (when `CHECK_NAN`; otherwise false).
///
/// # Safety
/// `p` covers `n ≤ 4·LANES` elements.
#[inline(always)]
unsafe fn short_extreme<S: SimdF32, const MAX: bool, const CHECK_NAN: bool>(
    s: S,
    p: *const f32,
    n: usize,
) -> (f32, bool) {
    let pad = if MAX {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    // SAFETY: forwarded.
    let v = unsafe {
        [
            raw(s, p, n, 0, pad),
            raw(s, p, n, 1, pad),
            raw(s, p, n, 2, pad),
            raw(s, p, n, 3, pad),
        ]
    };
    let (a, b) = if MAX {
        (s.max(v[0], v[1]), s.max(v[2], v[3]))
    } else {
        (s.min(v[0], v[1]), s.min(v[2], v[3]))
    };
    let e = if MAX {
        s.reduce_max(s.max(a, b))
    } else {
        s.reduce_min(s.min(a, b))
    };
    let nan = CHECK_NAN
        && s.mask_any(s.mask_or(
            s.mask_or(s.is_nan(v[0]), s.is_nan(v[1])),
            s.mask_or(s.is_nan(v[2]), s.is_nan(v[3])),
        ));
    (e, nan)
}

/// The logits of vector `i` of a short row (`−∞` past its end).
///
/// # Safety
/// `src` covers `n` elements.
#[inline(always)]
unsafe fn logits<S: SimdF32, const SCALED: bool>(
    s: S,
    src: FromX<SCALED, false>,
    n: usize,
    i: usize,
) -> S::V {
    let (l, j) = (S::LANES, i * S::LANES);
    // SAFETY: loads end at or before offset n.
    unsafe {
        if j + l <= n {
            src.at(s, j)
        } else if j < n {
            src.part(s, j, n - j)
        } else {
            s.splat(f32::NEG_INFINITY)
        }
    }
}

/// Stores `v · f` as elements `i·LANES..` of a short row of `n`.
///
/// # Safety
/// `y` covers `n` writable elements.
#[inline(always)]
unsafe fn put<S: SimdF32>(s: S, y: *mut f32, n: usize, i: usize, v: S::V, f: S::V) {
    let (l, j) = (S::LANES, i * S::LANES);
    // SAFETY: stores end at or before offset n.
    unsafe {
        if j + l <= n {
            s.store(y.add(j), s.mul(v, f));
        } else if j < n {
            s.store_part(y.add(j), n - j, s.mul(v, f));
        }
    }
}

/// The row sum `((e₀ + e₁) + (e₂ + e₃))`, the same for paired and lone rows.
#[inline(always)]
fn row_sum<S: SimdF32>(s: S, e: &[S::V]) -> f32 {
    s.reduce_add(s.add(s.add(e[0], e[1]), s.add(e[2], e[3])))
}

/// Two non-degenerate rows `r`, `r + 1` in one interleaved `exp`.
///
/// # Safety
/// `r + 1 < c.rows`.
#[inline(always)]
unsafe fn pair<S: SimdF32, const SCALED: bool, const FULL: bool>(
    s: S,
    c: &Call,
    r: usize,
    (sa, ma): (FromX<SCALED, false>, f32),
    (sb, mb): (FromX<SCALED, false>, f32),
) {
    let n = cols::<S, FULL>(c);
    let (mav, mbv) = (s.splat(ma), s.splat(mb));
    let mut t = [mav; 8];
    for i in 0..4 {
        // SAFETY: both rows cover n elements.
        unsafe {
            t[i] = s.sub(logits(s, sa, n, i), mav);
            t[4 + i] = s.sub(logits(s, sb, n, i), mbv);
        }
    }
    let e = exp_flush_xn(s, t);
    let (suma, sumb) = (row_sum(s, &e[..4]), row_sum(s, &e[4..]));
    let (fa, fb) = (s.splat(1.0 / suma), s.splat(1.0 / sumb));
    // SAFETY: rows r and r + 1 of y and lse are inside the validated ranges.
    unsafe {
        let (ya, yb) = (c.y.add(r * c.rsy), c.y.add((r + 1) * c.rsy));
        for i in 0..4 {
            put(s, ya, n, i, e[i], fa);
            put(s, yb, n, i, e[4 + i], fb);
        }
        if suma.is_nan() {
            redo(c, r, sa);
        }
        if sumb.is_nan() {
            redo(c, r + 1, sb);
        }
        if !c.lse.is_null() {
            *c.lse.add(r) = ma + libm::logf(suma);
            *c.lse.add(r + 1) = mb + libm::logf(sumb);
        }
    }
}

/// Row `r`, whose sum came out NaN (a NaN logit, out of place), refilled from `x` by
/// [`degenerate`]; returns its logsumexp (NaN; `m + ln Σ` is NaN too).
///
/// # Safety
/// `r < c.rows`; out of place (`x` intact).
#[inline(never)]
#[cold]
unsafe fn redo<const SCALED: bool>(c: &Call, r: usize, src: FromX<SCALED, false>) -> f32 {
    // SAFETY: row r of y is inside the validated range; x is intact and not y.
    unsafe {
        degenerate(c.y.add(r * c.rsy), c.cols, false, |j| {
            src.logit1(*src.x.add(j))
        })
    }
}

/// One row `r`: the same arithmetic as [`pair`], or the degenerate fill.
///
/// # Safety
/// `r < c.rows`.
#[inline(always)]
unsafe fn one<S: SimdF32, const SCALED: bool, const FULL: bool>(
    s: S,
    c: &Call,
    r: usize,
    a: Option<(FromX<SCALED, false>, f32)>,
) {
    let n = cols::<S, FULL>(c);
    // SAFETY: row r of y and lse are inside the validated ranges; x is read (by the closure)
    // before each y element is written.
    unsafe {
        let y = c.y.add(r * c.rsy);
        let lse = match a {
            None => {
                let src = FromX::<SCALED, false> {
                    x: c.x.add(r * c.rsx),
                    scale: c.scale,
                    b: 0.0,
                };
                degenerate(y, n, false, |j| src.logit1(*src.x.add(j)))
            }
            Some((src, m)) => {
                let mv = s.splat(m);
                let mut t = [mv; 4];
                for (i, v) in t.iter_mut().enumerate() {
                    *v = s.sub(logits(s, src, n, i), mv);
                }
                let e = exp_flush_xn(s, t);
                let sum = row_sum(s, &e);
                let f = s.splat(1.0 / sum);
                for (i, v) in e.iter().enumerate() {
                    put(s, y, n, i, *v, f);
                }
                if sum.is_nan() {
                    redo(c, r, src);
                }
                m + libm::logf(sum)
            }
        };
        if !c.lse.is_null() {
            *c.lse.add(r) = lse;
        }
    }
}
