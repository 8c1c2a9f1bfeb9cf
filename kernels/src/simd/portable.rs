//! The portable tier: [`SimdF32`] on `wide::f32x8`, lowered for whatever the *compile-time*
//! target features allow (SSE2 on plain x86-64, NEON on aarch64, `simd128` on wasm32, scalar
//! elsewhere). Every operation is an exact IEEE op, compare or select, so the tier computes
//! [`exp_lane`](super::exp::exp_lane) bit for bit on every target (`wide`'s `max`
//! differs between back ends in NaN handling, so clamps are compare + select).

use wide::{f32x8, i32x8, u32x8};

use super::exp::{fma, ROUND_MAGIC, TABLE, TABLE_ADJ};
use super::SimdF32;
use crate::isa::Portable;

/// Whether `wide`'s `mul_add` is a fused multiply-add for this build's target features
/// (otherwise it is a multiply then an add, and `fma` goes lane by lane through `libm::fmaf`).
const HW_FMA: bool = cfg!(any(
    all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "fma"
    ),
    all(target_arch = "aarch64", target_feature = "neon")
));

/// All-ones (true) lane pattern.
const TRUE: f32 = f32::from_bits(u32::MAX);

impl SimdF32 for Portable {
    type V = f32x8;
    type M = f32x8;
    const LANES: usize = 8;
    const HW_FMA: bool = HW_FMA;

    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> f32x8 {
        // SAFETY: p..p+8 readable (caller); read_unaligned has no alignment requirement.
        f32x8::new(unsafe { (p as *const [f32; 8]).read_unaligned() })
    }
    #[inline(always)]
    unsafe fn load_part(self, p: *const f32, n: usize, fill: f32) -> f32x8 {
        let mut a = [fill; 8];
        for (i, slot) in a.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p..p+n readable (caller).
            *slot = unsafe { *p.add(i) };
        }
        f32x8::new(a)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: f32x8) {
        // SAFETY: p..p+8 writable (caller).
        unsafe { (p as *mut [f32; 8]).write_unaligned(v.to_array()) }
    }
    #[inline(always)]
    unsafe fn store_part(self, p: *mut f32, n: usize, v: f32x8) {
        for (i, x) in v.to_array().into_iter().enumerate().take(n) {
            // SAFETY: i < n, p..p+n writable (caller).
            unsafe { *p.add(i) = x };
        }
    }
    #[inline(always)]
    unsafe fn load_bools(self, p: *const bool) -> f32x8 {
        // SAFETY: p..p+8 readable (caller).
        unsafe { self.load_bools_part(p, 8) }
    }
    #[inline(always)]
    unsafe fn load_bools_part(self, p: *const bool, n: usize) -> f32x8 {
        let mut a = [0.0f32; 8];
        for (i, slot) in a.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p..p+n readable (caller).
            *slot = if unsafe { *p.add(i) } { TRUE } else { 0.0 };
        }
        f32x8::new(a)
    }
    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    fn fma(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        if HW_FMA {
            a.mul_add(b, c)
        } else {
            let (a, b, c) = (a.to_array(), b.to_array(), c.to_array());
            let mut o = [0.0f32; 8];
            for i in 0..8 {
                o[i] = fma(a[i], b[i], c[i]);
            }
            f32x8::new(o)
        }
    }
    #[inline(always)]
    fn max(self, a: f32x8, b: f32x8) -> f32x8 {
        a.fast_max(b)
    }
    #[inline(always)]
    fn min(self, a: f32x8, b: f32x8) -> f32x8 {
        a.fast_min(b)
    }
    #[inline(always)]
    fn clamp_below(self, x: f32x8, lo: f32x8) -> f32x8 {
        x.simd_lt(lo).select(lo, x)
    }
    #[inline(always)]
    fn clamp_above(self, x: f32x8, hi: f32x8) -> f32x8 {
        x.simd_gt(hi).select(hi, x)
    }
    #[inline(always)]
    fn lookup16(self, kb: f32x8) -> f32x8 {
        f32x8::new(kb.to_array().map(|k| TABLE[(k.to_bits() & 15) as usize]))
    }
    #[inline(always)]
    fn pow2_scale(self, y: f32x8, kb: f32x8) -> f32x8 {
        let n = (kb.to_bits() - u32x8::splat(ROUND_MAGIC.to_bits())).cast_signed() >> 4u32;
        let n1 = n >> 1u32;
        let n2 = n - n1;
        let bias = i32x8::splat(127);
        let f1 = f32x8::from_bits(((n1 + bias) << 23u32).cast_unsigned());
        let f2 = f32x8::from_bits(((n2 + bias) << 23u32).cast_unsigned());
        (y * f1) * f2
    }
    #[inline(always)]
    fn lookup16_scaled(self, kb: f32x8) -> f32x8 {
        let b = kb.to_bits().to_array();
        let t = u32x8::new(b.map(|b| TABLE_ADJ[(b & 15) as usize]));
        f32x8::from_bits(t + (kb.to_bits() << 19u32))
    }
    #[inline(always)]
    fn fma_or_zero(self, x: f32x8, thr: f32x8, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        x.simd_lt(thr).select(f32x8::splat(0.0), self.fma(a, b, c))
    }
    #[inline(always)]
    fn select(self, m: f32x8, a: f32x8, b: f32x8) -> f32x8 {
        m.select(a, b)
    }
    #[inline(always)]
    fn is_nan(self, v: f32x8) -> f32x8 {
        v.is_nan()
    }
    #[inline(always)]
    fn mask_or(self, a: f32x8, b: f32x8) -> f32x8 {
        a | b
    }
    #[inline(always)]
    fn mask_any(self, m: f32x8) -> bool {
        m.any()
    }
    #[inline(always)]
    fn reduce_max(self, v: f32x8) -> f32 {
        fold(v, |a, b| if a > b { a } else { b })
    }
    #[inline(always)]
    fn reduce_min(self, v: f32x8) -> f32 {
        fold(v, |a, b| if a < b { a } else { b })
    }
    #[inline(always)]
    fn reduce_add(self, v: f32x8) -> f32 {
        fold(v, |a, b| a + b)
    }
}

/// Pairwise fold: lanes `i` and `i + 4`, then `i` and `i + 2`, then 0 and 1.
#[inline(always)]
fn fold(v: f32x8, op: impl Fn(f32, f32) -> f32) -> f32 {
    let a = v.to_array();
    let b = [
        op(a[0], a[4]),
        op(a[1], a[5]),
        op(a[2], a[6]),
        op(a[3], a[7]),
    ];
    op(op(b[0], b[2]), op(b[1], b[3]))
}
