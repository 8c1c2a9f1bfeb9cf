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
//! same elements with the operands' strides swapped ([`GemmArgs::oriented`]).

use super::blocking::{round_up, Blocking};
use super::microkernel::{write_back, Microkernel};
use super::pack::{pack_a, pack_b};

/// A validated gemm call in raw form. Element `(i, j)` of X is at `x + i·rsx + j·csx`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmArgs {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub beta: f32,
    pub a: *const f32,
    pub rsa: usize,
    pub csa: usize,
    pub b: *const f32,
    pub rsb: usize,
    pub csb: usize,
    pub c: *mut f32,
    pub rsc: usize,
    pub csc: usize,
}

impl GemmArgs {
    /// The same product, transposed when that gives C a unit row stride.
    #[inline(always)]
    pub(crate) fn oriented(self) -> GemmArgs {
        if self.rsc != 1 && (self.csc == 1 || self.n == 1) {
            GemmArgs {
                m: self.n,
                n: self.m,
                a: self.b,
                rsa: self.csb,
                csa: self.rsb,
                b: self.a,
                rsb: self.csa,
                csb: self.rsa,
                rsc: self.csc,
                csc: self.rsc,
                ..self
            }
        } else {
            self
        }
    }
}

/// Largest `MR·NR` of any microkernel (the edge buffer's size).
const TILE_MAX: usize = 512;

#[repr(C, align(64))]
struct TileBuf([f32; TILE_MAX]);

/// One tile of any size `mr ≤ MR`, `nr ≤ NR` and any C strides. Full tiles with `rsc = 1` go
/// straight to the kernel; the others are computed into a buffer (`α·acc`, β = 0) and written
/// back with [`write_back`], the kernels' own rounding, so edges give the interior's bits.
///
/// # Safety
///
/// The panels satisfy [`Microkernel::tile`]'s contract for `kc`; `c + i·rsc + j·csc` is valid
/// (readable unless β = 0, writable, distinct) for `i < mr`, `j < nr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn tile_any<K: Microkernel>(
    uk: K,
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
    mr: usize,
    nr: usize,
) {
    if mr == K::MR && nr == K::NR && rsc == 1 {
        // SAFETY: a full tile with unit row stride is exactly the kernel's contract (caller).
        unsafe { uk.tile(kc, alpha, a, lda, b, ldb, beta, c, csc) };
        return;
    }
    debug_assert!(K::MR * K::NR <= TILE_MAX);
    let mut buf = TileBuf([0.0; TILE_MAX]);
    let t = buf.0.as_mut_ptr();
    // SAFETY: the buffer holds MR·NR ≤ TILE_MAX elements in column-major MR × NR (csc = MR);
    // β = 0 so it is not read; the panels are the caller's.
    unsafe { uk.tile(kc, alpha, a, lda, b, ldb, 0.0, t, K::MR) };
    for j in 0..nr {
        for i in 0..mr {
            // SAFETY: i < mr ≤ MR, j < nr ≤ NR index the buffer; C's element is valid (caller).
            unsafe { write_back(*t.add(i + j * K::MR), beta, &mut *c.add(i * rsc + j * csc)) };
        }
    }
}

/// `C ← β·C` (`C ← 0` when β = 0): the whole product when `k = 0`.
///
/// # Safety
///
/// C's `m × n` elements are valid for writes (and reads unless β = 0) and distinct.
#[inline(always)]
unsafe fn scale_c(args: &GemmArgs) {
    for j in 0..args.n {
        for i in 0..args.m {
            // SAFETY: (i, j) is inside C's validated shape (caller).
            let cij = unsafe { &mut *args.c.add(i * args.rsc + j * args.csc) };
            *cij = if args.beta == 0.0 {
                0.0
            } else {
                args.beta * *cij
            };
        }
    }
}

/// Aligns the workspace start to 64 bytes.
#[inline(always)]
fn align64(ws: *mut f32) -> *mut f32 {
    let off = (ws as usize).wrapping_neg() % 64 / core::mem::size_of::<f32>();
    ws.wrapping_add(off)
}

/// The whole product `C ← α·A·B + β·C` on one thread.
///
/// # Safety
///
/// `args` is validated ([`crate::shape::check_gemm`]): A, B and C cover their shapes, C is
/// injective and disjoint from A and B. `ws` is writable for
/// `bl.workspace_len(m, n, k)` elements and disjoint from A, B, C.
#[inline(always)]
pub(crate) unsafe fn gemm_nest<K: Microkernel>(
    uk: K,
    bl: &Blocking,
    args: &GemmArgs,
    ws: *mut f32,
) {
    let g = args.oriented();
    let (m, n, k) = (g.m, g.n, g.k);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // SAFETY: C is valid (caller).
        unsafe { scale_c(&g) };
        return;
    }
    let kc_blk = bl.kc_for(k);
    let mc_max = if m < bl.mc { m } else { bl.mc };
    let ap = align64(ws);
    // SAFETY: the A block needs round_up(mc_max, MR)·kc_blk elements; the workspace holds
    // that plus the B panel plus 16 of alignment slack (Blocking::workspace_len).
    let bp = unsafe { ap.add(round_up(mc_max, K::MR) * kc_blk) };

    // LOOP 5: NC-wide panels of B and C.
    let mut jc = 0;
    while jc < n {
        let nc = if n - jc < bl.nc { n - jc } else { bl.nc };
        // LOOP 4: rank-kc updates.
        let mut pc = 0;
        while pc < k {
            let kc = if k - pc < kc_blk { k - pc } else { kc_blk };
            let beta = if pc == 0 { g.beta } else { 1.0 };
            // SAFETY: rows pc..pc+kc, columns jc..jc+nc are inside B; bp has room for
            // round_up(nc, NR)·kc elements.
            unsafe {
                pack_b(
                    K::NR,
                    bp,
                    g.b.add(pc * g.rsb + jc * g.csb),
                    g.rsb,
                    g.csb,
                    kc,
                    nc,
                )
            };
            // LOOP 3: MC-tall blocks of A and C.
            let mut ic = 0;
            while ic < m {
                let mc = if m - ic < bl.mc { m - ic } else { bl.mc };
                // SAFETY: rows ic..ic+mc, columns pc..pc+kc are inside A; ap has room.
                unsafe {
                    pack_a(
                        K::MR,
                        ap,
                        g.a.add(ic * g.rsa + pc * g.csa),
                        g.rsa,
                        g.csa,
                        mc,
                        kc,
                    )
                };
                // SAFETY: the packed block and panel cover mc × kc and kc × nc; the C block
                // at (ic, jc) is mc × nc inside C.
                unsafe {
                    block_packed(
                        uk,
                        mc,
                        nc,
                        kc,
                        g.alpha,
                        ap,
                        bp,
                        beta,
                        g.c.add(ic * g.rsc + jc * g.csc),
                        g.rsc,
                        g.csc,
                    )
                };
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
}

/// LOOPS 2 and 1 over already-packed operands: `C[0..m, 0..n] ← α·Ã·B̃ + β·C`, where `ap` holds
/// `⌈m/MR⌉` packed A micropanels (each `MR × kc`, one after another) and `bp` holds `⌈n/NR⌉`
/// packed B micropanels (each `kc × NR`), as [`pack_a`] and [`pack_b`] write them.
///
/// This is the small-gemm entry for the attention tile driver (QKᵀ and P·V on packed tiles).
///
/// # Safety
///
/// The panels are readable for `⌈m/MR⌉·MR·kc` and `⌈n/NR⌉·NR·kc` elements; `c + i·rsc + j·csc`
/// is valid (readable unless β = 0, writable, distinct) for `i < m`, `j < n`, and overlaps
/// neither panel.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn block_packed<K: Microkernel>(
    uk: K,
    m: usize,
    n: usize,
    kc: usize,
    alpha: f32,
    ap: *const f32,
    bp: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
) {
    // LOOP 2: NR-wide micropanels of B.
    let mut jr = 0;
    while jr < n {
        let nr = if n - jr < K::NR { n - jr } else { K::NR };
        // SAFETY: micropanel jr/NR of the packed B panel.
        let b = unsafe { bp.add(jr * kc) };
        // LOOP 1: MR-tall micropanels of A.
        let mut ir = 0;
        while ir < m {
            let mr = if m - ir < K::MR { m - ir } else { K::MR };
            // SAFETY: micropanel ir/MR of the packed A block; the tile's C elements are inside
            // the m × n block (caller).
            unsafe {
                tile_any(
                    uk,
                    kc,
                    alpha,
                    ap.add(ir * kc),
                    K::MR,
                    b,
                    K::NR,
                    beta,
                    c.add(ir * rsc + jr * csc),
                    rsc,
                    csc,
                    mr,
                    nr,
                )
            };
            ir += K::MR;
        }
        jr += K::NR;
    }
}
