//! The bias epilogue (`C ← α·A·B + β·C + bias`) and prepacked B (`PackedB`, `gemm_packed`,
//! `GemmJob::packed`, `huiyan::matmul_packed`) on every tier under test
//! (`dispatch::under_test()`): against `reference::matmul_bias` within
//! `tol::gemm_bias_bounds`, and bit for bit against the unpacked product of the same tier
//! (the contract: a prepacked B changes where panels come from, never the arithmetic).
//! Named edge cases, cache-block boundaries ±1, proptest, the write-back contract (edge tiles
//! have the bits of full tiles), and (feature `rayon`) the std calls' bit-identity for any
//! thread count. Jobs on several threads: `jobs.rs`. Bad input: `bad_input/matmul_packed.rs`.

use huiyan::dispatch::{self, Kernels};
use huiyan::{matmul_bias_with, matmul_packed, MatMut, MatRef, PackedB};
use huiyan_kernels::gemm::{
    gemm_bias, gemm_packed, gemm_packed_workspace_len, gemm_workspace_len, packed_b_len,
    PackedB as KPackedB,
};
use huiyan_testkit::{assert_bits_eq, assert_within, strategies, GemmProblem, Layout, Rng};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Dense column-major (a transposed operand: B = Wᵀ of a PyTorch `[out, in]` weight).
const COL: Layout = Layout::COL;

/// C as `gemm_bias` leaves it (the whole buffer, gaps included).
fn run_plain(k: &Kernels, p: &GemmProblem) -> Vec<f32> {
    let mut c = p.new_c();
    let mut ws = vec![0.0f32; gemm_workspace_len(k, p.m, p.n, p.k)];
    let bias = p.bias.as_deref();
    gemm_bias(
        k,
        p.alpha,
        p.a(),
        p.b(),
        p.beta,
        p.c_view(&mut c),
        bias,
        &mut ws,
    )
    .unwrap();
    c
}

/// C as `gemm_packed` leaves it, B packed for `k` first.
fn run_packed(k: &Kernels, p: &GemmProblem) -> Vec<f32> {
    let storage = vec![f32::NAN; packed_b_len(k, p.k, p.n)];
    let pb = KPackedB::new(k, p.b(), storage).unwrap();
    let mut c = p.new_c();
    let mut ws = vec![0.0f32; gemm_packed_workspace_len(k, p.m, p.n, p.k)];
    let bias = p.bias.as_deref();
    gemm_packed(
        k,
        p.alpha,
        p.a(),
        &pb,
        p.beta,
        p.c_view(&mut c),
        bias,
        &mut ws,
    )
    .unwrap();
    c
}

/// Both entry points of tier `k` against the reference, the padding of C untouched, and the
/// packed result equal to the plain one bit for bit.
fn check(k: &Kernels, p: &GemmProblem) {
    let ctx = format!(
        "{} m={} n={} k={} A={:?} B={:?} C={:?} α={} β={} bias={}",
        k.isa().name(),
        p.m,
        p.n,
        p.k,
        p.a_layout,
        p.b_layout,
        p.c_layout,
        p.alpha,
        p.beta,
        p.bias.is_some()
    );
    let (want, bounds) = (p.reference(), p.bounds());
    let plain = run_plain(k, p);
    assert_within(&p.gather_c(&plain), &want, &bounds, &ctx);
    p.assert_c_gaps_untouched(&plain);
    let packed = run_packed(k, p);
    assert_bits_eq(&packed, &plain, &format!("{ctx}: packed vs plain"));
}

/// A problem with values in [−1, 1), the bias (when asked) too.
fn problem(
    dims: (usize, usize, usize),
    lay: [Layout; 3],
    (alpha, beta): (f32, f32),
    bias: bool,
    seed: u64,
) -> GemmProblem {
    let (m, n, k) = dims;
    let mut rng = Rng::new(seed);
    let a = rng.uniform_vec(m * k, -1.0, 1.0);
    let b = rng.uniform_vec(k * n, -1.0, 1.0);
    let c = rng.uniform_vec(m * n, -1.0, 1.0);
    let p = GemmProblem::new(dims, alpha, beta, &a, &b, &c, lay);
    if bias {
        p.with_bias(rng.uniform_vec(n, -1.0, 1.0))
    } else {
        p
    }
}

/// Named edge cases for every tier: k = 1, m < MR, n < NR, tails of every tile, depths around
/// every KC (256, 384), β ∈ {0, 1, 0.5} (β = 0 with C NaN-filled), B row-major, transposed
/// (column-major) and padded, C row-major, column-major and padded.
#[test]
fn edge_cases_every_tier() {
    let dims: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 3),
        (3, 5, 2),
        (15, 5, 17),
        (16, 6, 16),
        (17, 7, 15),
        (33, 13, 3),
        (5, 40, 9),
        (40, 37, 257),
        (20, 33, 385),
        (9, 100, 1),
    ];
    let layouts = Layout::EDGES;
    for k in dispatch::under_test() {
        let mut seed = 0;
        for &d in dims {
            for (li, &lc) in layouts.iter().enumerate() {
                for ab in [(1.0, 0.0), (-0.75, 1.0), (1.5, 0.5)] {
                    seed += 1;
                    let (la, lb) = (layouts[(li + 1) % 4], layouts[(li + seed as usize) % 4]);
                    let bias = seed % 4 != 0;
                    check(&k, &problem(d, [la, lb, lc], ab, bias, seed));
                }
            }
        }
    }
}

/// The cache blocks of every tier at ±1: rows around each MC (96, 128, 256), columns around
/// each NC (768, 1024, 1536, 2048, 3072: the prepacked panels are cut there too) and depths
/// around one and two KC (256, 384), with and without a bias, β = 0 (C NaN-filled) and β ≠ 0,
/// B row-major and transposed.
#[test]
fn cache_block_boundaries_every_tier() {
    let mut dims = Vec::new();
    for m in [95, 96, 97, 127, 128, 129, 255, 256, 257] {
        dims.push((m, 13, 5));
    }
    for n in [
        767, 768, 769, 1023, 1024, 1025, 1535, 1536, 1537, 2047, 2048, 2049, 3071, 3072, 3073,
    ] {
        dims.push((7, n, 3));
    }
    for k in [255, 256, 257, 383, 384, 385, 511, 512, 513, 767, 768, 769] {
        dims.push((17, 14, k));
    }
    dims.push((97, 769, 385));
    for k in dispatch::under_test() {
        for (s, &d) in dims.iter().enumerate() {
            let lb = [Layout::ROW, COL][s % 2];
            let ab = [(1.0, 0.0), (-0.75, 0.5)][(s / 2) % 2];
            let p = problem(
                d,
                [Layout::ROW, lb, Layout::ROW],
                ab,
                s % 3 != 0,
                100 + s as u64,
            );
            check(&k, &p);
        }
    }
}

/// proptest over shapes, layouts, α, β and the bias, on every tier.
#[test]
fn proptest_every_tier() {
    let strat = strategies::gemm_problem(70, 420).prop_flat_map(|p| {
        let n = p.n;
        (
            Just(p),
            prop_oneof![
                1 => Just(None),
                3 => strategies::unit_values(n).prop_map(Some),
            ],
        )
            .prop_map(|(p, bias)| match bias {
                Some(b) => p.with_bias(b),
                None => p,
            })
    });
    for k in dispatch::under_test() {
        let mut runner = TestRunner::new(Config {
            cases: huiyan_testkit::proptest_cases(48),
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strat, |p| {
                check(&k, &p);
                Ok(())
            })
            .unwrap();
    }
}

/// The encoder shapes the issue names (weights as PyTorch stores them: B = Wᵀ): the packed
/// product equals the plain one bit for bit and both match the reference.
#[test]
fn encoder_projections_packed_weights() {
    for k in dispatch::under_test() {
        let fast = !matches!(k.isa().name(), "scalar" | "portable");
        let shapes: &[(usize, usize, usize)] = if fast {
            &[(16, 1152, 384), (128, 384, 1536), (130, 1536, 384)]
        } else {
            &[(16, 384, 384), (19, 200, 600)]
        };
        for (s, &d) in shapes.iter().enumerate() {
            let p = problem(
                d,
                [Layout::ROW, COL, Layout::ROW],
                (1.0, 0.0),
                true,
                70 + s as u64,
            );
            check(&k, &p);
        }
    }
}

/// α = 0 or k = 0: `C ← β·C + bias` (`bias` when β = 0, C never read); NaN in the bias
/// reaches only its column.
#[test]
fn bias_with_quick_return_and_nan() {
    for k in dispatch::under_test() {
        let name = k.isa().name();
        for (alpha, kk) in [(0.0, 3), (1.0, 0)] {
            for (beta, c0, want) in [(0.0, f32::NAN, [1.0, -2.0]), (0.5, 4.0, [3.0, 0.0])] {
                let a = vec![f32::NAN; 2 * kk];
                let b = vec![f32::INFINITY; kk * 2];
                let mut c = vec![c0; 4];
                matmul_bias_with(
                    &k,
                    alpha,
                    MatRef::row_major(&a, 2, kk),
                    MatRef::row_major(&b, kk, 2),
                    beta,
                    MatMut::row_major(&mut c, 2, 2),
                    Some(&[1.0, -2.0]),
                )
                .unwrap();
                assert_eq!(
                    c,
                    [want, want].concat(),
                    "{name}: α={alpha} k={kk} β={beta}"
                );
            }
        }
        let mut p = problem((20, 9, 5), [Layout::ROW; 3], (1.0, 0.0), true, 3);
        p.bias.as_mut().unwrap()[4] = f32::NAN;
        let got = p.gather_c(&run_packed(&k, &p));
        for (i, x) in got.iter().enumerate() {
            assert_eq!(x.is_nan(), i % 9 == 4, "{name}: element {i} = {x}");
        }
    }
}

/// The std API: `matmul_packed` on a `PackedB` of each tier has the bits of `matmul_bias_with`.
#[test]
fn std_packed_matches_plain() {
    for k in dispatch::under_test() {
        let p = problem(
            (70, 90, 50),
            [Layout::ROW, COL, Layout::ROW],
            (0.5, 1.0),
            true,
            11,
        );
        let pb = PackedB::with_kernels(&k, p.b()).unwrap();
        assert_eq!((pb.k(), pb.n(), pb.isa()), (50, 90, k.isa()));
        let mut got = p.new_c();
        matmul_packed(
            p.alpha,
            p.a(),
            &pb,
            p.beta,
            p.c_view(&mut got),
            p.bias.as_deref(),
        )
        .unwrap();
        let mut want = p.new_c();
        let bias = p.bias.as_deref();
        matmul_bias_with(&k, p.alpha, p.a(), p.b(), p.beta, p.c_view(&mut want), bias).unwrap();
        assert_bits_eq(&got, &want, k.isa().name());
    }
}

/// The write-back contract: an element gets the same bits whether its tile is full or an edge
/// (masked or buffered) — each block of a product equals the product of that block's rows of A
/// and columns of B, for every cut through the tiles, both C layouts and with the bias.
#[test]
fn edge_tiles_have_the_bits_of_full_tiles() {
    let (m, n, kk) = (40, 30, 50);
    let mut rng = Rng::new(5);
    let a = rng.uniform_vec(m * kk, -1.0, 1.0);
    let b = rng.uniform_vec(kk * n, -1.0, 1.0);
    let c0 = rng.uniform_vec(m * n, -1.0, 1.0);
    let bias = rng.uniform_vec(n, -1.0, 1.0);
    for k in dispatch::under_test() {
        for col_major in [false, true] {
            let lay = Layout { col_major, pad: 0 };
            let whole = GemmProblem::new(
                (m, n, kk),
                0.5,
                0.5,
                &a,
                &b,
                &c0,
                [Layout::ROW, Layout::ROW, lay],
            )
            .with_bias(bias.clone());
            let full = whole.gather_c(&run_plain(&k, &whole));
            for (m1, n1) in [(1, 30), (40, 1), (17, 7), (9, 13), (33, 25), (5, 29)] {
                let sub = |v: &[f32], cols: usize, r: usize, cc: usize| -> Vec<f32> {
                    (0..r)
                        .flat_map(|i| v[i * cols..i * cols + cc].to_vec())
                        .collect()
                };
                let p = GemmProblem::new(
                    (m1, n1, kk),
                    0.5,
                    0.5,
                    &a[..m1 * kk],
                    &sub(&b, n, kk, n1),
                    &sub(&c0, n, m1, n1),
                    [Layout::ROW, Layout::ROW, lay],
                )
                .with_bias(bias[..n1].to_vec());
                let got = p.gather_c(&run_plain(&k, &p));
                let ctx = format!("{} {m1}×{n1} of {m}×{n}, C {lay:?}", k.isa().name());
                assert_bits_eq(&got, &sub(&full, n, m1, n1), &ctx);
                assert_bits_eq(&p.gather_c(&run_packed(&k, &p)), &got, &ctx);
            }
        }
    }
}

/// `matmul_bias` and `matmul_packed` on rayon pools of 1, 2 and 3 threads: the same bits.
#[cfg(feature = "rayon")]
#[test]
fn rayon_is_bit_identical() {
    use huiyan::matmul_bias;
    let pools: Vec<_> = (1..=3)
        .map(|t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        })
        .collect();
    for (s, &d) in [(700, 300, 200), (300, 700, 200), (500, 197, 400)]
        .iter()
        .enumerate()
    {
        let lay = [
            Layout::ROW,
            [Layout::ROW, COL][s % 2],
            [Layout::ROW, COL][s % 2],
        ];
        let p = problem(d, lay, (1.25, 0.5), s != 2, 40 + s as u64);
        let pb = PackedB::new(p.b()).unwrap();
        let bias = p.bias.as_deref();
        let mut runs = Vec::new();
        for pool in &pools {
            let mut plain = p.new_c();
            let mut packed = p.new_c();
            pool.install(|| {
                matmul_bias(p.alpha, p.a(), p.b(), p.beta, p.c_view(&mut plain), bias).unwrap();
                matmul_packed(p.alpha, p.a(), &pb, p.beta, p.c_view(&mut packed), bias).unwrap();
            });
            runs.push((plain, packed));
        }
        for (t, (plain, packed)) in runs.iter().enumerate() {
            let ctx = format!("{d:?} on {} threads", t + 1);
            assert_bits_eq(plain, &runs[0].0, &format!("{ctx}: matmul_bias"));
            assert_bits_eq(packed, &runs[0].0, &format!("{ctx}: matmul_packed"));
        }
    }
}
