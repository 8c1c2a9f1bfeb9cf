//! Jobs (`huiyan_kernels::job`) against the single calls they split, on every tier: the same
//! bits for any number of threads, and the safe view splits they rest on.

use huiyan::dispatch;
use huiyan::{MatMut, MatRef, SoftmaxOptions, Tensor4Mut, Tensor4Ref};
use huiyan_kernels::gemm::{gemm, gemm_bias, gemm_workspace_len, packed_b_len, GemmJob, PackedB};
use huiyan_kernels::job::Job;
use huiyan_kernels::softmax::{softmax_scratch, softmax_scratch_len, SoftmaxJob};
use huiyan_kernels::{Error, Kernels};
use proptest::prelude::*;

/// Deterministic values in [−s, s).
fn values(seed: u64, n: usize, s: f32) -> Vec<f32> {
    huiyan_testkit::Rng::new(seed).uniform_vec(n, -s, s)
}

/// Runs `job` on `threads` threads, each with its own workspace, until no task is left.
fn run_on(job: &impl Job, threads: usize) {
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut ws = vec![0.0f32; job.task_workspace_len()];
                while job.run_next(&mut ws).unwrap() {}
            });
        }
    });
}

fn assert_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{what}: element {i}: {x:e} vs {y:e}"
        );
    }
}

/// An `m × n` view of `c`, row- or column-major.
fn view(c: &mut [f32], m: usize, n: usize, col_major: bool) -> MatMut<'_> {
    if col_major {
        MatMut::col_major(c, m, n)
    } else {
        MatMut::row_major(c, m, n)
    }
}

/// `gemm` as one call, then as a `GemmJob` on 1 and 3 threads: the same bits.
fn gemm_both_ways(k: &Kernels, (m, n, kd): (usize, usize, usize), col_major_c: bool) {
    let a = values(1, m * kd, 1.0);
    let b = values(2, kd * n, 1.0);
    let c0 = values(3, m * n, 1.0);
    let (av, bv) = (MatRef::row_major(&a, m, kd), MatRef::row_major(&b, kd, n));
    let mut want = c0.clone();
    let mut ws = vec![0.0f32; gemm_workspace_len(k, m, n, kd)];
    gemm(
        k,
        1.5,
        av,
        bv,
        0.5,
        view(&mut want, m, n, col_major_c),
        &mut ws,
    )
    .unwrap();
    for threads in [1, 3] {
        let mut got = c0.clone();
        let job = GemmJob::new(k, 1.5, av, bv, 0.5, view(&mut got, m, n, col_major_c)).unwrap();
        assert!(job.tasks() > 1, "{m}x{n}x{kd}: one task only");
        run_on(&job, threads);
        let what = format!("{} gemm {m}x{n}x{kd} on {threads} threads", k.isa().name());
        assert_bits(&got, &want, &what);
    }
}

#[test]
fn gemm_job_has_the_bits_of_one_call() {
    for k in dispatch::under_test() {
        gemm_both_ways(&k, (700, 300, 200), false);
        // C column-major: the job cuts columns (rows of Cᵀ).
        gemm_both_ways(&k, (300, 700, 200), true);
    }
}

/// `gemm_bias` as one call, then as `GemmJob::with_bias` and as `GemmJob::packed` (B packed
/// once, shared by every task) on 1 and 3 threads: the same bits. `col_major_b` lays B out
/// as a transposed weight (`B = Wᵀ`); `bias = false` runs the plain product through both jobs.
fn gemm_bias_and_packed_both_ways(
    k: &Kernels,
    (m, n, kd): (usize, usize, usize),
    (col_major_b, col_major_c): (bool, bool),
    bias: bool,
) {
    let seed = (m * 7 + n * 3 + kd) as u64;
    let a = values(seed, m * kd, 1.0);
    let b = values(seed + 1, kd * n, 1.0);
    let c0 = values(seed + 2, m * n, 1.0);
    let bias = bias.then(|| values(seed + 3, n, 1.0));
    let bias = bias.as_deref();
    let av = MatRef::row_major(&a, m, kd);
    let bv = if col_major_b {
        MatRef::col_major(&b, kd, n)
    } else {
        MatRef::row_major(&b, kd, n)
    };
    let mut want = c0.clone();
    let mut ws = vec![0.0f32; gemm_workspace_len(k, m, n, kd)];
    let cv = view(&mut want, m, n, col_major_c);
    gemm_bias(k, 1.25, av, bv, 0.5, cv, bias, &mut ws).unwrap();
    let pb = PackedB::new(k, bv, vec![0.0; packed_b_len(k, kd, n)]).unwrap();
    let name = k.isa().name();
    for threads in [1, 3] {
        let mut got = c0.clone();
        let cv = view(&mut got, m, n, col_major_c);
        let job = GemmJob::with_bias(k, 1.25, av, bv, 0.5, cv, bias).unwrap();
        assert!(job.tasks() > 1, "{m}x{n}x{kd}: one task only");
        run_on(&job, threads);
        let what = format!("{name} GemmJob::with_bias {m}x{n}x{kd} on {threads} threads");
        assert_bits(&got, &want, &what);

        let mut got = c0.clone();
        let cv = view(&mut got, m, n, col_major_c);
        let job = GemmJob::packed(k, 1.25, av, &pb, 0.5, cv, bias).unwrap();
        assert!(job.tasks() > 1, "{m}x{n}x{kd} packed: one task only");
        run_on(&job, threads);
        let what = format!("{name} GemmJob::packed {m}x{n}x{kd} on {threads} threads");
        assert_bits(&got, &want, &what);
    }
}

#[test]
fn gemm_bias_and_packed_jobs_have_the_bits_of_one_call() {
    for k in dispatch::under_test() {
        gemm_bias_and_packed_both_ways(&k, (700, 300, 200), (false, false), true);
        gemm_bias_and_packed_both_ways(&k, (300, 700, 200), (true, true), true);
        // n not a multiple of any NR, depth past one KC, no bias.
        gemm_bias_and_packed_both_ways(&k, (500, 197, 400), (true, false), false);
    }
}

/// Softmax as one kernel call with a scratch lent, then as a `SoftmaxJob` on 1 and 3
/// threads, out of place and in place: the same bits, including the logsumexp.
fn softmax_both_ways(k: &Kernels, rows: usize, cols: usize, opts: &SoftmaxOptions<'_>) {
    let x = values(rows as u64 * 31 + cols as u64, rows * cols, 8.0);
    let (xv, what) = (
        MatRef::row_major(&x, rows, cols),
        format!("{} softmax {rows}x{cols}", k.isa().name()),
    );
    let mut want = vec![0.0f32; rows * cols];
    let mut want_lse = vec![0.0f32; rows];
    let len = softmax_scratch_len(k, &xv, &MatMut::row_major(&mut want, rows, cols), opts);
    let mut scratch = vec![0.0f32; len];
    let yv = MatMut::row_major(&mut want, rows, cols);
    softmax_scratch(k, xv, yv, opts, Some(&mut want_lse), &mut scratch).unwrap();
    for threads in [1, 3] {
        let mut y = vec![0.0f32; rows * cols];
        let mut lse = vec![0.0f32; rows];
        let yv = MatMut::row_major(&mut y, rows, cols);
        let job = SoftmaxJob::new(k, xv, yv, opts, Some(&mut lse)).unwrap();
        assert!(job.tasks() > 1, "{what}: one task only");
        run_on(&job, threads);
        assert_bits(&y, &want, &format!("{what} on {threads} threads"));
        assert_bits(&lse, &want_lse, &format!("{what} lse on {threads} threads"));
    }
    // In place, through the job: the bits of the same call in place as one kernel call.
    let mut a = x.clone();
    huiyan_kernels::softmax::softmax_inplace(k, MatMut::row_major(&mut a, rows, cols), opts, None)
        .unwrap();
    let mut b = x.clone();
    let job =
        SoftmaxJob::new_inplace(k, MatMut::row_major(&mut b, rows, cols), opts, None).unwrap();
    run_on(&job, 3);
    assert_bits(&b, &a, &format!("{what} in place"));
}

#[test]
fn softmax_job_has_the_bits_of_one_call() {
    let mask: Vec<bool> = (0..96).map(|j| j % 7 != 3).collect();
    let bias = values(9, 1501, 1.0);
    for k in dispatch::under_test() {
        // Short rows, an odd row count (the short path pairs rows).
        softmax_both_ways(&k, 3001, 40, &SoftmaxOptions::default());
        // Pipelined rows, scaled, log-softmax.
        let log = SoftmaxOptions {
            scale: 0.3,
            log: true,
            ..Default::default()
        };
        softmax_both_ways(&k, 601, 300, &log);
        // Per-row path: a broadcast mask row and a bias column.
        let masked = SoftmaxOptions {
            mask: Some(MatRef::row_major(&mask, 1, 96)),
            bias: Some(MatRef::row_major(&bias, 1501, 1)),
            ..Default::default()
        };
        softmax_both_ways(&k, 1501, 96, &masked);
        // Memory-sized rows: they stream on tiers with non-temporal stores, every task
        // through its own scratch row.
        softmax_both_ways(&k, 544, 4096, &SoftmaxOptions::default());
    }
}

#[test]
fn a_short_task_workspace_is_a_typed_error_before_anything_runs() {
    let k = dispatch::kernels();
    let (m, n, kd) = (600, 64, 300);
    let (a, b) = (vec![1.0f32; m * kd], vec![1.0f32; kd * n]);
    let mut c = vec![7.0f32; m * n];
    let job = GemmJob::new(
        k,
        1.0,
        MatRef::row_major(&a, m, kd),
        MatRef::row_major(&b, kd, n),
        0.0,
        MatMut::row_major(&mut c, m, n),
    )
    .unwrap();
    let need = job.task_workspace_len();
    assert!(need > 0);
    let mut small = vec![0.0f32; need - 1];
    assert_eq!(
        job.run_next(&mut small),
        Err(Error::WorkspaceTooSmall {
            needed: need,
            got: need - 1
        })
    );
    assert!(c.iter().all(|&v| v == 7.0), "nothing was written");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(huiyan_testkit::proptest_cases(64)))]

    /// A split view holds exactly the original's elements, and mutable halves never share an
    /// address.
    #[test]
    fn view_splits_partition_the_elements(
        rows in 0usize..7, cols in 0usize..7, pad in 0usize..3, col_major in any::<bool>(),
        at in 0usize..8, by_col in any::<bool>(),
    ) {
        let (rs, cs) = if col_major { (1, rows + pad) } else { (cols + pad, 1) };
        let len = if rows == 0 || cols == 0 { 0 } else { (rows - 1) * rs + (cols - 1) * cs + 1 };
        let data: Vec<f32> = (0..len).map(|i| i as f32).collect();
        let v = MatRef::new(&data, rows, cols, rs, cs);
        let split = if by_col { v.split_at_col(at) } else { v.split_at_row(at) };
        let limit = if by_col { cols } else { rows };
        prop_assert_eq!(split.is_some(), at <= limit);
        if let Some((lo, hi)) = split {
            for i in 0..rows {
                for j in 0..cols {
                    let got = match (by_col, by_col && j < at || !by_col && i < at) {
                        (false, true) => lo.get(i, j),
                        (false, false) => hi.get(i - at, j),
                        (true, true) => lo.get(i, j),
                        (true, false) => hi.get(i, j - at),
                    };
                    prop_assert_eq!(got, v.get(i, j));
                }
            }
        }
        let mut buf = data.clone();
        let base = buf.as_ptr() as usize;
        let m = MatMut::new(&mut buf, rows, cols, rs, cs);
        let split = if by_col { m.split_at_col(at) } else { m.split_at_row(at) };
        if let Some((mut lo, mut hi)) = split {
            // Each half's slice lies inside the original and the two do not overlap.
            let (lp, hp) = (lo.as_mut_ptr() as usize, hi.as_mut_ptr() as usize);
            let (le, he) = (lp + 4 * lo.len(), hp + 4 * hi.len());
            prop_assert!(base <= lp && le <= hp && he <= base + 4 * len);
        } else {
            // Refused: out of range, or the halves would interleave.
            let interleave = if by_col { rows > 1 && (rows - 1) * rs >= cs }
                             else { cols > 1 && (cols - 1) * cs >= rs };
            prop_assert!(at > limit || (at > 0 && interleave));
        }
    }
}

#[test]
fn tensor_splits_follow_memory() {
    let dims = [2, 3, 4, 5];
    let x: Vec<f32> = (0..120).map(|i| i as f32).collect();
    for axis in 0..4 {
        let t = Tensor4Ref::bhsd(&x, dims);
        let (lo, hi) = t.split_at(axis, 1).unwrap();
        let mut idx = [0usize; 4];
        idx[axis] = 1;
        assert_eq!(hi.get([0; 4]), t.get(idx));
        assert_eq!(lo.dims[axis] + hi.dims[axis], dims[axis]);
    }
    assert!(Tensor4Ref::bhsd(&x, dims).split_at(4, 0).is_none());
    assert!(Tensor4Ref::bhsd(&x, dims).split_at(1, 4).is_none());
    let mut o = vec![0.0f32; 120];
    // Batches and heads of BHSD memory are contiguous blocks; heads of BSHD are not.
    assert!(Tensor4Mut::bhsd(&mut o, dims).split_at(0, 1).is_some());
    assert!(Tensor4Mut::bhsd(&mut o, [1, 3, 4, 5])
        .split_at(1, 2)
        .is_some());
    assert!(Tensor4Mut::bshd(&mut o, [1, 3, 4, 5])
        .split_at(1, 2)
        .is_none());
}
