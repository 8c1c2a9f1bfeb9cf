use crate::elem::Element;
use crate::error::Error;
use crate::shape::check_gemm_bias;
use crate::view::{MatMut, MatRef};

/// Reference `C ← α·A·B + β·C` (contract: [`crate::gemm`]), accumulating in `f64`; A and B of
/// any [`Element`] type, read as the `f32` values they widen to.
///
/// ```
/// use huiyan_kernels::{reference, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let mut c = [f32::NAN; 4];    // β = 0: never read
/// reference::matmul(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2),
///                   0.0, MatMut::row_major(&mut c, 2, 2)).unwrap();
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// ```
pub fn matmul<TA: Element, TB: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<(), Error> {
    matmul_bias(alpha, a, b, beta, c, None)
}

/// Reference `C ← α·A·B + β·C + bias` (contract: [`crate::gemm`]; `bias` a row vector of `n`
/// elements added to every row), in `f64` with one rounding to `f32` at the end.
///
/// ```
/// use huiyan_kernels::{reference, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [1.0, 0.0, 0.0, 1.0];
/// let mut c = [1.0f32; 4];
/// reference::matmul_bias(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2),
///                        0.5, MatMut::row_major(&mut c, 2, 2), Some(&[10.0, 20.0])).unwrap();
/// assert_eq!(c, [11.5, 22.5, 13.5, 24.5]);
/// ```
pub fn matmul_bias<TA: Element, TB: Element>(
    alpha: f32,
    a: MatRef<'_, TA>,
    b: MatRef<'_, TB>,
    beta: f32,
    c: MatMut<'_>,
    bias: Option<&[f32]>,
) -> Result<(), Error> {
    let (m, n, k) = check_gemm_bias(&a, &b, &c, bias)?;
    // α = 0 never reads A or B (contract): the sum is skipped, not multiplied by 0.
    let k = if alpha == 0.0 { 0 } else { k };
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                // SAFETY: check_gemm proved every (i, p) of A and (p, j) of B lies inside its
                // slice; offsets cannot overflow because the extents did not.
                let (x, y) = unsafe {
                    (
                        (*a.ptr.add(i * a.rs + p * a.cs)).widen(),
                        (*b.ptr.add(p * b.rs + j * b.cs)).widen(),
                    )
                };
                acc += x as f64 * y as f64;
            }
            // SAFETY: (i, j) lies inside C's validated extent; C does not overlap A or B and no
            // other reference to its memory is live (MatMut is an exclusive borrow).
            let cij = unsafe { &mut *c.ptr.add(i * c.rs + j * c.cs) };
            let prev = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * *cij as f64
            };
            let add = bias.map_or(0.0, |b| b[j] as f64);
            *cij = (alpha as f64 * acc + prev + add) as f32;
        }
    }
    Ok(())
}
