//! x86-64-v3 (AVX2 + FMA): the 16 × 6 microkernel `gemm_ukr_x86_v3_16x6`.
//!
//! 12 ymm accumulators (two 8-lane vectors down each of 6 columns), two loads of the A
//! micropanel and 6 broadcasts of B per step, leaving 3 of the 16 ymm registers for operands.
//! Arithmetic and write-back order as in [`microkernel`](crate::gemm::microkernel).
//!
//! Edge tiles run the same code instantiated for fewer vectors (`NV = 1` when at most 8 rows
//! are live) and fewer columns (`NC < 6`), with masked loads and stores of C and of a bias
//! along the rows (`vmaskmovps`): no wasted columns, no buffer, and the same bits as the full
//! tile.

use core::arch::x86_64::*;

use crate::gemm::microkernel::{Bias, Microkernel};
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
        // SAFETY: `self` holds an X86V3 token (AVX2 and FMA are present); the pointer ranges are
        // the trait contract's, forwarded unchanged; all 16 rows are live.
        unsafe {
            gemm_ukr_x86_v3::<2, NR>(kc, alpha, (a, lda), (b, rsb, csb), beta, bias, c, csc, MR)
        }
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
        let (a, b) = ((a, lda), (b, rsb, csb));
        // SAFETY: as `tile_bias`; the instance chosen reads NV·8 ≤ 16 rows of A and NC ≤ 6
        // columns of B (all readable) and touches C and the bias only in rows < mr (masks)
        // and columns < nr = NC.
        unsafe {
            if mr > 8 {
                edge_cols::<2>(kc, alpha, a, b, beta, bias, c, csc, mr, nr)
            } else {
                edge_cols::<1>(kc, alpha, a, b, beta, bias, c, csc, mr, nr)
            }
        }
    }
}

/// Picks the instance with `NC = nr` columns.
///
/// # Safety
///
/// As [`gemm_ukr_x86_v3`] with `NC = nr`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn edge_cols<const NV: usize>(
    kc: usize,
    alpha: f32,
    a: (*const f32, usize),
    b: (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    c: *mut f32,
    csc: usize,
    rows: usize,
    nr: usize,
) {
    // SAFETY: forwarded; each arm's NC equals nr.
    unsafe {
        match nr {
            1 => gemm_ukr_x86_v3::<NV, 1>(kc, alpha, a, b, beta, bias, c, csc, rows),
            2 => gemm_ukr_x86_v3::<NV, 2>(kc, alpha, a, b, beta, bias, c, csc, rows),
            3 => gemm_ukr_x86_v3::<NV, 3>(kc, alpha, a, b, beta, bias, c, csc, rows),
            4 => gemm_ukr_x86_v3::<NV, 4>(kc, alpha, a, b, beta, bias, c, csc, rows),
            5 => gemm_ukr_x86_v3::<NV, 5>(kc, alpha, a, b, beta, bias, c, csc, rows),
            _ => gemm_ukr_x86_v3::<NV, 6>(kc, alpha, a, b, beta, bias, c, csc, rows),
        }
    }
}

/// `C[0..8·NV, 0..NC] ← α·Ã·B̃ + β·C + bias` restricted to rows `< rows`.
///
/// B is read at `b + p·rsb + j·csb`; the loop is specialised for `csb = 1` (packed panels,
/// row-major B) and `rsb = 1` (column-major B, in place or packed column by column).
///
/// # Safety
///
/// The CPU supports AVX2 and FMA. `a + p·lda + i` readable for `p < kc`, `i < 8·NV`;
/// `b + p·rsb + j·csb` readable for `p < kc`, `j < NC`, with `csb = 1` or `rsb = 1`;
/// `c + i + j·csc` valid (readable unless β = 0, writable, distinct) and the bias's `(i, j)`
/// readable (unless none) for `i < rows ≤ 8·NV`, `j < NC`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gemm_ukr_x86_v3<const NV: usize, const NC: usize>(
    kc: usize,
    alpha: f32,
    (a, lda): (*const f32, usize),
    (b, rsb, csb): (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    c: *mut f32,
    csc: usize,
    rows: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); NV]; NC];
    // Warm the C tile's lines while the k loop runs: they are needed only at the end.
    for j in 0..NC {
        let cj = c.wrapping_add(j * csc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(cj);
        _mm_prefetch::<_MM_HINT_T0>(cj.wrapping_add(32 * NV - 4));
    }
    // B row p at `b + p·rsb`, its elements `csb` apart. Two loops, so that the packed /
    // row-major case (`csb = 1`) gets constant offsets; a column-major B (`rsb = 1`) has one
    // base pointer walking down the columns, the column offsets loop invariants.
    let (mut a, mut b) = (a, b);
    if csb == 1 {
        for _ in 0..kc {
            // SAFETY: column p of A (8·NV elements at a) and row p of B (NC elements at b) are
            // readable for p < kc (contract); both advance one step.
            unsafe {
                rank1::<NV, NC>(&mut acc, a, b, 1);
                a = a.add(lda);
                b = b.add(rsb);
            }
        }
    } else {
        for _ in 0..kc {
            // SAFETY: as above, with B's element (p, j) at b + j·csb, b advancing by rsb = 1.
            unsafe {
                rank1::<NV, NC>(&mut acc, a, b, csb);
                a = a.add(lda);
                b = b.add(1);
            }
        }
    }
    // Lane l of vector v is live iff 8·v + l < rows: a sign-bit mask for vmaskmovps.
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut mask = [_mm256_setzero_si256(); NV];
    for (v, m) in mask.iter_mut().enumerate() {
        let live = rows.saturating_sub(8 * v).min(8) as i32;
        *m = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), lanes);
    }
    let full = rows >= 8 * NV;
    let va = _mm256_set1_ps(alpha);
    let vb = _mm256_set1_ps(beta);
    for (j, col) in acc.iter().enumerate() {
        for (v, &x) in col.iter().enumerate() {
            // SAFETY: the live rows of column j (c + j·csc + 8·v ..) are valid and distinct
            // (contract); C is read only when β ≠ 0 and the bias only when there is one, each
            // only at live rows (masked-off lanes of vmaskmovps are neither read nor written
            // and do not fault).
            unsafe {
                let p = c.add(j * csc + 8 * v);
                let mut r = _mm256_mul_ps(va, x);
                if beta != 0.0 {
                    let cv = if full {
                        _mm256_loadu_ps(p)
                    } else {
                        _mm256_maskload_ps(p, mask[v])
                    };
                    r = _mm256_add_ps(r, _mm256_mul_ps(vb, cv));
                }
                if bias.is_some() {
                    let bv = if bias.rs == 0 {
                        _mm256_set1_ps(*bias.ptr.add(j * bias.cs))
                    } else {
                        let q = bias.ptr.add(j * bias.cs + 8 * v);
                        if full {
                            _mm256_loadu_ps(q)
                        } else {
                            _mm256_maskload_ps(q, mask[v])
                        }
                    };
                    r = _mm256_add_ps(r, bv);
                }
                if full {
                    _mm256_storeu_ps(p, r);
                } else {
                    _mm256_maskstore_ps(p, mask[v], r);
                }
            }
        }
    }
}

/// `acc[j][v] += A[8·v + i, p] · B[p, j]` for one step `p`: A's column at `a` (`8·NV`
/// elements), B's row at `b` with its `NC` elements `csb` apart.
///
/// # Safety
///
/// The CPU supports AVX2 and FMA (the enclosing `#[target_feature]` kernel, into which this
/// is inlined); `a` readable for `8·NV` elements, `b + j·csb` for `j < NC`.
#[inline(always)]
unsafe fn rank1<const NV: usize, const NC: usize>(
    acc: &mut [[__m256; NV]; NC],
    a: *const f32,
    b: *const f32,
    csb: usize,
) {
    // SAFETY: the caller's contract: the features, and the ranges read.
    unsafe {
        let mut av = [_mm256_setzero_ps(); NV];
        for (v, x) in av.iter_mut().enumerate() {
            *x = _mm256_loadu_ps(a.add(8 * v));
        }
        for (j, col) in acc.iter_mut().enumerate() {
            let bj = _mm256_broadcast_ss(&*b.add(j * csb));
            for v in 0..NV {
                col[v] = _mm256_fmadd_ps(av[v], bj, col[v]);
            }
        }
    }
}
