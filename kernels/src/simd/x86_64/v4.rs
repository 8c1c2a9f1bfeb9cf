//! x86-64-v4 (AVX-512 F/BW/DQ/VL): [`SimdF32`] on `__m512`, 16 lanes; tails with lane masks
//! (masked loads and stores touch no memory in masked-off lanes); the `2^(j/16)` table
//! lookup is one `vpermps` from a register.

use core::arch::x86_64::*;

use crate::isa::X86V4;
use crate::simd::exp::{ROUND_MAGIC, TABLE, TABLE_ADJ};
use crate::simd::SimdF32;

/// Lanes `0..n` set, `n < 16`.
#[inline(always)]
fn low(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

// Every `unsafe` block in this impl: an `X86V4` value exists only when the CPU
// supports AVX-512 F/BW/DQ/VL, AVX2 and FMA (its constructor's contract), which are all the
// intrinsics below need; pointer obligations are the caller's, as each method's docs state.
impl SimdF32 for X86V4 {
    type V = __m512;
    type M = __mmask16;
    const LANES: usize = 16;
    const HW_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m512 {
        // SAFETY: see the impl; p..p+16 readable (caller).
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_part(self, p: *const f32, n: usize, fill: f32) -> __m512 {
        // SAFETY: see the impl; masked-off lanes are not accessed, p..p+n readable (caller).
        unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(fill), low(n), p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m512) {
        // SAFETY: see the impl; p..p+16 writable (caller).
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn store_part(self, p: *mut f32, n: usize, v: __m512) {
        // SAFETY: see the impl; masked-off lanes are not accessed, p..p+n writable (caller).
        unsafe { _mm512_mask_storeu_ps(p, low(n), v) }
    }
    #[inline(always)]
    unsafe fn load_bools(self, p: *const bool) -> __mmask16 {
        // SAFETY: see the impl; p..p+16 readable (caller). A bool is the byte 0 or 1.
        unsafe {
            let b = _mm_loadu_si128(p as *const __m128i);
            _mm_test_epi8_mask(b, b)
        }
    }
    #[inline(always)]
    unsafe fn load_bools_part(self, p: *const bool, n: usize) -> __mmask16 {
        // SAFETY: see the impl; masked-off bytes are not accessed, p..p+n readable (caller).
        unsafe {
            let b = _mm_maskz_loadu_epi8(low(n), p as *const i8);
            _mm_test_epi8_mask(b, b)
        }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn clamp_below(self, x: __m512, lo: __m512) -> __m512 {
        // vmaxps returns its second operand when either is NaN: max(lo, x) keeps a NaN x.
        // SAFETY: see the impl.
        unsafe { _mm512_max_ps(lo, x) }
    }
    #[inline(always)]
    fn clamp_above(self, x: __m512, hi: __m512) -> __m512 {
        // As clamp_below: min(hi, x) keeps a NaN x.
        // SAFETY: see the impl.
        unsafe { _mm512_min_ps(hi, x) }
    }
    #[inline(always)]
    fn lookup16(self, kb: __m512) -> __m512 {
        // SAFETY: see the impl. vpermps uses the low 4 bits of each index lane.
        unsafe { _mm512_permutexvar_ps(_mm512_castps_si512(kb), _mm512_loadu_ps(TABLE.as_ptr())) }
    }
    #[inline(always)]
    fn pow2_scale(self, y: __m512, kb: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe {
            let k = _mm512_sub_epi32(
                _mm512_castps_si512(kb),
                _mm512_set1_epi32(ROUND_MAGIC.to_bits() as i32),
            );
            let n = _mm512_srai_epi32::<4>(k);
            let n1 = _mm512_srai_epi32::<1>(n);
            let n2 = _mm512_sub_epi32(n, n1);
            let bias = _mm512_set1_epi32(127);
            let f1 = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(n1, bias)));
            let f2 = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(n2, bias)));
            _mm512_mul_ps(_mm512_mul_ps(y, f1), f2)
        }
    }
    #[inline(always)]
    fn lookup16_scaled(self, kb: __m512) -> __m512 {
        // SAFETY: see the impl. vpermd uses the low 4 bits of each index lane.
        unsafe {
            let k = _mm512_castps_si512(kb);
            let t = _mm512_permutexvar_epi32(k, _mm512_loadu_si512(TABLE_ADJ.as_ptr() as *const _));
            _mm512_castsi512_ps(_mm512_add_epi32(t, _mm512_slli_epi32::<19>(k)))
        }
    }
    #[inline(always)]
    fn fma_or_zero(self, x: __m512, thr: __m512, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_maskz_fmadd_ps(_mm512_cmp_ps_mask::<_CMP_NLT_UQ>(x, thr), a, b, c) }
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see the impl.
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }
    #[inline(always)]
    fn is_nan(self, v: __m512) -> __mmask16 {
        // SAFETY: see the impl.
        unsafe { _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v) }
    }
    #[inline(always)]
    fn mask_or(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a | b
    }
    #[inline(always)]
    fn mask_any(self, m: __mmask16) -> bool {
        m != 0
    }
    #[inline(always)]
    fn reduce_max(self, v: __m512) -> f32 {
        // SAFETY: see the impl.
        unsafe { _mm512_reduce_max_ps(v) }
    }
    #[inline(always)]
    fn reduce_min(self, v: __m512) -> f32 {
        // SAFETY: see the impl.
        unsafe { _mm512_reduce_min_ps(v) }
    }
    #[inline(always)]
    fn reduce_add(self, v: __m512) -> f32 {
        // SAFETY: see the impl.
        unsafe { _mm512_reduce_add_ps(v) }
    }
    #[inline(always)]
    unsafe fn widen_f16(self, src: *const u16, n: usize, dst: *mut f32) {
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: the token proves F16C (in this tier's FEATURES); i + 16 ≤ n: inside
            // both ranges (caller). The conversion is exact (denormals included).
            unsafe {
                _mm512_storeu_ps(
                    dst.add(i),
                    _mm512_cvtph_ps(_mm256_loadu_si256(src.add(i) as *const __m256i)),
                )
            };
            i += 16;
        }
        while i < n {
            // SAFETY: i < n: inside both ranges (caller).
            unsafe { *dst.add(i) = crate::elem::f16_bits_to_f32(*src.add(i)) };
            i += 1;
        }
    }
    #[inline(always)]
    fn prefetch_read(self, p: *const f32) {
        // SAFETY: see the impl; prefetch never faults, so any address is fine.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p as *const i8) }
    }
    const STREAM: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f32, v: Self::V) {
        // SAFETY: see the impl; p..p+LANES writable and 64-byte aligned (caller).
        unsafe { _mm512_stream_ps(p, v) }
    }
    #[inline(always)]
    fn stream_fence(self) {
        // SAFETY: see the impl.
        unsafe { _mm_sfence() }
    }
}
