//! `embed`: sentence embeddings from the command line.
//!
//! ```text
//! embed --model DIR --input FILE --out FILE     one sentence per line → little-endian f32 [n, dim]
//! embed --model DIR --bench FILE [--threads N] [--batch 32] [--warmup 3] [--reps 10]
//! ```
//!
//! `--bench` follows `minilm_ort.py --bench` (the ONNX Runtime peer): the file's sentences in
//! file order, `--batch` at a time, tokenization included in the time; `--warmup` untimed
//! passes, then `--reps` timed ones; one JSON line with the median and `sent_per_s`.
//! `--threads N` runs on a rayon pool of `N` threads (needs the `rayon` feature; the default
//! is one thread).

use std::process::ExitCode;
use std::time::Instant;

use huiyan_embed::Embedder;

struct Args {
    model: String,
    input: Option<String>,
    out: Option<String>,
    bench: Option<String>,
    threads: usize,
    batch: usize,
    warmup: usize,
    reps: usize,
}

const USAGE: &str = "usage: embed --model DIR (--input FILE --out FILE | --bench FILE [--threads N] [--batch 32] [--warmup 3] [--reps 10])";

fn parse() -> Result<Args, String> {
    let mut a = Args {
        model: String::new(),
        input: None,
        out: None,
        bench: None,
        threads: 1,
        batch: 32,
        warmup: 3,
        reps: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--model" => a.model = val()?,
            "--input" => a.input = Some(val()?),
            "--out" => a.out = Some(val()?),
            "--bench" => a.bench = Some(val()?),
            "--threads" => a.threads = num(val()?)?.max(1),
            "--batch" => a.batch = num(val()?)?.max(1),
            "--warmup" => a.warmup = num(val()?)?,
            "--reps" => a.reps = num(val()?)?.max(1),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.model.is_empty() || (a.bench.is_none() && (a.input.is_none() || a.out.is_none())) {
        return Err(USAGE.into());
    }
    Ok(a)
}

/// One sentence per line; a trailing newline makes no extra sentence; CR before LF dropped
/// (as the peer script reads its files).
fn read_sentences(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect())
}

fn run(a: &Args) -> Result<(), String> {
    let e = Embedder::load(&a.model).map_err(|e| e.to_string())?;
    if let Some(bench) = &a.bench {
        return run_bench(&e, a, bench);
    }
    let (input, out) = (
        a.input.as_deref().unwrap_or(""),
        a.out.as_deref().unwrap_or(""),
    );
    let sentences = read_sentences(input)?;
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let t = Instant::now();
    let emb = e.embed(&refs).map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let bytes: Vec<u8> = emb
        .as_slice()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(out, bytes).map_err(|e| format!("{out}: {e}"))?;
    eprintln!(
        "huiyan: embedded {} sentences ({} floats each) in {secs:.3} s -> {out}",
        emb.len(),
        emb.dim()
    );
    Ok(())
}

fn run_bench(e: &Embedder, a: &Args, path: &str) -> Result<(), String> {
    let sentences = read_sentences(path)?;
    if sentences.is_empty() {
        return Err("empty bench file".into());
    }
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let tokens: usize = refs
        .iter()
        .map(|s| e.tokenize(s).map(|v| v.len()))
        .sum::<Result<usize, _>>()
        .map_err(|e| e.to_string())?;
    let pass = || -> Result<(f64, f64), String> {
        let (t, c) = (Instant::now(), cpu_seconds());
        for chunk in refs.chunks(a.batch) {
            std::hint::black_box(e.embed(chunk).map_err(|e| e.to_string())?);
        }
        Ok((t.elapsed().as_secs_f64(), cpu_seconds() - c))
    };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let timed = || -> Result<(), String> {
        for _ in 0..a.warmup {
            pass()?;
        }
        for _ in 0..a.reps {
            let (t, c) = pass()?;
            times.push(t);
            cpu.push(c);
        }
        Ok(())
    };
    in_pool(a.threads, timed)??;
    let med = median(&mut times);
    let cpu_med = median(&mut cpu);
    let case = std::path::Path::new(path)
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let n = refs.len();
    println!(
        "{{\"peer\": \"huiyan\", \"case\": \"{case}\", \"batch\": {n}, \"tokens\": {tokens}, \"threads\": {}, \"warmup\": {}, \"reps\": {}, \"median_s\": {med}, \"min_s\": {}, \"max_s\": {}, \"sent_per_s\": {}, \"tok_per_s\": {}, \"cpu_median_s\": {cpu_med}}}",
        a.threads,
        a.warmup,
        a.reps,
        times[0],
        times[times.len() - 1],
        n as f64 / med,
        tokens as f64 / med
    );
    eprintln!(
        "huiyan {case}: {n} sentences ({tokens} tokens), {} thread(s): median {:.2} ms (CPU {:.2} ms) -> {:.1} sent/s",
        a.threads,
        med * 1e3,
        cpu_med * 1e3,
        n as f64 / med
    );
    Ok(())
}

/// The median of `v` (sorted in place; `v` not empty).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// CPU seconds this process has used (all its threads), as the peer's `time.process_time()`:
/// on a shared machine the figure other processes disturb least. 0 where unavailable.
fn cpu_seconds() -> f64 {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct Timespec {
            sec: i64,
            nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
        }
        const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
        let mut ts = Timespec { sec: 0, nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux, the
        // only layout this cfg builds for here); the clock id is a constant Linux defines.
        let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return ts.sec as f64 + ts.nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// Runs `f` on a rayon pool of `threads` threads (the `rayon` feature), or here for one.
fn in_pool<R>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R, String>
where
    R: Send,
{
    #[cfg(feature = "rayon")]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(pool.install(f))
    }
    #[cfg(not(feature = "rayon"))]
    {
        if threads > 1 {
            return Err(
                "--threads > 1 needs the `rayon` feature (cargo run --features rayon)".into(),
            );
        }
        Ok(f())
    }
}

fn main() -> ExitCode {
    match parse().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e}");
            ExitCode::FAILURE
        }
    }
}
