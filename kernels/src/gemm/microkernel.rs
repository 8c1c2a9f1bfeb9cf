//! The microkernel interface: one `MR × NR` tile of `C` from packed panels.
//!
//! This is the only part of the gemm that knows an ISA (BLIS's rule). Everything around it —
//! the loop nest ([`super::loops`]), packing ([`super::pack`]), tails, workspace — is portable
//! code, generic over [`Microkernel`] and monomorphised inside each ISA's
//! `#[target_feature]` entry function, so it is compiled with that ISA's instructions.
//!
//! # For other drivers (the flash-attention tile driver)
//!
//! Everything is `pub(crate)` and ISA-generic; a driver written against `K: Microkernel` and
//! called from a tier's `#[target_feature]` entry gets that tier's code: it packs with
//! [`pack_a`](super::pack::pack_a) / [`pack_b`](super::pack::pack_b) (any strided block into
//! zero-padded micropanels: `Q`, `P` as A; `Kᵀ`, `V` as B) and runs [`Microkernel::tile`] /
//! [`Microkernel::tile_strided`] on the panels, sized by [`Microkernel::MR`] and
//! [`Microkernel::NR`].
//!
//! # Packed panels
//!
//! `A` (`m × k`) is cut into *micropanels* of `MR` rows; `B` (`k × n`) into micropanels of `NR`
//! columns. A packed micropanel stores one `k` step after another, so the kernel reads both
//! panels front to back:
//!
//! ```text
//!            packed A micropanel (MR × kc)          packed B micropanel (kc × NR)
//!            column p = MR contiguous f32            row p = NR contiguous f32
//!
//!   a ──►  [ a(0,0) a(1,0) … a(MR−1,0) ]  p = 0    b ──► [ b(0,0) b(0,1) … b(0,NR−1) ]
//!          [ a(0,1) a(1,1) … a(MR−1,1) ]  p = 1          [ b(1,0) b(1,1) … b(1,NR−1) ]
//!          [            …              ]                 [            …              ]
//!          [ a(0,kc−1)   …             ]                 [ b(kc−1,0)  …              ]
//!             ▲ stride between columns: lda              ▲ stride between rows: ldb
//!               (MR when packed)                           (NR when packed)
//!
//!   C tile:  c(i, j) at c + i + j·csc      (unit row stride: the kernel's vector direction)
//! ```
//!
//! Rows of a micropanel past the end of `A` (and columns past the end of `B`) are packed as
//! zeros, so every tile computes a full `MR × NR` block; only the write-back of an edge tile is
//! partial ([`Microkernel::tile_edge`]: masked stores, or a small buffer), which keeps the
//! interior kernel branch-free.
//!
//! # Arithmetic (the same in every kernel, so tile position never changes the bits)
//!
//! For each `(i, j)` of the tile, `acc = Σₚ a(i,p)·b(p,j)` accumulated in order `p = 0, 1, …`
//! into one accumulator (fused multiply-add where the ISA has it), then
//!
//! * `β = 0`: `c(i,j) ← α·acc` (C is never read);
//! * `β ≠ 0`: `c(i,j) ← α·acc + β·c(i,j)`, with the two products and the sum each rounded
//!   (no fusion), so that a scalar write-back of a buffered tile gives the same bits.

/// An `MR × NR` f32 microkernel (see the [module docs](self) for the panel layout).
///
/// Implementors are zero-sized and can only be made from an ISA token, so holding one proves
/// the CPU features its methods need.
///
/// Besides packed panels, the kernel reads operands in place when their layout allows (the loop
/// nest skips packing small operands): A with unit row stride (`lda` = its column stride), and,
/// when [`DIRECT_B`](Microkernel::DIRECT_B) is set (through
/// [`tile_strided`](Microkernel::tile_strided)), B with unit row stride (`rsb = 1`, columns
/// contiguous) as well as the packed / row-contiguous form (`csb = 1`).
pub(crate) trait Microkernel: Copy {
    /// Rows of the tile (the vector direction).
    const MR: usize;
    /// Columns of the tile.
    const NR: usize;
    /// Rows of the packed A block (a multiple of `MR`; see [`Blocking`](super::blocking)).
    const MC: usize;
    /// Depth of one rank-`KC` update (the largest; [`Blocking::kc_for`](super::blocking::Blocking::kc_for)).
    const KC: usize;
    /// Columns of the packed B panel (a multiple of `NR`).
    const NC: usize;
    /// Whether [`tile_strided`](Microkernel::tile_strided) accepts B with `rsb = 1` and any `csb` (otherwise
    /// only `csb = 1`).
    const DIRECT_B: bool;

    /// `C[0..MR, 0..NR] ← α·Ã·B̃ + β·C` for one full tile of packed panels (or operands in the
    /// same layout): B row `p` at `b + p·ldb`, its `NR` elements contiguous.
    ///
    /// # Safety
    ///
    /// As [`tile_strided`](Microkernel::tile_strided) with `rsb = ldb`, `csb = 1`.
    #[allow(clippy::too_many_arguments)]
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
        // SAFETY: the caller's contract, with csb = 1.
        unsafe { self.tile_strided(kc, alpha, a, lda, b, ldb, 1, beta, c, csc) }
    }

    /// `C[0..MR, 0..NR] ← α·Ã·B̃ + β·C` for one full tile, B element `(p, j)` at
    /// `b + p·rsb + j·csb`.
    ///
    /// # Safety
    ///
    /// * `a + p·lda + i` is readable for `p < kc`, `i < MR`; `b + p·rsb + j·csb` is readable
    ///   for `p < kc`, `j < NR`, and `csb = 1` (or `rsb = 1` when `DIRECT_B`). When `kc = 0`
    ///   nothing is read.
    /// * `c + i + j·csc` is readable (unless `beta == 0`) and writable for `i < MR`,
    ///   `j < NR`, those addresses are distinct (`csc ≥ MR`), and no other live reference
    ///   covers them or overlaps the panels.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// A hint that `p` will be read soon (packing uses it on its source). Must not fault for
    /// any address; the default does nothing.
    #[inline(always)]
    fn prefetch(p: *const f32) {
        let _ = p;
    }

    /// An edge tile: only `C[0..mr, 0..nr]` is read and written (`1 ≤ mr ≤ MR`,
    /// `1 ≤ nr ≤ NR`), with the same bits a full tile would give those elements.
    ///
    /// The default computes a full tile into a buffer and writes the part back with
    /// [`write_back`]; kernels override it with masked stores.
    ///
    /// # Safety
    ///
    /// As [`tile_strided`](Microkernel::tile_strided) for the panels (all `MR` rows and `NR` columns readable),
    /// and for C restricted to `i < mr`, `j < nr` (no constraint on `csc` beyond distinctness).
    #[allow(clippy::too_many_arguments)]
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
        c: *mut f32,
        csc: usize,
        mr: usize,
        nr: usize,
    ) {
        // SAFETY: forwarded; the buffered path writes only i < mr, j < nr with unit row stride.
        unsafe {
            tile_buffered(
                self, kc, alpha, a, lda, b, rsb, csb, beta, c, 1, csc, mr, nr,
            )
        }
    }
}

/// Largest `MR·NR` of any microkernel (the edge buffer's size).
const TILE_MAX: usize = 512;

#[repr(C, align(64))]
struct TileBuf([f32; TILE_MAX]);

/// Any tile size and any C strides: the full tile is computed into a buffer (`α·acc`,
/// β = 0) and `C[0..mr, 0..nr]` written back with [`write_back`], the kernels' own rounding.
///
/// # Safety
///
/// The panels as in [`Microkernel::tile_strided`]; `c + i·rsc + j·csc` valid (readable unless β = 0,
/// writable, distinct) for `i < mr ≤ MR`, `j < nr ≤ NR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn tile_buffered<K: Microkernel>(
    uk: K,
    kc: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    rsb: usize,
    csb: usize,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
    mr: usize,
    nr: usize,
) {
    const { assert!(K::MR * K::NR <= TILE_MAX) };
    let mut buf = core::mem::MaybeUninit::<TileBuf>::uninit();
    let t = buf.as_mut_ptr() as *mut f32;
    // SAFETY: the buffer holds MR·NR ≤ TILE_MAX elements, column-major MR × NR (csc = MR);
    // with β = 0 it is only written, and the kernel writes all of it.
    unsafe { uk.tile_strided(kc, alpha, a, lda, b, rsb, csb, 0.0, t, K::MR) };
    for j in 0..nr {
        for i in 0..mr {
            // SAFETY: i < mr ≤ MR, j < nr ≤ NR index the (now initialised) buffer; C's element
            // is valid (caller).
            unsafe { write_back(*t.add(i + j * K::MR), beta, &mut *c.add(i * rsc + j * csc)) };
        }
    }
}

/// The scalar write-back of one element, in exactly the rounding the kernels use.
#[inline(always)]
pub(crate) fn write_back(alpha_acc: f32, beta: f32, c: &mut f32) {
    if beta == 0.0 {
        *c = alpha_acc;
    } else {
        *c = alpha_acc + beta * *c;
    }
}
