//! Softmax: scale, shapes, strides, short slices, mask and bias shapes, overlapping output.

use crate::SENTINEL;
use huiyan::dispatch;
use huiyan::{Dim, Error, MatMut, MatRef, Operand, SoftmaxOptions};

type SoftmaxFn = Box<
    dyn Fn(MatRef<'_>, MatMut<'_>, &SoftmaxOptions<'_>, Option<&mut [f32]>) -> Result<(), Error>,
>;

/// Every public out-of-place softmax entry point (reference, std, std and core per ISA).
fn softmax_entry_points() -> Vec<(String, SoftmaxFn)> {
    let mut v: Vec<(String, SoftmaxFn)> = vec![
        (
            "reference::softmax".into(),
            Box::new(huiyan::reference::softmax),
        ),
        ("huiyan::softmax".into(), Box::new(huiyan::softmax)),
    ];
    for k in dispatch::available() {
        let name = k.isa().name();
        v.push((
            format!("softmax_with({name})"),
            Box::new(move |x, y, o, l| huiyan::softmax_with(&k, x, y, o, l)),
        ));
        v.push((
            format!("kernels::softmax::softmax({name})"),
            Box::new(move |x, y, o, l| huiyan_kernels::softmax::softmax(&k, x, y, o, l)),
        ));
    }
    v
}

#[track_caller]
fn softmax_case(
    x: MatRef<'_>,
    y_shape: (usize, usize, usize, usize),
    y_len: usize,
    opts: &SoftmaxOptions<'_>,
    lse_len: usize,
    want: Error,
) {
    for (name, f) in softmax_entry_points() {
        let mut y = vec![SENTINEL; y_len];
        let mut lse = vec![SENTINEL; lse_len];
        let (r, c, rs, cs) = y_shape;
        let got = f(x, MatMut::new(&mut y, r, c, rs, cs), opts, Some(&mut lse));
        assert_eq!(got, Err(want), "{name}");
        assert!(
            y.iter().chain(&lse).all(|&v| v == SENTINEL),
            "{name}: output written on error"
        );
    }
}

#[test]
fn softmax_zero_scale() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions {
            scale: 0.0,
            ..Default::default()
        },
        2,
        Error::InvalidScale { scale: 0.0 },
    );
}

#[test]
fn softmax_infinite_scale() {
    let x = vec![1.0f32; 6];
    let s = f32::NEG_INFINITY;
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions {
            scale: s,
            ..Default::default()
        },
        2,
        Error::InvalidScale { scale: s },
    );
}

#[test]
fn softmax_output_shape_mismatch() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 2, 2, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::DimMismatch {
            dim: Dim::Cols,
            expected: 3,
            got: 2,
        },
    );
}

#[test]
fn softmax_row_stride_smaller_than_cols() {
    // Rows overlapping each other in the *output* alias elements.
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 2, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::AliasingStrides {
            operand: Operand::Y,
            strides: [2, 1, 0, 0],
        },
    );
}

#[test]
fn softmax_non_unit_column_stride() {
    let x = vec![1.0f32; 12];
    softmax_case(
        MatRef::new(&x, 2, 3, 6, 2),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::NonUnitStride {
            operand: Operand::X,
            stride: 2,
        },
    );
}

#[test]
fn softmax_input_too_short() {
    let x = vec![1.0f32; 5];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        2,
        Error::SliceTooShort {
            operand: Operand::X,
            needed: 6,
            got: 5,
        },
    );
}

#[test]
fn softmax_mask_shape_mismatch() {
    let x = vec![1.0f32; 6];
    let mask = vec![true; 4];
    let opts = SoftmaxOptions {
        mask: Some(MatRef::row_major(&mask, 2, 2)),
        ..Default::default()
    };
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &opts,
        2,
        Error::BroadcastShape {
            operand: Operand::Mask,
            expected: [1, 1, 2, 3],
            got: [1, 1, 2, 2],
        },
    );
}

#[test]
fn softmax_bias_shape_mismatch() {
    let x = vec![1.0f32; 6];
    let bias = vec![0.0f32; 9];
    let opts = SoftmaxOptions {
        bias: Some(MatRef::row_major(&bias, 3, 3)),
        ..Default::default()
    };
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &opts,
        2,
        Error::BroadcastShape {
            operand: Operand::Bias,
            expected: [1, 1, 2, 3],
            got: [1, 1, 3, 3],
        },
    );
}

#[test]
fn softmax_lse_too_short() {
    let x = vec![1.0f32; 6];
    softmax_case(
        MatRef::row_major(&x, 2, 3),
        (2, 3, 3, 1),
        6,
        &SoftmaxOptions::default(),
        1,
        Error::SliceTooShort {
            operand: Operand::Lse,
            needed: 2,
            got: 1,
        },
    );
}

#[test]
fn softmax_output_overlaps_input() {
    for (name, f) in softmax_entry_points() {
        let mut buf = vec![SENTINEL; 16];
        let p = buf.as_mut_ptr();
        // SAFETY: both views lie in `buf` and live only for this call, which rejects the
        // overlap before touching memory.
        let (x, y) = unsafe {
            (
                MatRef::from_raw_parts(p as *const f32, 6, 2, 3, 3, 1),
                MatMut::from_raw_parts(p.add(4), 6, 2, 3, 3, 1),
            )
        };
        assert_eq!(
            f(x, y, &SoftmaxOptions::default(), None),
            Err(Error::Overlap {
                output: Operand::Y,
                input: Operand::X
            }),
            "{name}"
        );
        assert!(buf.iter().all(|&v| v == SENTINEL), "{name}");
    }
}
