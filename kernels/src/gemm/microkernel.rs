//! The microkernel interface: one `MR × NR` tile of `C` from packed panels.
//!
//! This is the only part of the gemm that knows an ISA (BLIS's rule). Everything around it —
//! the loop nest ([`super::loops`]), packing ([`super::pack`]), tails, workspace — is portable
//! code, generic over [`Microkernel`] and monomorphised inside each ISA's
//! `#[target_feature]` entry function, so it is compiled with that ISA's instructions.
//!
//! The flash-attention tile driver uses the same pieces: it packs `Q` and `Kᵀ` (or `P` and `V`)
//! with [`super::pack`] and calls [`super::loops::gemm_packed`] (or [`Microkernel::tile`]
//! directly) for each `Br × Bc` block.
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
//! partial, and the loop nest does that through a small buffer
//! ([`super::loops::tile_any`]), which keeps the kernels branch-free.
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
/// the CPU features its [`tile`](Microkernel::tile) needs.
pub(crate) trait Microkernel: Copy {
    /// Rows of the tile (the vector direction).
    const MR: usize;
    /// Columns of the tile.
    const NR: usize;

    /// `C[0..MR, 0..NR] ← α·Ã·B̃ + β·C` for one full tile.
    ///
    /// # Safety
    ///
    /// * `a + p·lda + i` is readable for `p < kc`, `i < MR`; `b + p·ldb + j` is readable for
    ///   `p < kc`, `j < NR` (when `kc = 0` nothing is read).
    /// * `c + i + j·csc` is readable (unless `beta == 0`) and writable for `i < MR`,
    ///   `j < NR`, those addresses are distinct (`csc ≥ MR`), and no other live reference
    ///   covers them or overlaps the panels.
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
    );
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
