//! The vector primitives of the [decode](super::decode) path, on blocks of keys: dot products
//! of a panel of query rows with a few K rows, the maximum and the `exp` of a score row, and
//! the `P·V` register tiles. Generic over [`AttnIsa`], monomorphised inside each ISA's
//! `#[target_feature]` entry point (every function here is `#[inline(always)]`); no ISA code.

use super::decode::{KJ_MAX, SLOW};
use super::tile::AttnIsa;
use crate::softmax::exp::{exp_flush, exp_flush_xn};
use crate::softmax::simd::SimdF32;

/// `a·b + c`: fused where the ISA has a hardware FMA, else a multiply then an add (a software
/// `fmaf` per lane would cost more than the whole dot product).
#[inline(always)]
pub(super) fn madd<I: AttnIsa>(
    isa: I,
    a: <I::Simd as SimdF32>::V,
    b: <I::Simd as SimdF32>::V,
    c: <I::Simd as SimdF32>::V,
) -> <I::Simd as SimdF32>::V {
    let s = isa.simd();
    if I::HW_FMA {
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
unsafe fn dots<I: AttnIsa, const RR: usize, const KJ: usize>(
    isa: I,
    q: *const f32,
    dk: usize,
    kp: &[*const f32; KJ_MAX],
    scale: f32,
    out: *mut f32,
    w: usize,
) {
    let s = isa.simd();
    let l = I::Simd::LANES;
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
pub(super) unsafe fn dots_rows<I: AttnIsa, const KJ: usize>(
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

/// `(max, min)` of `n ≥ 1` floats (exact for NaN-free input).
///
/// # Safety
///
/// `x` readable for `n` floats; the CPU supports `S`.
#[inline(always)]
pub(super) unsafe fn max_min<S: SimdF32>(s: S, x: *const f32, n: usize) -> (f32, f32) {
    let (mut mx, mut mn) = (s.splat(f32::NEG_INFINITY), s.splat(f32::INFINITY));
    let mut e = 0;
    // SAFETY: every load stays below n.
    unsafe {
        while e + S::LANES <= n {
            let v = s.load(x.add(e));
            mx = s.max(mx, v);
            mn = s.min(mn, v);
            e += S::LANES;
        }
        if e < n {
            mx = s.max(mx, s.load_part(x.add(e), n - e, f32::NEG_INFINITY));
            mn = s.min(mn, s.load_part(x.add(e), n - e, f32::INFINITY));
        }
    }
    (s.reduce_max(mx), s.reduce_min(mn))
}

/// `x[j] ← exp(x[j] − base)` over `n` floats (the softmax `exp`, [`exp_flush`]: every
/// `x[j] − base` is `≤ 0` or NaN), returning `Σ_j x[j]` (four vector sums, added in a fixed
/// order, then the ISA's lane sum).
///
/// # Safety
///
/// `x` readable and writable for `n` floats; the CPU supports `S`.
#[inline(always)]
pub(super) unsafe fn exp_row<S: SimdF32>(s: S, x: *mut f32, n: usize, base: f32) -> f32 {
    let l = S::LANES;
    let bv = s.splat(base);
    let mut sum = [s.splat(0.0); 4];
    let mut e = 0;
    // SAFETY: every access stays below n.
    unsafe {
        while e + 4 * l <= n {
            let mut v = [bv; 4];
            for (i, vi) in v.iter_mut().enumerate() {
                *vi = s.sub(s.load(x.add(e + i * l)), bv);
            }
            let p = exp_flush_xn(s, v);
            for i in 0..4 {
                s.store(x.add(e + i * l), p[i]);
                sum[i] = s.add(sum[i], p[i]);
            }
            e += 4 * l;
        }
        while e + l <= n {
            let p = exp_flush(s, s.sub(s.load(x.add(e)), bv));
            s.store(x.add(e), p);
            sum[0] = s.add(sum[0], p);
            e += l;
        }
        if e < n {
            // Fill −∞: exp(−∞ − base) = +0 in the unused lanes (base is never −∞).
            let v = s.load_part(x.add(e), n - e, f32::NEG_INFINITY);
            let p = exp_flush(s, s.sub(v, bv));
            s.store_part(x.add(e), n - e, p);
            sum[0] = s.add(sum[0], p);
        }
    }
    s.reduce_add(s.add(s.add(sum[0], sum[1]), s.add(sum[2], sum[3])))
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
unsafe fn pv_tile<I: AttnIsa, const RR: usize, const EE: usize, const PART: bool>(
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
    let s = isa.simd();
    let l = I::Simd::LANES;
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
unsafe fn pv_rows<I: AttnIsa, const RR: usize>(
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
    let l = I::Simd::LANES;
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
pub(super) unsafe fn pv_panel<I: AttnIsa>(
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

/// `x[e] *= c` over `n` floats.
///
/// # Safety
///
/// `x` readable and writable for `n` floats; the CPU supports `S`.
#[inline(always)]
pub(super) unsafe fn scale_row<S: SimdF32>(s: S, x: *mut f32, n: usize, c: f32) {
    let cv = s.splat(c);
    let mut e = 0;
    // SAFETY: every access stays below n.
    unsafe {
        while e + S::LANES <= n {
            s.store(x.add(e), s.mul(s.load(x.add(e)), cv));
            e += S::LANES;
        }
        if e < n {
            let v = s.mul(s.load_part(x.add(e), n - e, 0.0), cv);
            s.store_part(x.add(e), n - e, v);
        }
    }
}
