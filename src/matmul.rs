//! Matrix multiplication through the dispatched kernels.
//!
//! [`matmul`] is `C ← α·A·B + β·C` (contract: [`huiyan_kernels::gemm`]) with the kernel table
//! [`dispatch::kernels`] picks and a packing workspace kept per thread, so after the first call
//! of a given size on a thread nothing is allocated. [`matmul_with`] takes the table explicitly
//! (tests run it for every ISA).
//!
//! With the `rayon` feature, products run as a [`GemmJob`](huiyan_kernels::gemm::GemmJob): blocks of whole rows (or columns)
//! of C, cut by the shapes alone, each a complete product on the thread that claims it. Every
//! element is still summed by the same kernel in the same order, so the result is
//! bit-identical to the single-thread one whatever the thread count. Without it, a product is
//! one call on the calling thread (B packed once for all of C).

#[cfg(not(feature = "rayon"))]
use huiyan_kernels::shape;
use huiyan_kernels::{Error, Kernels, MatMut, MatRef};

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
pub fn matmul(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
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
pub fn matmul_with(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    {
        let job = huiyan_kernels::gemm::GemmJob::new(kernels, alpha, a, b, beta, c)?;
        crate::run::run(&job)
    }
    #[cfg(not(feature = "rayon"))]
    {
        // Validate before anything else (no allocation for bad input).
        let (m, n, k) = shape::check_gemm(&a, &b, &c)?;
        single(kernels, alpha, a, b, beta, c, (m, n, k))
    }
}

/// One complete product on the calling thread, with this thread's task workspace.
#[cfg(not(feature = "rayon"))]
fn single(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    (m, n, k): (usize, usize, usize),
) -> Result<(), Error> {
    let need = huiyan_kernels::gemm::gemm_workspace_len(kernels, m, n, k);
    crate::run::with_task_workspace(need, |ws| {
        huiyan_kernels::gemm::gemm(kernels, alpha, a, b, beta, c, ws)
    })
}
