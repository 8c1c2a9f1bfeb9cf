//! Keys that fit one block: the single-block path (contract: [the module](super)).
//!
//! When every query sees at most [`MAX_KEYS`] keys, a row's whole score row fits beside its
//! panel in L1, and the flash machinery — online rescaling, accumulator panels, a finish pass,
//! packed `V` — costs more than it saves. One *unit* is `(batch b, kv head g)`: its keys are
//! packed once, then for every query head of the group and every `MR`-row query panel:
//!
//! ```text
//! Qp ← pack(Q panel)                      MR × dk micropanel
//! S  = scale · Qp · Kpᵀ                   gemm microkernel, MR × n, column-major panel
//! S  = softcap, masks/bias/ALiBi          as the tile path (`mask::mask_panel`)
//! P  = exact softmax of S, normalised     `online::softmax_panel`: max, exp + sum, ·(1/l)
//! Oᵀ = Vᵀ · Pᵀ                            gemm microkernel again, written straight into O:
//!                                         A = V read in place (features × keys, unit stride),
//!                                         B = the P panel as it lies, C = O's rows as columns
//! ```
//!
//! Nothing is rescaled and nothing is divided afterwards. Tasks take several units at once
//! ([`Call::units`]), so a batch of many short sequences is one stream of work, not a task per
//! head. Masked keys are skipped as on the tile path: a panel that masks some key of a unit
//! whose `V` rows hold a non-finite value accumulates `P·V` by a scalar loop over the visible
//! keys only (`0 · NaN` would otherwise reach `O`).

use super::call::{off, Call, Kv};
use super::mask::{mask_panel, sink_logit, ElementOpts, Intervals};
use super::online::softmax_panel;
use crate::gemm::loops::tile_any;
use crate::gemm::microkernel::{tile_buffered, Bias, Microkernel};
use crate::gemm::pack::pack_a;
use crate::simd::tanh::softcap_row;
use crate::tier::Tier;
use crate::workspace::Regions;

/// Calls whose keys number at most this take the single-block path (when `Lq` is above the
/// decode path's limit).
pub(crate) const MAX_KEYS: usize = 256;

/// Multiply-adds a task should hold at least: units are grouped until a task is this big.
const TASK_FMAS: usize = 1 << 18;

const fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// Units per task for a call (at least 1): enough `(b, kv head)` units to reach
/// [`TASK_FMAS`].
pub(crate) fn units_per_task(group: usize, lq: usize, lk: usize, dk: usize, dv: usize) -> usize {
    let unit = group
        .saturating_mul(lq)
        .saturating_mul(lk)
        .saturating_mul(dk.saturating_add(dv))
        .max(1);
    TASK_FMAS.div_ceil(unit)
}

/// The workspace of one task (f32 elements), region by region: packed `Kᵀ` (whole `NR`
/// panels of every key), the packed query panel, the score/`P` panel (with `NR` elements of
/// slack: the `P·V` tiles read `NR` query columns from any offset of a panel row), the copy of
/// the scores the NaN-safe path needs, a packed `V` panel (ragged or strided features), and
/// per row the maximum, the normaliser and its reciprocal.
pub(crate) const fn workspace<K: Microkernel>(len_kv: usize, dk: usize, dv: usize) -> Regions<6> {
    let _ = dv;
    let cols = round_up(len_kv, K::NR);
    Regions([
        cols.saturating_mul(dk),
        K::MR.saturating_mul(dk),
        K::MR.saturating_mul(cols).saturating_add(K::NR),
        K::MR.saturating_mul(cols),
        K::MR.saturating_mul(len_kv),
        3 * K::MR,
    ])
}

/// Elements of [`workspace`].
pub(crate) const fn workspace_len<K: Microkernel>(len_kv: usize, dk: usize, dv: usize) -> usize {
    workspace::<K>(len_kv, dk, dv).len()
}

/// Runs task `task`: units `task·U .. (task + 1)·U` (`U = c.units`), unit `u` being batch
/// `u / Hkv`, kv head `u % Hkv`.
///
/// # Safety
///
/// `c` was validated by `shape::check_attention` and `Lk ≤ MAX_KEYS`; no other task with the
/// same index runs concurrently (units write disjoint heads of O and lse); `ws` is valid for
/// [`workspace_len`]`::<T::Ukr>(Lk, dk, dv)` floats and overlaps nothing else; the CPU
/// supports `T`.
#[inline(always)]
pub(crate) unsafe fn run_task<T: Tier>(tier: T, c: &Call<'_>, task: usize, ws: *mut f32) {
    let d = &c.d;
    let units = d.batch * d.heads_kv;
    let u0 = task * c.units;
    for u in u0..(u0 + c.units).min(units) {
        // SAFETY: the caller's contract, for one of the task's units.
        unsafe { run_unit(tier, c, u / d.heads_kv, u % d.heads_kv, ws) };
    }
}

/// One unit: batch `b`, kv head `g`, every query head of its group.
///
/// # Safety
///
/// As [`run_task`].
#[inline(always)]
unsafe fn run_unit<T: Tier>(tier: T, c: &Call<'_>, b: usize, g: usize, ws: *mut f32) {
    let d = &c.d;
    let (mr, nr) = (T::Ukr::MR, T::Ukr::NR);
    let (dk, dv, lq) = (d.dim_qk, d.dim_v, d.len_q);
    let (qs, ks, vs, os) = (c.q.strides, c.k.strides, c.v.strides, c.os);
    let iv = Intervals::new(&c.opts, d, b);
    // Keys some query sees: [klo, klo + nk).
    let (klo, khi) = iv.rows_span(0, lq);
    let nk = khi - klo;
    // SAFETY: the caller provides `workspace_len`, the length of this same layout.
    let [kp, qp, sp, vis, vt, rows] = unsafe { workspace::<T::Ukr>(d.len_kv, dk, dv).carve(ws) };
    let (m, l, inv) = (rows, rows.wrapping_add(mr), rows.wrapping_add(2 * mr));
    // Kᵀ as the B operand (row p = feature, column j = key); the microkernels that read B by
    // columns take K's rows as they are (a copy of each row, zero-padded to whole panels).
    let k_cols = T::Ukr::DIRECT_B && ks[3] == 1;
    // Row klo of kv head g: inside K and V when nk > 0 (only then is it read).
    let (krow, vrow) = ([b, g, klo, 0], [b, g, klo, 0]);
    if nk > 0 {
        // SAFETY: keys klo..khi ≤ Lk and features < dk of kv head g are inside K; kp holds
        // ⌈nk/NR⌉·NR·dk floats. Half-precision keys are widened as they are packed.
        unsafe { c.k.pack_b(krow, k_cols, nr, kp, (ks[3], ks[2]), dk, nk) }
    }
    // Whether a V row of the unit holds a non-finite value: asked only by panels that mask
    // something, so computed on first use.
    let mut v_bad: Option<bool> = None;
    let ukr = tier.ukr();
    let group = d.group();
    for h in g * group..(g + 1) * group {
        let eo = ElementOpts::new(&c.opts, b, h);
        let sink = sink_logit(c.opts.sinks, h);
        if sink.is_some_and(f32::is_nan) {
            // SAFETY: head h of batch b: rows < Lq, features < dv of O and lse.
            unsafe { poison_head(c, b, h) };
            continue;
        }
        let mut i0 = 0;
        while i0 < lq {
            let prows = mr.min(lq - i0);
            // Keys this panel computes: 0..kv (columns past the panel's last visible key are
            // masked for every row of it, so they are not computed at all).
            let kv = iv.rows_span(i0, i0 + prows).1.saturating_sub(klo).min(nk);
            let pcols = round_up(kv, nr);
            // SAFETY: rows i0..i0+prows < Lq of head h are inside Q; every panel lies inside
            // the workspace (sized for Lk ≥ nk ≥ kv keys); the microkernel's pointer contract
            // holds (lda = MR, ldb = NR or the column-major K copy, csc = MR).
            unsafe {
                let qsrc = c.q.ptr.add(off([b, h, i0, 0], qs));
                pack_a(mr, qp, qsrc, qs[2], qs[3], prows, dk);
                for cp in 0..pcols / nr {
                    let bp = kp.add(cp * nr * dk);
                    let spp = sp.add(cp * nr * mr);
                    if k_cols {
                        ukr.tile_strided(dk, d.scale, qp, mr, bp, 1, dk, 0.0, spp, mr);
                    } else {
                        ukr.tile(dk, d.scale, qp, mr, bp, nr, 0.0, spp, mr);
                    }
                }
                if let Some(cap) = eo.softcap {
                    // Before the masks: the columns they set to −∞ stay −∞.
                    softcap_row(tier, sp, mr * kv, cap);
                }
            }
            let exact = iv.covers(i0, i0 + prows, klo, klo + kv) && !eo.any_scalar();
            let safe = kv > 0
                && !exact
                && *v_bad.get_or_insert_with(|| {
                    // SAFETY: keys klo..klo+nk and features < dv of kv head g are inside V.
                    unsafe { v_nonfinite(&c.v, vrow, nk, dv) }
                });
            // SAFETY: the score panel holds MR·kv floats (column j at j·MR); vis as much; m,
            // l, inv MR each.
            unsafe {
                if !exact {
                    mask_panel(&iv, &eo, sp, mr, i0, prows, klo, kv, kv);
                }
                if safe {
                    core::ptr::copy_nonoverlapping(sp, vis, mr * kv);
                }
                softmax_panel(tier, mr, sp, kv, sink, m, l, inv);
            }
            if safe || kv == 0 {
                // No key at all, or keys to skip: P·V by a scalar loop over the visible keys
                // (none when kv = 0: the rows are 0).
                // SAFETY: rows i0..i0+prows of head h are inside O; V rows as above.
                unsafe { pv_skipping_masked(c, b, h, i0, prows, sp, vis, mr, vrow, kv) };
            } else {
                let mut e0 = 0;
                while e0 < dv {
                    let me = mr.min(dv - e0);
                    // A = V's features e0.. as MR rows, keys as columns: in place when they
                    // are f32, contiguous and whole, else packed (zero-padded, widened).
                    let ve = [b, g, klo, e0];
                    let (a, lda) = if vs[3] == 1 && me == mr && c.v.as_f32().is_some() {
                        (c.v.at::<f32>(ve), vs[2])
                    } else {
                        // SAFETY: keys < kv ≤ nk and features e0..e0+me < dv of kv head g
                        // are inside V; vt holds MR·Lk floats.
                        unsafe { c.v.pack_a(ve, mr, vt, (vs[3], vs[2]), me, kv) };
                        (vt as *const f32, mr)
                    };
                    let mut q0 = 0;
                    while q0 < prows {
                        let nq = nr.min(prows - q0);
                        // SAFETY: A holds MR rows for kv keys (V itself, or the packed panel);
                        // B is the P panel from column q0, NR columns readable (the panel's
                        // slack covers the last row); C = O's rows i0+q0.. as columns,
                        // features e0..e0+me as rows: inside O, written only there (β = 0).
                        unsafe {
                            let cp = c.o.add(off([b, h, i0 + q0, e0], os));
                            let bp = sp.add(q0);
                            if os[3] == 1 && os[2] >= mr {
                                tile_any(
                                    ukr,
                                    kv,
                                    1.0,
                                    (a, lda),
                                    (bp, mr, 1),
                                    0.0,
                                    Bias::NONE,
                                    (cp, 1, os[2]),
                                    me,
                                    nq,
                                );
                            } else {
                                tile_buffered(
                                    ukr,
                                    kv,
                                    1.0,
                                    (a, lda),
                                    (bp, mr, 1),
                                    0.0,
                                    Bias::NONE,
                                    (cp, os[3], os[2]),
                                    me,
                                    nq,
                                );
                            }
                        }
                        q0 += nr;
                    }
                    e0 += mr;
                }
            }
            if !c.lse.is_null() {
                for ii in 0..prows {
                    // SAFETY: ii < MR: inside m and l; lse holds B·Hq·Lq floats (validated).
                    unsafe {
                        let (mi, li) = (*m.add(ii), *l.add(ii));
                        let lse = if li == 0.0 {
                            f32::NEG_INFINITY
                        } else {
                            mi + libm::logf(li)
                        };
                        *c.lse_at(b, h, i0 + ii) = lse;
                    }
                }
            }
            i0 += prows;
        }
    }
}

/// Whether any of `n` rows of `dv` features of `v` from row `at` holds an infinity or a NaN.
///
/// # Safety
///
/// Those elements are inside the view.
#[inline(never)]
unsafe fn v_nonfinite(v: &Kv, at: [usize; 4], n: usize, dv: usize) -> bool {
    let [b, g, j0, _] = at;
    (0..n).any(|j| {
        // SAFETY: j < n, e < dv: inside the view (caller).
        (0..dv).any(|e| unsafe { !v.get([b, g, j0 + j, e]).is_finite() })
    })
}

/// `O = P·V` for one panel, skipping masked keys (`vis == −∞`): the NaN-safe path.
///
/// # Safety
///
/// Rows `i0..i0+prows` of head `h` are inside O; the panels hold `mr·kv` floats; keys `< kv`
/// and features `< dv` from row `v` are inside V.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn pv_skipping_masked(
    c: &Call<'_>,
    b: usize,
    h: usize,
    i0: usize,
    prows: usize,
    p: *const f32,
    vis: *const f32,
    mr: usize,
    v: [usize; 4],
    kv: usize,
) {
    let os = c.os;
    let [vb, vg, vj, _] = v;
    for ii in 0..prows {
        // SAFETY: row i0 + ii < Lq of head h is inside O.
        let orow = unsafe { c.o.add(off([b, h, i0 + ii, 0], os)) };
        for e in 0..c.d.dim_v {
            let mut acc = 0.0f32;
            for jj in 0..kv {
                // SAFETY: ii < mr, jj < kv: inside the panels; key jj, feature e inside V.
                unsafe {
                    if *vis.add(jj * mr + ii) != f32::NEG_INFINITY {
                        acc += *p.add(jj * mr + ii) * c.v.get([vb, vg, vj + jj, e]);
                    }
                }
            }
            // SAFETY: feature e < dv of the row.
            unsafe { *orow.add(e * os[3]) = acc };
        }
    }
}

/// A NaN sink makes every row of its head NaN, whether or not it sees a key (the contract).
///
/// # Safety
///
/// Head `h` of batch `b` is inside O (and lse when given).
#[inline(never)]
unsafe fn poison_head(c: &Call<'_>, b: usize, h: usize) {
    for i in 0..c.d.len_q {
        for e in 0..c.d.dim_v {
            // SAFETY: row i < Lq, feature e < dv of head h: inside O.
            unsafe { *c.o.add(off([b, h, i, e], c.os)) = f32::NAN };
        }
        if !c.lse.is_null() {
            // SAFETY: lse holds B·Hq·Lq floats (validated).
            unsafe { *c.lse_at(b, h, i) = f32::NAN };
        }
    }
}
