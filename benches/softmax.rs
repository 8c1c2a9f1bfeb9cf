//! Row softmax throughput, single thread: huiyan against a straightforward scalar 3-pass loop
//! with `f32::exp`, and a plain copy of the same bytes (what memory alone allows).
//!
//! `rows × cols = 4,194,304` (16 MiB in, 16 MiB out) for `cols ∈ {64, 512, 4096, 32768}`,
//! out of place, scale 1, no mask; throughput in elements (criterion's "elem/s").
//! Run: `cargo bench --bench softmax` (`HUIYAN_FORCE_ISA=x86-v3` for another tier;
//! `HUIYAN_BENCH_CLOCK=cpu` to count only this thread's CPU time on a shared machine).
//!
//! Measured 2026-11-25, AMD EPYC (Zen 4, family 25 model 17, KVM, 2 vCPUs; memory bandwidth
//! shared with other tenants of the host), x86-v4 tier, `HUIYAN_BENCH_CLOCK=cpu`, criterion
//! means, elements/ns. Session 9 (HEAD 7cc1749): two runs about half an hour apart (a / b; a
//! CI run between them); the last column is session 8's ratio (same paths except 64 columns,
//! whose full-width rows now compile with the length as a constant):
//!
//! | bench id | huiyan | scalar | copy | huiyan/scalar | huiyan/copy | s8 huiyan/copy |
//! |---|---|---|---|---|---|---|
//! | softmax/65536x64 | 3.46 / 3.73 | 0.280 / 0.279 | 4.65 / 5.62 | 12.3 / 13.4 | 0.74 / 0.66 | 0.67 / 0.79 |
//! | softmax/8192x512 | 4.56 / 4.58 | 0.280 / 0.280 | 5.03 / 5.25 | 16.3 / 16.4 | 0.91 / 0.87 | 1.02 / 0.92 |
//! | softmax/1024x4096 | 3.18 / 2.86 | 0.273 / 0.274 | 4.03 / 5.60 | 11.7 / 10.4 | 0.79 / 0.51 | 0.84 / 0.69 |
//! | softmax/128x32768 | 3.52 / 3.85 | 0.280 / 0.280 | 4.85 / 5.48 | 12.6 / 13.7 | 0.73 / 0.70 | 0.79 / 0.69 |
//!
//! Session 11, with the streamed path of memory-sized rows merged (`kernels/src/softmax/
//! stream.rs`; 4096 and 32768 columns take it), one run:
//!
//! | bench id | huiyan | scalar | copy | huiyan/scalar | huiyan/copy |
//! |---|---|---|---|---|---|
//! | softmax/65536x64 | 3.62 | 0.280 | 5.50 | 12.9 | 0.66 |
//! | softmax/8192x512 | 4.65 | 0.279 | 5.08 | 16.7 | 0.92 |
//! | softmax/1024x4096 | 4.55 | 0.274 | 5.40 | 16.6 | 0.84 |
//! | softmax/128x32768 | 5.12 | 0.279 | 5.65 | 18.4 | 0.91 |
//!
//! Session 10 (kernels of session 9, one run): huiyan 3.20 / 4.59 / 3.21 / 3.51, copy 3.58 / 4.85 /
//! 5.11 / 3.96, scalar 0.275–0.280; huiyan/copy 0.89 / 0.95 / 0.63 / 0.89.
//!
//! Session 6, on a quieter host: huiyan 3.23 / 4.44 / 3.25 / 3.76 against copy 4.95 / 3.55 /
//! 4.65 / 5.31. Under this much noise compare within a run, or alternate two builds in one
//! harness: at 4096 columns the session-7 path measured 3.05 → 3.3 that way (ratio to the
//! copy 0.68 → 0.76), at 2048 2.7 → 3.9.
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
use huiyan_testkit::Rng;

const ELEMENTS: usize = 4_194_304;
const COLS: &[usize] = &[64, 512, 4096, 32768];

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
    // Logits uniform in [−8, 8): x − max ≥ −16, so no exp underflows.
    let x = Rng::new(1).uniform_vec(ELEMENTS, -8.0, 8.0);
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
