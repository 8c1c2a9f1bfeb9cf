//! x86-64-v3 (AVX2 + FMA): [`SimdF32`] on `__m256`, 8 lanes; tails with `vmaskmovps` (no
//! access to masked-off lanes), lane masks as all-ones float lanes. The `2^(j/16)` table
//! lookup is two `vpermps` and a blend.

use core::arch::x86_64::*;

use crate::isa::X86V3;
use crate::simd::exp::{ROUND_MAGIC, TABLE, TABLE_ADJ};
use crate::simd::SimdF32;

// Every `unsafe` block in this file: an `X86V3` value exists only when the CPU
// supports AVX2 and FMA (its constructor's contract), which is all these intrinsics need;
// pointer obligations are the caller's, as each method's docs state.

/// Integer lanes: all ones in lanes `0..n`, zero above.
#[inline(always)]
fn low(n: usize) -> __m256i {
    // SAFETY: see the file note.
    unsafe {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

/// Eight bools (bytes 0/1) in the low half of `b` → all-ones float lanes where true.
#[inline(always)]
fn bools_to_mask(b: __m128i) -> __m256 {
    // SAFETY: see the file note.
    unsafe {
        _mm256_castsi256_ps(_mm256_cmpgt_epi32(
            _mm256_cvtepu8_epi32(b),
            _mm256_setzero_si256(),
        ))
    }
}

/// Folds the two 128-bit halves, then the four lanes, with `op` (a commutative lane op).
#[inline(always)]
fn reduce(v: __m256, op: impl Fn(__m128, __m128) -> __m128) -> f32 {
    // SAFETY: see the file note.
    unsafe {
        let x = op(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let x = op(x, _mm_movehl_ps(x, x));
        let x = op(x, _mm_movehdup_ps(x));
        _mm_cvtss_f32(x)
    }
}

impl SimdF32 for X86V3 {
    type V = __m256;
    type M = __m256;
    const LANES: usize = 8;
    const HW_FMA: bool = true;

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m256 {
        // SAFETY: see the file note; p..p+8 readable (caller).
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_part(self, p: *const f32, n: usize, fill: f32) -> __m256 {
        // SAFETY: see the file note; vmaskmovps does not access masked-off lanes.
        unsafe {
            let m = low(n);
            let v = _mm256_maskload_ps(p, m);
            _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(m))
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m256) {
        // SAFETY: see the file note; p..p+8 writable (caller).
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn store_part(self, p: *mut f32, n: usize, v: __m256) {
        // SAFETY: see the file note; vmaskmovps does not access masked-off lanes.
        unsafe { _mm256_maskstore_ps(p, low(n), v) }
    }
    #[inline(always)]
    unsafe fn load_bools(self, p: *const bool) -> __m256 {
        // SAFETY: see the file note; p..p+8 readable (caller), movq reads exactly 8 bytes.
        unsafe { bools_to_mask(_mm_loadl_epi64(p as *const __m128i)) }
    }
    #[inline(always)]
    unsafe fn load_bools_part(self, p: *const bool, n: usize) -> __m256 {
        let mut b = [0u8; 8];
        for (i, slot) in b.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p..p+n readable (caller).
            *slot = unsafe { *p.add(i) } as u8;
        }
        // SAFETY: see the file note; b is 8 readable bytes.
        unsafe { bools_to_mask(_mm_loadl_epi64(b.as_ptr() as *const __m128i)) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn clamp_below(self, x: __m256, lo: __m256) -> __m256 {
        // vmaxps returns its second operand when either is NaN: max(lo, x) keeps a NaN x.
        // SAFETY: see the file note.
        unsafe { _mm256_max_ps(lo, x) }
    }
    #[inline(always)]
    fn clamp_above(self, x: __m256, hi: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_min_ps(hi, x) }
    }
    #[inline(always)]
    fn lookup16(self, kb: __m256) -> __m256 {
        // SAFETY: see the file note. vpermps uses the low 3 bits of each index; bit 3 picks
        // the table half (moved to the sign bit for blendv).
        unsafe {
            let idx = _mm256_castps_si256(kb);
            let lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(TABLE.as_ptr()), idx);
            let hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(TABLE.as_ptr().add(8)), idx);
            _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx)))
        }
    }
    #[inline(always)]
    fn pow2_scale(self, y: __m256, kb: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe {
            let k = _mm256_sub_epi32(
                _mm256_castps_si256(kb),
                _mm256_set1_epi32(ROUND_MAGIC.to_bits() as i32),
            );
            let n = _mm256_srai_epi32::<4>(k);
            let n1 = _mm256_srai_epi32::<1>(n);
            let n2 = _mm256_sub_epi32(n, n1);
            let bias = _mm256_set1_epi32(127);
            let f1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
            let f2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
            _mm256_mul_ps(_mm256_mul_ps(y, f1), f2)
        }
    }
    #[inline(always)]
    fn lookup16_scaled(self, kb: __m256) -> __m256 {
        // SAFETY: see the file note; as lookup16, on the adjusted table.
        unsafe {
            let idx = _mm256_castps_si256(kb);
            let p = TABLE_ADJ.as_ptr() as *const __m256i;
            let lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p), idx);
            let hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(p.add(1)), idx);
            let sel = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx));
            let t = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(lo),
                _mm256_castsi256_ps(hi),
                sel,
            ));
            _mm256_castsi256_ps(_mm256_add_epi32(t, _mm256_slli_epi32::<19>(idx)))
        }
    }
    #[inline(always)]
    fn fma_or_zero(self, x: __m256, thr: __m256, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe {
            _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_NLT_UQ>(x, thr),
                _mm256_fmadd_ps(a, b, c),
            )
        }
    }
    #[inline(always)]
    fn select(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_blendv_ps(b, a, m) }
    }
    #[inline(always)]
    fn is_nan(self, v: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v) }
    }
    #[inline(always)]
    fn mask_or(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the file note.
        unsafe { _mm256_or_ps(a, b) }
    }
    #[inline(always)]
    fn mask_any(self, m: __m256) -> bool {
        // SAFETY: see the file note.
        unsafe { _mm256_movemask_ps(m) != 0 }
    }
    #[inline(always)]
    fn reduce_max(self, v: __m256) -> f32 {
        // SAFETY: see the file note.
        reduce(v, |a, b| unsafe { _mm_max_ps(a, b) })
    }
    #[inline(always)]
    fn reduce_min(self, v: __m256) -> f32 {
        // SAFETY: see the file note.
        reduce(v, |a, b| unsafe { _mm_min_ps(a, b) })
    }
    #[inline(always)]
    fn reduce_add(self, v: __m256) -> f32 {
        // SAFETY: see the file note.
        reduce(v, |a, b| unsafe { _mm_add_ps(a, b) })
    }
    #[inline(always)]
    unsafe fn widen_f16(self, src: *const u16, n: usize, dst: *mut f32) {
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: the token proves F16C (in this tier's FEATURES); i + 8 ≤ n: inside
            // both ranges (caller). The conversion is exact (denormals included).
            unsafe {
                _mm256_storeu_ps(
                    dst.add(i),
                    _mm256_cvtph_ps(_mm_loadu_si128(src.add(i) as *const __m128i)),
                )
            };
            i += 8;
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
        // SAFETY: see the impl; p..p+LANES writable and 32-byte aligned (caller).
        unsafe { _mm256_stream_ps(p, v) }
    }
    #[inline(always)]
    fn stream_fence(self) {
        // SAFETY: see the impl.
        unsafe { _mm_sfence() }
    }
}
