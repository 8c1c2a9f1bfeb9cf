//! aarch64 NEON: [`SimdF32`] on `float32x4_t`, 4 lanes; tails through a stack array, lane
//! masks as `uint32x4_t`. Every operation mirrors [`exp_lane`](crate::simd::exp_lane):
//! `vmulq`/`vaddq`/`vsubq`/`vfmaq` (fused, as `exp_lane`'s fma), clamps as compare + `vbslq` (NaN passes), the
//! table lookup lane by lane, and the exponent arithmetic on integer lanes.
//!
//! Tested under qemu-aarch64 by `ci/cross.sh` (step `aarch64`).

use core::arch::aarch64::*;

use crate::isa::Neon;
use crate::simd::exp::{ROUND_MAGIC, TABLE, TABLE_ADJ};
use crate::simd::SimdF32;

// Every `unsafe` block in this file: a `Neon` value exists only when the CPU has
// Advanced SIMD (its constructor's contract), which is all these intrinsics need; pointer
// obligations are the caller's, as each method's docs state.

impl SimdF32 for Neon {
    type V = float32x4_t;
    type M = uint32x4_t;
    const LANES: usize = 4;
    const HW_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> float32x4_t {
        // SAFETY: see the file note; p..p+4 readable (caller).
        unsafe { vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn load_part(self, p: *const f32, n: usize, fill: f32) -> float32x4_t {
        let mut a = [fill; 4];
        for (i, slot) in a.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p..p+n readable (caller).
            *slot = unsafe { *p.add(i) };
        }
        // SAFETY: see the file note; a is 4 readable floats.
        unsafe { vld1q_f32(a.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: float32x4_t) {
        // SAFETY: see the file note; p..p+4 writable (caller).
        unsafe { vst1q_f32(p, v) }
    }
    #[inline(always)]
    unsafe fn store_part(self, p: *mut f32, n: usize, v: float32x4_t) {
        let mut a = [0.0f32; 4];
        // SAFETY: see the file note; a is 4 writable floats.
        unsafe { vst1q_f32(a.as_mut_ptr(), v) };
        for (i, x) in a.into_iter().enumerate().take(n) {
            // SAFETY: i < n, p..p+n writable (caller).
            unsafe { *p.add(i) = x };
        }
    }
    #[inline(always)]
    unsafe fn load_bools(self, p: *const bool) -> uint32x4_t {
        // SAFETY: p..p+4 readable (caller).
        unsafe { self.load_bools_part(p, 4) }
    }
    #[inline(always)]
    unsafe fn load_bools_part(self, p: *const bool, n: usize) -> uint32x4_t {
        let mut a = [0u32; 4];
        for (i, slot) in a.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p..p+n readable (caller).
            *slot = if unsafe { *p.add(i) } { u32::MAX } else { 0 };
        }
        // SAFETY: see the file note; a is 4 readable u32.
        unsafe { vld1q_u32(a.as_ptr()) }
    }
    #[inline(always)]
    fn add(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vaddq_f32(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vsubq_f32(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vmulq_f32(a, b) }
    }
    #[inline(always)]
    fn div(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vdivq_f32(a, b) }
    }
    #[inline(always)]
    fn fma(self, a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note. vfmaq_f32(c, a, b) = c + a·b, rounded once.
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    fn max(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vmaxq_f32(a, b) }
    }
    #[inline(always)]
    fn min(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vminq_f32(a, b) }
    }
    #[inline(always)]
    fn clamp_below(self, x: float32x4_t, lo: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note. x < lo is false for NaN: x is kept.
        unsafe { vbslq_f32(vcltq_f32(x, lo), lo, x) }
    }
    #[inline(always)]
    fn clamp_above(self, x: float32x4_t, hi: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vbslq_f32(vcgtq_f32(x, hi), hi, x) }
    }
    #[inline(always)]
    fn lookup16(self, kb: float32x4_t) -> float32x4_t {
        let mut k = [0u32; 4];
        // SAFETY: see the file note; k is 4 writable u32.
        unsafe { vst1q_u32(k.as_mut_ptr(), vreinterpretq_u32_f32(kb)) };
        let mut t = [0.0f32; 4];
        for (o, b) in t.iter_mut().zip(k) {
            *o = TABLE[(b & 15) as usize];
        }
        // SAFETY: see the file note; t is 4 readable floats.
        unsafe { vld1q_f32(t.as_ptr()) }
    }
    #[inline(always)]
    fn pow2_scale(self, y: float32x4_t, kb: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe {
            let k = vsubq_s32(
                vreinterpretq_s32_f32(kb),
                vdupq_n_s32(ROUND_MAGIC.to_bits() as i32),
            );
            let n = vshrq_n_s32::<4>(k);
            let n1 = vshrq_n_s32::<1>(n);
            let n2 = vsubq_s32(n, n1);
            let bias = vdupq_n_s32(127);
            let f1 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n1, bias)));
            let f2 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n2, bias)));
            vmulq_f32(vmulq_f32(y, f1), f2)
        }
    }
    #[inline(always)]
    fn lookup16_scaled(self, kb: float32x4_t) -> float32x4_t {
        let mut k = [0u32; 4];
        // SAFETY: see the file note; k is 4 writable u32.
        unsafe { vst1q_u32(k.as_mut_ptr(), vreinterpretq_u32_f32(kb)) };
        let mut t = [0u32; 4];
        for (o, b) in t.iter_mut().zip(k) {
            *o = TABLE_ADJ[(b & 15) as usize].wrapping_add(b << 19);
        }
        // SAFETY: see the file note; t is 4 readable u32.
        unsafe { vreinterpretq_f32_u32(vld1q_u32(t.as_ptr())) }
    }
    #[inline(always)]
    fn fma_or_zero(
        self,
        x: float32x4_t,
        thr: float32x4_t,
        a: float32x4_t,
        b: float32x4_t,
        c: float32x4_t,
    ) -> float32x4_t {
        // SAFETY: see the file note. x < thr is false for NaN: the fma is kept.
        unsafe { vbslq_f32(vcltq_f32(x, thr), vdupq_n_f32(0.0), vfmaq_f32(c, a, b)) }
    }
    #[inline(always)]
    fn select(self, m: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the file note.
        unsafe { vbslq_f32(m, a, b) }
    }
    #[inline(always)]
    fn is_nan(self, v: float32x4_t) -> uint32x4_t {
        // SAFETY: see the file note.
        unsafe { vmvnq_u32(vceqq_f32(v, v)) }
    }
    #[inline(always)]
    fn mask_or(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: see the file note.
        unsafe { vorrq_u32(a, b) }
    }
    #[inline(always)]
    fn mask_any(self, m: uint32x4_t) -> bool {
        // SAFETY: see the file note.
        unsafe { vmaxvq_u32(m) != 0 }
    }
    #[inline(always)]
    fn reduce_max(self, v: float32x4_t) -> f32 {
        // SAFETY: see the file note.
        unsafe { vmaxvq_f32(v) }
    }
    #[inline(always)]
    fn reduce_min(self, v: float32x4_t) -> f32 {
        // SAFETY: see the file note.
        unsafe { vminvq_f32(v) }
    }
    #[inline(always)]
    fn reduce_add(self, v: float32x4_t) -> f32 {
        // SAFETY: see the file note.
        unsafe { vaddvq_f32(v) }
    }
}
