//! x86-64-v4 (AVX-512F): the 32 × 12 microkernel `gemm_ukr_x86_v4_32x12`.
//!
//! 24 zmm accumulators (two 16-lane vectors down each of 12 columns), two zmm loads of the A
//! micropanel and 12 broadcasts of B per step: 24 FMAs against 14 loads, so the two FMA pipes
//! stay busy while the load ports keep up. Arithmetic as in
//! [`microkernel`](crate::gemm::microkernel); write-back is `α·acc (+ β·c)` without fusion.

use core::arch::x86_64::*;

use crate::gemm::blocking::Blocking;
use crate::gemm::loops::{gemm_nest, GemmArgs};
use crate::gemm::microkernel::Microkernel;
use crate::gemm::GemmKernel;
use crate::isa::X86V4;

const MR: usize = 32;
const NR: usize = 12;

/// The AVX-512 32 × 12 microkernel; holding one proves the CPU has x86-64-v4.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrX86V4(#[allow(dead_code)] pub(crate) X86V4);

impl Microkernel for UkrX86V4 {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(
        self,
        kc: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        beta: f32,
        c: *mut f32,
        csc: usize,
    ) {
        // SAFETY: `self` holds an X86V4 token (AVX-512F is present); the pointer ranges are the
        // trait contract's, forwarded unchanged.
        unsafe { gemm_ukr_x86_v4_32x12(kc, alpha, a, lda, b, ldb, beta, c, csc) }
    }
}

/// One 32 × 12 tile: see [`Microkernel::tile`].
///
/// # Safety
///
/// The CPU supports AVX-512F; pointer ranges as in [`Microkernel::tile`] with `MR = 32`,
/// `NR = 12`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn gemm_ukr_x86_v4_32x12(
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    csc: usize,
) {
    let mut lo = [_mm512_setzero_ps(); NR];
    let mut hi = [_mm512_setzero_ps(); NR];
    // Warm the C tile's lines while the k loop runs: they are needed only at the end.
    for j in 0..NR {
        let cj = c.wrapping_add(j * csc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(cj);
        _mm_prefetch::<_MM_HINT_T0>(cj.wrapping_add(124));
    }
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        // SAFETY: column p of A (32 elements at a) and row p of B (12 elements at b) are
        // readable for p < kc (contract); the pointers advance by one step each iteration.
        unsafe {
            let a0 = _mm512_loadu_ps(a);
            let a1 = _mm512_loadu_ps(a.add(16));
            for j in 0..NR {
                let bj = _mm512_set1_ps(*b.add(j));
                lo[j] = _mm512_fmadd_ps(a0, bj, lo[j]);
                hi[j] = _mm512_fmadd_ps(a1, bj, hi[j]);
            }
            a = a.add(lda);
            b = b.add(ldb);
        }
    }
    let va = _mm512_set1_ps(alpha);
    let vb = _mm512_set1_ps(beta);
    for j in 0..NR {
        // SAFETY: column j of the C tile (32 elements at c + j·csc) is valid, distinct from the
        // other columns (csc ≥ 32) and read only when β ≠ 0 (contract).
        unsafe {
            let cj = c.add(j * csc);
            let (mut r0, mut r1) = (_mm512_mul_ps(va, lo[j]), _mm512_mul_ps(va, hi[j]));
            if beta != 0.0 {
                r0 = _mm512_add_ps(r0, _mm512_mul_ps(vb, _mm512_loadu_ps(cj)));
                r1 = _mm512_add_ps(r1, _mm512_mul_ps(vb, _mm512_loadu_ps(cj.add(16))));
            }
            _mm512_storeu_ps(cj, r0);
            _mm512_storeu_ps(cj.add(16), r1);
        }
    }
}

/// The x86-64-v4 whole-op entry: the loop nest compiled with AVX-512.
///
/// # Safety
///
/// As [`crate::gemm::GemmEntry`]; the CPU supports x86-64-v4.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn gemm_x86_v4(args: &GemmArgs, ws: *mut f32) {
    // SAFETY: this entry is reachable only through a GemmKernel built from an X86V4 token
    // (`gemm_kernel`), so the features are present; the rest is the caller's contract.
    unsafe {
        let t = X86V4::new_unchecked();
        gemm_nest(UkrX86V4(t), &Blocking::X86_V4, args, ws)
    }
}

pub(crate) fn gemm_kernel(_t: X86V4) -> GemmKernel {
    GemmKernel {
        run: gemm_x86_v4,
        blocking: Blocking::X86_V4,
    }
}
