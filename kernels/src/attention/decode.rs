//! Decoding: a few queries against a long KV cache (flash-decoding, Dao et al., 2023).
//!
//! With `Lq ≤` [`MAX_DECODE_LQ`] the tile path would fill a whole `MR`-row microkernel tile with
//! one or two real rows and pack every key first; decoding is instead a stream over K and V,
//! bound by memory bandwidth. The keys are split into fixed chunks of [`KV_CHUNK`]:
//!
//! * phase 0, one task per `(b, kv head, chunk)`: every query row of every query head sharing
//!   the kv head (GQA: each K/V row is read once for the whole group) computes the softmax of
//!   the chunk's visible keys, leaving a partial `(m, l, acc)`;
//! * phase 1, one task per `(b, kv head)`: partials are merged in chunk order with their
//!   logsumexps, `O = acc / l`, `lse = m + ln l`.
//!
//! A phase-0 task works on blocks of [`NB`] keys, never key by key. The rows of one
//! `(b, kv head)` are the group's `group · Lq` query rows, taken [`R`] at a time as a *panel*;
//! per block (primitives in [`decode_block`](super::decode_block) and
//! [`simd::row`](crate::simd::row)):
//!
//! ```text
//! S[r, j] = scale · q_r · k_j      KJ keys at a time (4 with 16 lanes, else 2), every panel:
//!                                  R × KJ vector accumulators over dk, one lane sum per score;
//!                                  the next block's K and V rows are prefetched meanwhile
//! S = softcap, masks/bias/ALiBi    per row, on its visible interval (softcap: the vector
//!                                  tanh of simd/tanh.rs); the rest −∞
//! m' = max(m, max_j S[r, j])       vector max (with the min that tells whether the panel
//! c  = exp(m − m')                 masks anything in the block); one rescale per row and block
//! P[r, j] = exp(S[r, j] − m')      the softmax `exp` (simd/row.rs sum_exp) on the row, in place
//! l' = l·c + Σ_j P[r, j]
//! acc' = acc·c + P · V             R × EE-vector register tiles of acc (EE·LANES up to dv),
//!                                  one broadcast of P per (row, key), FMAs down the block
//! ```
//!
//! Exponentials are the softmax kernels' (`exp_flush`), so every tier computes the same weights
//! from the same scores. Chunk boundaries depend only on `Lk`, the blocks inside a chunk only on
//! `Lk` and the options, and the merge order is fixed, so results are bit-identical whatever the
//! number of threads the tasks are spread over.
//!
//! **Masked keys are never read** (so NaN in a masked K or V row cannot reach O): a K row is read
//! only when some query row's structural interval holds the key, a V row only when some row of
//! the panel has a logit other than `−∞` for it. A panel whose rows mask nothing in the block
//! (the common decode case) multiplies every key; otherwise each key carries a bit per row of
//! the panel, keys no row sees are skipped, and a key that some rows see and others mask is
//! multiplied into the vector tile only if its V row is finite (`0 · finite` adds a zero);
//! with a non-finite V row it is added by a scalar path, row by row, for the rows that see it.
//! (Prefetches are hints, not reads: they never fault and load nothing into a register.)
//!
//! Measured (`HUIYAN_BENCH_CLOCK=cpu cargo bench --bench attention -- decode`, AMD EPYC Zen 4
//! with AVX-512, one thread, shared machine; GiB/s of K and V read, `decode/Lk{Lk}_D128_Hkv{Hkv}`):
//! the key-by-key loop with a scalar `exp` per key and row ran `Hkv = 2` (four query heads per
//! kv head) at 7.3 (`Lk4096`) and 7.6 (`Lk32768`), against 15.4 and 14.8 for `Hkv = 8`; this
//! structure runs them at 29.8 and 13.5, and `Hkv = 8` at 22.0 and 14.0 (`Lk32768` streams
//! from DRAM for both; without the software prefetch it fell to ~10).

use super::call::{off, Call};
use super::decode_block::{contiguous, dots_rows, prefetch_row, pv_panel, KJ_MAX, SLOW};
use super::mask::{ElementOpts, Intervals};
use crate::simd::exp::{exp_flush_lane, exp_lane};
use crate::simd::row::{extremes, mul_inplace, sum_exp, Stored};
use crate::simd::tanh::softcap_row;
use crate::tier::Tier;
use crate::workspace::Regions;

/// Keys per phase-0 chunk.
pub(crate) const KV_CHUNK: usize = 1024;
/// Largest `Lq` that takes the decode path.
pub(crate) const MAX_DECODE_LQ: usize = 4;
/// Query rows per panel: the rows whose scores one K row load serves, and the rows of one P·V
/// register tile.
const R: usize = 4;
/// Keys per block: the unit of the online softmax (one rescale per block) and of the
/// prefetch distance (the next block's K and V rows are fetched while this one is computed).
const NB: usize = 64;

/// Query rows one `(b, kv head)` carries through decode: `group · Lq`.
fn rows(c: &Call<'_>) -> usize {
    c.d.group() * c.d.len_q
}

/// KV chunks per `(b, kv head)`.
pub(crate) fn chunks(c: &Call<'_>) -> usize {
    c.d.len_kv.div_ceil(KV_CHUNK)
}

/// Shared scratch for the partials (f32 elements): `B·Hkv·chunks·group·Lq·(dv + 2)`, saturating
/// (an unrepresentable shape fails validation first).
pub(crate) fn shared_len(dims: [usize; 6]) -> usize {
    let [b, hkv, lk, group, lq, dv] = dims;
    let chunks = lk.div_ceil(KV_CHUNK);
    [b, hkv, chunks, group, lq, dv.saturating_add(2)]
        .iter()
        .fold(1usize, |a, &x| a.saturating_mul(x))
}

/// The workspace of one phase-0 task (f32 elements), region by region, with
/// `rows = group·Lq` and `panels = ⌈rows / R⌉`: the query rows (`rows·dk`), a score row of
/// [`NB`] per query row, a flag word per key of a block per panel, a uniform flag per panel,
/// and gathered K rows (`KJ_MAX·dk`) and V rows (`NB·dv`) for strided layouts.
fn workspace(lq: usize, group: usize, dk: usize, dv: usize) -> Regions<6> {
    let rows = lq.saturating_mul(group);
    let panels = rows.div_ceil(R);
    Regions([
        rows.saturating_mul(dk),
        rows.saturating_mul(NB),
        panels.saturating_mul(NB),
        panels,
        KJ_MAX.saturating_mul(dk),
        NB.saturating_mul(dv),
    ])
}

/// Elements of [`workspace`].
pub(crate) fn workspace_len(lq: usize, group: usize, dk: usize, dv: usize) -> usize {
    workspace(lq, group, dk, dv).len()
}

/// Phase 0, task `(b, g, chunk)`.
///
/// # Safety
///
/// `c` validated; `shared` valid for [`shared_len`] floats and task indices distinct across
/// concurrent calls (each task writes its own partials); `ws` valid for [`workspace_len`]
/// floats; the CPU supports `I`.
#[inline(always)]
pub(crate) unsafe fn run_chunk<T: Tier>(
    s: T,
    c: &Call<'_>,
    task: usize,
    shared: *mut f32,
    ws: *mut f32,
) {
    let d = &c.d;
    let nch = chunks(c);
    let (b, g, ch) = (
        task / (d.heads_kv * nch),
        task / nch % d.heads_kv,
        task % nch,
    );
    let (k0, k1) = (ch * KV_CHUNK, ((ch + 1) * KV_CHUNK).min(d.len_kv));
    let (dk, dv, group, lq) = (d.dim_qk, d.dim_v, d.group(), d.len_q);
    let nrows = rows(c);
    let npanels = nrows.div_ceil(R);
    let iv = Intervals::new(&c.opts, d, b);
    // SAFETY: the task's partials are inside `shared` (shared_len counts every task's);
    // the caller provides `workspace_len`, the length of this same layout.
    let (part, [qrows, sc, flags, unif, kbuf, vbuf]) = unsafe {
        (
            shared.add(task * nrows * (dv + 2)),
            workspace(lq, group, dk, dv).carve(ws),
        )
    };
    let flags = flags as *mut u32;
    for r in 0..nrows {
        let (h, i) = (g * group + r / lq, r % lq);
        // SAFETY: row (b, h, i) of Q is inside the validated view; qrows holds nrows·dk.
        unsafe {
            let src = c.q.ptr.add(off([b, h, i, 0], c.q.strides));
            for e in 0..dk {
                *qrows.add(r * dk + e) = *src.add(e * c.q.strides[3]);
            }
            let pr = part.add(r * (dv + 2));
            *pr = f32::NEG_INFINITY;
            *pr.add(1) = 0.0;
            core::ptr::write_bytes(pr.add(2), 0, dv);
        }
    }

    // The keys of this chunk some row's structural interval holds: at most Lq intervals,
    // merged (lo and hi grow with i).
    let mut spans = [(0usize, 0usize); MAX_DECODE_LQ];
    let mut nspans = 0;
    for i in 0..lq {
        let (lo, hi) = iv.row(i);
        let (lo, hi) = (lo.max(k0), hi.min(k1));
        if lo >= hi {
            continue;
        }
        if nspans > 0 && lo <= spans[nspans - 1].1 {
            spans[nspans - 1].1 = spans[nspans - 1].1.max(hi);
        } else {
            spans[nspans] = (lo, hi);
            nspans += 1;
        }
    }
    if nspans == 0 {
        return; // no row sees a key of this chunk: the partials stay (−∞, 0, 0)
    }
    let (ulo, uhi) = (spans[0].0, spans[nspans - 1].1);
    let (ks, vs) = (c.k.strides, c.v.strides);
    let kj_step = if T::LANES >= 16 { KJ_MAX } else { 2 };
    let mut j0 = ulo;
    while j0 < uhi {
        let nk = NB.min(uhi - j0);
        let j1 = j0 + nk;

        // Scores, KJ keys at a time: each K row is read once for every row of the group. The
        // K and V rows of the next block are prefetched meanwhile, a row of each per key.
        for &(a, z) in &spans[..nspans] {
            let mut j = a.max(j0);
            while j < z.min(j1) {
                let kj = if z.min(j1) - j >= kj_step { kj_step } else { 1 };
                let mut kp = [core::ptr::null::<f32>(); KJ_MAX];
                for (kk, p) in kp.iter_mut().enumerate().take(kj) {
                    let jn = j + kk + NB;
                    if jn < d.len_kv && ks[3] == 1 && vs[3] == 1 {
                        prefetch_row(s, c.k.hint([b, g, jn, 0]), c.k.f32_span(dk));
                        prefetch_row(s, c.v.hint([b, g, jn, 0]), c.v.f32_span(dv));
                    }
                    let (krow, kb) = ([b, g, j + kk, 0], kbuf.wrapping_add(kk * dk));
                    // SAFETY: key j + kk < Lk of kv head g is inside K; kbuf holds KJ_MAX·dk.
                    // Half-precision rows are widened into kbuf, f32 rows read in place.
                    *p = unsafe {
                        if c.k.as_f32().is_some() {
                            contiguous(c.k.at::<f32>(krow), ks[3], dk, kb)
                        } else {
                            c.k.widen_row(s, krow, dk, kb);
                            kb
                        }
                    };
                }
                for pnl in 0..npanels {
                    let r0 = pnl * R;
                    let rr = R.min(nrows - r0);
                    // SAFETY: rows r0..r0+rr of qrows and columns j−j0..+kj (< NB) of their
                    // score rows are inside the workspace; kp rows hold dk floats each.
                    unsafe {
                        let (q, out) = (qrows.add(r0 * dk), sc.add(r0 * NB + (j - j0)));
                        match kj {
                            4 => dots_rows::<T, 4>(s, rr, q, dk, &kp, d.scale, out, NB),
                            2 => dots_rows::<T, 2>(s, rr, q, dk, &kp, d.scale, out, NB),
                            _ => dots_rows::<T, 1>(s, rr, q, dk, &kp, d.scale, out, NB),
                        }
                    }
                }
                j += kj;
            }
        }

        // Per row: −∞ outside its interval (and in the gaps between spans, which no row
        // sees), then the per-element options on the interval.
        for r in 0..nrows {
            let (h, i) = (g * group + r / lq, r % lq);
            let (lo, hi) = iv.row(i);
            let hi = hi.clamp(j0, j1) - j0;
            let lo = lo.clamp(j0, j0 + hi) - j0;
            // SAFETY: columns < nk ≤ NB of score row r < nrows.
            let row = unsafe { sc.add(r * NB) };
            for jj in (0..lo).chain(hi..nk) {
                // SAFETY: as above.
                unsafe { *row.add(jj) = f32::NEG_INFINITY };
            }
            let eo = ElementOpts::new(&c.opts, b, h);
            if let Some(cap) = eo.softcap {
                // SAFETY: columns lo..hi ≤ nk of the row.
                unsafe { softcap_row(s, row.add(lo), hi - lo, cap) };
            }
            if eo.any_scalar() {
                let pos = iv.pos(i);
                for jj in lo..hi {
                    // SAFETY: as above.
                    unsafe { *row.add(jj) = eo.apply(*row.add(jj), i, pos, j0 + jj) };
                }
            }
        }

        // Per panel: key flags where something is masked, then the online-softmax step.
        for pnl in 0..npanels {
            let r0 = pnl * R;
            let rr = R.min(nrows - r0);
            let mut mx = [f32::NEG_INFINITY; R];
            let mut uniform = true;
            for (r, m) in mx.iter_mut().enumerate().take(rr) {
                // SAFETY: score row r0 + r holds nk ≥ 1 floats.
                let e = unsafe {
                    let none = core::ptr::null_mut();
                    extremes::<T, false, false>(s, sc.add((r0 + r) * NB), nk, none, 0.0)
                };
                *m = e.max;
                // A −∞ score is a masked (or −∞-logit) key: skipped, never multiplied.
                uniform &= e.min != f32::NEG_INFINITY;
            }
            // SAFETY: the panel's flag slot, flag words and score columns are in the
            // workspace; V rows of keys < Lk of kv head g are inside V; partial rows r0..r0+rr
            // are the task's.
            unsafe {
                *unif.add(pnl) = if uniform { 1.0 } else { 0.0 };
                if !uniform {
                    let full = (1u32 << rr) - 1;
                    let fl = flags.add(pnl * NB);
                    for jj in 0..nk {
                        let mut bits = 0u32;
                        for r in 0..rr {
                            if *sc.add((r0 + r) * NB + jj) != f32::NEG_INFINITY {
                                bits |= 1 << r;
                            }
                        }
                        if bits != 0
                            && bits != full
                            && (0..dv).any(|e| !c.v.get([b, g, j0 + jj, e]).is_finite())
                        {
                            bits |= SLOW;
                        }
                        *fl.add(jj) = bits;
                    }
                }
                for (r, &bm) in mx.iter().enumerate().take(rr) {
                    let pr = part.add((r0 + r) * (dv + 2));
                    let m_old = *pr;
                    let m = m_old.max(bm);
                    // A row that has seen nothing keeps m = −∞: exp(−∞ − (−FLT_MAX)) = 0, never
                    // NaN. A NaN score may be dropped by max, but its own exp is NaN.
                    let base = m.max(-f32::MAX);
                    let corr = exp_flush_lane(m_old - base);
                    if corr != 1.0 {
                        mul_inplace(s, pr.add(2), dv, corr);
                    }
                    let srow = sc.add((r0 + r) * NB);
                    // Four `exp` vectors in flight, not eight: eight spill on AVX2 over these
                    // 64-key rows (`decode/Lk4096_D128_Hkv8`: 0.91× the time with four, median
                    // of 12 alternations, Zen 3).
                    let l =
                        sum_exp::<T, _, true, false>(s, Stored(srow), srow, nk, base, true, None);
                    *pr = m;
                    *pr.add(1) = *pr.add(1) * corr + l;
                }
            }
        }

        // acc += P·V.
        let (vb, vrs) = if vs[3] == 1 && c.v.as_f32().is_some() {
            (c.v.at::<f32>([b, g, j0, 0]), vs[2])
        } else {
            // Gather the block's rows that some panel uses (the others are never read),
            // widening half-precision rows: the block's V read in its stored bytes.
            for jj in 0..nk {
                let used = (0..npanels).any(|pnl| {
                    // SAFETY: flag slot and words of panel pnl, column jj < nk ≤ NB.
                    unsafe { *unif.add(pnl) != 0.0 || *flags.add(pnl * NB + jj) != 0 }
                });
                if used {
                    // SAFETY: key j0 + jj < Lk, features < dv: inside V; vbuf holds NB·dv
                    // floats.
                    unsafe { c.v.widen_row(s, [b, g, j0 + jj, 0], dv, vbuf.add(jj * dv)) };
                }
            }
            (vbuf as *const f32, dv)
        };
        for pnl in 0..npanels {
            let r0 = pnl * R;
            let rr = R.min(nrows - r0);
            // SAFETY: P columns 0..nk of rows r0..r0+rr, the panel's flags and the rows'
            // partial accumulators (stride dv + 2) are inside the buffers; V rows of used keys
            // are readable at vb + jj·vrs for dv floats (skipped keys are not touched).
            unsafe {
                let uniform = *unif.add(pnl) != 0.0;
                let fl = if uniform {
                    core::ptr::null()
                } else {
                    flags.add(pnl * NB) as *const u32
                };
                let p = sc.add(r0 * NB);
                let acc = part.add(r0 * (dv + 2) + 2);
                pv_panel(s, rr, p, NB, nk, vb, vrs, fl, acc, dv + 2, dv);
                if !uniform {
                    slow_keys(c, b, g, j0, p, NB, nk, fl, rr, acc, dv);
                }
            }
        }
        j0 = j1;
    }
}

/// The keys of a block flagged [`SLOW`]: `acc[r] += p[r, jj] · v_jj` element by element, for
/// the rows that see the key only.
///
/// # Safety
///
/// As `decode_block::pv_panel`; keys `j0..j0+nk` of kv head `g` are inside V.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn slow_keys(
    c: &Call<'_>,
    b: usize,
    g: usize,
    j0: usize,
    p: *const f32,
    w: usize,
    nk: usize,
    fl: *const u32,
    rr: usize,
    acc: *mut f32,
    dv: usize,
) {
    for jj in 0..nk {
        // SAFETY: nk flag words.
        let f = unsafe { *fl.add(jj) };
        if f & SLOW == 0 {
            continue;
        }
        for r in (0..rr).filter(|r| f & (1 << r) != 0) {
            for e in 0..dv {
                // SAFETY: key j0 + jj < Lk, feature e < dv; P and acc as documented.
                unsafe {
                    let x = c.v.get([b, g, j0 + jj, e]);
                    *acc.add(r * (dv + 2) + e) += *p.add(r * w + jj) * x;
                }
            }
        }
    }
}

/// Phase 1, task `(b, g)`: merges the chunks' partials into O and lse.
///
/// # Safety
///
/// As [`run_chunk`]; every phase-0 task of this `(b, g)` has finished.
#[inline(always)]
pub(crate) unsafe fn run_merge(c: &Call<'_>, task: usize, shared: *const f32) {
    let d = &c.d;
    let (b, g) = (task / d.heads_kv, task % d.heads_kv);
    let (dv, group, lq, nch) = (d.dim_v, d.group(), d.len_q, chunks(c));
    let nrows = rows(c);
    for r in 0..nrows {
        let (h, i) = (g * group + r / lq, r % lq);
        let part = |ch: usize| {
            let t = (b * d.heads_kv + g) * nch + ch;
            // SAFETY: partial (t, r) lies in the shared buffer.
            unsafe { shared.add((t * nrows + r) * (dv + 2)) }
        };
        let sink = super::mask::sink_logit(c.opts.sinks, h);
        let mx = (0..nch).fold(sink.unwrap_or(f32::NEG_INFINITY), |a, ch| {
            // SAFETY: partial `ch` lies in the shared buffer, written by phase 0.
            a.max(unsafe { *part(ch) })
        });
        let base = mx.max(-f32::MAX);
        let mut l = sink.map_or(0.0, |s| exp_lane(s - base));
        // SAFETY: row (b, h, i) of O is inside the validated O view (disjoint from the inputs
        // and the shared buffer); it accumulates Σ_ch acc_ch · exp(m_ch − base) in chunk order.
        let orow = unsafe { c.o.add(off([b, h, i, 0], c.os)) };
        let os3 = c.os[3];
        for e in 0..dv {
            // SAFETY: as above.
            unsafe { *orow.add(e * os3) = 0.0 };
        }
        for ch in 0..nch {
            // SAFETY: as above.
            let (m, lc) = unsafe { (*part(ch), *part(ch).add(1)) };
            let f = exp_lane(m - base);
            l += lc * f;
            for e in 0..dv {
                // SAFETY: as above.
                unsafe { *orow.add(e * os3) += *part(ch).add(2 + e) * f };
            }
        }
        for e in 0..dv {
            // SAFETY: as above.
            unsafe {
                let o = orow.add(e * os3);
                *o = if l == 0.0 { 0.0 } else { *o / l };
            }
        }
        if !c.lse.is_null() {
            let lse = if l == 0.0 {
                f32::NEG_INFINITY
            } else {
                mx + libm::logf(l)
            };
            // SAFETY: lse holds B·Hq·Lq floats.
            unsafe { *c.lse_at(b, h, i) = lse };
        }
    }
}
