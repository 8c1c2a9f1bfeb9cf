//! [`PackedB`]: a right-hand operand packed once into the microkernel's panel layout and reused
//! by every product ([`gemm_packed`]), as inference multiplies activations by fixed weights.

use super::blocking::{Blocking, ALIGN_SLACK};
use super::check::validated_packed;
use super::pack::pack_b_whole;
use crate::elem::Element;
use crate::error::{Error, Operand};
use crate::isa::IsaId;
use crate::kernels::Kernels;
use crate::shape::{check_disjoint, check_mat_ref, check_workspace, Span};
use crate::view::{MatMut, MatRef};

/// Elements of storage a [`PackedB`] of a `k × n` B needs with `kernels`: `k·round_up(n, MR)`
/// (each micropanel zero-padded to the tile width) plus 16 for alignment; 0 when `k` or `n`
/// is 0. Saturates at `usize::MAX` (such a B cannot exist).
///
/// ```
/// use huiyan_kernels::{gemm::packed_b_len, Kernels};
/// let k = Kernels::scalar(); // 4-wide micropanels
/// assert_eq!(packed_b_len(&k, 384, 1152), 384 * 1152 + 16);
/// assert_eq!(packed_b_len(&k, 3, 5), 3 * 8 + 16);
/// assert_eq!(packed_b_len(&k, 0, 5), 0);
/// ```
pub fn packed_b_len(kernels: &Kernels, k: usize, n: usize) -> usize {
    kernels
        .gemm
        .blocking
        .packed_b_len(k, n)
        .unwrap_or(usize::MAX)
}

/// A `k × n` right-hand operand B packed once for one [`Kernels`] table, in storage `S` the
/// caller owns (`&mut [f32]`, `Vec<f32>`, an array: anything [`AsRef`]`<[f32]>`).
///
/// [`gemm_packed`] then computes `C ← α·A·PackedB + β·C + bias` without touching B again: no
/// per-call packing, and LOOP 3 of the loop nest indexes the prepacked blocks. The layout is
/// the packed A blocks of `Cᵀ = Bᵀ·Aᵀ` (micropanels of `MR` columns of B, `MR` the table's
/// tile height), block by block of depth `kc` as the nest consumes them, so the product runs
/// fastest when C has unit column stride (row-major C, what a layer writes); any C strides
/// are correct. Results have the bits of [`gemm_bias`](super::gemm_bias) with the unpacked B.
///
/// The packing depends on the table's tier and block sizes, which the value records:
/// [`gemm_packed`] with another table is [`Error::PackedForOtherKernels`].
///
/// PyTorch stores a linear layer's weight `W` as `[out, in]`; `y = x·Wᵀ` packs `B = Wᵀ`, a
/// transpose through strides ([`MatRef::t`]):
///
/// ```
/// use huiyan_kernels::gemm::{gemm_packed, gemm_packed_workspace_len, packed_b_len, PackedB};
/// use huiyan_kernels::{Kernels, MatMut, MatRef};
/// let kern = Kernels::best_compile_time();
/// let (tokens, d_in, d_out) = (3, 4, 2);
/// let w = [1.0, 0.0, 0.0, 0.0, // W[out, in]: output 0 takes input 0,
///          0.0, 1.0, 1.0, 0.0]; //             output 1 sums inputs 1 and 2
/// let bias = [0.5, -0.5];
/// let storage = vec![0.0f32; packed_b_len(&kern, d_in, d_out)];
/// let wt = PackedB::new(&kern, MatRef::row_major(&w, d_out, d_in).t(), storage)?;
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
/// let mut y = [0.0f32; 6];
/// let mut ws = vec![0.0f32; gemm_packed_workspace_len(&kern, tokens, d_out, d_in)];
/// gemm_packed(&kern, 1.0, MatRef::row_major(&x, tokens, d_in), &wt, 0.0,
///             MatMut::row_major(&mut y, tokens, d_out), Some(&bias), &mut ws)?;
/// assert_eq!(y, [1.5, 4.5, 5.5, 12.5, 9.5, 20.5]);
/// # Ok::<(), huiyan_kernels::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PackedB<S> {
    storage: S,
    /// Elements from the start of the storage to the first panel (a 64-byte boundary when
    /// packed; kept as an index, so a moved storage stays correct).
    offset: usize,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) isa: IsaId,
    pub(super) blocking: Blocking,
}

impl<S: AsRef<[f32]> + AsMut<[f32]>> PackedB<S> {
    /// Packs `b` (`k × n`, any strides) into `storage`, which needs at least
    /// [`packed_b_len`]`(kernels, k, n)` elements (its contents are ignored; elements past
    /// that length are left as they were).
    ///
    /// Errors, with `storage` untouched: `b` shorter than its shape
    /// ([`Error::SliceTooShort`] for [`Operand::B`]), `storage` too short
    /// ([`Error::SliceTooShort`] for [`Operand::PackedB`]) or overlapping `b`
    /// ([`Error::Overlap`]), sizes that overflow ([`Error::Overflow`]).
    ///
    /// ```
    /// use huiyan_kernels::gemm::{packed_b_len, PackedB};
    /// use huiyan_kernels::{Error, Kernels, MatRef, Operand};
    /// let kern = Kernels::scalar();
    /// let b = [1.0f32; 6];
    /// let mut short = [0.0f32; 4];
    /// let err = PackedB::new(&kern, MatRef::row_major(&b, 2, 3), &mut short[..]);
    /// assert!(matches!(err, Err(Error::SliceTooShort { operand: Operand::PackedB, .. })));
    /// let mut room = vec![0.0f32; packed_b_len(&kern, 2, 3)];
    /// let p = PackedB::new(&kern, MatRef::row_major(&b, 2, 3), &mut room[..])?;
    /// assert_eq!((p.k(), p.n()), (2, 3));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new<E: Element>(
        kernels: &Kernels,
        b: MatRef<'_, E>,
        mut storage: S,
    ) -> Result<Self, Error> {
        let (k, n) = (b.rows, b.cols);
        let blocking = kernels.gemm.blocking;
        let needed = blocking.packed_b_len(k, n).ok_or(Error::Overflow {
            operand: Operand::PackedB,
        })?;
        let sb = check_mat_ref(Operand::B, &b)?;
        let dst = storage.as_mut();
        let sp = span_of(Operand::PackedB, dst, needed)?;
        check_disjoint(Operand::PackedB, sp, Operand::B, sb)?;
        // The first 64-byte boundary, at most ALIGN_SLACK − 1 elements in (when anything is
        // packed; an empty B has nothing to align).
        let offset = if needed == 0 {
            0
        } else {
            (dst.as_ptr() as usize).wrapping_neg() % 64 / core::mem::size_of::<f32>()
        };
        if needed != 0 {
            // SAFETY: b covers its k × n shape (checked); dst holds `needed` =
            // k·round_up(n, MR) + ALIGN_SLACK elements, so k·round_up(n, MR) from `offset` <
            // ALIGN_SLACK fit; dst is an exclusive borrow that does not overlap b (checked).
            unsafe {
                let out = dst.as_mut_ptr().add(offset);
                pack_b_whole(
                    blocking.mr,
                    blocking.kc_for(k),
                    out,
                    b.ptr,
                    b.rs,
                    b.cs,
                    k,
                    n,
                );
            }
        }
        Ok(PackedB {
            storage,
            offset,
            k,
            n,
            isa: kernels.isa,
            blocking,
        })
    }
}

impl<S: AsRef<[f32]>> PackedB<S> {
    /// Rows of B (the inner dimension of the products).
    ///
    /// ```
    /// use huiyan_kernels::{gemm::{packed_b_len, PackedB}, Kernels, MatRef};
    /// let kern = Kernels::scalar();
    /// let p = PackedB::new(&kern, MatRef::row_major(&[1.0; 6], 3, 2), vec![0.0; packed_b_len(&kern, 3, 2)])?;
    /// assert_eq!((p.k(), p.n()), (3, 2));
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of B (and of C).
    ///
    /// ```
    /// use huiyan_kernels::{gemm::{packed_b_len, PackedB}, Kernels, MatRef};
    /// let kern = Kernels::scalar();
    /// let p = PackedB::new(&kern, MatRef::row_major(&[1.0; 6], 2, 3), vec![0.0; packed_b_len(&kern, 2, 3)])?;
    /// assert_eq!(p.n(), 3);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn n(&self) -> usize {
        self.n
    }

    /// The tier whose kernels this was packed for.
    ///
    /// ```
    /// use huiyan_kernels::{gemm::{packed_b_len, PackedB}, isa::IsaId, Kernels, MatRef};
    /// let kern = Kernels::scalar();
    /// let p = PackedB::new(&kern, MatRef::row_major(&[1.0; 4], 2, 2), vec![0.0; packed_b_len(&kern, 2, 2)])?;
    /// assert_eq!(p.isa(), IsaId::Scalar);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn isa(&self) -> IsaId {
        self.isa
    }

    /// The storage back, to reuse it (its contents are the panels).
    ///
    /// ```
    /// use huiyan_kernels::{gemm::{packed_b_len, PackedB}, Kernels, MatRef};
    /// let kern = Kernels::scalar();
    /// let len = packed_b_len(&kern, 2, 2);
    /// let p = PackedB::new(&kern, MatRef::row_major(&[1.0; 4], 2, 2), vec![0.0; len])?;
    /// assert_eq!(p.into_storage().len(), len);
    /// # Ok::<(), huiyan_kernels::Error>(())
    /// ```
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Elements per unit of depth between the rank-`kc` blocks: `n` rounded up to `MR`.
    pub(super) fn npad(&self) -> usize {
        self.n.div_ceil(self.blocking.mr) * self.blocking.mr
    }

    /// The first panel and the span of the panels, checked against the storage as it is now
    /// (`AsRef` is the caller's code: its slice is looked at, not trusted to stay the same).
    pub(super) fn panels(&self) -> Result<(*const f32, Span), Error> {
        let s = self.storage.as_ref();
        let needed = self
            .blocking
            .packed_b_len(self.k, self.n)
            .ok_or(Error::Overflow {
                operand: Operand::PackedB,
            })?;
        let sp = span_of(Operand::PackedB, s, needed)?;
        // In bounds: offset < ALIGN_SLACK ≤ needed ≤ s.len() when anything is packed, and 0
        // otherwise.
        Ok((s.as_ptr().wrapping_add(self.offset), sp))
    }
}

/// The span of the first `needed` elements of `s`, or [`Error::SliceTooShort`].
fn span_of(op: Operand, s: &[f32], needed: usize) -> Result<Span, Error> {
    if s.len() < needed {
        return Err(Error::SliceTooShort {
            operand: op,
            needed,
            got: s.len(),
        });
    }
    check_mat_ref(op, &MatRef::row_major(&s[..needed], 1, needed))
}

/// Elements of workspace [`gemm_packed`] needs for an `m × n × k` product with `kernels`:
/// room for the packed part of A only (B is never packed again); 0 when any dimension is 0.
///
/// ```
/// use huiyan_kernels::{gemm::{gemm_packed_workspace_len, gemm_workspace_len}, Kernels};
/// let k = Kernels::best_compile_time();
/// assert_eq!(gemm_packed_workspace_len(&k, 0, 5, 5), 0);
/// assert!(gemm_packed_workspace_len(&k, 512, 1152, 384) < gemm_workspace_len(&k, 512, 1152, 384));
/// ```
pub fn gemm_packed_workspace_len(kernels: &Kernels, m: usize, n: usize, k: usize) -> usize {
    kernels.gemm.blocking.packed_workspace_len(m, n, k)
}

/// `C ← α·A·B + β·C + bias` with B prepacked ([`PackedB`]), on the calling thread; contract:
/// [the module](super), with the bias as in [`gemm_bias`](super::gemm_bias).
///
/// Validates everything first and returns the first [`Error`] found without touching `c`:
/// `b` packed for another table ([`Error::PackedForOtherKernels`]), `a` not `m × k` or `c` not
/// `m × n` for the packed `k × n` ([`Error::DimMismatch`]), views shorter than their shapes,
/// `c` aliasing or overlapping an input, a bias of other than `n` elements
/// ([`Error::SliceTooShort`] for [`Operand::Bias`]), a workspace shorter than
/// [`gemm_packed_workspace_len`]. Never allocates, never panics.
///
/// ```
/// use huiyan_kernels::gemm::{gemm_packed, gemm_packed_workspace_len, packed_b_len, PackedB};
/// use huiyan_kernels::{isa::IsaId, Error, Kernels, MatMut, MatRef};
/// let kern = Kernels::portable();
/// let b = [1.0f32, 2.0, 3.0, 4.0]; // 2 × 2
/// let pb = PackedB::new(&kern, MatRef::row_major(&b, 2, 2), vec![0.0; packed_b_len(&kern, 2, 2)])?;
/// let a = [1.0f32, 1.0];
/// let mut c = [0.0f32; 2];
/// let mut ws = vec![0.0; gemm_packed_workspace_len(&kern, 1, 2, 2)];
/// gemm_packed(&kern, 1.0, MatRef::row_major(&a, 1, 2), &pb, 0.0,
///             MatMut::row_major(&mut c, 1, 2), None, &mut ws)?;
/// assert_eq!(c, [4.0, 6.0]);
/// // Packed for one table, used with another: a typed error, C untouched.
/// let err = gemm_packed(&Kernels::scalar(), 1.0, MatRef::row_major(&a, 1, 2), &pb, 0.0,
///                       MatMut::row_major(&mut c, 1, 2), None, &mut ws);
/// assert_eq!(err, Err(Error::PackedForOtherKernels {
///     operand: huiyan_kernels::Operand::PackedB, packed: IsaId::Portable, kernels: IsaId::Scalar,
/// }));
/// assert_eq!(c, [4.0, 6.0]);
/// # Ok::<(), Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn gemm_packed<TA: Element, S: AsRef<[f32]>>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
    b: &PackedB<S>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
    workspace: &mut [f32],
) -> Result<(), Error> {
    let args = validated_packed(kernels, alpha, a, b, beta, c, bias)?;
    let gk = &kernels.gemm;
    let needed = gk.blocking.packed_workspace_len(args.m, args.n, args.k);
    check_workspace(needed, workspace.len())?;
    // SAFETY: validated_packed checked the views, the bias and that the panels were packed for
    // this table's blocking with this k and n (and are still all there); the workspace is an
    // exclusive slice of the required length, so it overlaps nothing else; `kernels` could only
    // be built from a token proving its ISA.
    unsafe { (gk.run)(&args, workspace.as_mut_ptr()) };
    Ok(())
}

const _: () = assert!(ALIGN_SLACK * core::mem::size_of::<f32>() >= 64);
