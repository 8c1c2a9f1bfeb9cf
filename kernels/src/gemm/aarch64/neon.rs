//! aarch64 NEON: the 8 × 8 microkernel `gemm_ukr_neon_8x8`.
//!
//! 16 q-register accumulators (two 4-lane vectors down each of 8 columns); per step two loads
//! of the A micropanel, two of the B row, and 16 `fmla`s by lane. Arithmetic and write-back
//! order as in [`microkernel`](crate::gemm::microkernel).

use core::arch::aarch64::*;

use crate::gemm::microkernel::{Bias, Microkernel};
use crate::isa::Neon;

const MR: usize = 8;
const NR: usize = 8;

/// The NEON 8 × 8 microkernel; holding one proves the CPU has NEON.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrNeon(#[allow(dead_code)] pub(crate) Neon);

impl Microkernel for UkrNeon {
    const MR: usize = MR;
    const NR: usize = NR;
    // Cache blocks: 8 KiB B micropanel, 256 KiB A block (typical 64 KiB L1 / 1–2 MiB L2 cores
    // have room to spare).
    const MC: usize = 256;
    const KC: usize = 256;
    const NC: usize = 2048;
    const DIRECT_B: bool = false;

    #[inline(always)]
    unsafe fn tile_bias(
        self,
        kc: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        _csb: usize,
        beta: f32,
        bias: Bias,
        c: *mut f32,
        csc: usize,
    ) {
        // SAFETY: `self` holds a Neon token; the pointer ranges are the trait contract's.
        unsafe { gemm_ukr_neon_8x8(kc, alpha, a, lda, b, rsb, beta, bias, c, csc) }
    }
}

/// One 8 × 8 tile: see [`Microkernel::tile_bias`].
///
/// # Safety
///
/// The CPU supports NEON; pointer ranges as in [`Microkernel::tile_bias`] with
/// `MR = NR = 8`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "neon")]
unsafe fn gemm_ukr_neon_8x8(
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    bias: Bias,
    c: *mut f32,
    csc: usize,
) {
    let mut lo = [vdupq_n_f32(0.0); NR];
    let mut hi = [vdupq_n_f32(0.0); NR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        // SAFETY: column p of A (8 elements at a) and row p of B (8 elements at b) are
        // readable for p < kc (contract); the pointers advance by one step each iteration.
        unsafe {
            let a0 = vld1q_f32(a);
            let a1 = vld1q_f32(a.add(4));
            let b0 = vld1q_f32(b);
            let b1 = vld1q_f32(b.add(4));
            lo[0] = vfmaq_laneq_f32::<0>(lo[0], a0, b0);
            hi[0] = vfmaq_laneq_f32::<0>(hi[0], a1, b0);
            lo[1] = vfmaq_laneq_f32::<1>(lo[1], a0, b0);
            hi[1] = vfmaq_laneq_f32::<1>(hi[1], a1, b0);
            lo[2] = vfmaq_laneq_f32::<2>(lo[2], a0, b0);
            hi[2] = vfmaq_laneq_f32::<2>(hi[2], a1, b0);
            lo[3] = vfmaq_laneq_f32::<3>(lo[3], a0, b0);
            hi[3] = vfmaq_laneq_f32::<3>(hi[3], a1, b0);
            lo[4] = vfmaq_laneq_f32::<0>(lo[4], a0, b1);
            hi[4] = vfmaq_laneq_f32::<0>(hi[4], a1, b1);
            lo[5] = vfmaq_laneq_f32::<1>(lo[5], a0, b1);
            hi[5] = vfmaq_laneq_f32::<1>(hi[5], a1, b1);
            lo[6] = vfmaq_laneq_f32::<2>(lo[6], a0, b1);
            hi[6] = vfmaq_laneq_f32::<2>(hi[6], a1, b1);
            lo[7] = vfmaq_laneq_f32::<3>(lo[7], a0, b1);
            hi[7] = vfmaq_laneq_f32::<3>(hi[7], a1, b1);
            a = a.add(lda);
            b = b.add(ldb);
        }
    }
    let va = vdupq_n_f32(alpha);
    let vb = vdupq_n_f32(beta);
    for j in 0..NR {
        // SAFETY: column j of the C tile (8 elements at c + j·csc) is valid, distinct from the
        // other columns (csc ≥ 8) and read only when β ≠ 0; the bias's column j (8 elements
        // from ptr + j·cs when rs = 1, one when rs = 0) is readable when there is one
        // (contract).
        unsafe {
            let cj = c.add(j * csc);
            let (mut r0, mut r1) = (vmulq_f32(va, lo[j]), vmulq_f32(va, hi[j]));
            if beta != 0.0 {
                r0 = vaddq_f32(r0, vmulq_f32(vb, vld1q_f32(cj)));
                r1 = vaddq_f32(r1, vmulq_f32(vb, vld1q_f32(cj.add(4))));
            }
            if bias.is_some() {
                let q = bias.ptr.add(j * bias.cs);
                let (b0, b1) = if bias.rs == 0 {
                    (vld1q_dup_f32(q), vld1q_dup_f32(q))
                } else {
                    (vld1q_f32(q), vld1q_f32(q.add(4)))
                };
                r0 = vaddq_f32(r0, b0);
                r1 = vaddq_f32(r1, b1);
            }
            vst1q_f32(cj, r0);
            vst1q_f32(cj.add(4), r1);
        }
    }
}
