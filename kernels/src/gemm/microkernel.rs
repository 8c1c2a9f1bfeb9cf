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
//! [`pack_a`](super::pack::pack_a) / [`pack_b_elem`](super::pack::pack_b_elem) (any strided block into
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
//! into one accumulator (fused multiply-add where the ISA has it), then the write-back
//!
//! ```text
//!   r ← α·acc                 (rounded)
//!   r ← r + β·c(i,j)          only when β ≠ 0 (β·c rounded, then the sum: no fusion)
//!   r ← r + bias(i,j)         only with a bias (rounded)
//!   c(i,j) ← r
//! ```
//!
//! in that order and with each step rounded to f32, so that a scalar write-back of a buffered
//! tile ([`write_back`]) gives the same bits as a kernel's vector one. β = 0 never reads C.
//!
//! # Bias
//!
//! A [`Bias`] locates the bias term of each tile element: `(i, j)` adds `bias(i,j)` at
//! `ptr + i·rs + j·cs` with `rs ∈ {0, 1}`. A row vector broadcast over the rows of C is
//! `rs = 0, cs = 1`, and the same vector seen from the transposed product (`Cᵀ`, what the
//! loop nest computes for a row-major C) is `rs = 1, cs = 0`: one load per vector of the
//! tile's column, or one broadcast per column.

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
    /// As [`tile_bias`](Microkernel::tile_bias) with [`Bias::NONE`].
    #[allow(clippy::too_many_arguments)]
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
        // SAFETY: the caller's contract, with no bias to read.
        unsafe { self.tile_bias(kc, alpha, a, lda, b, rsb, csb, beta, Bias::NONE, c, csc) }
    }

    /// `C[0..MR, 0..NR] ← α·Ã·B̃ + β·C + bias` for one full tile, B element `(p, j)` at
    /// `b + p·rsb + j·csb`, in the order of the [module docs](self).
    ///
    /// # Safety
    ///
    /// * `a + p·lda + i` is readable for `p < kc`, `i < MR`; `b + p·rsb + j·csb` is readable
    ///   for `p < kc`, `j < NR`, and `csb = 1` (or `rsb = 1` when `DIRECT_B`). When `kc = 0`
    ///   nothing is read.
    /// * Unless `bias` is [`Bias::NONE`], `bias.rs ∈ {0, 1}` and its element `(i, j)` is
    ///   readable for `i < MR`, `j < NR`.
    /// * `c + i + j·csc` is readable (unless `beta == 0`) and writable for `i < MR`,
    ///   `j < NR`, those addresses are distinct (`csc ≥ MR`), and no other live reference
    ///   covers them or overlaps the panels or the bias.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// A hint that `p` will be read soon (packing uses it on its source). Must not fault for
    /// any address; the default does nothing.
    #[inline(always)]
    fn prefetch(p: *const f32) {
        let _ = p;
    }

    /// An edge tile: only `C[0..mr, 0..nr]` (and the bias there) is read and written
    /// (`1 ≤ mr ≤ MR`, `1 ≤ nr ≤ NR`), with the same bits a full tile would give those
    /// elements.
    ///
    /// The default computes a full tile into a buffer and writes the part back with
    /// [`write_back`]; kernels override it with masked stores.
    ///
    /// # Safety
    ///
    /// As [`tile_bias`](Microkernel::tile_bias) for the panels (all `MR` rows and `NR` columns
    /// readable), and for C and the bias restricted to `i < mr`, `j < nr` (no constraint on
    /// `csc` beyond distinctness).
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
        bias: Bias,
        c: *mut f32,
        csc: usize,
        mr: usize,
        nr: usize,
    ) {
        // SAFETY: forwarded; the buffered path reads and writes only i < mr, j < nr, with unit
        // row stride.
        unsafe {
            tile_buffered(
                self,
                kc,
                alpha,
                (a, lda),
                (b, rsb, csb),
                beta,
                bias,
                (c, 1, csc),
                mr,
                nr,
            )
        }
    }
}

/// The bias term of a tile (see the [module docs](self)): element `(i, j)` at
/// `ptr + i·rs + j·cs`, `rs ∈ {0, 1}`; a null `ptr` is no bias.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bias {
    pub(crate) ptr: *const f32,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl Bias {
    /// No bias: nothing is read or added.
    pub(crate) const NONE: Bias = Bias {
        ptr: core::ptr::null(),
        rs: 0,
        cs: 0,
    };

    /// Whether there is a bias to add.
    #[inline(always)]
    pub(crate) fn is_some(self) -> bool {
        !self.ptr.is_null()
    }

    /// The bias of the tile whose element `(0, 0)` is this one's `(i, j)` (wrapping pointer
    /// arithmetic; [`NONE`](Bias::NONE) stays none).
    #[inline(always)]
    pub(crate) fn at(self, i: usize, j: usize) -> Bias {
        if self.is_some() {
            Bias {
                ptr: self.ptr.wrapping_add(i * self.rs + j * self.cs),
                ..self
            }
        } else {
            self
        }
    }

    /// The same terms seen from the transposed product.
    #[inline(always)]
    pub(crate) fn transposed(self) -> Bias {
        Bias {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Element `(i, j)`, or `None` without a bias.
    ///
    /// # Safety
    ///
    /// With a bias, its element `(i, j)` is readable.
    #[inline(always)]
    pub(crate) unsafe fn get(self, i: usize, j: usize) -> Option<f32> {
        if self.is_some() {
            // SAFETY: the caller's contract.
            Some(unsafe { *self.ptr.add(i * self.rs + j * self.cs) })
        } else {
            None
        }
    }
}

/// Largest `MR·NR` of any microkernel (the edge buffer's size).
const TILE_MAX: usize = 512;

#[repr(C, align(64))]
struct TileBuf([f32; TILE_MAX]);

/// Any tile size and any C strides: the full tile is computed into a buffer (`α·acc`,
/// β = 0, no bias) and `C[0..mr, 0..nr]` written back with [`write_back`], the kernels' own
/// rounding.
///
/// # Safety
///
/// The panels as in [`Microkernel::tile_bias`]; `c + i·rsc + j·csc` valid (readable unless
/// β = 0, writable, distinct) and the bias's `(i, j)` readable for `i < mr ≤ MR`,
/// `j < nr ≤ NR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn tile_buffered<K: Microkernel>(
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
    const { assert!(K::MR * K::NR <= TILE_MAX) };
    let mut buf = core::mem::MaybeUninit::<TileBuf>::uninit();
    let t = buf.as_mut_ptr() as *mut f32;
    // SAFETY: the buffer holds MR·NR ≤ TILE_MAX elements, column-major MR × NR (csc = MR);
    // with β = 0 it is only written, and the kernel writes all of it.
    unsafe { uk.tile_strided(kc, alpha, a, lda, b, rsb, csb, 0.0, t, K::MR) };
    for j in 0..nr {
        for i in 0..mr {
            // SAFETY: i < mr ≤ MR, j < nr ≤ NR index the (now initialised) buffer; C's element
            // and the bias's are valid (caller).
            unsafe {
                let cij = &mut *c.add(i * rsc + j * csc);
                write_back(*t.add(i + j * K::MR), beta, bias.get(i, j), cij)
            };
        }
    }
}

/// The scalar write-back of one element, in exactly the rounding the kernels use (the
/// [module docs](self)).
#[inline(always)]
pub(crate) fn write_back(alpha_acc: f32, beta: f32, bias: Option<f32>, c: &mut f32) {
    let mut r = alpha_acc;
    if beta != 0.0 {
        r += beta * *c;
    }
    if let Some(b) = bias {
        r += b;
    }
    *c = r;
}
