//! x86-64-v3 (AVX2 + FMA): the 16 × 6 microkernel `gemm_ukr_x86_v3_16x6`.
//!
//! 12 ymm accumulators (two 8-lane vectors down each of 6 columns), two loads of the A
//! micropanel and 6 broadcasts of B per step, leaving 3 of the 16 ymm registers for operands.
//! Arithmetic as in [`microkernel`](crate::gemm::microkernel); write-back is `α·acc (+ β·c)`
//! without fusion.

use core::arch::x86_64::*;

use crate::gemm::microkernel::Microkernel;
use crate::isa::X86V3;

const MR: usize = 16;
const NR: usize = 6;

/// The AVX2 16 × 6 microkernel; holding one proves the CPU has x86-64-v3.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrX86V3(#[allow(dead_code)] pub(crate) X86V3);

impl Microkernel for UkrX86V3 {
    const MR: usize = MR;
    const NR: usize = NR;
    // Cache blocks: B micropanel 384·6·4 = 9 KiB in L1 beside the A columns streaming through,
    // A block 96·384·4 = 144 KiB in L2, B panel 4.5 MiB in L3 (the v4 reasoning). Against
    // MC/KC = 384/256 and 192/512: 2–3 % ahead at 1024³–2048³, equal at 512³ (`matmul/*`).
    const MC: usize = 96;
    const KC: usize = 384;
    const NC: usize = 3072;
    const DIRECT_B: bool = true;

    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: a prefetch is a hint: it never faults, whatever the address (SSE is part
        // of the x86-64 baseline).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }

    #[inline(always)]
    unsafe fn tile_strided(
        self,
        kc: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        csb: usize,
        beta: f32,
        c: *mut f32,
        csc: usize,
    ) {
        // SAFETY: `self` holds an X86V3 token (AVX2 and FMA are present); the pointer ranges are
        // the trait contract's, forwarded unchanged.
        unsafe { gemm_ukr_x86_v3_16x6(kc, alpha, a, lda, b, rsb, csb, beta, c, csc) }
    }
}

/// One 16 × 6 tile: see [`Microkernel::tile`].
///
/// # Safety
///
/// The CPU supports AVX2 and FMA; pointer ranges as in [`Microkernel::tile`] with `MR = 16`,
/// `NR = 6` (B with `csb = 1` or `rsb = 1`).
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_ukr_x86_v3_16x6(
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    rsb: usize,
    csb: usize,
    beta: f32,
    c: *mut f32,
    csc: usize,
) {
    let mut lo = [_mm256_setzero_ps(); NR];
    let mut hi = [_mm256_setzero_ps(); NR];
    for j in 0..NR {
        let cj = c.wrapping_add(j * csc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(cj);
        _mm_prefetch::<_MM_HINT_T0>(cj.wrapping_add(60));
    }
    let mut a = a;
    if csb == 1 {
        let mut b = b;
        for _ in 0..kc {
            // SAFETY: column p of A (16 elements at a) and row p of B (6 elements at b) are
            // readable for p < kc (contract); the pointers advance by one step each iteration.
            unsafe {
                let a0 = _mm256_loadu_ps(a);
                let a1 = _mm256_loadu_ps(a.add(8));
                for j in 0..NR {
                    let bj = _mm256_broadcast_ss(&*b.add(j));
                    lo[j] = _mm256_fmadd_ps(a0, bj, lo[j]);
                    hi[j] = _mm256_fmadd_ps(a1, bj, hi[j]);
                }
                a = a.add(lda);
                b = b.add(rsb);
            }
        }
    } else {
        // Column-major B in place (rsb = 1): column j is contiguous from b + j·csb.
        let mut cols = [b; NR];
        for (j, p) in cols.iter_mut().enumerate() {
            *p = b.wrapping_add(j * csb);
        }
        for p in 0..kc {
            // SAFETY: as above, with B's element (p, j) at cols[j] + p.
            unsafe {
                let a0 = _mm256_loadu_ps(a);
                let a1 = _mm256_loadu_ps(a.add(8));
                for j in 0..NR {
                    let bj = _mm256_broadcast_ss(&*cols[j].add(p));
                    lo[j] = _mm256_fmadd_ps(a0, bj, lo[j]);
                    hi[j] = _mm256_fmadd_ps(a1, bj, hi[j]);
                }
                a = a.add(lda);
            }
        }
    }
    let va = _mm256_set1_ps(alpha);
    let vb = _mm256_set1_ps(beta);
    for j in 0..NR {
        // SAFETY: column j of the C tile (16 elements at c + j·csc) is valid, distinct from the
        // other columns (csc ≥ 16) and read only when β ≠ 0 (contract).
        unsafe {
            let cj = c.add(j * csc);
            let (mut r0, mut r1) = (_mm256_mul_ps(va, lo[j]), _mm256_mul_ps(va, hi[j]));
            if beta != 0.0 {
                r0 = _mm256_add_ps(r0, _mm256_mul_ps(vb, _mm256_loadu_ps(cj)));
                r1 = _mm256_add_ps(r1, _mm256_mul_ps(vb, _mm256_loadu_ps(cj.add(8))));
            }
            _mm256_storeu_ps(cj, r0);
            _mm256_storeu_ps(cj.add(8), r1);
        }
    }
}
