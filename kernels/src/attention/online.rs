//! The online softmax of FlashAttention (Dao et al., 2022, §3.1; Milakov & Gimelshein, 2018)
//! on one `MR × n` panel of scores, vectorised across the panel's *rows* (queries).
//!
//! A score panel is stored the way the gemm microkernel writes it and the P·V microkernel reads
//! it as a packed `A` micropanel: column `j` (one key) is `MR` contiguous floats, one per query
//! row. So every step below is a vertical operation on whole vectors — no horizontal
//! reductions — and the exponentiated panel `P` is already packed for `P·V`.
//!
//! Per row, with running maximum `m`, running sum `l` and unnormalised output `acc`:
//!
//! ```text
//! m' = max(m, maxⱼ sⱼ)          base = max(m', −FLT_MAX)   (−∞ guard: a row with no visible
//! pⱼ = exp(sⱼ − base)                                        key yet keeps m' = −∞, and
//! c  = exp(m − base)                                         exp(−∞ − base) = 0, never NaN)
//! l' = l·c + Σⱼ pⱼ              acc' = acc·c + P·V        (the caller rescales acc, then adds P·V)
//! ```
//!
//! Division by `l` happens once, at the end. Exponentials are [`exp_flush`]: the softmax
//! kernels' `exp_flush_lane`, the same bits on every ISA.

use crate::simd::exp::exp_flush;
use crate::simd::SimdF32;

/// Updates rows `0..mr` of the running state with score panel `panel` (`mr × n`, column `j`
/// at `panel + j·mr`), overwriting the panel with `P` and writing each row's rescale factor to
/// `corr`. Returns whether any factor differs from 1 (the accumulator then needs rescaling).
///
/// # Safety
///
/// `panel` is valid for reads and writes of `mr·n` floats; `m`, `l`, `corr` for `mr` floats
/// each; none overlap; `mr` is a multiple of `S::LANES`; the CPU supports `S`'s instructions
/// (holding `s` proves it).
#[inline(always)]
pub(crate) unsafe fn update_panel<S: SimdF32>(
    s: S,
    mr: usize,
    panel: *mut f32,
    n: usize,
    m: *mut f32,
    l: *mut f32,
    corr: *mut f32,
) -> bool {
    let lanes = S::LANES;
    let floor = s.splat(-f32::MAX);
    let mut v = 0;
    while v < mr {
        // SAFETY: rows v..v+LANES < mr and columns < n lie inside the caller's ranges.
        unsafe {
            let m_old = s.load(m.add(v));
            let mut mx = m_old;
            for j in 0..n {
                mx = s.max(mx, s.load(panel.add(j * mr + v)));
            }
            // NaN scores: `max` may drop them, but their own exp below is NaN, which reaches
            // l and O as the contract says.
            let base = s.clamp_below(mx, floor);
            let c = exp_flush(s, s.sub(m_old, base));
            let mut sum = s.mul(s.load(l.add(v)), c);
            for j in 0..n {
                let p = panel.add(j * mr + v);
                let e = exp_flush(s, s.sub(s.load(p), base));
                s.store(p, e);
                sum = s.add(sum, e);
            }
            s.store(m.add(v), mx);
            s.store(l.add(v), sum);
            s.store(corr.add(v), c);
        }
        v += lanes;
    }
    // SAFETY: corr holds mr floats, just written.
    (0..mr).any(|i| unsafe { *corr.add(i) } != 1.0)
}

/// `acc[i, e] *= corr[i]` over an `mr × cols` accumulator panel (column `e` at `acc + e·mr`).
///
/// # Safety
///
/// `acc` valid for reads and writes of `mr·cols` floats, `corr` for reads of `mr`; `mr` a
/// multiple of `S::LANES`; the CPU supports `S`.
#[inline(always)]
pub(crate) unsafe fn rescale_panel<S: SimdF32>(
    s: S,
    mr: usize,
    acc: *mut f32,
    cols: usize,
    corr: *const f32,
) {
    let mut v = 0;
    while v < mr {
        // SAFETY: in range as documented.
        unsafe {
            let c = s.load(corr.add(v));
            for e in 0..cols {
                let p = acc.add(e * mr + v);
                s.store(p, s.mul(s.load(p), c));
            }
        }
        v += S::LANES;
    }
}

/// The exact softmax of the rows of a score panel (`mr × n`, column `j` at `panel + j·mr`), in
/// place, for rows whose keys all fit one block: per row `m = max(sink, maxⱼ sⱼ)`,
/// `l = e^(sink − m) + Σⱼ e^(sⱼ − m)` (the sink term only with a sink), and
/// `pⱼ = e^(sⱼ − m) · (1/l)` — normalised here, so `P·V` is the output itself. Rows with
/// `l = 0` (no visible key, no sink) get `P = 0`. Writes each row's `m` and `l` (for the
/// logsumexp) and uses `inv` as scratch.
///
/// # Safety
///
/// `panel` is valid for reads and writes of `mr·n` floats; `m`, `l`, `inv` for `mr` floats
/// each; none overlap; `mr` is a multiple of `S::LANES`; the CPU supports `S`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn softmax_panel<S: SimdF32>(
    s: S,
    mr: usize,
    panel: *mut f32,
    n: usize,
    sink: Option<f32>,
    m: *mut f32,
    l: *mut f32,
    inv: *mut f32,
) {
    let lanes = S::LANES;
    let floor = s.splat(-f32::MAX);
    let sink_v = s.splat(sink.unwrap_or(f32::NEG_INFINITY));
    let mut v = 0;
    while v < mr {
        // SAFETY: rows v..v+LANES < mr and columns < n lie inside the caller's ranges.
        unsafe {
            let mut mx = sink_v;
            for j in 0..n {
                mx = s.max(mx, s.load(panel.add(j * mr + v)));
            }
            // NaN scores: `max` may drop them, but their own exp below is NaN, which reaches
            // l and P as the contract says. A row that sees nothing keeps m = −∞: the floor
            // keeps exp(−∞ − base) = 0 from being NaN.
            let base = s.clamp_below(mx, floor);
            let mut sum = if sink.is_some() {
                exp_flush(s, s.sub(sink_v, base))
            } else {
                s.splat(0.0)
            };
            for j in 0..n {
                let p = panel.add(j * mr + v);
                let e = exp_flush(s, s.sub(s.load(p), base));
                s.store(p, e);
                sum = s.add(sum, e);
            }
            s.store(m.add(v), mx);
            s.store(l.add(v), sum);
        }
        v += lanes;
    }
    for i in 0..mr {
        // SAFETY: i < mr: inside l and inv. One reciprocal per row, then multiplies.
        unsafe {
            let li = *l.add(i);
            *inv.add(i) = if li == 0.0 { 0.0 } else { 1.0 / li };
        }
    }
    let mut v = 0;
    while v < mr {
        // SAFETY: as above.
        unsafe {
            let f = s.load(inv.add(v));
            for j in 0..n {
                let p = panel.add(j * mr + v);
                s.store(p, s.mul(s.load(p), f));
            }
        }
        v += lanes;
    }
}
