//! Row softmax throughput, single thread: huiyan against a straightforward scalar 3-pass loop
//! with `f32::exp`, and a plain copy of the same bytes (what memory alone allows).
//!
//! `rows × cols = 4,194,304` (16 MiB in, 16 MiB out) for `cols ∈ {64, 512, 4096, 32768}`,
//! out of place, scale 1, no mask; throughput in elements (criterion's "elem/s").
//! Run: `cargo bench --bench softmax` (`HUIYAN_FORCE_ISA=x86-v3` for another tier;
//! `HUIYAN_BENCH_CLOCK=cpu` to count only this thread's CPU time on a shared machine).
//!
//! Measured 2026-11-24, AMD EPYC (Zen 4, family 25 model 17, KVM, 2 vCPUs; memory bandwidth
//! shared with other tenants of the host), x86-v4 tier, `HUIYAN_BENCH_CLOCK=cpu`, criterion
//! means, elements/ns, session 6 (in brackets: session 5, the same kernels but for the
//! short rows' maximum):
//!
//! | bench id | huiyan | scalar | copy | huiyan/scalar | huiyan/copy |
//! |---|---|---|---|---|---|
//! | softmax/65536x64 | 3.23 (3.38) | 0.277 | 4.95 (5.12) | 11.7 | 0.65 |
//! | softmax/8192x512 | 4.44 (4.55) | 0.276 | 3.55 (4.88) | 16.1 | 1.25 |
//! | softmax/1024x4096 | 3.25 (3.24) | 0.272 | 4.65 (4.91) | 12.0 | 0.70 |
//! | softmax/128x32768 | 3.76 (3.13) | 0.275 | 5.31 (4.17) | 13.7 | 0.71 |
//!
//! `copy` moves the same 16 MiB at every width; on a quiet host it runs at 5.6–5.8, and its
//! spread (2.6–5.8) is the other tenants' memory traffic, so compare huiyan with the copy of
//! the same run. `copy` is `memcpy`, which at this size writes through the caches: a copy with
//! streaming stores ran at 6.4–6.6 in the same hour that `memcpy` ran at 3.4–3.9. The same
//! kernels in L2 (64 Ki elements, no memory traffic): 4.0 / 5.1 / 5.3 / 4.5.

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
