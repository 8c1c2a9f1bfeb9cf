//! The scalar tier: [`SimdF32`] with one lane, plain `f32` arithmetic. It is the fallback for targets without SIMD and the reference of the
//! instruction-level tiers: its `exp` is [`exp_lane`](super::exp::exp_lane) itself.

use super::exp::{fma, k_to_n, pow2, TABLE, TABLE_ADJ};
use super::SimdF32;
use crate::isa::Scalar;

impl SimdF32 for Scalar {
    type V = f32;
    type M = bool;
    const LANES: usize = 1;
    const HW_FMA: bool = false;

    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> f32 {
        // SAFETY: the caller guarantees p is readable.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn load_part(self, _p: *const f32, _n: usize, fill: f32) -> f32 {
        // n < LANES = 1: nothing to read.
        fill
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: f32) {
        // SAFETY: the caller guarantees p is writable.
        unsafe { *p = v }
    }
    #[inline(always)]
    unsafe fn store_part(self, _p: *mut f32, _n: usize, _v: f32) {}
    #[inline(always)]
    unsafe fn load_bools(self, p: *const bool) -> bool {
        // SAFETY: the caller guarantees p is readable.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn load_bools_part(self, _p: *const bool, _n: usize) -> bool {
        false
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn fma(self, a: f32, b: f32, c: f32) -> f32 {
        fma(a, b, c)
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if a < b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn clamp_below(self, x: f32, lo: f32) -> f32 {
        if x < lo {
            lo
        } else {
            x
        }
    }
    #[inline(always)]
    fn clamp_above(self, x: f32, hi: f32) -> f32 {
        if x > hi {
            hi
        } else {
            x
        }
    }
    #[inline(always)]
    fn lookup16(self, kb: f32) -> f32 {
        TABLE[(kb.to_bits() & 15) as usize]
    }
    #[inline(always)]
    fn pow2_scale(self, y: f32, kb: f32) -> f32 {
        let n = k_to_n(kb.to_bits());
        let n1 = n >> 1;
        (y * pow2(n1)) * pow2(n - n1)
    }
    #[inline(always)]
    fn lookup16_scaled(self, kb: f32) -> f32 {
        let b = kb.to_bits();
        f32::from_bits(TABLE_ADJ[(b & 15) as usize].wrapping_add(b << 19))
    }
    #[inline(always)]
    fn fma_or_zero(self, x: f32, thr: f32, a: f32, b: f32, c: f32) -> f32 {
        if x < thr {
            0.0
        } else {
            fma(a, b, c)
        }
    }
    #[inline(always)]
    fn select(self, m: bool, a: f32, b: f32) -> f32 {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn is_nan(self, v: f32) -> bool {
        v.is_nan()
    }
    #[inline(always)]
    fn mask_or(self, a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn mask_any(self, m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn reduce_max(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn reduce_min(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn reduce_add(self, v: f32) -> f32 {
        v
    }
}
