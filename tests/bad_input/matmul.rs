//! Matmul: dimension mismatches, short slices, aliasing and overlapping C, overflow, and the
//! BLAS no-ops of zero dimensions.

use crate::SENTINEL;
use huiyan::dispatch;
use huiyan::{Dim, Error, MatMut, MatRef, Operand};

type MatmulFn = Box<dyn Fn(f32, MatRef<'_>, MatRef<'_>, f32, MatMut<'_>) -> Result<(), Error>>;

/// Every public matmul entry point: the reference, `huiyan::matmul`, and per ISA on this
/// machine `huiyan::matmul_with` and the core `gemm` (each must reject bad input identically).
fn matmul_entry_points() -> Vec<(String, MatmulFn)> {
    let mut v: Vec<(String, MatmulFn)> = vec![
        (
            "reference::matmul".into(),
            Box::new(huiyan::reference::matmul),
        ),
        ("huiyan::matmul".into(), Box::new(huiyan::matmul)),
    ];
    for k in dispatch::available() {
        let name = k.isa().name();
        v.push((
            format!("matmul_with({name})"),
            Box::new(move |al, a, b, be, c| huiyan::matmul_with(&k, al, a, b, be, c)),
        ));
        v.push((
            format!("kernels::gemm::gemm({name})"),
            Box::new(move |al, a, b, be, c| {
                let mut ws = vec![0.0f32; 1 << 16];
                huiyan_kernels::gemm::gemm(&k, al, a, b, be, c, &mut ws)
            }),
        ));
    }
    v
}

#[track_caller]
fn matmul_case(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c_rows: usize,
    c_cols: usize,
    c_strides: (usize, usize),
    c_len: usize,
    want: Error,
) {
    for (name, f) in matmul_entry_points() {
        let mut c = vec![SENTINEL; c_len];
        let got = f(
            1.0,
            a,
            b,
            0.0,
            MatMut::new(&mut c, c_rows, c_cols, c_strides.0, c_strides.1),
        );
        assert_eq!(got, Err(want), "{name}");
        assert!(
            c.iter().all(|&x| x == SENTINEL),
            "{name}: C written on error"
        );
    }
}

#[test]
fn matmul_inner_dimension_mismatch() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 8]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 4, 2),
        2,
        2,
        (2, 1),
        4,
        Error::DimMismatch {
            dim: Dim::K,
            expected: 3,
            got: 4,
        },
    );
}

#[test]
fn matmul_output_rows_mismatch() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        3,
        2,
        (2, 1),
        6,
        Error::DimMismatch {
            dim: Dim::M,
            expected: 2,
            got: 3,
        },
    );
}

#[test]
fn matmul_a_slice_too_short() {
    let (a, b) = (vec![1.0f32; 5], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (2, 1),
        4,
        Error::SliceTooShort {
            operand: Operand::A,
            needed: 6,
            got: 5,
        },
    );
}

#[test]
fn matmul_b_strides_reach_past_slice() {
    // Column-major B with a leading dimension of 4: needs (2−1)·4 + 3 = 7 elements.
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::new(&b, 3, 2, 1, 4),
        2,
        2,
        (2, 1),
        4,
        Error::SliceTooShort {
            operand: Operand::B,
            needed: 7,
            got: 6,
        },
    );
}

#[test]
fn matmul_c_slice_too_short() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (2, 1),
        3,
        Error::SliceTooShort {
            operand: Operand::C,
            needed: 4,
            got: 3,
        },
    );
}

#[test]
fn matmul_c_strides_alias() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    matmul_case(
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 2),
        2,
        2,
        (1, 1),
        4,
        Error::AliasingStrides {
            operand: Operand::C,
            strides: [1, 1, 0, 0],
        },
    );
}

#[test]
fn matmul_dimension_product_overflows() {
    let (a, b) = (vec![1.0f32; 6], vec![1.0f32; 6]);
    let huge = usize::MAX / 2;
    matmul_case(
        MatRef::new(&a, huge, 3, 3, 1),
        MatRef::row_major(&b, 3, 2),
        huge,
        2,
        (2, 1),
        4,
        Error::Overflow {
            operand: Operand::A,
        },
    );
}

#[test]
fn matmul_c_overlaps_a() {
    for (name, f) in matmul_entry_points() {
        let mut buf = vec![SENTINEL; 32];
        let b = vec![1.0f32; 4];
        let p = buf.as_mut_ptr();
        // SAFETY: both views lie inside `buf` (32 elements) and only live for this call, which
        // detects the overlap and returns before touching either.
        let (a, c) = unsafe {
            (
                MatRef::from_raw_parts(p.add(2) as *const f32, 4, 2, 2, 2, 1),
                MatMut::from_raw_parts(p, 4, 2, 2, 2, 1),
            )
        };
        assert_eq!(
            f(1.0, a, MatRef::row_major(&b, 2, 2), 0.0, c),
            Err(Error::Overlap {
                output: Operand::C,
                input: Operand::A
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&x| x == SENTINEL), "{name}");
    }
}

#[test]
fn matmul_c_overlaps_b() {
    for (name, f) in matmul_entry_points() {
        let mut buf = vec![SENTINEL; 32];
        let a = vec![1.0f32; 4];
        let p = buf.as_mut_ptr();
        // SAFETY: as in `matmul_c_overlaps_a`.
        let (b, c) = unsafe {
            (
                MatRef::from_raw_parts(p.add(10) as *const f32, 9, 2, 2, 1, 7),
                MatMut::from_raw_parts(p.add(16), 4, 2, 2, 2, 1),
            )
        };
        assert_eq!(
            f(1.0, MatRef::row_major(&a, 2, 2), b, 0.0, c),
            Err(Error::Overlap {
                output: Operand::C,
                input: Operand::B
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&x| x == SENTINEL), "{name}");
    }
}

#[test]
fn matmul_zero_dimensions_are_blas_no_ops() {
    // m = 0 / n = 0: nothing to write. k = 0: C ← β·C, and β = 0 overwrites without reading.
    for (name, f) in matmul_entry_points() {
        let (a, b) = (Vec::<f32>::new(), Vec::<f32>::new());
        let mut c = vec![f32::NAN; 6];
        f(
            2.0,
            MatRef::row_major(&a, 2, 0),
            MatRef::row_major(&b, 0, 3),
            0.0,
            MatMut::row_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![0.0; 6], "{name}: k = 0, β = 0");
        let mut c = vec![4.0f32; 6];
        f(
            2.0,
            MatRef::row_major(&a, 2, 0),
            MatRef::row_major(&b, 0, 3),
            0.5,
            MatMut::row_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![2.0; 6], "{name}: k = 0, β = 0.5");
        let mut c = vec![SENTINEL; 3];
        f(
            1.0,
            MatRef::row_major(&a, 0, 4),
            MatRef::row_major(&[1.0; 12], 4, 3),
            0.0,
            MatMut::row_major(&mut c, 0, 3),
        )
        .unwrap();
        assert!(
            c.iter().all(|&x| x == SENTINEL),
            "{name}: m = 0 writes nothing"
        );
    }
}
