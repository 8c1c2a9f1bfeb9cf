//! The flash-attention tile driver: portable, generic over [`Tier`], monomorphised inside
//! each tier's `#[target_feature]` entry point. No ISA code here.
//!
//! One *task* is `(batch b, kv head g, query chunk)`: it packs the keys and values the chunk can
//! see once, then for every query head sharing kv head `g` (GQA: no K/V copies, one packing for
//! the whole group) and every `Br`-row query block:
//!
//! ```text
//! Qp ← pack(Q block)                                     (Br/MR micropanels of MR × dk)
//! for each KV block of Bc keys that some row can see:    (blocks above the causal diagonal /
//!     for each MR-row query panel r:                      outside the window are skipped)
//!         S  = scale · Qp_r · Kpᵀ          gemm microkernel, MR × Bc, column-major panel
//!         S  = c·tanh(S/c)                  softcap, whole panel (the vector tanh of simd/tanh.rs)
//!         S  = masks/bias/ALiBi             only on blocks that need it
//!         P, m, l, corr = online(S)         online.rs: vertical SIMD, exp of the softmax issue
//!         acc_r = acc_r · corr + P · Vp     gemm microkernel again: P *is* a packed A panel
//! O = acc / l,  lse = m + ln l              once per row, at the end
//! ```
//!
//! Tile sizes (cache reasoning, measured on a 32 KiB-L1d / 1 MiB-L2 core): an `MR × Bc` score
//! panel (32 × 132 f32 = 16.5 KiB with AVX-512) stays in L1 between the QKᵀ, softmax and P·V
//! steps; the packed K and V of one block (`Bc·(dk + dv)` f32 = 66 KiB at d = 64) stay in L2
//! while the `Br/MR` query panels of a block reuse them; a whole packed head (`Lk·(dk + dv)`)
//! streams from L2/L3 once per query block.
//!
//! **NaN in masked values.** The P·V microkernel multiplies every key's value row by its weight,
//! and `0 · NaN = NaN`. Blocks whose packed V holds a non-finite value and that mask some
//! element are therefore accumulated by a scalar path that skips masked keys, as the contract
//! requires. Blocks without masked elements, or with finite V, never take it.

use super::call::{off, Call};
use super::mask::{any_nonfinite, mask_panel, ElementOpts, Intervals};
use super::online::{rescale_panel, update_panel};
use crate::gemm::microkernel::Microkernel;
use crate::gemm::pack::pack_a;
use crate::simd::tanh::softcap_row;
use crate::tier::Tier;
use crate::workspace::Regions;

/// Target sizes; the real ones are rounded to multiples of `MR` and `NR`.
const BR_TARGET: usize = 128;
const BC_TARGET: usize = 128;
/// Query blocks per task: a task is `QBLOCKS·Br` query rows of one `(b, kv head)`, the unit of
/// parallel work. Fixed, so the same rows always form the same blocks whatever the thread count.
pub(crate) const QBLOCKS: usize = 4;
// Accumulator panels per query block are tracked in a u64 (`fresh` in `run_task`): Br/MR ≤ 64
// for every microkernel, the smallest MR being the scalar kernel's 4.
const _: () = assert!(BR_TARGET <= 64 * 4);

/// `(Br, Bc)` for a microkernel.
pub(crate) const fn blocks<K: Microkernel>() -> (usize, usize) {
    let br = K::MR * max1(BR_TARGET / K::MR);
    let bc = K::NR * max1(BC_TARGET / K::NR);
    (br, bc)
}

const fn max1(x: usize) -> usize {
    if x == 0 {
        1
    } else {
        x
    }
}

const fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// The workspace of one tile task for this shape (f32 elements), region by region: packed
/// `Kᵀ` (whole `NR` panels of every key), packed `V` (whole `Bc` blocks of `dvp` columns), the
/// packed query block, the score panel and its copy for the NaN-safe path (`MR × Bc` each),
/// the accumulator panels (`Br × dvp`), the running maximum and normaliser per row, the
/// rescale factors of one panel, and one non-finite flag per V block.
pub(crate) const fn workspace<K: Microkernel>(len_kv: usize, dk: usize, dv: usize) -> Regions<10> {
    let (br, bc) = blocks::<K>();
    let dvp = round_up(dv, K::NR);
    Regions([
        round_up(len_kv, K::NR).saturating_mul(dk),
        round_up(len_kv, bc).saturating_mul(dvp),
        br.saturating_mul(dk),
        K::MR * bc,
        K::MR * bc,
        br.saturating_mul(dvp),
        br,
        br,
        K::MR,
        len_kv.div_ceil(bc),
    ])
}

/// Elements of [`workspace`].
pub(crate) const fn workspace_len<K: Microkernel>(len_kv: usize, dk: usize, dv: usize) -> usize {
    workspace::<K>(len_kv, dk, dv).len()
}

/// Runs tile task `task` (`b`, kv head, query chunk, row-major in that order).
///
/// # Safety
///
/// `c` was validated by `shape::check_attention` (every element addressed below is inside its
/// view, O and lse are disjoint from all inputs); no other task with the same index runs
/// concurrently (tasks write disjoint rows of O and lse); `ws` is valid for
/// [`workspace_len`]`::<T::Ukr>(Lk, dk, dv)` floats and overlaps nothing else; the CPU supports
/// `isa`'s instructions.
#[inline(always)]
pub(crate) unsafe fn run_task<T: Tier>(tier: T, c: &Call<'_>, task: usize, ws: *mut f32) {
    let d = &c.d;
    let nq = c.qchunks();
    let (b, rest) = (task / (d.heads_kv * nq), task % (d.heads_kv * nq));
    let (g, chunk) = (rest / nq, rest % nq);
    let (q0, q1) = (chunk * c.qchunk, ((chunk + 1) * c.qchunk).min(d.len_q));
    let iv = Intervals::new(&c.opts, d, b);
    let (klo, khi) = iv.rows_span(q0, q1);
    let (mr, nr) = (T::Ukr::MR, T::Ukr::NR);
    let (br, bc) = blocks::<T::Ukr>();
    let (dk, dv) = (d.dim_qk, d.dim_v);
    let dvp = round_up(dv, nr);
    // Keys are re-based so that block 0 starts at `klo0`, a multiple of Bc (blocks then line up
    // with the same boundaries whatever the chunk: bit-identical results for any split).
    let klo0 = klo / bc * bc;
    let nk = khi.saturating_sub(klo0);

    // SAFETY: the caller provides `workspace_len`, the length of this same layout.
    let [kp, vp, qp, sbuf, vis, acc, m, l, corr, vflags] =
        unsafe { workspace::<T::Ukr>(d.len_kv, dk, dv).carve(ws) };

    // Pack Kᵀ (dk × nk, B operand: row p = feature, column j = key) and V per block.
    let (kst, vst) = (c.k.strides, c.v.strides);
    // Keys klo0..khi ≤ Lk and features < dk/dv are inside the validated K and V views; the
    // destinations lie in the workspace. Half-precision K and V are widened as they are packed.
    let krow = [b, g, klo0, 0];
    // Microkernels that read B column by column (`DIRECT_B`) take K's rows as they are: the
    // pack is then a copy of each key's row (zero-padded to whole panels) instead of a
    // transpose into NR-wide rows, which cost ~4 % of a call at S = 128.
    let k_cols = T::Ukr::DIRECT_B && kst[3] == 1;
    if nk > 0 {
        // SAFETY: as above.
        unsafe { c.k.pack_b(krow, k_cols, nr, kp, (kst[3], kst[2]), dk, nk) }
    }
    let nblocks = nk.div_ceil(bc);
    // Non-finite flags per V block, kept after the packed panels of the last block.
    for t in 0..nblocks {
        let (j0, n) = (t * bc, bc.min(nk - t * bc));
        // SAFETY: as above; block t's panels occupy `dvp·n` floats at `vp + dvp·j0`.
        unsafe {
            c.v.pack_b(
                [b, g, klo0 + j0, 0],
                false,
                nr,
                vp.add(dvp * j0),
                (vst[2], vst[3]),
                n,
                dv,
            )
        }
    }
    // Per V block: does its packed panel hold a non-finite value? (Zero padding is finite.)
    // Only blocks that also mask something ask, so it is computed on first use: −1 unknown,
    // 0 finite, 1 not. (Scanning every block eagerly cost ~5 % of a call at S = 128.)
    for t in 0..nblocks {
        // SAFETY: `vflags` holds one float per block.
        unsafe { *vflags.add(t) = -1.0 };
    }
    let v_nonfinite = |t: usize| {
        // SAFETY: t < nblocks: inside `vflags`; block t's packed panels were written above.
        unsafe {
            if *vflags.add(t) < 0.0 {
                let (j0, n) = (t * bc, bc.min(nk - t * bc));
                let blk = core::slice::from_raw_parts(vp.add(dvp * j0), dvp * n);
                *vflags.add(t) = if any_nonfinite(blk) { 1.0 } else { 0.0 };
            }
            *vflags.add(t) != 0.0
        }
    };

    let (ukr, simd) = (tier.ukr(), tier);
    let group = d.group();
    for h in g * group..(g + 1) * group {
        let eo = ElementOpts::new(&c.opts, b, h);
        let sink = super::mask::sink_logit(c.opts.sinks, h);
        let mut i0 = q0;
        while i0 < q1 {
            let rows = br.min(q1 - i0);
            let panels = rows.div_ceil(mr);
            // SAFETY: rows i0..i0+rows < Lq of head h; Qp holds Br·dk floats.
            unsafe {
                let qsrc = c.q.ptr.add(off([b, h, i0, 0], c.q.strides));
                pack_a(mr, qp, qsrc, c.q.strides[2], c.q.strides[3], rows, dk);
                for i in 0..panels * mr {
                    *m.add(i) = sink.unwrap_or(f32::NEG_INFINITY);
                    *l.add(i) = if sink.is_some() { 1.0 } else { 0.0 };
                }
            }
            // Accumulator panels not yet written: their first P·V overwrites (β = 0, which
            // never reads C) instead of adding to a zeroed panel.
            let mut fresh: u64 = if panels >= 64 {
                u64::MAX
            } else {
                (1u64 << panels) - 1
            };
            let (blo, bhi) = iv.rows_span(i0, i0 + rows);
            let t_first = blo.saturating_sub(klo0) / bc;
            let t_end = bhi.saturating_sub(klo0).div_ceil(bc).min(nblocks);
            for t in t_first..t_end {
                let (j0, n) = (klo0 + t * bc, bc.min(nk - t * bc));
                let ncols = round_up(n, nr);
                let structural_full = iv.covers(i0, i0 + rows, j0, j0 + n);
                // Padded key columns (n < ncols) must be masked too: they hold scale·0.
                let exact = structural_full && !eo.any() && n == ncols;
                let vbad = !exact && v_nonfinite(t);
                for r in 0..panels {
                    let pr0 = i0 + r * mr;
                    let prows = mr.min(i0 + rows - pr0);
                    // Keys of this block that some row of the panel can see lie below `kv`
                    // (intervals grow with the row): columns past it are masked for the whole
                    // panel, so they are not computed at all. Their weights would be exactly 0
                    // and their P·V terms +0, so skipping them changes no bit.
                    let kv = iv.rows_span(pr0, pr0 + prows).1.saturating_sub(j0).min(n);
                    if kv == 0 {
                        continue;
                    }
                    let pcols = round_up(kv, nr);
                    // SAFETY: panel r of Qp, the K panels of block t, the score buffer and the
                    // accumulator panel are inside the workspace; the microkernel's pointer
                    // contract holds (lda = MR, ldb = NR, csc = MR ≥ MR).
                    unsafe {
                        let a = qp.add(r * mr * dk);
                        for cp in 0..pcols / nr {
                            let bp = kp.add((t * bc / nr + cp) * nr * dk);
                            let sp = sbuf.add(cp * nr * mr);
                            if k_cols {
                                ukr.tile_strided(dk, d.scale, a, mr, bp, 1, dk, 0.0, sp, mr);
                            } else {
                                ukr.tile(dk, d.scale, a, mr, bp, nr, 0.0, sp, mr);
                            }
                        }
                        if let Some(cap) = eo.softcap {
                            // Before the masks: the columns they set to −∞ stay −∞.
                            softcap_row(simd, sbuf, mr * pcols, cap);
                        }
                        if !exact {
                            mask_panel(&iv, &eo, sbuf, mr, pr0, prows, j0, kv, pcols);
                        }
                        if vbad {
                            core::ptr::copy_nonoverlapping(sbuf, vis, mr * pcols);
                        }
                        let accp = acc.add(r * mr * dvp);
                        let mp = m.add(r * mr);
                        let is_fresh = fresh & (1u64 << r) != 0;
                        fresh &= !(1u64 << r);
                        if update_panel(simd, mr, sbuf, pcols, mp, l.add(r * mr), corr) && !is_fresh
                        {
                            rescale_panel(simd, mr, accp, dvp, corr);
                        }
                        if vbad {
                            if is_fresh {
                                core::ptr::write_bytes(accp, 0, mr * dvp);
                            }
                            scalar_pv(c, b, g, sbuf, vis, mr, prows, j0, kv, accp, dv);
                        } else {
                            let beta = if is_fresh { 0.0 } else { 1.0 };
                            let vblk = vp.add(dvp * t * bc);
                            for cp in 0..dvp / nr {
                                ukr.tile(
                                    kv,
                                    1.0,
                                    sbuf,
                                    mr,
                                    vblk.add(cp * nr * n),
                                    nr,
                                    beta,
                                    accp.add(cp * nr * mr),
                                    mr,
                                );
                            }
                        }
                    }
                }
            }
            // Panels no block reached (rows that see no key) still hold stale values: with a
            // sink their normaliser is not 0, so `finish` reads them and must read zeros.
            for r in 0..panels {
                if fresh & (1u64 << r) != 0 {
                    // SAFETY: accumulator panel r is inside the workspace.
                    unsafe { core::ptr::write_bytes(acc.add(r * mr * dvp), 0, mr * dvp) };
                }
            }
            // SAFETY: rows i0..i0+rows of head h are inside O (and lse); acc/m/l in workspace.
            unsafe { finish(c, b, h, i0, rows, acc, m, l, mr, dvp, sink) };
            i0 += rows;
        }
    }
}

/// `acc += P·V` for one panel, skipping masked keys (`vis == −∞`): the NaN-safe path.
///
/// # Safety
///
/// Panels as in [`run_task`]; keys `j0..j0+n` and features `< dv` of kv head `g` are in V.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn scalar_pv(
    c: &Call<'_>,
    b: usize,
    g: usize,
    p: *const f32,
    vis: *const f32,
    mr: usize,
    prows: usize,
    j0: usize,
    n: usize,
    acc: *mut f32,
    dv: usize,
) {
    for jj in 0..n {
        for ii in 0..prows {
            // SAFETY: ii < mr, jj < n ≤ ncols: inside the panels.
            let (w, s) = unsafe { (*p.add(jj * mr + ii), *vis.add(jj * mr + ii)) };
            if s == f32::NEG_INFINITY {
                continue;
            }
            for e in 0..dv {
                // SAFETY: key j0+jj < Lk, feature e < dv: inside V; acc column e < dvp.
                unsafe {
                    let x = c.v.get([b, g, j0 + jj, e]);
                    *acc.add(e * mr + ii) += w * x;
                }
            }
        }
    }
}

/// `O = acc / l`, `lse = m + ln l` for rows `i0..i0+rows` of head `h` (0 and −∞ for rows that
/// saw no key, unless a sink gave them a normaliser).
///
/// # Safety
///
/// As [`run_task`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn finish(
    c: &Call<'_>,
    b: usize,
    h: usize,
    i0: usize,
    rows: usize,
    acc: *const f32,
    m: *const f32,
    l: *const f32,
    mr: usize,
    dvp: usize,
    sink: Option<f32>,
) {
    for ii in 0..rows {
        let (panel, lane) = (ii / mr, ii % mr);
        // SAFETY: ii < rows ≤ Br: inside m, l.
        let (mi, li) = unsafe { (*m.add(ii), *l.add(ii)) };
        // A NaN sink poisons the row whether or not any block reached it (the contract).
        let li = if sink.is_some_and(f32::is_nan) {
            f32::NAN
        } else {
            li
        };
        let inv_zero = li == 0.0;
        // One reciprocal per row, then multiplies (within the attention tolerance of a
        // division; the reference divides in f64).
        let inv = 1.0 / li;
        // SAFETY: row (b, h, i0 + ii) of O is inside the validated view.
        let orow = unsafe { c.o.add(off([b, h, i0 + ii, 0], c.os)) };
        let accr = acc.wrapping_add(panel * mr * dvp + lane);
        for e in 0..c.d.dim_v {
            // SAFETY: accumulator element (ii, e) with e < dv ≤ dvp; O element e of the row.
            unsafe {
                *orow.add(e * c.os[3]) = if inv_zero {
                    0.0
                } else {
                    *accr.add(e * mr) * inv
                }
            };
        }
        if !c.lse.is_null() {
            let lse = if inv_zero {
                f32::NEG_INFINITY
            } else {
                mi + libm::logf(li)
            };
            // SAFETY: lse holds B·Hq·Lq floats (validated).
            unsafe { *c.lse_at(b, h, i0 + ii) = lse };
        }
    }
}
