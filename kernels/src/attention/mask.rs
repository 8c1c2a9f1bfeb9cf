//! Which keys a query sees, and the per-element logit adjustments — the parts of the
//! [attention contract](super) that are not matrix products. Portable code, no ISA.
//!
//! The *structural* masks (causal, sliding window, key padding) make each query row's visible
//! keys one interval `[lo, hi)`, so a whole `Br × Bc` block is classified from the intervals of
//! its rows: blocks outside every interval are skipped (never computed — this is where causal
//! attention saves half the work), blocks inside every interval need no masking at all, and
//! only the blocks on the boundary are masked element by element. The *data* masks (boolean
//! mask, additive bias, ALiBi) are applied per element on the blocks that are computed; the
//! softcap, which comes first in the contract's order, is applied before them to whole score
//! panels or rows at once, with the vector `tanh` (`simd/tanh.rs`).

use crate::options::{AttentionOptions, CausalVariant};
use crate::shape::AttnDims;
use crate::view::Tensor4Ref;

/// Structural visibility for one batch entry: query `i` sees keys `[lo(i), hi(i))`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Intervals {
    /// `p(i) = i + shift` (query position in key coordinates).
    shift: i64,
    causal: bool,
    window: Option<i64>,
    /// Valid keys of this batch entry (`key_padding_lens[b]`, or `Lk`).
    len: i64,
}

impl Intervals {
    pub(crate) fn new(opts: &AttentionOptions<'_>, d: &AttnDims, b: usize) -> Self {
        let shift = match opts.causal_variant {
            CausalVariant::UpperLeft => 0,
            CausalVariant::LowerRight => d.len_kv as i64 - d.len_q as i64,
        };
        let len = opts.key_padding_lens.map_or(d.len_kv, |p| p[b]) as i64;
        Intervals {
            shift,
            causal: opts.is_causal,
            window: opts.window.map(|w| w as i64),
            len,
        }
    }

    /// Query position `p(i)` in key coordinates.
    #[inline]
    pub(crate) fn pos(&self, i: usize) -> i64 {
        i as i64 + self.shift
    }

    /// The visible key interval `[lo, hi)` of query `i` (empty when `lo ≥ hi`), clamped to
    /// `[0, len]`.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> (usize, usize) {
        let p = self.pos(i);
        let mut lo = 0i64;
        let mut hi = self.len;
        if self.causal {
            hi = hi.min(p + 1);
        }
        if let Some(w) = self.window {
            lo = lo.max(p - w + 1);
            if !self.causal {
                hi = hi.min(p + w);
            }
        }
        let hi = hi.clamp(0, self.len);
        let lo = lo.clamp(0, hi);
        (lo as usize, hi as usize)
    }

    /// A key range containing every key some row of `i0..i1` sees: `[lo(i0), hi(i1 − 1))`
    /// (`lo` and `hi` are non-decreasing in `i`). It can be wider than the exact union when
    /// rows in between are empty; blocks in the gap are then computed and masked, which costs
    /// time but never changes a result.
    #[inline]
    pub(crate) fn rows_span(&self, i0: usize, i1: usize) -> (usize, usize) {
        let (lo, _) = self.row(i0);
        let (_, hi) = self.row(i1 - 1);
        (lo.min(hi), hi)
    }

    /// Whether every row in `i0..i1` sees every key in `j0..j1`.
    #[inline]
    pub(crate) fn covers(&self, i0: usize, i1: usize, j0: usize, j1: usize) -> bool {
        // lo(i) and hi(i) are non-decreasing: the tightest rows are the ends.
        let (lo_last, _) = self.row(i1 - 1);
        let (_, hi_first) = self.row(i0);
        lo_last <= j0 && j1 <= hi_first
    }
}

/// The per-element (data) options of a call, with broadcasting resolved for one `(b, h)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ElementOpts<'a> {
    pub(crate) softcap: Option<f32>,
    mask: Option<Tensor4Ref<'a, bool>>,
    bias: Option<Tensor4Ref<'a, f32>>,
    slope: Option<f32>,
    b: usize,
    h: usize,
}

impl<'a> ElementOpts<'a> {
    pub(crate) fn new(opts: &AttentionOptions<'a>, b: usize, h: usize) -> Self {
        ElementOpts {
            softcap: opts.softcap,
            mask: opts.attn_mask,
            bias: opts.attn_bias,
            slope: opts.alibi_slopes.map(|s| s[h]),
            b,
            h,
        }
    }

    /// Whether any per-element work is needed (softcap included).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.softcap.is_some() || self.any_scalar()
    }

    /// Whether [`apply`](Self::apply) has work: a boolean mask, a bias or ALiBi.
    #[inline]
    pub(crate) fn any_scalar(&self) -> bool {
        self.mask.is_some() || self.bias.is_some() || self.slope.is_some()
    }

    /// Applies bias, ALiBi and the boolean mask to the logit `t` of query `i` (position `pos`)
    /// and key `j`, in the contract's order; `t` has had its softcap already (the callers apply
    /// `softcap_row` to the whole panel or row first). Returns `−∞` for a masked key.
    #[inline]
    pub(crate) fn apply(&self, t: f32, i: usize, pos: i64, j: usize) -> f32 {
        let idx = |dims: [usize; 4]| {
            let full = [self.b, self.h, i, j];
            let mut x = [0usize; 4];
            for ax in 0..4 {
                x[ax] = if dims[ax] == 1 { 0 } else { full[ax] };
            }
            x
        };
        if let Some(m) = &self.mask {
            if !m.get(idx(m.dims)).copied().unwrap_or(false) {
                return f32::NEG_INFINITY;
            }
        }
        let mut t = t;
        if let Some(bias) = &self.bias {
            t += bias.get(idx(bias.dims)).copied().unwrap_or(0.0);
        }
        if let Some(s) = self.slope {
            t -= s * (pos - j as i64).unsigned_abs() as f32;
        }
        t
    }
}

/// The sink logit of query head `h` as the kernels use it: a `+∞` sink is NaN, because the
/// contract gives it the `+∞`-logit rule (every row of its head NaN); a `−∞` sink is as no sink
/// (weight 0). (Regression, from `fuzz/attention_diff`: a `+∞` sink gave `O = 0` on rows that
/// see no key and NaN on the others.)
#[inline]
pub(crate) fn sink_logit(sinks: Option<&[f32]>, h: usize) -> Option<f32> {
    sinks
        .and_then(|s| s.get(h))
        .map(|&s| if s == f32::INFINITY { f32::NAN } else { s })
}

/// Whether `x` holds an infinity or a NaN: a running maximum of the magnitude bits, which the
/// compiler vectorises (an early-exit `any` does not vectorise).
#[inline(always)]
pub(crate) fn any_nonfinite(x: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    let mut acc = [0u32; 16];
    let mut chunks = x.chunks_exact(16);
    for ch in &mut chunks {
        for (a, v) in acc.iter_mut().zip(ch) {
            *a = (*a).max(v.to_bits() & 0x7fff_ffff);
        }
    }
    let tail = chunks.remainder().iter().map(|v| v.to_bits() & 0x7fff_ffff);
    acc.iter().copied().chain(tail).max().unwrap_or(0) >= EXP
}

/// Sets masked scores of one panel to −∞: per row, the columns outside its structural key
/// interval (and the padded columns past the block), touching only those; then, when per-element
/// options are present (mask, bias, ALiBi: the softcap was applied to the whole panel before),
/// applies them to the columns in between.
///
/// # Safety
///
/// `sbuf` holds an `mr × ncols` panel (column `j` at `j·mr`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn mask_panel(
    iv: &Intervals,
    eo: &ElementOpts<'_>,
    sbuf: *mut f32,
    mr: usize,
    pr0: usize,
    prows: usize,
    j0: usize,
    n: usize,
    ncols: usize,
) {
    let any = eo.any_scalar();
    for ii in 0..mr {
        let (lo, hi) = if ii < prows { iv.row(pr0 + ii) } else { (0, 0) };
        // Visible columns of this row within the block: [clo, chi).
        let chi = hi.saturating_sub(j0).min(n);
        let clo = lo.saturating_sub(j0).min(chi);
        let pos = iv.pos(pr0 + ii);
        for jj in (0..clo).chain(chi..ncols) {
            // SAFETY: ii < mr, jj < ncols: inside the panel.
            unsafe { *sbuf.add(jj * mr + ii) = f32::NEG_INFINITY };
        }
        if any {
            for jj in clo..chi {
                // SAFETY: as above.
                unsafe {
                    let p = sbuf.add(jj * mr + ii);
                    *p = eo.apply(*p, pr0 + ii, pos, j0 + jj);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(lq: usize, lk: usize) -> AttnDims {
        AttnDims {
            batch: 1,
            heads_q: 1,
            heads_kv: 1,
            len_q: lq,
            len_kv: lk,
            dim_qk: 1,
            dim_v: 1,
            scale: 1.0,
        }
    }

    #[test]
    fn causal_intervals_both_alignments() {
        let o = AttentionOptions {
            is_causal: true,
            ..Default::default()
        };
        let iv = Intervals::new(&o, &dims(2, 5), 0);
        assert_eq!((iv.row(0), iv.row(1)), ((0, 1), (0, 2)));
        let o = AttentionOptions {
            is_causal: true,
            causal_variant: CausalVariant::LowerRight,
            ..Default::default()
        };
        let iv = Intervals::new(&o, &dims(2, 5), 0);
        assert_eq!((iv.row(0), iv.row(1)), ((0, 4), (0, 5)));
        // Lq > Lk bottom-right: the first rows see nothing.
        let iv = Intervals::new(&o, &dims(5, 2), 0);
        assert_eq!(iv.row(0), (0, 0));
        assert_eq!(iv.row(4), (0, 2));
    }

    #[test]
    fn window_and_padding_intervals() {
        let lens = [4usize];
        let o = AttentionOptions {
            window: Some(2),
            key_padding_lens: Some(&lens),
            ..Default::default()
        };
        let iv = Intervals::new(&o, &dims(6, 6), 0);
        assert_eq!(iv.row(0), (0, 2));
        assert_eq!(iv.row(3), (2, 4)); // |3 − j| < 2 → j ∈ {2, 3, 4}, padding cuts 4
        assert_eq!(iv.row(5), (4, 4)); // empty
        let o = AttentionOptions {
            window: Some(2),
            is_causal: true,
            ..Default::default()
        };
        let iv = Intervals::new(&o, &dims(6, 6), 0);
        assert_eq!(iv.row(3), (2, 4));
        assert!(iv.covers(3, 4, 2, 4));
        assert!(!iv.covers(2, 4, 2, 4));
        assert_eq!(iv.rows_span(2, 5), (1, 5));
        let lens = [4usize];
        let o = AttentionOptions {
            window: Some(2),
            key_padding_lens: Some(&lens),
            ..Default::default()
        };
        let iv = Intervals::new(&o, &dims(6, 6), 0);
        assert_eq!(iv.rows_span(0, 6), (0, 4));
    }
}
