//! Packing: strided blocks of A and B into the micropanel layout of
//! [`microkernel`](super::microkernel), zero-padded to whole tiles.
//!
//! Portable code, `#[inline(always)]`: it is compiled inside each ISA's entry function, so the
//! copies vectorise with that ISA's instructions. Each function has a fast path for the
//! contiguous direction and a general strided one. The source may hold any [`Element`]: it
//! is widened to `f32` as it is copied (an `f32` source is copied as it is).

use crate::elem::{widen, with_dtype, ElemPtr, Element};

/// Packs the `mc × kc` block of A at `a` (strides `rsa`, `csa`) into `⌈mc/MR⌉` micropanels of
/// `MR × kc` (`MR = mr_tile`) at `dst`: panel `q` holds rows `q·MR ..`, column `p` of it at
/// `dst + q·MR·kc + p·MR`; rows past `mc` are zero.
///
/// # Safety
///
/// `a + i·rsa + p·csa` is readable for `i < mc`, `p < kc`; `dst` is writable for
/// `⌈mc/MR⌉·MR·kc` elements and overlaps nothing that is read.
#[inline(always)]
pub(crate) unsafe fn pack_a<E: Element>(
    mr_tile: usize,
    dst: *mut f32,
    a: *const E,
    rsa: usize,
    csa: usize,
    mc: usize,
    kc: usize,
) {
    // SAFETY: the caller's contract.
    unsafe { pack_a_pf(mr_tile, dst, a, rsa, csa, mc, kc, |_| {}) }
}

/// Distance, in steps of the contiguous direction, at which packing prefetches its source.
const PF_STEPS: usize = 8;

/// [`pack_a`] with a prefetch hint `pf` (an ISA's prefetch instruction, or nothing) issued
/// for source lines [`PF_STEPS`] steps ahead; `pf` receives addresses that may lie outside A
/// (it must not fault on them: prefetches never do).
///
/// # Safety
///
/// As [`pack_a`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack_a_pf<E: Element>(
    mr_tile: usize,
    dst: *mut f32,
    a: *const E,
    rsa: usize,
    csa: usize,
    mc: usize,
    kc: usize,
    pf: impl Fn(*const f32),
) {
    let mr = mr_tile;
    let full = mc / mr;
    if rsa == 1 && full > 1 {
        // Columns are contiguous: walk A column by column (one contiguous run of `full·mr`
        // elements per step, friendly to the prefetcher and the TLB) and deal each run out to
        // the panels.
        for p in 0..kc {
            let ahead = a.wrapping_add((p + PF_STEPS) * csa);
            for l in (0..full * mr).step_by(16) {
                pf(ahead.wrapping_add(l) as *const f32);
            }
            for q in 0..full {
                // SAFETY: rows q·mr .. q·mr+mr < mc of column p are readable; panel q's column p
                // lies inside `dst` (caller).
                unsafe {
                    widen(
                        a.add(q * mr + p * csa),
                        1,
                        mr,
                        dst.add(q * mr * kc + p * mr),
                    )
                };
            }
        }
        if !mc.is_multiple_of(mr) {
            // SAFETY: the ragged last panel, rows full·mr .. mc, and its place in `dst`.
            unsafe {
                pack_panel_part(
                    mr,
                    dst.add(full * mr * kc),
                    a.add(full * mr),
                    1,
                    csa,
                    mc % mr,
                    kc,
                )
            };
        }
        return;
    }
    let mut i0 = 0;
    let mut out = dst;
    while i0 < mc {
        let rows = if mc - i0 < mr { mc - i0 } else { mr };
        // SAFETY: rows i0..i0+rows < mc and columns < kc are readable (caller); the panel
        // `out .. out + MR·kc` lies inside `dst`'s range (caller), disjoint from `a`.
        unsafe {
            let src = a.add(i0 * rsa);
            if rows == mr {
                pack_panel_full(mr, out, src, rsa, csa, kc, &pf);
            } else {
                pack_panel_part(mr, out, src, rsa, csa, rows, kc);
            }
            out = out.add(mr * kc);
        }
        i0 += mr;
    }
}

/// Packs the whole `k × n` B at `b` (strides `rsb`, `csb`) into the layout of a
/// [`PackedB`](super::PackedB): for each rank-`kc` block at depth `pc` (`k` cut by
/// `kc_blk`, the last block shallower), `⌈n/MR⌉` micropanels of `MR` columns of B × `kc`,
/// starting at `dst + pc·round_up(n, MR)`; micropanel `q` holds columns `q·MR ..`, row `p` of
/// it at `+ q·MR·kc + p·MR`; columns past `n` are zero. These are the packed A blocks of
/// `Cᵀ = Bᵀ·Aᵀ`.
///
/// # Safety
///
/// `b + p·rsb + j·csb` is readable for `p < k`, `j < n`; `dst` is writable for
/// `k·round_up(n, MR)` elements and overlaps nothing that is read; `kc_blk ≥ 1`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack_b_whole<E: Element>(
    mr_tile: usize,
    kc_blk: usize,
    dst: *mut f32,
    b: *const E,
    rsb: usize,
    csb: usize,
    k: usize,
    n: usize,
) {
    let npad = n.div_ceil(mr_tile) * mr_tile;
    let mut pc = 0;
    while pc < k {
        let kc = if k - pc < kc_blk { k - pc } else { kc_blk };
        // SAFETY: rows pc..pc+kc of B are readable (caller); the block's ⌈n/MR⌉·MR·kc
        // elements from dst + pc·npad end at (pc + kc)·npad ≤ k·npad. Bᵀ is packed as an A
        // (strides swapped).
        unsafe {
            pack_a(
                mr_tile,
                dst.add(pc * npad),
                b.add(pc * rsb),
                csb,
                rsb,
                n,
                kc,
            )
        };
        pc += kc;
    }
}

/// Packs the `kc × nc` block of a column-major B (`rsb = 1`, columns `csb` apart) into
/// `⌈nc/NR⌉` micropanels of `NR` columns kept column-major: column `j` of panel `q` at
/// `dst + q·NR·kc + j·kc`; columns past `nc` are zero. The kernel reads it with `rsb = 1`,
/// `csb = kc` ([`Microkernel::DIRECT_B`](super::microkernel::Microkernel::DIRECT_B)).
///
/// # Safety
///
/// `b + p + j·csb` is readable for `p < kc`, `j < nc`; `dst` is writable for
/// `⌈nc/NR⌉·NR·kc` elements and overlaps nothing that is read.
#[inline(always)]
pub(crate) unsafe fn pack_b_cols<E: Element>(
    nr_tile: usize,
    dst: *mut f32,
    b: *const E,
    csb: usize,
    kc: usize,
    nc: usize,
) {
    let panels = nc.div_ceil(nr_tile);
    for j in 0..panels * nr_tile {
        // SAFETY: column j < nc of B is readable for kc elements; its place j·kc.. in `dst`
        // is inside the ⌈nc/NR⌉·NR·kc elements the caller provides (panel q = j / NR starts
        // at q·NR·kc, and column j − q·NR of it at + (j − q·NR)·kc, i.e. at j·kc).
        unsafe {
            let d = dst.add(j * kc);
            if j < nc {
                widen(b.add(j * csb), 1, kc, d);
            } else {
                core::ptr::write_bytes(d, 0, kc);
            }
        }
    }
}

/// [`pack_a_pf`] of an operand whose element type is known at run time: one instance per
/// type, all inline (the caller's target features convert half precision as they copy). The
/// prefetch hint is issued for `f32` sources only.
///
/// # Safety
///
/// As [`pack_a`], reading `a`'s own element type.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack_a_elem(
    mr_tile: usize,
    dst: *mut f32,
    a: ElemPtr,
    rsa: usize,
    csa: usize,
    mc: usize,
    kc: usize,
    pf: impl Fn(*const f32),
) {
    // SAFETY: the caller's contract; each arm reads the operand's own type.
    unsafe {
        match a.as_f32() {
            Some(p) => pack_a_pf(mr_tile, dst, p, rsa, csa, mc, kc, pf),
            None => {
                with_dtype!(a.dtype, E => pack_a(mr_tile, dst, a.cast::<E>(), rsa, csa, mc, kc))
            }
        }
    }
}

/// Packs the `kc × nc` block of B at `b` (strides `rsb`, `csb`) into `⌈nc/NR⌉` micropanels of
/// `kc × NR` (`NR = nr_tile`) at `dst`: panel `q` holds columns `q·NR ..`, row `p` of it at
/// `dst + q·NR·kc + p·NR`; columns past `nc` are zero. Element types as [`pack_a_elem`].
///
/// # Safety
///
/// `b + p·rsb + j·csb` is readable for `p < kc`, `j < nc`; `dst` is writable for
/// `⌈nc/NR⌉·NR·kc` elements and overlaps nothing that is read.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack_b_elem(
    nr_tile: usize,
    dst: *mut f32,
    b: ElemPtr,
    rsb: usize,
    csb: usize,
    kc: usize,
    nc: usize,
    pf: impl Fn(*const f32),
) {
    // Packing B is packing Bᵀ as an "A": the roles of the two strides swap.
    // SAFETY: the same ranges as the caller's, read through swapped strides.
    unsafe { pack_a_elem(nr_tile, dst, b, csb, rsb, nc, kc, pf) }
}

/// [`pack_b_cols`] of an operand whose element type is known at run time (as
/// [`pack_a_elem`]).
///
/// # Safety
///
/// As [`pack_b_cols`], reading `b`'s own element type.
#[inline(always)]
pub(crate) unsafe fn pack_b_cols_elem(
    nr_tile: usize,
    dst: *mut f32,
    b: ElemPtr,
    csb: usize,
    kc: usize,
    nc: usize,
) {
    // SAFETY: the caller's contract; each arm reads the operand's own type.
    unsafe { with_dtype!(b.dtype, E => pack_b_cols(nr_tile, dst, b.cast::<E>(), csb, kc, nc)) }
}

/// One full panel: `MR` rows from `src` (strides `rs`, `cs`) to `out` (column `p` at `p·MR`).
///
/// # Safety
///
/// `src + i·rs + p·cs` readable for `i < MR`, `p < kc`; `out` writable for `MR·kc`.
#[inline(always)]
unsafe fn pack_panel_full<E: Element>(
    mr: usize,
    out: *mut f32,
    src: *const E,
    rs: usize,
    cs: usize,
    kc: usize,
    pf: &impl Fn(*const f32),
) {
    // SAFETY: (whole body) every read is `src + i·rs + p·cs` with i < MR, p < kc and every
    // write `out + p·MR + i` with the same bounds, as the caller guarantees.
    unsafe {
        if rs == 1 {
            // Columns are contiguous: copy MR elements per step.
            for p in 0..kc {
                pf(src.wrapping_add((p + PF_STEPS) * cs) as *const f32);
                widen(src.add(p * cs), 1, mr, out.add(p * mr));
            }
        } else if cs == 1 {
            // Rows are contiguous: read 8-wide strips of each row, transpose into the panel.
            let mut p = 0;
            while p + 8 <= kc {
                for i in 0..mr {
                    pf(src.wrapping_add(i * rs + p + 2 * PF_STEPS) as *const f32);
                    let s = src.add(i * rs + p);
                    for q in 0..8 {
                        *out.add((p + q) * mr + i) = (*s.add(q)).widen();
                    }
                }
                p += 8;
            }
            while p < kc {
                for i in 0..mr {
                    *out.add(p * mr + i) = (*src.add(i * rs + p)).widen();
                }
                p += 1;
            }
        } else {
            for p in 0..kc {
                for i in 0..mr {
                    *out.add(p * mr + i) = (*src.add(i * rs + p * cs)).widen();
                }
            }
        }
    }
}

/// A partial panel: `rows < MR` rows, the rest zero.
///
/// # Safety
///
/// `src + i·rs + p·cs` readable for `i < rows`, `p < kc`; `out` writable for `MR·kc`.
#[inline(always)]
unsafe fn pack_panel_part<E: Element>(
    mr: usize,
    out: *mut f32,
    src: *const E,
    rs: usize,
    cs: usize,
    rows: usize,
    kc: usize,
) {
    for p in 0..kc {
        for i in 0..mr {
            let x = if i < rows {
                // SAFETY: i < rows, p < kc (caller).
                unsafe { (*src.add(i * rs + p * cs)).widen() }
            } else {
                0.0
            };
            // SAFETY: out + p·mr + i is inside the panel (caller).
            unsafe { *out.add(p * mr + i) = x };
        }
    }
}
