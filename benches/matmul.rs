//! sgemm throughput: huiyan against `matrixmultiply` and `gemm` (feature `x86-v4`), single
//! thread, row-major operands, `C ← A·B` (β = 0). `huiyan_packed` is the same product with B
//! packed once before the timing loop ([`huiyan::PackedB`], as a layer packs its weights).
//!
//! One group per shape `m×n×k`; throughput is `2·m·n·k` elements, so criterion's
//! "elem/s" is FLOP/s. Run: `cargo bench --bench matmul` (add `-- 512x` to filter;
//! `HUIYAN_FORCE_ISA=x86-v3` to measure another tier).
//!
//! On a machine shared with other work, `HUIYAN_BENCH_CLOCK=cpu` measures the benchmark
//! thread's CPU time (Linux `CLOCK_THREAD_CPUTIME_ID`) instead of wall time, so time slices
//! given to other processes do not count (cache and memory-bandwidth sharing still do). The
//! benchmarks are single-threaded, so the two clocks agree on an idle machine.

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

#[path = "common/clock.rs"]
mod clock;
use huiyan::{matmul, matmul_packed, MatMut, MatRef, PackedB};
use huiyan_testkit::Rng;

const SHAPES: &[(usize, usize, usize)] = &[
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (512, 512, 64),
    (512, 64, 512),
    (4096, 64, 64),
    (333, 517, 129),
    // Encoder projections (MiniLM/BERT-small class, d = 384): activations of M tokens times a
    // fixed weight, N × K ∈ {QKV 1152 × 384, out 384 × 384, FFN up 1536 × 384, down 384 × 1536}.
    (16, 1152, 384),
    (16, 384, 384),
    (16, 1536, 384),
    (16, 384, 1536),
    (128, 1152, 384),
    (128, 384, 384),
    (128, 1536, 384),
    (128, 384, 1536),
    (512, 1152, 384),
    (512, 384, 384),
    (512, 1536, 384),
    (512, 384, 1536),
];

/// `len` inputs uniform in [−0.5, 0.5).
fn values(len: usize, seed: u64) -> Vec<f32> {
    Rng::new(seed).uniform_vec(len, -0.5, 0.5)
}

fn bench<M: Measurement>(cr: &mut Criterion<M>) {
    eprintln!(
        "huiyan matmul bench: ISA {}",
        huiyan::dispatch::kernels().isa().name()
    );
    for &(m, n, k) in SHAPES {
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let mut c = vec![0.0f32; m * n];
        let mut g = cr.benchmark_group(format!("matmul/{m}x{n}x{k}"));
        g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        if m * n * k >= 512 * 512 * 512 {
            g.sample_size(20);
        }
        g.bench_function("huiyan", |bch| {
            bch.iter(|| {
                matmul(
                    1.0,
                    MatRef::row_major(black_box(&a), m, k),
                    MatRef::row_major(black_box(&b), k, n),
                    0.0,
                    MatMut::row_major(&mut c, m, n),
                )
                .unwrap()
            })
        });
        let packed = PackedB::new(MatRef::row_major(&b, k, n)).unwrap();
        g.bench_function("huiyan_packed", |bch| {
            bch.iter(|| {
                matmul_packed(
                    1.0,
                    MatRef::row_major(black_box(&a), m, k),
                    black_box(&packed),
                    0.0,
                    MatMut::row_major(&mut c, m, n),
                    None,
                )
                .unwrap()
            })
        });
        g.bench_function("matrixmultiply", |bch| {
            bch.iter(|| {
                // SAFETY: row-major m×k, k×n and m×n buffers of exactly those sizes.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        k as isize,
                        1,
                        black_box(b.as_ptr()),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
        #[cfg(target_arch = "x86_64")] // the peer is an x86_64-only dev-dependency
        g.bench_function("gemm", |bch| {
            bch.iter(|| {
                // SAFETY: as above; gemm's (alpha, beta) scale (dst, lhs·rhs), and
                // read_dst = false ignores dst.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        black_box(a.as_ptr()),
                        1,
                        k as isize,
                        black_box(b.as_ptr()),
                        1,
                        n as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    )
                }
            })
        });
        g.finish();
    }
}

fn main() {
    clock::main_with_clock(bench, bench);
}
