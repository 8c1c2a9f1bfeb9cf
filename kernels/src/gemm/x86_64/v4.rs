//! x86-64-v4 (AVX-512F): the 32 × 12 microkernel `gemm_ukr_x86_v4_32x12`.
//!
//! 24 zmm accumulators (two 16-lane vectors down each of 12 columns); per step two zmm loads of
//! the A micropanel and 12 broadcasts of B feed 24 FMAs, so the FMA pipes, not the load ports,
//! set the pace. Arithmetic and write-back order as in [`microkernel`](crate::gemm::microkernel).
//!
//! Edge tiles run the same code instantiated for fewer vectors (`NV = 1` when at most 16 rows
//! are live) and fewer columns (`NC < 12`), with masked loads and stores of C and of a bias
//! along the rows: no wasted columns, no buffer, and the same bits as the full tile.

use core::arch::x86_64::*;

use crate::gemm::microkernel::{Bias, Microkernel};
use crate::isa::X86V4;

const MR: usize = 32;
const NR: usize = 12;

/// The AVX-512 32 × 12 microkernel; holding one proves the CPU has x86-64-v4.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UkrX86V4(#[allow(dead_code)] pub(crate) X86V4);

impl Microkernel for UkrX86V4 {
    const MR: usize = MR;
    const NR: usize = NR;
    // Cache blocks (reasoning in `gemm::blocking`):
    // * KC = 384: the B micropanel is 384·12·4 = 18 KiB, just over half of the 32 KiB L1,
    //   leaving room for the A micropanel columns streaming through (128 B per step) and the
    //   C tile; 384 steps amortise the 24-vector write-back of C to about 1 %.
    // * MC = 96: the A block is 96·384·4 = 144 KiB, a seventh of the 1 MiB L2, so it stays
    //   there while B micropanels and C lines pass through; three A micropanels per block.
    // * NC = 768: the B panel is 384·768·4 = 1.1 MiB of the shared L3; A is packed once per
    //   768 columns. Against 1536 and 3072 at 2048³ with the other core busy: 3 % ahead (a
    //   small panel keeps its L3 share under contention).
    // KC 128/192/256/384/512 and MC 64/96/192/384 measured at 512³–2048³ (`matmul/*`, Zen 4):
    // KC = 128 lost 5–8 %, the rest were within the ±3 % noise of a shared machine.
    const MC: usize = 96;
    const KC: usize = 384;
    const NC: usize = 768;
    const DIRECT_B: bool = true;

    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: a prefetch is a hint: it never faults, whatever the address (SSE is part
        // of the x86-64 baseline).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }

    #[inline(always)]
    unsafe fn tile_bias(
        self,
        kc: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        csb: usize,
        beta: f32,
        bias: Bias,
        c: *mut f32,
        csc: usize,
    ) {
        let b = (b, rsb, csb);
        // SAFETY: `self` holds an X86V4 token (AVX-512F is present); the pointer ranges are the
        // trait contract's, forwarded unchanged; all 32 rows are live.
        unsafe { gemm_ukr_x86_v4::<2, NR>(kc, alpha, a, lda, b, beta, bias, c, csc, !0) }
    }

    #[inline(always)]
    unsafe fn tile_edge(
        self,
        kc: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        csb: usize,
        beta: f32,
        bias: Bias,
        c: *mut f32,
        csc: usize,
        mr: usize,
        nr: usize,
    ) {
        // Lane i of the 32-row tile is live iff i < mr.
        let rows = if mr >= 32 { !0u32 } else { (1u32 << mr) - 1 };
        let b = (b, rsb, csb);
        // SAFETY: as `tile_bias`; the instance chosen reads NV·16 ≤ 32 rows of A and NC ≤ 12
        // columns of B (all readable) and touches C and the bias only in rows < mr (mask) and
        // columns < nr = NC.
        unsafe {
            if mr > 16 {
                edge_cols::<2>(kc, alpha, a, lda, b, beta, bias, c, csc, rows, nr)
            } else {
                edge_cols::<1>(kc, alpha, a, lda, b, beta, bias, c, csc, rows, nr)
            }
        }
    }
}

/// Picks the instance with `NC = nr` columns.
///
/// # Safety
///
/// As [`gemm_ukr_x86_v4`] with `NC = nr`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")]
unsafe fn edge_cols<const NV: usize>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    c: *mut f32,
    csc: usize,
    rows: u32,
    nr: usize,
) {
    // SAFETY: forwarded; each arm's NC equals nr.
    unsafe {
        match nr {
            1 => gemm_ukr_x86_v4::<NV, 1>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            2 => gemm_ukr_x86_v4::<NV, 2>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            3 => gemm_ukr_x86_v4::<NV, 3>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            4 => gemm_ukr_x86_v4::<NV, 4>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            5 => gemm_ukr_x86_v4::<NV, 5>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            6 => gemm_ukr_x86_v4::<NV, 6>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            7 => gemm_ukr_x86_v4::<NV, 7>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            8 => gemm_ukr_x86_v4::<NV, 8>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            9 => gemm_ukr_x86_v4::<NV, 9>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            10 => gemm_ukr_x86_v4::<NV, 10>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            11 => gemm_ukr_x86_v4::<NV, 11>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
            _ => gemm_ukr_x86_v4::<NV, 12>(kc, alpha, a, lda, b, beta, bias, c, csc, rows),
        }
    }
}

/// `C[0..16·NV, 0..NC] ← α·Ã·B̃ + β·C + bias` restricted to the rows set in `rows` (bit i:
/// row i).
///
/// B is read at `b + p·rsb + j·csb`; the loop is specialised for `csb = 1` (packed panels,
/// row-major B) and `rsb = 1` (column-major B read in place).
///
/// # Safety
///
/// The CPU supports AVX-512F. `a + p·lda + i` readable for `p < kc`, `i < 16·NV`;
/// `b + p·rsb + j·csb` readable for `p < kc`, `j < NC`, with `csb = 1` or `rsb = 1`;
/// `c + i + j·csc` valid (readable unless β = 0, writable, distinct) and the bias's `(i, j)`
/// readable (unless none) for the rows in `rows` and `j < NC`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")]
unsafe fn gemm_ukr_x86_v4<const NV: usize, const NC: usize>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    (b, rsb, csb): (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    c: *mut f32,
    csc: usize,
    rows: u32,
) {
    let mut acc = [[_mm512_setzero_ps(); NV]; NC];
    // Warm the C tile's lines while the k loop runs: they are needed only at the end.
    for j in 0..NC {
        let cj = c.wrapping_add(j * csc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(cj);
        _mm_prefetch::<_MM_HINT_T0>(cj.wrapping_add(64 * NV - 4));
    }
    let mut a = a;
    if csb == 1 {
        let mut b = b;
        for _ in 0..kc {
            // SAFETY: column p of A (16·NV elements at a) and row p of B (NC elements at b)
            // are readable for p < kc (contract); both pointers advance one step.
            unsafe {
                let mut av = [_mm512_setzero_ps(); NV];
                for (v, x) in av.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(a.add(16 * v));
                }
                for (j, col) in acc.iter_mut().enumerate() {
                    let bj = _mm512_set1_ps(*b.add(j));
                    for v in 0..NV {
                        col[v] = _mm512_fmadd_ps(av[v], bj, col[v]);
                    }
                }
                a = a.add(lda);
                b = b.add(rsb);
            }
        }
    } else {
        // Column-major B (in place, or packed column by column): column j is contiguous from
        // b + j·csb. One base pointer walks down the columns; the column offsets are loop
        // invariants (x86 addressing scales 3·csb, 5·csb, … by 1, 2, 4, 8).
        let mut bp = b;
        for _ in 0..kc {
            // SAFETY: as above, with B's element (p, j) at bp + j·csb (rsb = 1), bp = b + p.
            unsafe {
                let mut av = [_mm512_setzero_ps(); NV];
                for (v, x) in av.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(a.add(16 * v));
                }
                for (j, col) in acc.iter_mut().enumerate() {
                    let bj = _mm512_set1_ps(*bp.add(j * csb));
                    for v in 0..NV {
                        col[v] = _mm512_fmadd_ps(av[v], bj, col[v]);
                    }
                }
                a = a.add(lda);
                bp = bp.add(1);
            }
        }
    }
    let va = _mm512_set1_ps(alpha);
    let vb = _mm512_set1_ps(beta);
    for (j, col) in acc.iter().enumerate() {
        for (v, &x) in col.iter().enumerate() {
            let mask = (rows >> (16 * v)) as u16;
            // SAFETY: rows set in `mask` of column j (c + j·csc + 16·v ..) are valid and
            // distinct (contract); C is read only when β ≠ 0 and the bias only when there is
            // one, each only at those rows; masked-off lanes are neither read nor written
            // (AVX-512 masked memory operations do not fault on them).
            unsafe {
                let p = c.add(j * csc + 16 * v);
                let full = mask == 0xFFFF;
                let mut r = _mm512_mul_ps(va, x);
                if beta != 0.0 {
                    let cv = if full {
                        _mm512_loadu_ps(p)
                    } else {
                        _mm512_maskz_loadu_ps(mask, p)
                    };
                    r = _mm512_add_ps(r, _mm512_mul_ps(vb, cv));
                }
                if bias.is_some() {
                    let bv = if bias.rs == 0 {
                        _mm512_set1_ps(*bias.ptr.add(j * bias.cs))
                    } else {
                        _mm512_maskz_loadu_ps(mask, bias.ptr.add(j * bias.cs + 16 * v))
                    };
                    r = _mm512_add_ps(r, bv);
                }
                if full {
                    _mm512_storeu_ps(p, r);
                } else {
                    _mm512_mask_storeu_ps(p, mask, r);
                }
            }
        }
    }
}
