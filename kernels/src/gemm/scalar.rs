//! The scalar tier: a 4 × 4 microkernel in plain Rust (no FMA: `core` has no `mul_add`, and a
//! software one would be slow), correct on every target.

use super::microkernel::{write_back, Bias, Microkernel};
use crate::isa::Scalar;

/// `gemm_ukr_scalar_4x4`: 16 scalar accumulators.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrScalar4x4(#[allow(dead_code)] pub(crate) Scalar);

const MR: usize = 4;
const NR: usize = 4;

impl Microkernel for UkrScalar4x4 {
    const MR: usize = MR;
    const NR: usize = NR;
    const MC: usize = 128;
    const KC: usize = 256;
    const NC: usize = 1024;
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
        let mut acc = [[0.0f32; MR]; NR];
        for p in 0..kc {
            // SAFETY: column p of the A micropanel and row p of the B micropanel are readable
            // for MR and NR elements (trait contract).
            let (ac, br) = unsafe {
                (
                    core::ptr::read_unaligned(a.add(p * lda) as *const [f32; MR]),
                    core::ptr::read_unaligned(b.add(p * rsb) as *const [f32; NR]),
                )
            };
            for j in 0..NR {
                for i in 0..MR {
                    acc[j][i] += ac[i] * br[j];
                }
            }
        }
        for (j, col) in acc.iter().enumerate() {
            for (i, &x) in col.iter().enumerate() {
                // SAFETY: c + i + j·csc is a valid, distinct element of the tile, and the bias's
                // (i, j) is readable when there is one (contract).
                unsafe { write_back(alpha * x, beta, bias.get(i, j), &mut *c.add(i + j * csc)) };
            }
        }
    }
}
