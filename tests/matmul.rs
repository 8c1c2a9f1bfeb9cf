//! `huiyan::matmul` against `reference::matmul` (f64) for every kernel tier this host runs
//! (`dispatch::under_test()`, not only the dispatched one), plus named edge cases, zero-sized
//! dimensions, bad input, random-projection residuals at 1024–2048, `matrixmultiply` as a
//! second oracle, and (feature `rayon`) bit-identity with the single-thread result.
//!
//! Tolerance: `huiyan_testkit::tol::gemm(k)` times `|α|·(|A||B|)ᵢⱼ + |β|·|C₀ᵢⱼ|`, the
//! reference run on absolute values.

use huiyan::dispatch::{self, Kernels};
use huiyan::{matmul, matmul_with, reference, Error, MatMut, MatRef};
use huiyan_kernels::gemm::{gemm, gemm_workspace_len};
use huiyan_testkit::{assert_close, strategies, tol, Layout, Rng};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Dense column-major (a transposed operand).
const COL: Layout = Layout {
    col_major: true,
    pad: 0,
};

/// One generated problem: shapes, layouts, values, α, β.
#[derive(Clone, Debug)]
struct Problem {
    m: usize,
    n: usize,
    k: usize,
    la: Layout,
    lb: Layout,
    lc: Layout,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    b: Vec<f32>,
    c0: Vec<f32>,
}

impl Problem {
    #[allow(clippy::too_many_arguments)]
    fn new(
        (m, n, k): (usize, usize, usize),
        (la, lb, lc): (Layout, Layout, Layout),
        alpha: f32,
        beta: f32,
        seed: u64,
    ) -> Problem {
        let (.., lena) = la.strides(m, k);
        let (.., lenb) = lb.strides(k, n);
        let (.., lenc) = lc.strides(m, n);
        // Uniform in [−1, 1), padding gaps included.
        let mut rng = Rng::new(seed);
        let a = rng.uniform_vec(lena, -1.0, 1.0);
        let b = rng.uniform_vec(lenb, -1.0, 1.0);
        let c0 = if beta == 0.0 {
            vec![f32::NAN; lenc]
        } else {
            rng.uniform_vec(lenc, -1.0, 1.0)
        };
        Problem {
            m,
            n,
            k,
            la,
            lb,
            lc,
            alpha,
            beta,
            a,
            b,
            c0,
        }
    }

    fn a(&self) -> MatRef<'_> {
        let (rs, cs, _) = self.la.strides(self.m, self.k);
        MatRef::new(&self.a, self.m, self.k, rs, cs)
    }

    fn b(&self) -> MatRef<'_> {
        let (rs, cs, _) = self.lb.strides(self.k, self.n);
        MatRef::new(&self.b, self.k, self.n, rs, cs)
    }

    fn c<'a>(&self, c: &'a mut [f32]) -> MatMut<'a> {
        let (rs, cs, _) = self.lc.strides(self.m, self.n);
        MatMut::new(c, self.m, self.n, rs, cs)
    }

    /// The m × n elements of a C buffer, row-major.
    fn gather(&self, c: &[f32]) -> Vec<f32> {
        let (rs, cs, _) = self.lc.strides(self.m, self.n);
        let mut out = Vec::with_capacity(self.m * self.n);
        for i in 0..self.m {
            for j in 0..self.n {
                out.push(c[i * rs + j * cs]);
            }
        }
        out
    }

    fn run(&self, k: &Kernels) -> Vec<f32> {
        let mut c = self.c0.clone();
        matmul_with(k, self.alpha, self.a(), self.b(), self.beta, self.c(&mut c)).unwrap();
        c
    }

    /// Reference result and per-element bound, both gathered row-major.
    fn reference(&self) -> (Vec<f32>, Vec<f64>) {
        let mut want = self.c0.clone();
        reference::matmul(self.alpha, self.a(), self.b(), self.beta, self.c(&mut want)).unwrap();
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let (aa, ab) = (abs(&self.a), abs(&self.b));
        let mut scale = if self.beta == 0.0 {
            vec![0.0; self.c0.len()]
        } else {
            abs(&self.c0)
        };
        let (rs, cs, _) = self.la.strides(self.m, self.k);
        let (rsb, csb, _) = self.lb.strides(self.k, self.n);
        reference::matmul(
            self.alpha.abs(),
            MatRef::new(&aa, self.m, self.k, rs, cs),
            MatRef::new(&ab, self.k, self.n, rsb, csb),
            self.beta.abs(),
            self.c(&mut scale),
        )
        .unwrap();
        let t = tol::gemm(self.k);
        let bound = self
            .gather(&scale)
            .iter()
            .map(|&s| t * s as f64 * 1.0001 + f64::from(f32::MIN_POSITIVE))
            .collect();
        (self.gather(&want), bound)
    }

    /// Checks one kernel tier against the reference, and that C's padding is untouched.
    fn check(&self, k: &Kernels) {
        let got = self.run(k);
        let (want, bound) = self.reference();
        let ctx = format!("{} {:?}", k.isa().name(), self.describe());
        assert_close(&self.gather(&got), &want, |i| bound[i], &ctx);
        // Padding between rows/columns of C must not be written.
        let (rs, cs, _) = self.lc.strides(self.m, self.n);
        let mut inside = vec![false; got.len()];
        for i in 0..self.m {
            for j in 0..self.n {
                inside[i * rs + j * cs] = true;
            }
        }
        for (idx, (&g, &c0)) in got.iter().zip(&self.c0).enumerate() {
            if !inside[idx] {
                assert!(g.to_bits() == c0.to_bits(), "{ctx}: padding {idx} written");
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "m={} n={} k={} A={:?} B={:?} C={:?} alpha={} beta={}",
            self.m, self.n, self.k, self.la, self.lb, self.lc, self.alpha, self.beta
        )
    }
}

fn problem_strategy(max: usize) -> impl Strategy<Value = Problem> {
    (
        (
            strategies::dim(max),
            strategies::dim(max),
            strategies::dim(max),
        ),
        (
            strategies::layout(),
            strategies::layout(),
            strategies::layout(),
        ),
        prop_oneof![Just(1.0f32), Just(-0.5), Just(2.5), -2.0f32..2.0],
        prop_oneof![Just(0.0f32), Just(1.0), Just(0.5), Just(-1.5)],
        any::<u64>(),
    )
        .prop_map(|(dims, lays, alpha, beta, seed)| Problem::new(dims, lays, alpha, beta, seed))
}

/// The tier called `name`, if this host runs it and the suite is not restricted to another.
fn tier(name: &str) -> Option<Kernels> {
    let k = dispatch::under_test()
        .into_iter()
        .find(|k| k.isa().name() == name);
    if k.is_none() {
        eprintln!("matmul tests: skipped ISA {name} (not available or not selected)");
    }
    k
}

fn proptest_tier(name: &str) {
    let Some(k) = tier(name) else { return };
    let cases = huiyan_testkit::proptest_cases(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&problem_strategy(300), |p| {
            p.check(&k);
            Ok(())
        })
        .unwrap();
}

/// Named edge cases for one tier: k = 1, m < MR, n < NR, tails, tile and block boundaries ±1
/// for every kernel's MR/NR/KC/MC, with every combination of row/column-major operands.
fn edges_tier(name: &str) {
    let Some(k) = tier(name) else { return };
    let dims: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 1),
        (3, 5, 2),
        (31, 11, 1),
        (32, 12, 1),
        (33, 13, 3),
        (15, 5, 17),
        (16, 6, 16),
        (17, 7, 15),
        (64, 64, 64),
        (65, 63, 255),
        (47, 25, 256),
        (40, 37, 257),
        (385, 13, 9),
        (9, 385, 9),
        (2, 200, 513),
    ];
    let layouts = [
        Layout::ROW,
        COL,
        Layout {
            col_major: false,
            pad: 3,
        },
        Layout {
            col_major: true,
            pad: 1,
        },
    ];
    let mut seed = 0;
    for &d in dims {
        for (li, &lc) in layouts.iter().enumerate() {
            for &(alpha, beta) in &[(1.0, 0.0), (-0.75, 1.0), (1.5, 0.5)] {
                seed += 1;
                let (la, lb) = (layouts[(li + 1) % 4], layouts[(li + seed as usize) % 4]);
                Problem::new(d, (la, lb, lc), alpha, beta, seed).check(&k);
            }
        }
    }
}

/// `‖C·t − (β·C₀·t + α·A·(B·t))‖` per row, in f64, against the same bound summed over the row:
/// an O(n²) check of an O(n³) product.
fn residual(p: &Problem, c: &[f32], seed: u64) {
    let t: Vec<f64> = Rng::new(seed)
        .uniform_vec(p.n, -1.0, 1.0)
        .iter()
        .map(|&x| x as f64)
        .collect();
    let at = |v: &[f32], l: Layout, r: usize, cc: usize, i: usize, j: usize| {
        let (rs, cs, _) = l.strides(r, cc);
        v[i * rs + j * cs] as f64
    };
    let (m, n, k) = (p.m, p.n, p.k);
    let mut bt = vec![0.0f64; k];
    let mut bt_abs = vec![0.0f64; k];
    for (q, (x, xa)) in bt.iter_mut().zip(bt_abs.iter_mut()).enumerate() {
        for (j, &tj) in t.iter().enumerate() {
            let v = at(&p.b, p.lb, k, n, q, j);
            *x += v * tj;
            *xa += v.abs() * tj.abs();
        }
    }
    let tolk = tol::gemm(k);
    for i in 0..m {
        let (mut lhs, mut rhs, mut bound) = (0.0f64, 0.0f64, 0.0f64);
        for (j, &tj) in t.iter().enumerate() {
            lhs += at(c, p.lc, m, n, i, j) * tj;
            if p.beta != 0.0 {
                let c0 = at(&p.c0, p.lc, m, n, i, j);
                rhs += p.beta as f64 * c0 * tj;
                bound += (p.beta as f64 * c0).abs() * tj.abs();
            }
        }
        let (mut abt, mut abt_abs) = (0.0f64, 0.0f64);
        for q in 0..k {
            let v = at(&p.a, p.la, m, k, i, q);
            abt += v * bt[q];
            abt_abs += v.abs() * bt_abs[q];
        }
        rhs += p.alpha as f64 * abt;
        bound = tolk * (bound + (p.alpha as f64).abs() * abt_abs) + 1e-30;
        assert!(
            (lhs - rhs).abs() <= bound,
            "{}: row {i}: residual {:e} > {:e}",
            p.describe(),
            (lhs - rhs).abs(),
            bound
        );
    }
}

macro_rules! per_tier {
    ($($name:ident => $isa:literal),* $(,)?) => {
        mod proptest_vs_reference {
            $(#[test] fn $name() { super::proptest_tier($isa) })*
        }
        mod edge_cases {
            $(#[test] fn $name() { super::edges_tier($isa) })*
        }
    };
}

per_tier! {
    scalar => "scalar",
    portable => "portable",
    x86_v3 => "x86-v3",
    x86_v4 => "x86-v4",
    neon => "neon",
}

/// Large products, checked by random projection (every tier; the slow ones at the small end).
#[test]
fn residual_large() {
    for k in dispatch::under_test() {
        let fast = !matches!(k.isa().name(), "scalar" | "portable");
        // (5000, 40, 70): a thin C, read in place, spanning two NC panels with ragged ends.
        let shapes: &[(usize, usize, usize)] = if fast {
            &[
                (1024, 1024, 1024),
                (2048, 1040, 1500),
                (1100, 2048, 2048),
                (5000, 40, 70),
            ]
        } else {
            &[(1024, 1027, 300), (5000, 40, 70)]
        };
        for (s, &d) in shapes.iter().enumerate() {
            let lay = if s % 2 == 0 || d.1 < 100 {
                (Layout::ROW, Layout::ROW, Layout::ROW)
            } else {
                (COL, Layout::ROW, COL)
            };
            let beta = [0.0, 0.5, 1.0][s % 3];
            let p = Problem::new(d, lay, 0.75, beta, 40 + s as u64);
            let c = p.run(&k);
            residual(&p, &c, 7 + s as u64);
        }
    }
}

/// `matrixmultiply::sgemm` as a second, independent f32 oracle.
#[test]
fn matches_matrixmultiply() {
    for k in dispatch::under_test() {
        for (s, &(m, n, kk)) in [(300, 257, 129), (64, 64, 64), (333, 517, 129), (5, 700, 3)]
            .iter()
            .enumerate()
        {
            let lay = [
                (Layout::ROW, Layout::ROW, Layout::ROW),
                (COL, Layout::ROW, COL),
            ][s % 2];
            let p = Problem::new((m, n, kk), lay, 1.25, 0.5, 90 + s as u64);
            let got = p.run(&k);
            let mut mm = p.c0.clone();
            let (rsa, csa, _) = p.la.strides(m, kk);
            let (rsb, csb, _) = p.lb.strides(kk, n);
            let (rsc, csc, _) = p.lc.strides(m, n);
            // SAFETY: the strides describe exactly the vectors' extents (Layout::strides).
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    kk,
                    n,
                    p.alpha,
                    p.a.as_ptr(),
                    rsa as isize,
                    csa as isize,
                    p.b.as_ptr(),
                    rsb as isize,
                    csb as isize,
                    p.beta,
                    mm.as_mut_ptr(),
                    rsc as isize,
                    csc as isize,
                );
            }
            let (_, bound) = p.reference();
            // Both are within the bound of the exact result, so of each other within twice it.
            assert_close(
                &p.gather(&got),
                &p.gather(&mm),
                |i| 2.0 * bound[i],
                &format!("{} vs matrixmultiply {}", k.isa().name(), p.describe()),
            );
        }
    }
}

/// BLAS semantics for zero-sized dimensions, on every tier.
#[test]
fn zero_dims() {
    for k in dispatch::under_test() {
        let name = k.isa().name();
        // m = 0 or n = 0: nothing is written, even with β = 0.
        for (m, n) in [(0, 5), (5, 0), (0, 0)] {
            let mut c = vec![f32::NAN; 7];
            let a = vec![1.0; m * 3];
            let b = vec![1.0; 3 * n];
            matmul_with(
                &k,
                1.0,
                MatRef::row_major(&a, m, 3),
                MatRef::row_major(&b, 3, n),
                0.0,
                MatMut::new(&mut c, m, n, n.max(1), 1),
            )
            .unwrap();
            assert!(c.iter().all(|x| x.is_nan()), "{name}: m={m} n={n} wrote C");
        }
        // k = 0: C ← β·C, and C ← 0 when β = 0 (never reading the NaN).
        let mut c = vec![f32::NAN; 6];
        matmul_with(
            &k,
            1.0,
            MatRef::<f32>::row_major(&[], 2, 0),
            MatRef::<f32>::row_major(&[], 0, 3),
            0.0,
            MatMut::row_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![0.0; 6], "{name}: k = 0, β = 0");
        let mut c = vec![2.0; 6];
        matmul_with(
            &k,
            1.0,
            MatRef::<f32>::row_major(&[], 2, 0),
            MatRef::<f32>::row_major(&[], 0, 3),
            0.5,
            MatMut::col_major(&mut c, 2, 3),
        )
        .unwrap();
        assert_eq!(c, vec![1.0; 6], "{name}: k = 0, β = 0.5");
    }
}

/// Bad input is a typed error and C stays untouched, through both APIs.
#[test]
fn bad_input_leaves_c_untouched() {
    let k = *dispatch::kernels();
    let a = vec![1.0f32; 12];
    let b = vec![1.0f32; 12];
    let mut c = vec![7.0f32; 16];
    // B too short for its shape.
    let e = matmul(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b[..11], 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
    );
    assert!(matches!(e, Err(Error::SliceTooShort { .. })), "{e:?}");
    // C strides that alias two elements.
    let e = matmul(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b, 4, 3),
        0.0,
        MatMut::new(&mut c, 3, 3, 1, 1),
    );
    assert!(matches!(e, Err(Error::AliasingStrides { .. })), "{e:?}");
    // Workspace too small (core API).
    let mut ws = vec![0.0; gemm_workspace_len(&k, 3, 3, 4) - 1];
    let e = gemm(
        &k,
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b, 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        &mut ws,
    );
    assert!(matches!(e, Err(Error::WorkspaceTooSmall { .. })), "{e:?}");
    assert!(c.iter().all(|&x| x == 7.0));
    // C overlapping A (a raw view over the same memory).
    let mut buf = vec![1.0f32; 32];
    let p = buf.as_mut_ptr();
    // SAFETY: both views cover `buf`; the operation detects the overlap before touching it.
    let e = unsafe {
        matmul(
            1.0,
            MatRef::from_raw_parts(p, 16, 4, 4, 4, 1),
            MatRef::row_major(&b, 4, 3),
            0.0,
            MatMut::from_raw_parts(p.add(8), 24, 4, 3, 3, 1),
        )
    };
    assert!(matches!(e, Err(Error::Overlap { .. })), "{e:?}");
    assert!(buf.iter().all(|&x| x == 1.0));
}

/// NaN and infinity in the inputs propagate (they are never hidden by padding or blocking).
#[test]
fn non_finite_propagates() {
    for k in dispatch::under_test() {
        let (m, n, kk) = (40, 30, 20);
        let mut p = Problem::new((m, n, kk), (Layout::ROW, COL, Layout::ROW), 1.0, 0.0, 5);
        p.a[3 * kk + 4] = f32::NAN; // row 3
        p.b[7 * kk + 2] = f32::INFINITY; // column 7 (column-major B)
        let got = p.gather(&p.run(&k));
        let (want, _) = p.reference();
        for i in 0..m * n {
            assert_eq!(got[i].is_nan(), want[i].is_nan(), "{} {i}", k.isa().name());
            assert_eq!(
                got[i].is_infinite(),
                want[i].is_infinite(),
                "{}",
                k.isa().name()
            );
        }
    }
}

/// Regression, `fuzz/matmul_diff`: α = 0 with ∞ and 1e30 in A and B gave NaN on
/// every tier (0·∞, and 1e30·1e30 overflowing f32) where BLAS, and now the contract, return
/// `β·C` without reading A or B. Also checks that `gemm_bounds` leaves the overflowing elements
/// of an α ≠ 0 product unchecked rather than demanding the f64 reference's finite value.
#[test]
fn fuzz_matmul_diff_alpha_zero_reads_neither_operand() {
    let (m, n, kk) = (15, 6, 1);
    let a: Vec<f32> = (0..m * kk)
        .map(|i| [f32::NEG_INFINITY, 1e30, f32::NAN, 1.0][i % 4])
        .collect();
    let b: Vec<f32> = (0..kk * n)
        .map(|i| [f32::NEG_INFINITY, 1e30, 2.0][i % 3])
        .collect();
    for k in dispatch::under_test() {
        let name = k.isa().name();
        for (beta, c0, want) in [
            (0.0f32, f32::NAN, 0.0f32),
            (0.5, 4.0, 2.0),
            (-1.0, 1.0, -1.0),
        ] {
            let mut c = vec![c0; m * n];
            matmul_with(
                &k,
                0.0,
                MatRef::row_major(&a, m, kk),
                MatRef::row_major(&b, kk, n),
                beta,
                MatMut::row_major(&mut c, m, n),
            )
            .unwrap();
            assert!(c.iter().all(|&x| x == want), "{name}: β = {beta}: {c:?}");
        }
    }
    let mut want = vec![0.0f32; m * n];
    let (av, bv) = (MatRef::row_major(&a, m, kk), MatRef::row_major(&b, kk, n));
    huiyan_kernels::reference::matmul(0.0, av, bv, 0.0, MatMut::row_major(&mut want, m, n))
        .unwrap();
    assert!(want.iter().all(|&x| x == 0.0), "reference: {want:?}");
    // α = 1: a(1)·b(1) = 1e60 overflows f32 but not f64, so that element is unchecked; the
    // finite ones keep their bound and the ∞·finite ones are compared exactly.
    let bounds = huiyan_testkit::tol::gemm_bounds(1.0, av, bv, 0.0, None);
    assert_eq!(bounds[n + 1], huiyan_testkit::tol::UNCHECKED);
    assert!(bounds[3 * n + 2].is_finite() && bounds[3 * n + 2] > 0.0);
}

#[cfg(feature = "rayon")]
#[test]
fn rayon_is_bit_identical() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for k in dispatch::under_test() {
        for (s, &d) in [(700, 900, 300), (1000, 129, 77), (96, 1500, 200)]
            .iter()
            .enumerate()
        {
            let lay = [
                (Layout::ROW, Layout::ROW, Layout::ROW),
                (COL, Layout::ROW, COL),
            ][s % 2];
            let p = Problem::new(d, lay, 1.5, 0.5, 300 + s as u64);
            let serial = one.install(|| p.run(&k));
            let parallel = p.run(&k);
            let odd = three.install(|| p.run(&k));
            for (x, y) in serial.iter().zip(&parallel).chain(serial.iter().zip(&odd)) {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{}: {}",
                    k.isa().name(),
                    p.describe()
                );
            }
        }
    }
}
