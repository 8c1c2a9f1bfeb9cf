//! The BLIS loop nest, generic over the [`Microkernel`]. No ISA code lives here.
//!
//! ```text
//! LOOP 5  jc: NC columns of B and C           B panel  KC × NC  → L3
//!  LOOP 4  pc: KC steps of k (pack B panel)   β for the first step, 1 afterwards
//!   LOOP 3  ic: MC rows of A and C (pack A)   A block  MC × KC  → L2
//!    LOOP 2  jr: NR columns                   B micropanel KC × NR → L1
//!     LOOP 1  ir: MR rows                     A micropanel streamed from L2
//!      microkernel: MR × NR tile of C in registers
//! ```
//!
//! The kernel's vector direction runs down the columns of C, so when C is row-major
//! (`csc = 1`) the nest computes `Cᵀ = Bᵀ·Aᵀ` instead, which is the same arithmetic on the
//! same elements with the operands' strides swapped ([`GemmArgs::oriented`]). A prepacked B
//! ([`PackedB`](super::PackedB)) is always taken that way round: it is the A side of `Cᵀ`,
//! and LOOP 3 indexes its blocks instead of packing them.
//!
//! The bias joins in the write-back of the first rank-`kc` update, beside `β·C`: the first
//! update writes `(α·acc + β·c) + bias`, the later ones `α·acc + c`.

use super::args::{GemmArgs, Side};
use super::blocking::Blocking;
use super::microkernel::{tile_buffered, Bias, Microkernel};
use super::pack::{pack_a_elem, pack_b_cols_elem, pack_b_elem};

/// One tile of any size `mr ≤ MR`, `nr ≤ NR` and any C strides: full tiles with `rsc = 1` go
/// straight to the kernel, edges with `rsc = 1` to [`Microkernel::tile_edge`], the rest through
/// [`tile_buffered`]. All three give the same bits for the same element.
///
/// # Safety
///
/// The panels satisfy [`Microkernel::tile_bias`]'s contract for `kc`; `c + i·rsc + j·csc` is
/// valid (readable unless β = 0, writable, distinct) and the bias's `(i, j)` readable (unless
/// none) for `i < mr`, `j < nr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn tile_any<K: Microkernel>(
    uk: K,
    kc: usize,
    alpha: f32,
    (a, lda): (*const f32, usize),
    (b, rsb, csb): (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    (c, rsc, csc): (*mut f32, usize, usize),
    mr: usize,
    nr: usize,
) {
    // SAFETY: in all three arms the caller's contract is each callee's.
    unsafe {
        if rsc == 1 {
            if mr == K::MR && nr == K::NR {
                uk.tile_bias(kc, alpha, a, lda, b, rsb, csb, beta, bias, c, csc);
            } else {
                uk.tile_edge(kc, alpha, a, lda, b, rsb, csb, beta, bias, c, csc, mr, nr);
            }
        } else {
            let (a, b, c) = ((a, lda), (b, rsb, csb), (c, rsc, csc));
            tile_buffered(uk, kc, alpha, a, b, beta, bias, c, mr, nr);
        }
    }
}

/// `C ← β·C + bias` (`C ← bias`, or 0, when β = 0): the whole product when `k = 0` or
/// `α = 0`.
///
/// # Safety
///
/// C's `m × n` elements are valid for writes (and reads unless β = 0) and distinct; the bias's
/// are readable (unless none).
#[inline(always)]
unsafe fn scale_c(args: &GemmArgs) {
    for j in 0..args.n {
        for i in 0..args.m {
            // SAFETY: (i, j) is inside C's and the bias's validated shapes (caller).
            unsafe {
                let cij = &mut *args.c.add(i * args.rsc + j * args.csc);
                let bias = args.bias.get(i, j);
                *cij = match (args.beta == 0.0, bias) {
                    (true, None) => 0.0,
                    (true, Some(b)) => b,
                    (false, None) => args.beta * *cij,
                    (false, Some(b)) => args.beta * *cij + b,
                };
            }
        }
    }
}

/// Aligns the workspace start to 64 bytes.
#[inline(always)]
fn align64(ws: *mut f32) -> *mut f32 {
    let off = (ws as usize).wrapping_neg() % 64 / core::mem::size_of::<f32>();
    ws.wrapping_add(off)
}

/// A is read in place (its micropanels straight from A, `rsa = 1`) only when C has at most
/// this many columns in the nest's orientation (the tokens of a row-major product); otherwise
/// it is packed, however small.
///
/// An in-place A micropanel walks A's column stride step by step: large and power-of-two
/// strides land on a few cache sets, and every page crossing leaves the hardware prefetcher
/// behind. Packing is one copy of A at memory speed, repaid by `n` uses of each element.
/// Measured on AMD EPYC (Zen 3, 2 vCPU, x86-v3, thread CPU time, 2026-12-07), in place
/// against packed: +8–10 % at n = 16 (`matmul/16x384x384`, `matmul/16x384x1536`), −4 to −7 %
/// from n = 24 (24×1536×384, 32×384×384, 48×384×384), −9 % to −30 % at `matmul/256x256x256`,
/// `matmul/512x64x512`, `matmul/128x1536x384`, `matmul/128x384x1536`.
const DIRECT_A_MAX_N: usize = 16;

/// B is read in place when at most this many rows of C use it (in the nest's orientation).
///
/// Packing an element costs about as much as one vector FMA; an element of B is used by
/// `m / lanes` vector FMAs, so up to 256 rows the copy is 5–30 % of the work and B (whose
/// micropanels the kernel reads row- or column-wise, [`Microkernel::DIRECT_B`]) is read in
/// place.
const DIRECT_MAX: usize = 256;

/// B operands of at most this many elements (256 KiB, a quarter of the L2) are read in place
/// whatever their reuse: they stay in L2 unpacked, so packing them only adds a pass.
const DIRECT_ELEMS: usize = 64 * 1024;

/// The whole product `C ← α·A·B + β·C + bias` on one thread.
///
/// A is read in place when its columns are contiguous (`rsa = 1`) and `n ≤ DIRECT_A_MAX_N`;
/// B when the kernel can read its layout and `m ≤ DIRECT_MAX` or B has at most
/// `DIRECT_ELEMS` elements. Only their ragged last micropanels are then packed (zero-padded),
/// so the kernel never reads past the operand. A prepacked operand is indexed, never packed.
///
/// # Safety
///
/// `args` is validated ([`crate::shape::check_gemm`], and the bias and packed checks of
/// [`super::check`]): A, B, C and the bias cover their shapes, C is injective and disjoint
/// from the inputs, a prepacked operand holds the panels of [`super::PackedB`] for this
/// microkernel's blocking and `k`. `ws` is writable for `Blocking::workspace_len(m, n, k)`
/// elements (`Blocking::packed_workspace_len` with a prepacked B) and disjoint from the rest.
#[inline(always)]
pub(crate) unsafe fn gemm_nest<K: Microkernel>(uk: K, args: &GemmArgs, ws: *mut f32) {
    let bl = Blocking::of::<K>();
    let g = args.oriented();
    let (m, n, k) = (g.m, g.n, g.k);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || g.alpha == 0.0 {
        // BLAS quick return: α = 0 never reads A or B, so NaN or ∞ there cannot reach C.
        // SAFETY: C and the bias are valid (caller).
        unsafe { scale_c(&g) };
        return;
    }
    let (mr_k, nr_k) = (K::MR, K::NR);
    // After `oriented`, a prepacked operand is on the A side.
    let pre_a = g.packed.filter(|p| p.side == Side::A);
    // Only f32 operands are read in place; half precision is always packed (widened).
    let (a32, b32) = (g.a.as_f32().is_some(), g.b.as_f32().is_some());
    let direct_a = a32 && pre_a.is_none() && g.rsa == 1 && n <= DIRECT_A_MAX_N;
    let small_b = k.saturating_mul(n) <= DIRECT_ELEMS;
    let direct_b =
        b32 && (m <= DIRECT_MAX || small_b) && (g.csb == 1 || (K::DIRECT_B && g.rsb == 1));
    let kc_blk = bl.kc_for(k);
    // SAFETY: the caller provides this orientation's layout plus ALIGN_SLACK, so the layout
    // fits from the first 64-byte boundary (at most ALIGN_SLACK elements in).
    let [ap, bp] = unsafe { bl.workspace(m, n, k, pre_a.is_none()).carve(align64(ws)) };

    // LOOP 5: NC-wide panels of B and C.
    let mut jc = 0;
    while jc < n {
        let nc = if n - jc < bl.nc { n - jc } else { bl.nc };
        let b_tail = if direct_b { nc % nr_k } else { nc };
        let b_cols = K::DIRECT_B && g.rsb == 1 && g.csb != 1;
        // LOOP 4: rank-kc updates; β and the bias join the first.
        let mut pc = 0;
        while pc < k {
            let kc = if k - pc < kc_blk { k - pc } else { kc_blk };
            let (beta, bias) = if pc == 0 {
                (g.beta, g.bias)
            } else {
                (1.0, Bias::NONE)
            };
            // Packed: the whole panel; in place: only the ragged last micropanel. A column-major
            // B (rsb = 1) is packed column by column when the kernel reads that layout: plain
            // copies of contiguous columns instead of a transposition.
            // SAFETY: rows pc..pc+kc, columns jc+nc−b_tail..jc+nc are inside B; bp has room for
            // round_up(nc, NR)·kc elements.
            unsafe {
                let b0 = g.b.wrapping_add(pc * g.rsb + (jc + nc - b_tail) * g.csb);
                if b_cols {
                    pack_b_cols_elem(nr_k, bp, b0, g.csb, kc, b_tail);
                } else {
                    pack_b_elem(nr_k, bp, b0, g.rsb, g.csb, kc, b_tail, K::prefetch);
                }
            }
            let b_at = |jr: usize| {
                let q = if direct_b {
                    if jr + nr_k <= nc {
                        // SAFETY: a whole micropanel inside B (validated extent), whose
                        // elements are f32 (`direct_b`).
                        return (
                            unsafe { g.b.cast::<f32>().add(pc * g.rsb + (jc + jr) * g.csb) },
                            g.rsb,
                            g.csb,
                        );
                    }
                    0
                } else {
                    jr / nr_k
                };
                // SAFETY: micropanel q of the packed panel (q = 0: the packed ragged tail).
                let p = unsafe { bp.add(q * nr_k * kc) as *const f32 };
                if b_cols {
                    (p, 1, kc)
                } else {
                    (p, nr_k, 1)
                }
            };
            // LOOP 3: MC-tall blocks of A and C.
            let mut ic = 0;
            while ic < m {
                let mc = if m - ic < bl.mc { m - ic } else { bl.mc };
                let a_tail = if direct_a { mc % mr_k } else { mc };
                if pre_a.is_none() {
                    // SAFETY: rows ic+mc−a_tail..ic+mc, columns pc..pc+kc are inside A; ap has
                    // room for round_up(mc, MR)·kc elements.
                    unsafe {
                        let a0 = g.a.wrapping_add((ic + mc - a_tail) * g.rsa + pc * g.csa);
                        pack_a_elem(mr_k, ap, a0, g.rsa, g.csa, a_tail, kc, K::prefetch);
                    }
                }
                let a_at = |ir: usize| {
                    if let Some(p) = pre_a {
                        // SAFETY: the prepacked micropanel of rows first+ic+ir.. (a multiple of
                        // MR: `first` and MC are) at depth pc, inside the packed operand.
                        (
                            unsafe { p.ptr.add(pc * p.ld + (p.first + ic + ir) * kc) },
                            mr_k,
                        )
                    } else if direct_a && ir + mr_k <= mc {
                        // SAFETY: a whole micropanel inside A (validated extent), whose
                        // elements are f32 (`direct_a`).
                        (
                            unsafe { g.a.cast::<f32>().add((ic + ir) + pc * g.csa) },
                            g.csa,
                        )
                    } else if direct_a {
                        (ap as *const f32, mr_k)
                    } else {
                        // SAFETY: micropanel ir/MR of the packed block.
                        (unsafe { ap.add(ir * kc) as *const f32 }, mr_k)
                    }
                };
                // SAFETY: the selectors give micropanels covering mc × kc and kc × nc; the C
                // block at (ic, jc) is mc × nc inside C, and its bias terms inside the bias.
                unsafe {
                    let c = (g.c.add(ic * g.rsc + jc * g.csc), g.rsc, g.csc);
                    let bias = bias.at(ic, jc);
                    macro_block(uk, (mc, nc, kc), g.alpha, a_at, b_at, beta, bias, c);
                }
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
}

/// LOOPS 2 and 1: `C[0..m, 0..n] ← α·Ã·B̃ + β·C + bias` over micropanels that `a_at(ir)` and
/// `b_at(jr)` locate (packed, or in place).
///
/// # Safety
///
/// For every `ir < m` step `MR` and `jr < n` step `NR`, the selected micropanels satisfy
/// [`Microkernel::tile_bias`] for `kc`; `c + i·rsc + j·csc` is valid and the bias's `(i, j)`
/// readable (unless none) for `i < m`, `j < n`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn macro_block<K: Microkernel>(
    uk: K,
    (m, n, kc): (usize, usize, usize),
    alpha: f32,
    a_at: impl Fn(usize) -> (*const f32, usize),
    b_at: impl Fn(usize) -> (*const f32, usize, usize),
    beta: f32,
    bias: Bias,
    (c, rsc, csc): (*mut f32, usize, usize),
) {
    // LOOP 2: NR-wide micropanels of B.
    let mut jr = 0;
    while jr < n {
        let nr = if n - jr < K::NR { n - jr } else { K::NR };
        let b = b_at(jr);
        // LOOP 1: MR-tall micropanels of A.
        let mut ir = 0;
        while ir < m {
            let mr = if m - ir < K::MR { m - ir } else { K::MR };
            // SAFETY: the micropanels are the caller's; the tile's C elements and bias terms
            // are inside the m × n block (caller).
            unsafe {
                let ct = (c.add(ir * rsc + jr * csc), rsc, csc);
                let bt = bias.at(ir, jr);
                tile_any(uk, kc, alpha, a_at(ir), b, beta, bt, ct, mr, nr)
            };
            ir += K::MR;
        }
        jr += K::NR;
    }
}
