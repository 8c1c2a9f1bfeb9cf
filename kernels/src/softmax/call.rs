//! The shared pieces of the softmax row paths: a validated call in raw parts ([`Call`]), the
//! logit source that recomputes `scale·x + b` ([`FromX`]), the log-softmax output pass, and
//! the contract's answer for degenerate rows ([`degenerate`]). Every path file uses them;
//! none of them knows a path.

use super::plan::{self, Path};
use super::SoftmaxKernel;
use crate::options::SoftmaxOptions;
use crate::simd::exp::exp;
use crate::simd::row::{extremes, Ext, Logits};
use crate::simd::SimdF32;
use crate::view::MatRef;

/// A validated softmax call: the whole operation, in raw pointers (see [`super::softmax`]).
#[derive(Clone, Copy)]
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
    /// The path every row takes ([`plan::path`], decided once for the whole call).
    pub(crate) path: Path,
    /// With [`Path::Stream`], a scratch of at least [`scratch_len`](plan::scratch_len)
    /// writable elements disjoint from every operand (null otherwise).
    pub(crate) w: *mut f32,
}

impl Call {
    /// Rows `r0..r1` of the call (`r0 ≤ r1 ≤ rows`), on the same path, with scratch `w`.
    /// Pointers are computed with wrapping arithmetic: they address rows of the whole call.
    pub(crate) fn rows(&self, r0: usize, r1: usize, w: *mut f32) -> Call {
        Call {
            x: self.x.wrapping_add(r0 * self.rsx),
            y: self.y.wrapping_add(r0 * self.rsy),
            rows: r1 - r0,
            mask: self.mask.map(|m| m.starting_at_row(r0)),
            bias: self.bias.map(|b| b.starting_at_row(r0)),
            lse: if self.lse.is_null() {
                self.lse
            } else {
                self.lse.wrapping_add(r0)
            },
            w,
            ..*self
        }
    }
}

/// A broadcast operand: row `r` starts at `ptr + r·rs` (`rs = 0` when it has one row); with
/// `per_row` (one column) that row is a single value for the whole row.
pub(crate) struct Bcast<T> {
    pub(crate) ptr: *const T,
    pub(crate) rs: usize,
    pub(crate) per_row: bool,
}

impl<T> Clone for Bcast<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Bcast<T> {}

impl<T> Bcast<T> {
    /// The broadcast form of a validated operand view.
    ///
    /// Out of line so that it runs only for `Some`: inlined into `Option::map`, LLVM computed
    /// `rows == 1` on the (uninitialised) payload of a `None` and chose by `cmov` before testing
    /// the tag — harmless, the value is discarded, but valgrind memcheck rightly cannot tell.
    #[inline(never)]
    fn of(m: &MatRef<'_, T>) -> Self {
        Bcast {
            ptr: m.ptr,
            rs: if m.rows == 1 { 0 } else { m.rs },
            per_row: m.cols == 1,
        }
    }

    /// The operand seen from row `r0` on (wrapping arithmetic; a one-row operand stays).
    fn starting_at_row(self, r0: usize) -> Self {
        Bcast {
            ptr: self.ptr.wrapping_add(r0 * self.rs),
            ..self
        }
    }
}

/// The raw form of a validated call on `kern`'s tier, its path decided; `stream`: the rows
/// will run with a scratch of [`scratch_len`](plan::scratch_len) elements, so they may stream.
/// The scratch pointer is null: the caller sets it.
pub(crate) fn make_call(
    kern: &SoftmaxKernel,
    x: &MatRef<'_>,
    y: *mut f32,
    rsy: usize,
    opts: &SoftmaxOptions<'_>,
    lse: Option<&mut [f32]>,
    stream: bool,
) -> Call {
    let mut c = Call {
        x: x.ptr,
        rsx: x.rs,
        y,
        rsy,
        rows: x.rows,
        cols: x.cols,
        scale: opts.scale,
        mask: opts.mask.as_ref().map(Bcast::of),
        bias: opts.bias.as_ref().map(Bcast::of),
        log: opts.log,
        lse: lse.map_or(core::ptr::null_mut(), |l| l.as_mut_ptr()),
        path: Path::PerRow,
        w: core::ptr::null_mut(),
    };
    c.path = plan::path(kern.lanes, stream && kern.stream, &c);
    c
}

/// `t = scale·x (+ b)` recomputed from `x` (`SCALED`: scale ≠ 1, `ROW_BIAS`: a per-row bias).
#[derive(Clone, Copy)]
pub(crate) struct FromX<const SCALED: bool, const ROW_BIAS: bool> {
    pub(crate) x: *const f32,
    pub(crate) scale: f32,
    pub(crate) b: f32,
}

impl<const SCALED: bool, const ROW_BIAS: bool> FromX<SCALED, ROW_BIAS> {
    #[inline(always)]
    fn logit<S: SimdF32>(self, s: S, v: S::V) -> S::V {
        let t = if SCALED {
            s.mul(v, s.splat(self.scale))
        } else {
            v
        };
        if ROW_BIAS {
            s.add(t, s.splat(self.b))
        } else {
            t
        }
    }
    #[inline(always)]
    pub(crate) fn logit1(self, v: f32) -> f32 {
        let t = if SCALED { v * self.scale } else { v };
        if ROW_BIAS {
            t + self.b
        } else {
            t
        }
    }
}

impl<S: SimdF32, const SCALED: bool, const ROW_BIAS: bool> Logits<S> for FromX<SCALED, ROW_BIAS> {
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

/// Pass 3 of log-softmax: `y[j] ← (tⱼ − m) − ln Σ`.
///
/// # Safety
/// `src` and `y` cover `n` elements.
#[inline(always)]
pub(crate) unsafe fn log_out<S: SimdF32, T: Logits<S>>(
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

/// [`exp_lane`](crate::simd::exp_lane)`(d)` computed on `S`'s vectors (same bits; no call to
/// `libm::fmaf` from inside a kernel).
#[inline(always)]
pub(crate) fn exp1<S: SimdF32>(s: S, d: f32) -> f32 {
    s.reduce_max(exp(s, s.splat(d)))
}

/// Fills a degenerate row (a NaN or `+∞` logit, or none taking part) entry by entry from the
/// contract. `logit(j)` is `tⱼ`. Returns the logsumexp (NaN or `−∞`).
///
/// # Safety
/// `y` covers `n` elements; `logit(j)` is sound for `j < n` and reads `y[j]` at most.
#[inline(never)]
#[cold]
pub(crate) unsafe fn degenerate(
    y: *mut f32,
    n: usize,
    log: bool,
    logit: impl Fn(usize) -> f32,
) -> f32 {
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
pub(crate) unsafe fn fill(y: *mut f32, n: usize, v: f32) {
    for j in 0..n {
        // SAFETY: j < n.
        unsafe { *y.add(j) = v };
    }
}

/// Pass 1 of row `r` alone: [`extremes`] of its `x` (with the NaN flag when `CHECK_NAN`).
///
/// # Safety
/// `r < c.rows` of a validated call.
#[inline(always)]
pub(crate) unsafe fn row_ext<S: SimdF32, const CHECK_NAN: bool>(s: S, c: &Call, r: usize) -> Ext {
    // SAFETY: row r of x is inside the validated range; no y (SCALE_Y is false).
    unsafe {
        let null = core::ptr::null_mut();
        extremes::<S, CHECK_NAN, false>(s, c.x.add(r * c.rsx), c.cols, null, 0.0)
    }
}
