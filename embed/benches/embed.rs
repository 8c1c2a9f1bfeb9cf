//! Sentences per second of all-MiniLM-L6-v2 on huiyan, for the three batches of
//! `benches/data/` (32 short sentences of 8–16 word pieces, 32 medium of 41–56, 8 long of
//! 201–234), single thread and on every thread, with its peers in the same sitting: ONNX
//! Runtime's fused BERT graph (`../shared/peers/run.sh minilm`) and candle's `BertModel`
//! (`peers/candle`, built on its own: `cargo build --release --manifest-path
//! embed/peers/candle/Cargo.toml`). Each case runs huiyan, then ORT, then candle.
//!
//! ```text
//! embed/fetch-model.sh
//! taskset -c 1 cargo bench -p huiyan-embed --features rayon --bench embed          # 1 thread
//! cargo bench -p huiyan-embed --features rayon --bench embed                       # + all threads
//! ```
//!
//! The model folder: `HUIYAN_MINILM_DIR`, else the fetch script's cache. Without the model the
//! bench says so and does nothing; a peer that is not there is skipped with a line saying why.
//! Criterion prints the time per batch (sentences/s = batch / time); the peers print their
//! JSON lines (`sent_per_s`).

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use huiyan_embed::Embedder;

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HUIYAN_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("HUIYAN_MODEL_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/huiyan")
                });
            cache.join("all-MiniLM-L6-v2")
        });
    dir.join("model.safetensors").is_file().then_some(dir)
}

fn peer(what: &str, mut cmd: Command) {
    match cmd.output() {
        Ok(o) if o.status.success() => {
            for line in String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with('{'))
            {
                println!("{what}: {line}");
            }
        }
        Ok(o) => println!(
            "{what}: skipped ({})",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
        ),
        Err(e) => println!("{what}: skipped ({e})"),
    }
}

/// A pool of `n` threads with the `rayon` feature; without it, this thread.
#[cfg(feature = "rayon")]
fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("pool")
}

/// Runs `f` in pool `p`.
#[cfg(feature = "rayon")]
fn on<R: Send>(p: &rayon::ThreadPool, f: impl FnOnce() -> R + Send) -> R {
    p.install(f)
}

/// Without the `rayon` feature: the calling thread.
#[cfg(not(feature = "rayon"))]
struct ThisThread;

/// A pool of `n` threads with the `rayon` feature; without it, this thread.
#[cfg(not(feature = "rayon"))]
fn pool(_n: usize) -> ThisThread {
    ThisThread
}

/// Runs `f` in pool `p`.
#[cfg(not(feature = "rayon"))]
fn on<R>(_p: &ThisThread, f: impl FnOnce() -> R) -> R {
    f()
}

fn bench(c: &mut Criterion) {
    let Some(dir) = model_dir() else {
        println!("embed bench: no model (run embed/fetch-model.sh); nothing to measure");
        return;
    };
    let e = Embedder::load(&dir).expect("model loads");
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for case in ["short", "medium", "long"] {
        let file = here.join("benches/data").join(format!("{case}.txt"));
        let text = std::fs::read_to_string(&file).expect("bench data");
        let s: Vec<&str> = text.lines().collect();
        let mut g = c.benchmark_group(format!("embed/{case}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(s.len() as u64));
        let mut counts = vec![1];
        if cfg!(feature = "rayon") && threads > 1 {
            counts.push(threads);
        }
        for n in counts {
            let p = pool(n);
            g.bench_function(format!("huiyan/{n}t"), |b| {
                b.iter(|| on(&p, || e.embed(&s).expect("embeds")))
            });
        }
        g.finish();
        let mut ort = Command::new("bash");
        ort.arg(here.join("../../shared/peers/run.sh"))
            .args(["minilm", "--model"])
            .arg(&dir)
            .arg("--bench")
            .arg(&file);
        peer("ort", ort);
        let candle = std::env::var_os("HUIYAN_CANDLE_PEER")
            .map(PathBuf::from)
            .unwrap_or_else(|| here.join("../target/candle/release/huiyan-embed-candle-peer"));
        let mut cmd = Command::new(candle);
        cmd.arg("--model").arg(&dir).arg("--bench").arg(&file);
        peer("candle", cmd);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
