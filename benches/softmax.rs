//! Row softmax throughput, single thread: huiyan against a straightforward scalar 3-pass loop
//! with `f32::exp`, and a plain copy of the same bytes (what memory alone allows).
//!
//! `rows × cols = 4,194,304` (16 MiB in, 16 MiB out) for `cols ∈ {64, 512, 4096, 32768}`,
//! out of place, scale 1, no mask; throughput in elements (criterion's "elem/s").
//! Run: `cargo bench --bench softmax` (`HUIYAN_FORCE_ISA=x86-v3` for another tier;
//! `HUIYAN_BENCH_CLOCK=cpu` to count only this thread's CPU time on a shared machine).
//!
//! `copy` moves the same 16 MiB at every width: what memory alone allows. On a host whose
//! memory bandwidth is shared with other tenants its rate moves from run to run, so compare
//! huiyan with the copy of the same run. Figures by date are in `docs/perf/`.

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
