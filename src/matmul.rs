//! Matrix multiplication through the dispatched kernels.
//!
//! [`matmul`] is `C ← α·A·B + β·C` (contract: [`huiyan_kernels::gemm`]) with the kernel table
//! [`dispatch::kernels`] picks and a packing workspace kept per thread, so after the first call
//! of a given size on a thread nothing is allocated. [`matmul_with`] takes the table explicitly
//! (tests run it for every ISA).
//!
//! With the `rayon` feature, large products are split into row (or column) blocks of C along
//! its larger stride, one per worker, each a complete single-thread product. Every element is
//! still summed by the same kernel in the same order, so the result is bit-identical to the
//! single-thread one whatever the thread count.

use std::cell::RefCell;

use huiyan_kernels::gemm::{gemm, gemm_workspace_len};
use huiyan_kernels::{shape, Error, Kernels, MatMut, MatRef};

use crate::dispatch;

thread_local! {
    /// Packing workspace of this thread, grown on demand and reused.
    static WORKSPACE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

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
    // Validate before anything else (no allocation, no thread hop for bad input).
    let (m, n, k) = shape::check_gemm(&a, &b, &c)?;
    #[cfg(feature = "rayon")]
    {
        let parts = par::parts(m, n, k);
        if parts > 1 {
            return par::run(kernels, alpha, a, b, beta, c, parts);
        }
    }
    single(kernels, alpha, a, b, beta, c, (m, n, k))
}

/// One complete product on the calling thread with its reusable workspace.
fn single(
    kernels: &Kernels,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    (m, n, k): (usize, usize, usize),
) -> Result<(), Error> {
    let need = gemm_workspace_len(kernels, m, n, k);
    WORKSPACE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut ws) => {
            if ws.len() < need {
                ws.resize(need, 0.0);
            }
            gemm(kernels, alpha, a, b, beta, c, &mut ws[..need])
        }
        // Re-entered on this thread (impossible today; cheap insurance): a private buffer.
        Err(_) => gemm(kernels, alpha, a, b, beta, c, &mut vec![0.0; need]),
    })
}

#[cfg(feature = "rayon")]
mod par {
    use super::*;

    /// Below this many multiply-adds a thread hop costs more than it saves.
    const MIN_FMAS_PER_PART: usize = 1 << 21;
    /// Split points are multiples of this (a multiple of every kernel's MR and NR), so parts
    /// keep whole tiles.
    const GRAIN: usize = 96;

    /// How many parts to split an `m × n × k` product into (1: don't).
    pub(super) fn parts(m: usize, n: usize, k: usize) -> usize {
        let threads = rayon::current_num_threads();
        if threads < 2 {
            return 1;
        }
        let fmas = m.saturating_mul(n).saturating_mul(k);
        let by_work = fmas / MIN_FMAS_PER_PART;
        let by_shape = m.max(n).div_ceil(GRAIN);
        threads.min(by_work).min(by_shape).max(1)
    }

    /// Splits C (and A or B with it) along C's larger stride into `parts` blocks, recursively
    /// with `rayon::join` (no heap allocation), each block a complete single-thread product.
    pub(super) fn run(
        kernels: &Kernels,
        alpha: f32,
        a: MatRef<'_>,
        b: MatRef<'_>,
        beta: f32,
        c: MatMut<'_>,
        parts: usize,
    ) -> Result<(), Error> {
        if c.rs >= c.cs {
            rows(kernels, alpha, a, b, beta, c, parts)
        } else {
            // Columns of C are rows of Cᵀ = Bᵀ·Aᵀ: the same products, element by element.
            rows(kernels, alpha, b.t(), a.t(), beta, c.t(), parts)
        }
    }

    /// Row blocks of C (whose row stride is its larger one, so blocks occupy disjoint memory).
    fn rows(
        kernels: &Kernels,
        alpha: f32,
        a: MatRef<'_>,
        b: MatRef<'_>,
        beta: f32,
        mut c: MatMut<'_>,
        parts: usize,
    ) -> Result<(), Error> {
        let m = c.rows;
        let left_parts = parts / 2;
        let split = (m * left_parts / parts).div_ceil(GRAIN) * GRAIN;
        if parts < 2 || split == 0 || split >= m {
            let dims = (m, c.cols, a.cols);
            return single(kernels, alpha, a, b, beta, c, dims);
        }
        let (a0, a1) = split_ref(a, split);
        let (c0, c1) = split_mut(&mut c, split);
        let (r0, r1) = rayon::join(
            || rows(kernels, alpha, a0, b, beta, c0, left_parts),
            || rows(kernels, alpha, a1, b, beta, c1, parts - left_parts),
        );
        r0.and(r1)
    }

    /// Rows `..at` and `at..` of a validated input view.
    fn split_ref<'a>(v: MatRef<'a>, at: usize) -> (MatRef<'a>, MatRef<'a>) {
        let off = at * v.rs;
        // SAFETY: `v` was validated (check_gemm): its `rows × cols` elements lie inside its
        // `len`, so `off ≤ (rows−1)·rs < len` for `0 < at < rows`, and each part only
        // addresses elements of `v`. Both parts are shared, read-only views like `v`.
        unsafe {
            (
                MatRef::from_raw_parts(v.as_ptr(), v.len(), at, v.cols, v.rs, v.cs),
                MatRef::from_raw_parts(
                    v.as_ptr().add(off),
                    v.len() - off,
                    v.rows - at,
                    v.cols,
                    v.rs,
                    v.cs,
                ),
            )
        }
    }

    /// Rows `..at` and `at..` of a validated output view whose row stride is its larger one.
    fn split_mut<'a>(v: &'a mut MatMut<'_>, at: usize) -> (MatMut<'a>, MatMut<'a>) {
        let (rows, cols, rs, cs) = (v.rows, v.cols, v.rs, v.cs);
        let off = at * rs;
        // Elements spanned by the first `at` rows: everything before row `at` starts, because
        // C's strides do not alias and rs ≥ cs means rs ≥ (cols−1)·cs + 1.
        let len0 = (at - 1) * rs + (cols - 1) * cs + 1;
        let ptr = v.as_mut_ptr();
        // SAFETY: `v` was validated (coverage, injective strides, disjoint from A and B). With
        // rs ≥ cs the non-aliasing check gives rs ≥ (cols−1)·cs + 1, so the first part's
        // elements lie in `ptr .. ptr + len0` with len0 ≤ off, and the second part's in
        // `ptr + off .. ptr + len`: the two ranges are disjoint, each part is the only access
        // to its range while `v` is mutably borrowed, and neither overlaps A or B.
        unsafe {
            (
                MatMut::from_raw_parts(ptr, len0, at, cols, rs, cs),
                MatMut::from_raw_parts(ptr.add(off), v.len() - off, rows - at, cols, rs, cs),
            )
        }
    }
}
