//! Row softmax throughput, single thread: huiyan against a straightforward scalar 3-pass loop
//! with `f32::exp`, and a plain copy of the same bytes (what memory alone allows).
//!
//! `rows × cols = 4,194,304` (16 MiB in, 16 MiB out) for `cols ∈ {64, 512, 4096, 32768}`,
//! out of place, scale 1, no mask; throughput in elements (criterion's "elem/s").
//! Run: `cargo bench --bench softmax` (`HUIYAN_FORCE_ISA=x86-v3` for another tier;
//! `HUIYAN_BENCH_CLOCK=cpu` to count only this thread's CPU time on a shared machine).
//!
//! Measured 2026-11-24, AMD EPYC (Zen 4, family 25 model 17, KVM, 2 vCPUs shared with other
//! builds, load average 4–8), x86-v4 tier, `HUIYAN_BENCH_CLOCK=cpu`, criterion means,
//! elements/ns:
//!
//! | bench id | huiyan | scalar | copy | huiyan/scalar |
//! |---|---|---|---|---|
//! | softmax/65536x64 | 3.15 | 0.275 | 2.78 | 11.4 |
//! | softmax/8192x512 | 3.43 | 0.276 | 2.79 | 12.4 |
//! | softmax/1024x4096 | 2.51 | 0.268 | 4.24 | 9.4 |
//! | softmax/128x32768 | 3.33 | 0.274 | 5.03 | 12.2 |
//!
//! `copy` moves the same 16 MiB at every width; its spread (2.8–5.0) is the memory
//! contention from the other processes, so compare huiyan with the best copy figure (≈ 5).

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

#[path = "common/clock.rs"]
mod clock;
use huiyan::{softmax, MatMut, MatRef, SoftmaxOptions};

const ELEMENTS: usize = 4_194_304;
const COLS: &[usize] = &[64, 512, 4096, 32768];

fn values(len: usize) -> Vec<f32> {
    let mut s = 0x2545_f491u32;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 16.0
        })
        .collect()
}

/// The straightforward scalar softmax: max, exp and sum, normalise.
fn scalar(x: &[f32], y: &mut [f32], cols: usize) {
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let m = xr.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0f32;
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = (v - m).exp();
            sum += *o;
        }
        let inv = 1.0 / sum;
        for o in yr.iter_mut() {
            *o *= inv;
        }
    }
}

fn bench<M: Measurement>(cr: &mut Criterion<M>) {
    eprintln!(
        "huiyan softmax bench: ISA {}",
        huiyan::dispatch::kernels().isa().name()
    );
    let x = values(ELEMENTS);
    let mut y = vec![0.0f32; ELEMENTS];
    let opts = SoftmaxOptions::default();
    for &cols in COLS {
        let rows = ELEMENTS / cols;
        let mut g = cr.benchmark_group(format!("softmax/{rows}x{cols}"));
        g.throughput(Throughput::Elements(ELEMENTS as u64));
        g.sample_size(20);
        g.bench_function("huiyan", |b| {
            b.iter(|| {
                softmax(
                    MatRef::row_major(black_box(&x), rows, cols),
                    MatMut::row_major(&mut y, rows, cols),
                    &opts,
                    None,
                )
                .unwrap()
            })
        });
        g.bench_function("scalar", |b| b.iter(|| scalar(black_box(&x), &mut y, cols)));
        g.bench_function("copy", |b| b.iter(|| y.copy_from_slice(black_box(&x))));
        g.finish();
    }
}

fn main() {
    clock::main_with_clock(bench, bench);
}
