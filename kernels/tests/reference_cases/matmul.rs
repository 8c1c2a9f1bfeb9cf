//! Matrix multiplication: BLAS α/β, strides as transposes, empty dimensions.

use super::assert_exact;
use huiyan_kernels::{reference, MatMut, MatRef};

/// [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[1·5+2·7, 1·6+2·8], [3·5+4·7, 3·6+4·8]]
/// = [[19, 22], [43, 50]]. β = 0 with a NaN-filled C: C is never read.
#[test]
fn matmul_2x2_beta_zero_never_reads_nan_c() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [5.0, 6.0, 7.0, 8.0];
    let mut c = [f32::NAN; 4];
    reference::matmul(
        1.0,
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::row_major(&mut c, 2, 2),
    )
    .unwrap();
    assert_exact(&c, &[19.0, 22.0, 43.0, 50.0]);
}

/// Transposes are strides. A (2×3) = [[1, 2, 3], [4, 5, 6]] stored column-major
/// (rs = 1, cs = 2): memory [1, 4, 2, 5, 3, 6].
/// B (3×2) = [[1, 0], [0, 1], [1, 1]] stored column-major with one element of padding per
/// column (cs = 4): memory [1, 0, 1, ·, 0, 1, 1]; the gap holds NaN and is never read.
/// A·B = [[1+3, 2+3], [4+6, 5+6]] = [[4, 5], [10, 11]].
/// C column-major padded (rs = 1, cs = 3): memory [c00, c10, gap, c01, c11]; the gap (99)
/// must stay untouched.
#[test]
fn matmul_transposed_and_padded_operands_via_strides() {
    let a = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
    let b = [1.0, 0.0, 1.0, f32::NAN, 0.0, 1.0, 1.0];
    let mut c = [f32::NAN, f32::NAN, 99.0, f32::NAN, f32::NAN];
    reference::matmul(
        1.0,
        MatRef::new(&a, 2, 3, 1, 2),
        MatRef::new(&b, 3, 2, 1, 4),
        0.0,
        MatMut::new(&mut c, 2, 2, 1, 3),
    )
    .unwrap();
    assert_exact(&c, &[4.0, 10.0, 99.0, 5.0, 11.0]);
    // The same product through MatRef::t(): Aᵀ of the row-major 3×2 [[1,4],[2,5],[3,6]].
    let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
    let mut c2 = [f32::NAN; 4];
    reference::matmul(
        1.0,
        MatRef::row_major(&at, 3, 2).t(),
        MatRef::new(&b, 3, 2, 1, 4),
        0.0,
        MatMut::row_major(&mut c2, 2, 2),
    )
    .unwrap();
    assert_exact(&c2, &[4.0, 5.0, 10.0, 11.0]);
}

/// α and β in their BLAS meaning. A = [[1, 2], [0, 1]], B = [[3, 1], [4, 0]]:
/// A·B = [[1·3+2·4, 1·1+2·0], [0·3+1·4, 0·1+1·0]] = [[11, 1], [4, 0]].
/// α = 2, β = −0.5, C₀ = [[4, 2], [−6, 8]]:
/// C = [[22 − 2, 2 − 1], [8 + 3, 0 − 4]] = [[20, 1], [11, −4]].
#[test]
fn matmul_alpha_beta() {
    let a = [1.0, 2.0, 0.0, 1.0];
    let b = [3.0, 1.0, 4.0, 0.0];
    let mut c = [4.0, 2.0, -6.0, 8.0];
    reference::matmul(
        2.0,
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        -0.5,
        MatMut::row_major(&mut c, 2, 2),
    )
    .unwrap();
    assert_exact(&c, &[20.0, 1.0, 11.0, -4.0]);
}

/// β ≠ 0 reads C: a NaN there propagates (IEEE), unlike β = 0.
/// A = [[1, −1]], B = [[2], [3]]: A·B = 2 − 3 = −1; α = 0.5 → −0.5; β = 1, C₀ = NaN → NaN.
#[test]
fn matmul_beta_nonzero_propagates_nan_in_c() {
    let (a, b) = ([1.0, -1.0], [2.0, 3.0]);
    let mut c = [f32::NAN];
    let (av, bv) = (MatRef::row_major(&a, 1, 2), MatRef::row_major(&b, 2, 1));
    reference::matmul(0.5, av, bv, 1.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
    assert!(c[0].is_nan());
    reference::matmul(0.5, av, bv, 0.0, MatMut::row_major(&mut c, 1, 1)).unwrap();
    assert_exact(&c, &[-0.5]);
}

/// k = 0: A·B is the empty sum 0, so C ← β·C₀. β = 3, C₀ = [[1, 2], [3, 4]] →
/// [[3, 6], [9, 12]]; β = 0 with NaN in C → all 0. m = 0 writes nothing.
#[test]
fn matmul_k_zero_scales_c() {
    let empty: [f32; 0] = [];
    let mut c = [1.0, 2.0, 3.0, 4.0];
    let a = MatRef::new(&empty, 2, 0, 0, 1);
    let b = MatRef::new(&empty, 0, 2, 2, 1);
    reference::matmul(7.0, a, b, 3.0, MatMut::row_major(&mut c, 2, 2)).unwrap();
    assert_exact(&c, &[3.0, 6.0, 9.0, 12.0]);
    let mut c = [f32::NAN; 4];
    reference::matmul(7.0, a, b, 0.0, MatMut::row_major(&mut c, 2, 2)).unwrap();
    assert_exact(&c, &[0.0; 4]);
    let mut c = [5.0f32; 2];
    let a = MatRef::new(&empty, 0, 2, 2, 1);
    let b = [1.0f32; 4];
    reference::matmul(
        1.0,
        a,
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::new(&mut c, 0, 2, 2, 1),
    )
    .unwrap();
    assert_exact(&c, &[5.0, 5.0]);
}

/// n = 0 is a no-op (BLAS). A row-major `m × 0` C has `rs = cols = 0`, which is fine: a view
/// with no elements cannot alias, and `shape` accepts it (not `AliasingStrides`).
#[test]
fn matmul_n_zero_row_major_c_is_a_no_op() {
    let a = [1.0f32; 6];
    let empty: [f32; 0] = [];
    let mut c: [f32; 0] = [];
    reference::matmul(
        1.0,
        MatRef::row_major(&a, 3, 2),
        MatRef::row_major(&empty, 2, 0),
        0.0,
        MatMut::row_major(&mut c, 3, 0),
    )
    .unwrap();
}
