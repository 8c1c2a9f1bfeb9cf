//! Matrix multiplication through the dispatched kernels.
//!
//! [`matmul`] is `C ← α·A·B + β·C` (contract: [`huiyan_kernels::gemm`]) with the kernel table
//! [`dispatch::kernels`] picks and a packing workspace kept per thread, so after the first call
//! of a given size on a thread nothing is allocated. [`matmul_with`] takes the table explicitly
//! (tests run it for every ISA). [`matmul_bias`] adds a row-vector bias in the microkernel's
//! write-back; [`PackedB`] packs a right-hand operand once (a layer's weights) and
//! [`matmul_packed`] multiplies by it without packing it again.
//!
//! A and B may be stored in `f32`, [`bf16`](crate::bf16) or [`f16`](crate::f16) (widened
//! while they are packed), and so may C: a half-precision C receives the `f32` result (with
//! `C₀` widened when β ≠ 0) rounded once, to nearest even.
//!
//! With the `rayon` feature, products run as a [`GemmJob`](huiyan_kernels::gemm::GemmJob):
//! blocks of whole rows (or columns) of C, cut by the shapes alone, each a complete product on
//! the thread that claims it. Every element is still summed by the same kernel in the same
//! order, so the result is bit-identical to the single-thread one whatever the thread count.
//! Without it, a product is one call on the calling thread (B packed once for all of C).

use huiyan_kernels::convert::convert;
use huiyan_kernels::gemm;
#[cfg(not(feature = "rayon"))]
use huiyan_kernels::shape;
use huiyan_kernels::{elem::Element, isa::IsaId, Error, Kernels, MatMut, MatRef, Operand};

use crate::dispatch;

/// `C ← α·A·B + β·C` with the dispatched kernels.
///
/// Shapes: `A` is `m × k`, `B` is `k × n`, `C` is `m × n`, each with its own row and column
/// strides (a transpose is a swap of strides: [`MatRef::t`]). β = 0 never reads `C`. Returns a
/// typed [`Error`] (and leaves `C` untouched) for mismatched shapes, slices too short for their
/// strides, `C` overlapping `A` or `B`, or `C` strides that alias. Zero dimensions follow BLAS:
/// `m = 0` or `n = 0` does nothing, `k = 0` gives `C ← β·C`.
///
/// ```
/// use huiyan::{matmul, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3
/// let b = [1.0, 2.0, 3.0];                // 3 × 1
/// let mut c = [f32::NAN; 2];              // β = 0: never read
/// matmul(1.0, MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 1),
///        0.0, MatMut::row_major(&mut c, 2, 1)).unwrap();
/// assert_eq!(c, [14.0, 32.0]);
///
/// // Aᵀ·A through strides, no copy:
/// let mut g = [0.0; 9];
/// let at = MatRef::row_major(&a, 2, 3).t();
/// matmul(1.0, at, MatRef::row_major(&a, 2, 3), 0.0, MatMut::row_major(&mut g, 3, 3)).unwrap();
/// assert_eq!(g[0], 17.0);
/// ```
pub fn matmul<TA: Element, TB: Element, TC: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_, TC>,
) -> Result<(), Error> {
    matmul_with(dispatch::kernels(), alpha, a, b, beta, c)
}

/// [`matmul`] with an explicit kernel table (for example one of
/// [`dispatch::available`]).
///
/// ```
/// use huiyan::{matmul_with, MatMut, MatRef};
/// for k in huiyan::dispatch::available() {
///     let mut c = [0.0f32; 1];
///     matmul_with(&k, 2.0, MatRef::row_major(&[3.0], 1, 1), MatRef::row_major(&[4.0], 1, 1),
///                 0.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
///     assert_eq!(c, [24.0], "{}", k.isa().name());
/// }
/// ```
pub fn matmul_with<TA: Element, TB: Element, TC: Element>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_, TC>,
) -> Result<(), Error> {
    matmul_bias_with(kernels, alpha, a, b, beta, c, None)
}

/// `C ← α·A·B + β·C + bias` with the dispatched kernels: [`matmul`] with `bias` (when given,
/// exactly `n` elements) added to every row of `C`, in the microkernel's write-back (rounding
/// order: [`huiyan_kernels::gemm`]). A linear layer `y = x·Wᵀ + b`, with `W` in PyTorch's
/// `[out, in]` layout:
///
/// ```
/// use huiyan::{matmul_bias, Error, MatMut, MatRef, Operand};
/// let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // W: [out = 3, in = 2]
/// let x = [2.0, 3.0];                     // one token
/// let mut y = [f32::NAN; 3];              // β = 0: never read
/// matmul_bias(1.0, MatRef::row_major(&x, 1, 2), MatRef::row_major(&w, 3, 2).t(), 0.0,
///             MatMut::row_major(&mut y, 1, 3), Some(&[0.5, 0.5, -5.0]))?;
/// assert_eq!(y, [2.5, 3.5, 0.0]);
/// // A bias of the wrong length is a typed error; y is untouched.
/// let err = matmul_bias(1.0, MatRef::row_major(&x, 1, 2), MatRef::row_major(&w, 3, 2).t(),
///                       0.0, MatMut::row_major(&mut y, 1, 3), Some(&[1.0; 2]));
/// assert_eq!(err, Err(Error::SliceTooShort { operand: Operand::Bias, needed: 3, got: 2 }));
/// assert_eq!(y, [2.5, 3.5, 0.0]);
/// # Ok::<(), Error>(())
/// ```
pub fn matmul_bias<TA: Element, TB: Element, TC: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_, TC>,
    bias: Option<&[f32]>,
) -> Result<(), Error> {
    matmul_bias_with(dispatch::kernels(), alpha, a, b, beta, c, bias)
}

/// [`matmul_bias`] with an explicit kernel table.
///
/// ```
/// use huiyan::{matmul_bias_with, MatMut, MatRef};
/// for k in huiyan::dispatch::available() {
///     let mut c = [7.0f32; 2];
///     matmul_bias_with(&k, 1.0, MatRef::row_major(&[2.0], 1, 1), MatRef::row_major(&[1.0, 2.0], 1, 2),
///                      1.0, MatMut::row_major(&mut c, 1, 2), Some(&[0.5, -0.5])).unwrap();
///     assert_eq!(c, [9.5, 10.5], "{}", k.isa().name());
/// }
/// ```
pub fn matmul_bias_with<TA: Element, TB: Element, TC: Element>(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_, TC>,
    bias: Option<&[f32]>,
) -> Result<(), Error> {
    let c = match c.as_f32() {
        Ok(c) => c,
        Err(c) => {
            huiyan_kernels::shape::check_gemm_bias(&a, &b, &c, bias)?;
            return via_f32(c, beta, |c, beta| {
                matmul_bias_with(kernels, alpha, a, b, beta, c, bias)
            });
        }
    };
    #[cfg(feature = "rayon")]
    {
        let job = gemm::GemmJob::with_bias(kernels, alpha, a, b, beta, c, bias)?;
        crate::run::run(&job)
    }
    #[cfg(not(feature = "rayon"))]
    {
        // Validate the shapes before sizing the workspace (no allocation for bad input).
        let (m, n, k) = shape::check_gemm(&a, &b, &c)?;
        let need = gemm::gemm_workspace_len(kernels, m, n, k);
        crate::run::with_task_workspace(need, |ws| {
            gemm::gemm_bias(kernels, alpha, a, b, beta, c, bias, ws)
        })
    }
}

/// A right-hand matmul operand `B` (`k × n`) packed once, in memory of its own, for the kernel
/// table it was packed with; [`matmul_packed`] multiplies by it without packing it again.
///
/// Pack a layer's weights when the layer is built and reuse them for every input: per call,
/// only the activations are touched. `B` may have any strides: PyTorch's `nn.Linear` weight
/// `W` (`[out, in]`) is packed as `B = Wᵀ`, a transpose through strides. The products have
/// the bits of [`matmul_bias_with`] on the unpacked `B` with the same table.
///
/// ```
/// use huiyan::{matmul_packed, MatMut, MatRef, PackedB};
/// let (d_in, d_out) = (3, 2);
/// let w = [1.0, 2.0, 3.0,   // W[out, in]
///          0.0, 1.0, 0.0];
/// let wt = PackedB::new(MatRef::row_major(&w, d_out, d_in).t())?; // B = Wᵀ, 3 × 2
/// for x in [[1.0, 1.0, 1.0], [0.0, 2.0, 0.0]] {
///     let mut y = [0.0f32; 2];
///     matmul_packed(1.0, MatRef::row_major(&x, 1, d_in), &wt, 0.0,
///                   MatMut::row_major(&mut y, 1, d_out), Some(&[0.0, 0.5]))?;
///     assert_eq!(y[1], x[1] + 0.5);
/// }
/// # Ok::<(), huiyan::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PackedB {
    kernels: Kernels,
    inner: gemm::PackedB<Vec<f32>>,
}

impl PackedB {
    /// Packs `b` for the dispatched kernels ([`dispatch::kernels`]).
    ///
    /// ```
    /// use huiyan::{Error, MatRef, Operand, PackedB};
    /// let b = [1.0f32; 5];
    /// let err = PackedB::new(MatRef::row_major(&b, 2, 3)).unwrap_err();
    /// assert_eq!(err, Error::SliceTooShort { operand: Operand::B, needed: 6, got: 5 });
    /// ```
    pub fn new<E: Element>(b: MatRef<'_, E>) -> Result<Self, Error> {
        Self::with_kernels(dispatch::kernels(), b)
    }

    /// Packs `b` for `kernels` (for example one of [`dispatch::available`]). Validates `b`
    /// before allocating.
    ///
    /// ```
    /// use huiyan::{MatRef, PackedB};
    /// for k in huiyan::dispatch::available() {
    ///     let p = PackedB::with_kernels(&k, MatRef::row_major(&[1.0; 6], 2, 3))?;
    ///     assert_eq!(p.isa(), k.isa());
    /// }
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn with_kernels<E: Element>(kernels: &Kernels, b: MatRef<'_, E>) -> Result<Self, Error> {
        huiyan_kernels::shape::check_mat_ref(Operand::B, &b)?;
        let len = gemm::packed_b_len(kernels, b.rows, b.cols);
        if len == usize::MAX {
            return Err(Error::Overflow {
                operand: Operand::PackedB,
            });
        }
        Ok(PackedB {
            kernels: *kernels,
            inner: gemm::PackedB::new(kernels, b, vec![0.0; len])?,
        })
    }

    /// Rows of `B`: the inner dimension `k` of the products.
    ///
    /// ```
    /// let p = huiyan::PackedB::new(huiyan::MatRef::row_major(&[1.0; 6], 3, 2))?;
    /// assert_eq!((p.k(), p.n()), (3, 2));
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn k(&self) -> usize {
        self.inner.k()
    }

    /// Columns of `B` (and of `C`).
    ///
    /// ```
    /// let p = huiyan::PackedB::new(huiyan::MatRef::row_major(&[1.0; 6], 2, 3))?;
    /// assert_eq!(p.n(), 3);
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn n(&self) -> usize {
        self.inner.n()
    }

    /// The tier of the kernels it was packed for (and that [`matmul_packed`] runs).
    ///
    /// ```
    /// let p = huiyan::PackedB::new(huiyan::MatRef::row_major(&[1.0; 4], 2, 2))?;
    /// assert_eq!(p.isa(), huiyan::dispatch::kernels().isa());
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn isa(&self) -> IsaId {
        self.inner.isa()
    }

    /// The kernels' own [`PackedB`](huiyan_kernels::gemm::PackedB), for
    /// [`gemm_packed`](huiyan_kernels::gemm::gemm_packed) and
    /// [`GemmJob::packed`](huiyan_kernels::gemm::GemmJob::packed) with the same table.
    ///
    /// ```
    /// let p = huiyan::PackedB::new(huiyan::MatRef::row_major(&[1.0; 4], 2, 2))?;
    /// assert_eq!(p.as_kernel_packed().n(), 2);
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn as_kernel_packed(&self) -> &gemm::PackedB<Vec<f32>> {
        &self.inner
    }
}

/// `C ← α·A·B + β·C + bias` with `B` prepacked, on the kernel table it was packed for; as
/// [`matmul_bias`] otherwise (the same bits as [`matmul_bias_with`] on the unpacked `B`).
///
/// `A` is `m × k` and `C` `m × n` for the packed `k × n` ([`Error::DimMismatch`] otherwise);
/// every other check is [`matmul_bias`]'s. Fastest with a row-major `C`.
///
/// ```
/// use huiyan::{matmul_packed, Dim, Error, MatMut, MatRef, PackedB};
/// let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];                 // 2 × 3
/// let pb = PackedB::new(MatRef::row_major(&b, 2, 3))?;
/// let a = [1.0, 1.0, 0.0, 1.0];                           // 2 × 2
/// let mut c = [1.0f32; 6];
/// matmul_packed(2.0, MatRef::row_major(&a, 2, 2), &pb, 1.0,
///               MatMut::row_major(&mut c, 2, 3), None)?;
/// assert_eq!(c, [11.0, 15.0, 19.0, 9.0, 11.0, 13.0]);
/// let err = matmul_packed(1.0, MatRef::row_major(&a, 4, 1), &pb, 0.0,
///                         MatMut::row_major(&mut c, 4, 3), None);
/// assert_eq!(err, Err(Error::DimMismatch { dim: Dim::K, expected: 1, got: 2 }));
/// # Ok::<(), Error>(())
/// ```
pub fn matmul_packed<TA: Element, TC: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: &PackedB,
    beta: f32,
    c: MatMut<'_, TC>,
    bias: Option<&[f32]>,
) -> Result<(), Error> {
    let c = match c.as_f32() {
        Ok(c) => c,
        Err(c) => {
            huiyan_kernels::shape::check_mat_mut(Operand::C, &c)?;
            return via_f32(c, beta, |c, beta| matmul_packed(alpha, a, b, beta, c, bias));
        }
    };
    let (kernels, pb) = (&b.kernels, &b.inner);
    #[cfg(feature = "rayon")]
    {
        let job = gemm::GemmJob::packed(kernels, alpha, a, pb, beta, c, bias)?;
        crate::run::run(&job)
    }
    #[cfg(not(feature = "rayon"))]
    {
        // Sized from the views' own shapes; a mismatch is reported by gemm_packed before it
        // writes anything.
        let need = gemm::gemm_packed_workspace_len(kernels, a.rows, pb.n(), pb.k());
        crate::run::with_task_workspace(need, |ws| {
            gemm::gemm_packed(kernels, alpha, a, pb, beta, c, bias, ws)
        })
    }
}

thread_local! {
    /// The `f32` copy of a half-precision C ([`via_f32`]), reused per thread.
    static C32: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A product into a half-precision C: `run` computes it into an `f32` copy of C (`C₀` widened
/// into it when β ≠ 0; never read when β = 0), whose result is then rounded once, to nearest
/// even, into C. On `Err` from `run`, C is untouched.
fn via_f32<TC: Element>(
    mut c: MatMut<'_, TC>,
    beta: f32,
    run: impl FnOnce(MatMut<'_>, f32) -> Result<(), Error>,
) -> Result<(), Error> {
    let (m, n) = (c.rows, c.cols);
    // m·n cannot overflow: C was validated to cover its m × n elements.
    crate::scratch::with_scratch(&C32, m * n, |buf| {
        if beta != 0.0 {
            convert(c.as_ref(), MatMut::row_major(buf, m, n))?;
        }
        run(MatMut::row_major(buf, m, n), beta)?;
        convert(MatRef::row_major(buf, m, n), c.rb_mut())
    })
}
