//! K and V stored in half precision against f32, single thread: the same call with K and V in
//! `f32`, `bf16` and `f16` (Q and O in f32), functions named after the KV type.
//!
//! Groups:
//! - `half_decode/Lk{Lk}_D128_Hkv8`: Lq = 1, H = 8, causal lower-right (a decode step over a
//!   KV cache). Memory-bound: half the bytes should be about half the time.
//! - `half_attention/S2048_D128`: H = 8, B = 1, non-causal prefill (K and V widened while they
//!   are packed: no faster than f32 until a tier multiplies in half precision).
//! - `half_attention/B32_H12_S128_D32`: an encoder batch (the single-block path).
//!
//! - `half_matmul/1024` (1024³) and `half_matmul/512x1536x384`: `C = A·B` with A and B both in the named type (C in f32), at
//!   a cube and an encoder projection; `bf16_via_f32` widens both operands into `f32` buffers
//!   and multiplies those (what a caller without half-precision kernels does), per call.
//!
//! - `half_softmax/<rows>x<cols>`: row softmax of scores stored in the named type into `f32`
//!   (memory-sized: 16 MiB of output); `bf16_via_f32` widens the whole input into an `f32`
//!   buffer first, per call.
//!
//! Attention throughput is in elements of K and V read, matmul's in multiply-adds, softmax's in
//! scores (the same count for every type), so the figures compare directly. Run: `cargo bench --bench half` (`HUIYAN_BENCH_CLOCK=cpu` on a shared
//! machine, see `common/clock.rs`).

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion, Throughput};

#[path = "common/clock.rs"]
mod clock;
use huiyan::{
    attention, bf16, f16, matmul, softmax, AttentionOptions, CausalVariant, Element, MatMut,
    MatRef, SoftmaxOptions, Tensor4Mut, Tensor4Ref,
};
use huiyan_testkit::Rng;

/// `len` inputs uniform in [−0.5, 0.5).
fn values(len: usize, seed: u64) -> Vec<f32> {
    Rng::new(seed).uniform_vec(len, -0.5, 0.5)
}

/// One attention call shape: `[B, Hq, Lq, D]` queries against `[B, Hkv, Lk, D]` keys.
#[derive(Clone, Copy)]
struct Shape {
    b: usize,
    hq: usize,
    hkv: usize,
    lq: usize,
    lk: usize,
    d: usize,
}

/// Benchmarks the call with K and V converted to `E` (rounded to nearest even) as `name`.
fn bench_kv<M: Measurement, E: Element>(
    g: &mut BenchmarkGroup<'_, M>,
    name: &str,
    s: Shape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    opts: &AttentionOptions<'_>,
    round: fn(f32) -> E,
) {
    let (k, v): (Vec<E>, Vec<E>) = (
        k.iter().map(|&x| round(x)).collect(),
        v.iter().map(|&x| round(x)).collect(),
    );
    let mut o = vec![0.0f32; s.b * s.hq * s.lq * s.d];
    g.bench_function(name, |bch| {
        bch.iter(|| {
            attention(
                Tensor4Ref::bhsd(black_box(q), [s.b, s.hq, s.lq, s.d]),
                Tensor4Ref::bhsd(&k, [s.b, s.hkv, s.lk, s.d]),
                Tensor4Ref::bhsd(&v, [s.b, s.hkv, s.lk, s.d]),
                Tensor4Mut::bhsd(&mut o, [s.b, s.hq, s.lq, s.d]),
                opts,
                None,
            )
            .unwrap()
        })
    });
}

/// The three functions of one group.
fn group<M: Measurement>(cr: &mut Criterion<M>, id: &str, s: Shape, opts: &AttentionOptions<'_>) {
    let q = values(s.b * s.hq * s.lq * s.d, 1);
    let (k, v) = (
        values(s.b * s.hkv * s.lk * s.d, 2),
        values(s.b * s.hkv * s.lk * s.d, 3),
    );
    let mut g = cr.benchmark_group(id);
    g.throughput(Throughput::Elements((2 * s.b * s.hkv * s.lk * s.d) as u64));
    g.sample_size(20);
    let inputs = (&q[..], &k[..], &v[..]);
    bench_kv(&mut g, "f32", s, inputs, opts, |x| x);
    bench_kv(&mut g, "bf16", s, inputs, opts, bf16::from_f32);
    bench_kv(&mut g, "f16", s, inputs, opts, f16::from_f32);
    g.finish();
}

/// Benchmarks `C = A·B` (`m × k` by `k × n`, row-major) with A and B converted to `E`.
fn bench_mm<M: Measurement, E: Element>(
    g: &mut BenchmarkGroup<'_, M>,
    name: &str,
    (m, n, k): (usize, usize, usize),
    (a, b): (&[f32], &[f32]),
    round: fn(f32) -> E,
) {
    let a: Vec<E> = a.iter().map(|&x| round(x)).collect();
    let b: Vec<E> = b.iter().map(|&x| round(x)).collect();
    let mut c = vec![0.0f32; m * n];
    g.bench_function(name, |bch| {
        bch.iter(|| {
            let (a, b) = (
                MatRef::row_major(black_box(&a), m, k),
                MatRef::row_major(&b, k, n),
            );
            matmul(1.0, a, b, 0.0, MatMut::row_major(&mut c, m, n)).unwrap()
        })
    });
}

/// The matmul group of one shape.
fn matmul_group<M: Measurement>(cr: &mut Criterion<M>, (m, n, k): (usize, usize, usize)) {
    let (a, b) = (values(m * k, 4), values(k * n, 5));
    let id = if m == n && n == k {
        format!("half_matmul/{m}")
    } else {
        format!("half_matmul/{m}x{n}x{k}")
    };
    let mut g = cr.benchmark_group(id);
    g.throughput(Throughput::Elements((m * n * k) as u64));
    g.sample_size(20);
    let shape = (m, n, k);
    bench_mm(&mut g, "f32", shape, (&a, &b), |x| x);
    bench_mm(&mut g, "bf16", shape, (&a, &b), bf16::from_f32);
    bench_mm(&mut g, "f16", shape, (&a, &b), f16::from_f32);
    let (ah, bh): (Vec<bf16>, Vec<bf16>) = (
        a.iter().map(|&x| bf16::from_f32(x)).collect(),
        b.iter().map(|&x| bf16::from_f32(x)).collect(),
    );
    let (mut aw, mut bw) = (vec![0.0f32; m * k], vec![0.0f32; k * n]);
    let mut c = vec![0.0f32; m * n];
    g.bench_function("bf16_via_f32", |bch| {
        bch.iter(|| {
            for (w, h) in aw.iter_mut().zip(black_box(&ah)) {
                *w = h.to_f32();
            }
            for (w, h) in bw.iter_mut().zip(&bh) {
                *w = h.to_f32();
            }
            let (a, b) = (MatRef::row_major(&aw, m, k), MatRef::row_major(&bw, k, n));
            matmul(1.0, a, b, 0.0, MatMut::row_major(&mut c, m, n)).unwrap()
        })
    });
    g.finish();
}

/// Benchmarks a row softmax of `x` converted to `E` into an `f32` output.
fn bench_softmax<M: Measurement, E: Element>(
    g: &mut BenchmarkGroup<'_, M>,
    name: &str,
    (rows, cols): (usize, usize),
    x: &[f32],
    round: fn(f32) -> E,
) {
    let x: Vec<E> = x.iter().map(|&v| round(v)).collect();
    let mut y = vec![0.0f32; rows * cols];
    let opts = SoftmaxOptions::default();
    g.bench_function(name, |bch| {
        bch.iter(|| {
            let x = MatRef::row_major(black_box(&x), rows, cols);
            softmax(x, MatMut::row_major(&mut y, rows, cols), &opts, None).unwrap()
        })
    });
}

/// The softmax group of one shape.
fn softmax_group<M: Measurement>(cr: &mut Criterion<M>, (rows, cols): (usize, usize)) {
    let x: Vec<f32> = values(rows * cols, 6).iter().map(|v| 8.0 * v).collect();
    let mut g = cr.benchmark_group(format!("half_softmax/{rows}x{cols}"));
    g.throughput(Throughput::Elements((rows * cols) as u64));
    g.sample_size(20);
    bench_softmax(&mut g, "f32", (rows, cols), &x, |v| v);
    bench_softmax(&mut g, "bf16", (rows, cols), &x, bf16::from_f32);
    bench_softmax(&mut g, "f16", (rows, cols), &x, f16::from_f32);
    let xh: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
    let (mut xw, mut y) = (vec![0.0f32; rows * cols], vec![0.0f32; rows * cols]);
    let opts = SoftmaxOptions::default();
    g.bench_function("bf16_via_f32", |bch| {
        bch.iter(|| {
            for (w, h) in xw.iter_mut().zip(black_box(&xh)) {
                *w = h.to_f32();
            }
            let x = MatRef::row_major(&xw, rows, cols);
            softmax(x, MatMut::row_major(&mut y, rows, cols), &opts, None).unwrap()
        })
    });
    g.finish();
}

fn all<M: Measurement>(cr: &mut Criterion<M>) {
    softmax_group(cr, (8192, 512));
    softmax_group(cr, (1024, 4096));
    matmul_group(cr, (1024, 1024, 1024));
    matmul_group(cr, (512, 1536, 384));
    let decode = AttentionOptions {
        is_causal: true,
        causal_variant: CausalVariant::LowerRight,
        ..Default::default()
    };
    for lk in [4096usize, 32768] {
        let s = Shape {
            b: 1,
            hq: 8,
            hkv: 8,
            lq: 1,
            lk,
            d: 128,
        };
        group(cr, &format!("half_decode/Lk{lk}_D128_Hkv8"), s, &decode);
    }
    let plain = AttentionOptions::default();
    let s = Shape {
        b: 1,
        hq: 8,
        hkv: 8,
        lq: 2048,
        lk: 2048,
        d: 128,
    };
    group(cr, "half_attention/S2048_D128", s, &plain);
    let s = Shape {
        b: 32,
        hq: 12,
        hkv: 12,
        lq: 128,
        lk: 128,
        d: 32,
    };
    group(cr, "half_attention/B32_H12_S128_D32", s, &plain);
}

fn main() {
    clock::main_with_clock(all, all);
}
