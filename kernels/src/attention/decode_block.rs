//! The vector primitives of the [decode](super::decode) path that are its own, on blocks of
//! keys: dot products of a panel of query rows with a few K rows, and the `P·V` register tiles
//! (the maximum, `exp` and scaling of a score row are the shared row primitives of
//! [`simd::row`](crate::simd::row)). Generic over [`Tier`], monomorphised inside each tier's
//! `#[target_feature]` entry point (every function here is `#[inline(always)]`); no ISA code.

use crate::simd::SimdF32;
use crate::tier::Tier;

/// Most keys per dot-product step (`KJ`): 4 with 16-lane vectors (`R·KJ` = 16 accumulators
/// of the 32 AVX-512 registers), else 2 (8 accumulators fit AVX2's 16).
pub(super) const KJ_MAX: usize = 4;
/// Key flag: some row of the panel masks the key and its V row holds a non-finite value.
pub(super) const SLOW: u32 = 1 << 31;

/// `a·b + c`: fused where the ISA has a hardware FMA, else a multiply then an add (a software
/// `fmaf` per lane would cost more than the whole dot product).
#[inline(always)]
pub(super) fn madd<T: Tier>(s: T, a: T::V, b: T::V, c: T::V) -> T::V {
    if T::HW_FMA {
        s.fma(a, b, c)
    } else {
        s.add(s.mul(a, b), c)
    }
}

/// Returns a pointer to `n` contiguous floats of row `base` (stride `st`): the row itself when
/// `st == 1`, else a copy in `buf`.
///
/// # Safety
///
/// `base + e·st` readable for `e < n`; `buf` writable for `n` floats.
#[inline(always)]
pub(super) unsafe fn contiguous(
    base: *const f32,
    st: usize,
    n: usize,
    buf: *mut f32,
) -> *const f32 {
    if st == 1 {
        return base;
    }
    for e in 0..n {
        // SAFETY: as documented.
        unsafe { *buf.add(e) = *base.add(e * st) };
    }
    buf
}

/// Scores of `RR` query rows against `KJ` keys: `out[r·w + kk] = scale · (q_r · k_kk)`, each
/// dot product accumulated lane-wise over `dk`, then summed over lanes in the ISA's fixed order.
///
/// # Safety
///
/// `q` readable for `RR·dk` floats (row `r` at `q + r·dk`), each `kp[kk]` for `dk`; `out`
/// writable at `r·w + kk` for `r < RR`, `kk < KJ`; the CPU supports `I`.
#[inline(always)]
unsafe fn dots<I: Tier, const RR: usize, const KJ: usize>(
    isa: I,
    q: *const f32,
    dk: usize,
    kp: &[*const f32; KJ_MAX],
    scale: f32,
    out: *mut f32,
    w: usize,
) {
    let s = isa;
    let l = I::LANES;
    let z = s.splat(0.0);
    let mut acc = [[z; KJ]; RR];
    let mut kv = [z; KJ];
    let mut e = 0;
    // SAFETY: every load stays below dk in its row; the stores are the caller's cells.
    unsafe {
        while e + l <= dk {
            for (kk, kx) in kv.iter_mut().enumerate() {
                *kx = s.load(kp[kk].add(e));
            }
            for (r, ar) in acc.iter_mut().enumerate() {
                let qv = s.load(q.add(r * dk + e));
                for (a, kx) in ar.iter_mut().zip(&kv) {
                    *a = madd(isa, qv, *kx, *a);
                }
            }
            e += l;
        }
        if e < dk {
            for (kk, kx) in kv.iter_mut().enumerate() {
                *kx = s.load_part(kp[kk].add(e), dk - e, 0.0);
            }
            for (r, ar) in acc.iter_mut().enumerate() {
                let qv = s.load_part(q.add(r * dk + e), dk - e, 0.0);
                for (a, kx) in ar.iter_mut().zip(&kv) {
                    *a = madd(isa, qv, *kx, *a);
                }
            }
        }
        for (r, ar) in acc.iter().enumerate() {
            for (kk, a) in ar.iter().enumerate() {
                *out.add(r * w + kk) = scale * s.reduce_add(*a);
            }
        }
    }
}

/// [`dots`] for `rr ∈ 1..=4` rows (a panel).
///
/// # Safety
///
/// As [`dots`] with `RR = rr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) unsafe fn dots_rows<I: Tier, const KJ: usize>(
    isa: I,
    rr: usize,
    q: *const f32,
    dk: usize,
    kp: &[*const f32; KJ_MAX],
    scale: f32,
    out: *mut f32,
    w: usize,
) {
    // SAFETY: forwarded.
    unsafe {
        match rr {
            4 => dots::<I, 4, KJ>(isa, q, dk, kp, scale, out, w),
            3 => dots::<I, 3, KJ>(isa, q, dk, kp, scale, out, w),
            2 => dots::<I, 2, KJ>(isa, q, dk, kp, scale, out, w),
            _ => dots::<I, 1, KJ>(isa, q, dk, kp, scale, out, w),
        }
    }
}

/// Hints every cache line of the `n`-float row at `p` (a hint: never faults, reads nothing).
#[inline(always)]
pub(super) fn prefetch_row<S: SimdF32>(s: S, p: *const f32, n: usize) {
    let mut e = 0;
    while e < n {
        s.prefetch_read(p.wrapping_add(e));
        e += 16;
    }
}

/// `acc[r, e..] += Σ_jj P[r, jj] · v[jj, e..]` for one `RR × EE`-vector register tile over
/// `nk` keys (`PART`: one vector of `part < LANES` floats). With `fl` non-null, keys whose flag
/// is 0 (no row of the panel sees them) or has [`SLOW`] are skipped.
///
/// # Safety
///
/// `p` readable at `r·w + jj`; `v` readable at `jj·vrs + e + x·LANES + (0..LANES or part)`;
/// `acc` readable and writable at `r·ars + e + (the same)`; `fl`, when non-null, readable for
/// `nk` words; the CPU supports `I`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pv_tile<I: Tier, const RR: usize, const EE: usize, const PART: bool>(
    isa: I,
    p: *const f32,
    w: usize,
    nk: usize,
    v: *const f32,
    vrs: usize,
    fl: *const u32,
    acc: *mut f32,
    ars: usize,
    e: usize,
    part: usize,
) {
    let s = isa;
    let l = I::LANES;
    let z = s.splat(0.0);
    // Accumulators by vector then row: a[x][r] is acc[r, e + x·LANES..].
    let mut a = [[z; RR]; EE];
    let mut pb = [z; RR];
    // SAFETY: every access is one the caller vouches for.
    unsafe {
        for (x, ax) in a.iter_mut().enumerate() {
            for (r, ar) in ax.iter_mut().enumerate() {
                let ptr = acc.add(r * ars + e + x * l);
                *ar = if PART {
                    s.load_part(ptr, part, 0.0)
                } else {
                    s.load(ptr)
                };
            }
        }
        for jj in 0..nk {
            if !fl.is_null() {
                let f = *fl.add(jj);
                if f == 0 || f & SLOW != 0 {
                    continue;
                }
            }
            let vr = v.add(jj * vrs + e);
            for (r, pr) in pb.iter_mut().enumerate() {
                *pr = s.splat(*p.add(r * w + jj));
            }
            for (x, ax) in a.iter_mut().enumerate() {
                let vx = if PART {
                    s.load_part(vr.add(x * l), part, 0.0)
                } else {
                    s.load(vr.add(x * l))
                };
                for (ar, pr) in ax.iter_mut().zip(&pb) {
                    *ar = madd(isa, *pr, vx, *ar);
                }
            }
        }
        for (x, ax) in a.iter().enumerate() {
            for (r, ar) in ax.iter().enumerate() {
                let ptr = acc.add(r * ars + e + x * l);
                if PART {
                    s.store_part(ptr, part, *ar);
                } else {
                    s.store(ptr, *ar);
                }
            }
        }
    }
}

/// [`pv_tile`] over the whole `dv` for `RR` rows: the widest tiles whose `RR·EE` accumulators
/// fit the register budget, then narrower ones, then the partial vector. Wide tiles matter for
/// memory too: with `EE·LANES = dv` each V row is read front to back, which the hardware
/// prefetchers follow best.
///
/// # Safety
///
/// As [`pv_tile`] for every `e < dv`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pv_rows<I: Tier, const RR: usize>(
    isa: I,
    p: *const f32,
    w: usize,
    nk: usize,
    v: *const f32,
    vrs: usize,
    fl: *const u32,
    acc: *mut f32,
    ars: usize,
    dv: usize,
) {
    let l = I::LANES;
    let mut e = 0;
    // SAFETY: every tile lies below dv.
    unsafe {
        // Accumulator registers: 16 of AVX-512's 32, 8 of AVX2's 16 (NEON and the
        // portable and scalar tiers as AVX2).
        let budget = if l >= 16 { 16 } else { 8 };
        if RR * 8 <= budget {
            while e + 8 * l <= dv {
                pv_tile::<I, RR, 8, false>(isa, p, w, nk, v, vrs, fl, acc, ars, e, 0);
                e += 8 * l;
            }
        }
        if RR * 4 <= budget {
            while e + 4 * l <= dv {
                pv_tile::<I, RR, 4, false>(isa, p, w, nk, v, vrs, fl, acc, ars, e, 0);
                e += 4 * l;
            }
        }
        while e + 2 * l <= dv {
            pv_tile::<I, RR, 2, false>(isa, p, w, nk, v, vrs, fl, acc, ars, e, 0);
            e += 2 * l;
        }
        while e + l <= dv {
            pv_tile::<I, RR, 1, false>(isa, p, w, nk, v, vrs, fl, acc, ars, e, 0);
            e += l;
        }
        if e < dv {
            pv_tile::<I, RR, 1, true>(isa, p, w, nk, v, vrs, fl, acc, ars, e, dv - e);
        }
    }
}

/// [`pv_rows`] for `rr ∈ 1..=4` rows (a panel).
///
/// # Safety
///
/// As [`pv_rows`] with `RR = rr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) unsafe fn pv_panel<I: Tier>(
    isa: I,
    rr: usize,
    p: *const f32,
    w: usize,
    nk: usize,
    v: *const f32,
    vrs: usize,
    fl: *const u32,
    acc: *mut f32,
    ars: usize,
    dv: usize,
) {
    // SAFETY: forwarded.
    unsafe {
        match rr {
            4 => pv_rows::<I, 4>(isa, p, w, nk, v, vrs, fl, acc, ars, dv),
            3 => pv_rows::<I, 3>(isa, p, w, nk, v, vrs, fl, acc, ars, dv),
            2 => pv_rows::<I, 2>(isa, p, w, nk, v, vrs, fl, acc, ars, dv),
            _ => pv_rows::<I, 1>(isa, p, w, nk, v, vrs, fl, acc, ars, dv),
        }
    }
}
