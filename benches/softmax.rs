//! Row softmax throughput, single thread: huiyan against a straightforward scalar 3-pass loop
//! with `f32::exp`, and a plain copy of the same bytes (what memory alone allows).
//!
//! `rows × cols = 4,194,304` (16 MiB in, 16 MiB out) for `cols ∈ {64, 512, 4096, 32768}`,
//! out of place, scale 1, no mask; throughput in elements (criterion's "elem/s").
//! Run: `cargo bench --bench softmax` (`HUIYAN_FORCE_ISA=x86-v3` for another tier).
//!
//! Measured 2026-11-24, AMD EPYC (Zen 4, family 25 model 17, KVM, 2 vCPUs), x86-v4 tier,
//! elements/ns, best of 40 runs of each function (the machine was shared with other builds,
//! load average 7–11, so criterion's means in the same session were 30–60 % lower):
//!
//! | bench id | huiyan | scalar | copy | huiyan/copy |
//! |---|---|---|---|---|
//! | softmax/65536x64 | 3.1–3.2 | 0.16 | 4.3–4.5 | 0.72 |
//! | softmax/8192x512 | 3.5–3.7 | 0.18 | 3.9–4.5 | 0.85–0.92 |
//! | softmax/1024x4096 | 2.5–2.8 | 0.15 | 3.8–4.3 | 0.65 |
//! | softmax/128x32768 | 2.6–3.3 | 0.16 | 3.8–4.2 | 0.75 |

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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

fn bench(cr: &mut Criterion) {
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

criterion_group!(benches, bench);
criterion_main!(benches);
