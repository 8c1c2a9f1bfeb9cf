//! The portable tier: an 8 × 6 microkernel on `wide::f32x8`, lowered to whatever the
//! compile-time target features give (two SSE registers per vector on plain x86-64, AVX with
//! `-C target-cpu=native`, NEON on aarch64, simd128 on wasm32, scalar elsewhere).
//!
//! `f32x8::mul_add` fuses only when the build enables FMA; either way the order of the sum is
//! fixed ([`microkernel`](super::microkernel)).

use wide::f32x8;

use super::microkernel::{Bias, Microkernel};
use crate::isa::Portable;

/// `gemm_ukr_portable_8x6`: six `f32x8` accumulators.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrPortable8x6(#[allow(dead_code)] pub(crate) Portable);

const MR: usize = 8;
const NR: usize = 6;

impl Microkernel for UkrPortable8x6 {
    const MR: usize = MR;
    const NR: usize = NR;
    // Small cache blocks that fit any hierarchy.
    const MC: usize = 128;
    const KC: usize = 256;
    const NC: usize = 1536;
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
        let mut acc = [f32x8::splat(0.0); NR];
        for p in 0..kc {
            // SAFETY: column p of the A micropanel (MR elements) and row p of the B micropanel
            // (NR elements) are readable (trait contract).
            let (ac, br) = unsafe {
                (
                    f32x8::new(core::ptr::read_unaligned(a.add(p * lda) as *const [f32; MR])),
                    core::ptr::read_unaligned(b.add(p * rsb) as *const [f32; NR]),
                )
            };
            for j in 0..NR {
                acc[j] = ac.mul_add(f32x8::splat(br[j]), acc[j]);
            }
        }
        let va = f32x8::splat(alpha);
        let vb = f32x8::splat(beta);
        for (j, &x) in acc.iter().enumerate() {
            // SAFETY: column j of the tile, MR elements from c + j·csc, is valid and distinct
            // (trait contract); it is read only when β ≠ 0. The bias's column j (MR elements
            // from ptr + j·cs when rs = 1, one element when rs = 0) is readable when there is
            // one (trait contract).
            unsafe {
                let col = c.add(j * csc) as *mut [f32; MR];
                let mut r = va * x;
                if beta != 0.0 {
                    r += vb * f32x8::new(core::ptr::read_unaligned(col));
                }
                if bias.is_some() {
                    let q = bias.ptr.add(j * bias.cs);
                    r += if bias.rs == 0 {
                        f32x8::splat(*q)
                    } else {
                        f32x8::new(core::ptr::read_unaligned(q as *const [f32; MR]))
                    };
                }
                core::ptr::write_unaligned(col, r.to_array());
            }
        }
    }
}
