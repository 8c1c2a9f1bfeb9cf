//! Extra peak memory of one attention forward beyond its inputs and output (Linux).
//!
//! `cargo run --release --example attention_memory -- [S] [D] [H] [causal]` (default
//! 16384 64 8 noncausal). Allocates and touches Q, K, V, O first, reads the peak resident set
//! (`VmHWM` in /proc/self/status), runs one `huiyan::attention`, and reports how much the peak
//! grew: the kernel's own scratch, since the S×S score matrix is never materialised.

use huiyan::{AttentionOptions, Tensor4Mut, Tensor4Ref};

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

fn main() -> Result<(), huiyan::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (s, d, h) = (arg(0, 16384), arg(1, 64), arg(2, 8));
    let causal = args.get(3).is_some_and(|a| a == "causal");
    let n = h * s * d;
    let fill = |seed: usize| {
        (0..n)
            .map(|i| (((i * 7919 + seed) % 1000) as f32 / 1000.0) - 0.5)
            .collect::<Vec<f32>>()
    };
    let (q, k, v) = (fill(1), fill(2), fill(3));
    let mut o = vec![1.0f32; n];
    let before = peak_kib();
    let t0 = std::time::Instant::now();
    let dims = [1, h, s, d];
    huiyan::attention(
        Tensor4Ref::bhsd(&q, dims),
        Tensor4Ref::bhsd(&k, dims),
        Tensor4Ref::bhsd(&v, dims),
        Tensor4Mut::bhsd(&mut o, dims),
        &AttentionOptions {
            is_causal: causal,
            ..Default::default()
        },
        None,
    )?;
    let dt = t0.elapsed();
    let after = peak_kib();
    let io_mib = 4.0 * n as f64 * 4.0 / (1 << 20) as f64;
    println!(
        "S={s} D={d} H={h} {}: inputs+output {io_mib:.0} MiB, extra peak {:.2} MiB, {:.2} s ({:.1} effective GFLOP/s), kernels {}",
        if causal { "causal" } else { "noncausal" },
        (after - before) as f64 / 1024.0,
        dt.as_secs_f64(),
        4.0 * (s * s * d * h) as f64 / if causal { 2.0 } else { 1.0 } / dt.as_secs_f64() / 1e9,
        huiyan::dispatch::kernels().isa().name()
    );
    Ok(())
}
