//! Matmul with a bias or a prepacked B: the entry points (`gemm_bias`,
//! `gemm_packed`, `PackedB::new`, `GemmJob::{with_bias, packed}`, `huiyan::matmul_bias_with`,
//! `huiyan::matmul_packed`, `reference::matmul_bias`) on every tier this CPU has: each bad call
//! is a typed error, identical across the entry points, and leaves C (and a packed storage)
//! untouched.

use crate::SENTINEL;
use huiyan::dispatch::{self, Kernels};
use huiyan::{matmul_bias_with, matmul_packed, Dim, Error, MatMut, MatRef, Operand, PackedB};
use huiyan_kernels::gemm::{
    gemm_bias, gemm_packed, gemm_packed_workspace_len, packed_b_len, GemmJob, PackedB as KPackedB,
};

/// One entry point applied to a C view and a workspace.
type Call<'a> = Box<dyn Fn(MatMut<'_>, &mut [f32]) -> Result<(), Error> + 'a>;

/// `gemm_bias`, `gemm_packed`, `GemmJob::{with_bias, packed}`, `matmul_bias_with`,
/// `matmul_packed` and `reference::matmul_bias` on one bad call: each returns `want` and
/// leaves C as it was.
#[track_caller]
fn expect_all(
    k: &Kernels,
    (a, b): (MatRef<'_>, MatRef<'_>),
    (c_rows, c_cols): (usize, usize),
    bias: Option<&[f32]>,
    want: Error,
) {
    let pb = KPackedB::new(k, b, vec![0.0; packed_b_len(k, b.rows, b.cols)]).unwrap();
    let spb = PackedB::with_kernels(k, b).unwrap();
    let mut ws = vec![0.0f32; 1 << 16];
    let name = k.isa().name();
    let calls: Vec<(&str, Call<'_>)> = vec![
        (
            "gemm_bias",
            Box::new(|c, ws| gemm_bias(k, 1.0, a, b, 0.0, c, bias, ws)),
        ),
        (
            "gemm_packed",
            Box::new(|c, ws| gemm_packed(k, 1.0, a, &pb, 0.0, c, bias, ws)),
        ),
        (
            "GemmJob::with_bias",
            Box::new(|c, _| GemmJob::with_bias(k, 1.0, a, b, 0.0, c, bias).map(drop)),
        ),
        (
            "GemmJob::packed",
            Box::new(|c, _| GemmJob::packed(k, 1.0, a, &pb, 0.0, c, bias).map(drop)),
        ),
        (
            "matmul_bias_with",
            Box::new(|c, _| matmul_bias_with(k, 1.0, a, b, 0.0, c, bias)),
        ),
        (
            "matmul_packed",
            Box::new(|c, _| matmul_packed(1.0, a, &spb, 0.0, c, bias)),
        ),
        (
            "reference::matmul_bias",
            Box::new(|c, _| huiyan::reference::matmul_bias(1.0, a, b, 0.0, c, bias)),
        ),
    ];
    for (what, f) in calls {
        let mut c = vec![SENTINEL; c_rows * c_cols];
        let got = f(MatMut::row_major(&mut c, c_rows, c_cols), &mut ws);
        assert_eq!(got, Err(want), "{name}: {what}");
        assert!(
            c.iter().all(|&x| x == SENTINEL),
            "{name}: {what}: C written on error"
        );
    }
}

#[test]
fn bad_bias_length() {
    let (a, b) = (vec![1.0f32; 12], vec![1.0f32; 20]);
    for k in dispatch::available() {
        let (av, bv) = (MatRef::row_major(&a, 3, 4), MatRef::row_major(&b, 4, 5));
        for len in [4, 6, 0] {
            let bias = vec![0.5f32; len];
            let want = Error::SliceTooShort {
                operand: Operand::Bias,
                needed: 5,
                got: len,
            };
            expect_all(&k, (av, bv), (3, 5), Some(&bias), want);
        }
    }
}

#[test]
fn bad_dims_against_packed_b() {
    let (a, b) = (vec![1.0f32; 40], vec![1.0f32; 20]);
    for k in dispatch::available() {
        let mut ws = vec![0.0f32; 1 << 14];
        let pb = KPackedB::new(
            &k,
            MatRef::row_major(&b, 4, 5),
            vec![0.0; packed_b_len(&k, 4, 5)],
        )
        .unwrap();
        let cases = [
            (MatRef::row_major(&a, 3, 3), (3, 5), Dim::K, 3, 4),
            (MatRef::row_major(&a, 3, 4), (2, 5), Dim::M, 3, 2),
            (MatRef::row_major(&a, 3, 4), (3, 4), Dim::N, 5, 4),
        ];
        for (av, (cr, cc), dim, expected, got) in cases {
            let mut c = vec![SENTINEL; cr * cc];
            let e = gemm_packed(
                &k,
                1.0,
                av,
                &pb,
                0.0,
                MatMut::row_major(&mut c, cr, cc),
                None,
                &mut ws,
            );
            assert_eq!(
                e,
                Err(Error::DimMismatch { dim, expected, got }),
                "{}",
                k.isa().name()
            );
            assert!(c.iter().all(|&x| x == SENTINEL));
        }
        // A shorter than its shape.
        let e = gemm_packed(
            &k,
            1.0,
            MatRef::row_major(&a[..11], 3, 4),
            &pb,
            0.0,
            MatMut::row_major(&mut [SENTINEL; 15], 3, 5),
            None,
            &mut ws,
        );
        assert!(
            matches!(
                e,
                Err(Error::SliceTooShort {
                    operand: Operand::A,
                    ..
                })
            ),
            "{e:?}"
        );
        // Workspace too small.
        let mut c = vec![SENTINEL; 15];
        let need = gemm_packed_workspace_len(&k, 3, 5, 4);
        let e = gemm_packed(
            &k,
            1.0,
            MatRef::row_major(&a, 3, 4),
            &pb,
            0.0,
            MatMut::row_major(&mut c, 3, 5),
            None,
            &mut ws[..need - 1],
        );
        assert_eq!(
            e,
            Err(Error::WorkspaceTooSmall {
                needed: need,
                got: need - 1
            })
        );
        assert!(c.iter().all(|&x| x == SENTINEL));
    }
}

#[test]
fn packed_b_of_another_tier() {
    let (a, b) = (vec![1.0f32; 12], vec![1.0f32; 20]);
    let tiers = dispatch::available();
    for kp in &tiers {
        let pb = KPackedB::new(
            kp,
            MatRef::row_major(&b, 4, 5),
            vec![0.0; packed_b_len(kp, 4, 5)],
        )
        .unwrap();
        for k in tiers.iter().filter(|k| k.isa() != kp.isa()) {
            let mut c = vec![SENTINEL; 15];
            let mut ws = vec![0.0f32; 1 << 14];
            let cv = MatMut::row_major(&mut c, 3, 5);
            let e = gemm_packed(
                k,
                1.0,
                MatRef::row_major(&a, 3, 4),
                &pb,
                0.0,
                cv,
                None,
                &mut ws,
            );
            let want = Error::PackedForOtherKernels {
                operand: Operand::PackedB,
                packed: kp.isa(),
                kernels: k.isa(),
            };
            assert_eq!(e, Err(want));
            let cv = MatMut::row_major(&mut c, 3, 5);
            let e = GemmJob::packed(k, 1.0, MatRef::row_major(&a, 3, 4), &pb, 0.0, cv, None);
            assert_eq!(e.map(drop), Err(want));
            assert!(c.iter().all(|&x| x == SENTINEL));
            assert!(!want.to_string().is_empty());
        }
    }
}

#[test]
fn packed_b_storage_and_source() {
    let b = vec![1.0f32; 20];
    for k in dispatch::available() {
        let need = packed_b_len(&k, 4, 5);
        let mut short = vec![SENTINEL; need - 1];
        let e = KPackedB::new(&k, MatRef::row_major(&b, 4, 5), &mut short[..]);
        let want = Error::SliceTooShort {
            operand: Operand::PackedB,
            needed: need,
            got: need - 1,
        };
        assert_eq!(e.map(drop), Err(want));
        assert!(
            short.iter().all(|&x| x == SENTINEL),
            "storage written on error"
        );
        let e = KPackedB::new(&k, MatRef::row_major(&b[..19], 4, 5), vec![0.0; need]);
        assert!(matches!(
            e,
            Err(Error::SliceTooShort {
                operand: Operand::B,
                ..
            })
        ));
        let e = PackedB::with_kernels(&k, MatRef::row_major(&b[..19], 4, 5));
        assert!(matches!(
            e,
            Err(Error::SliceTooShort {
                operand: Operand::B,
                ..
            })
        ));
        // Storage overlapping B (raw views over one buffer).
        let mut buf = vec![1.0f32; need + 20];
        let p = buf.as_mut_ptr();
        // SAFETY: both cover `buf`; PackedB::new detects the overlap before writing.
        let e = unsafe {
            let bv = MatRef::from_raw_parts(p as *const f32, 20, 4, 5, 5, 1);
            KPackedB::new(&k, bv, std::slice::from_raw_parts_mut(p.add(10), need))
        };
        let want = Error::Overlap {
            output: Operand::PackedB,
            input: Operand::B,
        };
        assert_eq!(e.map(drop), Err(want));
        assert!(buf.iter().all(|&x| x == 1.0));
        // An empty B packs into no storage and multiplies as k = 0 / n = 0.
        let pb = KPackedB::new(&k, MatRef::<f32>::row_major(&[], 0, 5), &mut [][..]).unwrap();
        let mut c = vec![f32::NAN; 10];
        let cv = MatMut::row_major(&mut c, 2, 5);
        gemm_packed(
            &k,
            1.0,
            MatRef::<f32>::row_major(&[], 2, 0),
            &pb,
            0.0,
            cv,
            Some(&[1.0; 5]),
            &mut [],
        )
        .unwrap();
        assert_eq!(c, vec![1.0; 10]);
    }
}

#[test]
fn bias_or_packed_b_overlapping_c() {
    for k in dispatch::available() {
        let mut ws = vec![0.0f32; 1 << 14];
        let a = vec![1.0f32; 12];
        let b = vec![1.0f32; 20];
        let mut buf = vec![SENTINEL; 40];
        let p = buf.as_mut_ptr();
        // SAFETY: C and the bias both cover `buf`; the calls detect the overlap first.
        let e = unsafe {
            let c = MatMut::from_raw_parts(p, 15, 3, 5, 5, 1);
            let bias = std::slice::from_raw_parts(p.add(10), 5);
            gemm_bias(
                &k,
                1.0,
                MatRef::row_major(&a, 3, 4),
                MatRef::row_major(&b, 4, 5),
                0.0,
                c,
                Some(bias),
                &mut ws,
            )
        };
        let want = Error::Overlap {
            output: Operand::C,
            input: Operand::Bias,
        };
        assert_eq!(e, Err(want));
        assert!(buf.iter().all(|&x| x == SENTINEL));
        // C inside the packed storage.
        let need = packed_b_len(&k, 4, 5);
        let mut store = vec![0.0f32; need + 15];
        let sp = store.as_mut_ptr();
        // SAFETY: the PackedB owns a slice of `store` through `sp`; C covers the same memory;
        // gemm_packed detects the overlap before writing.
        let e = unsafe {
            let pb = KPackedB::new(
                &k,
                MatRef::row_major(&b, 4, 5),
                std::slice::from_raw_parts_mut(sp, need),
            )
            .unwrap();
            let c = MatMut::from_raw_parts(sp.add(need - 5), 15, 3, 5, 5, 1);
            gemm_packed(
                &k,
                1.0,
                MatRef::row_major(&a, 3, 4),
                &pb,
                0.0,
                c,
                None,
                &mut ws,
            )
        };
        let want = Error::Overlap {
            output: Operand::C,
            input: Operand::PackedB,
        };
        assert_eq!(e, Err(want));
    }
}
