//! Attention throughput, single thread: huiyan's flash kernel against `naive` — huiyan's own
//! matmul + softmax + matmul with the `Lq × Lk` score matrix materialised, per head.
//!
//! Groups `attention/S{S}_D{D}_{causal|noncausal}` with H = 8, B = 1, BHSD; throughput is the
//! effective flop count `4·S²·D·H` (half for causal), so criterion's "elem/s" is FLOP/s.
//! Encoder groups `attention/B32_H12_S{S}_D32` (non-causal, BHSD) at sentence-encoder shapes,
//! and `varlen/B32_H12_D32_S5-64`: a batch of 32 sentences of 5..64 tokens run `packed`
//! (`attention_varlen`, no padding) and `padded` (to 64 with `key_padding_lens`), throughput
//! in the flops of the real tokens (`4·H·D·Σ Lₛ²`).
//! Decode groups `decode/Lk{Lk}_D128_Hkv{Hkv}`: Lq = 1, H = 8, throughput in bytes of K and V
//! read. `…_softcap30` groups: the same shapes with `softcap = 30`. Run:
//! `cargo bench --bench attention` (filter: `-- S2048`; `HUIYAN_BENCH_CLOCK=cpu` on a shared
//! machine, see `common/clock.rs`).

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};

#[path = "common/clock.rs"]
mod clock;
use huiyan::{
    attention, matmul, softmax, AttentionOptions, CausalVariant, MatMut, MatRef, SoftmaxOptions,
    Tensor4Mut, Tensor4Ref,
};
use huiyan_testkit::Rng;

const H: usize = 8;

/// `len` inputs uniform in [−0.5, 0.5).
fn values(len: usize, seed: u64) -> Vec<f32> {
    Rng::new(seed).uniform_vec(len, -0.5, 0.5)
}

/// Per head (`heads` = B·H heads of BHSD memory): S = scale·Q·Kᵀ (materialised),
/// P = softmax(S) (masked for causal), O = P·V.
#[allow(clippy::too_many_arguments)]
fn naive(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    o: &mut [f32],
    (heads, s, d): (usize, usize, usize),
    mask: Option<&[bool]>,
    scores: &mut [f32],
    probs: &mut [f32],
) {
    let scale = 1.0 / (d as f32).sqrt();
    for h in 0..heads {
        let (qh, kh, vh) = (
            &q[h * s * d..(h + 1) * s * d],
            &k[h * s * d..(h + 1) * s * d],
            &v[h * s * d..(h + 1) * s * d],
        );
        matmul(
            1.0,
            MatRef::row_major(qh, s, d),
            MatRef::row_major(kh, s, d).t(),
            0.0,
            MatMut::row_major(scores, s, s),
        )
        .unwrap();
        let opts = SoftmaxOptions {
            scale,
            mask: mask.map(|m| MatRef::row_major(m, s, s)),
            ..Default::default()
        };
        softmax(
            MatRef::row_major(scores, s, s),
            MatMut::row_major(probs, s, s),
            &opts,
            None,
        )
        .unwrap();
        matmul(
            1.0,
            MatRef::row_major(probs, s, s),
            MatRef::row_major(vh, s, d),
            0.0,
            MatMut::row_major(&mut o[h * s * d..(h + 1) * s * d], s, d),
        )
        .unwrap();
    }
}

fn prefill<M: Measurement>(cr: &mut Criterion<M>) {
    eprintln!(
        "huiyan attention bench: ISA {}",
        huiyan::dispatch::kernels().isa().name()
    );
    for d in [64usize, 128] {
        for s in [128usize, 512, 2048, 4096] {
            for causal in [false, true] {
                let dims = [1, H, s, d];
                let (q, k, v) = (
                    values(H * s * d, 1),
                    values(H * s * d, 2),
                    values(H * s * d, 3),
                );
                let mut o = vec![0.0f32; H * s * d];
                let flops = 4 * s * s * d * H / if causal { 2 } else { 1 };
                let name = format!(
                    "attention/S{s}_D{d}_{}",
                    if causal { "causal" } else { "noncausal" }
                );
                let mut g = cr.benchmark_group(name);
                g.throughput(Throughput::Elements(flops as u64));
                g.sample_size(if s >= 2048 { 10 } else { 20 });
                let opts = AttentionOptions {
                    is_causal: causal,
                    ..Default::default()
                };
                g.bench_function("huiyan", |b| {
                    b.iter(|| {
                        let t = |x| Tensor4Ref::bhsd(x, dims);
                        attention(
                            t(black_box(&q)),
                            t(&k),
                            t(&v),
                            Tensor4Mut::bhsd(&mut o, dims),
                            &opts,
                            None,
                        )
                        .unwrap()
                    })
                });
                if s <= 2048 || std::env::var_os("HUIYAN_BENCH_NAIVE_4096").is_some() {
                    let mask: Option<Vec<bool>> =
                        causal.then(|| (0..s * s).map(|x| x % s <= x / s).collect());
                    let (mut scores, mut probs) = (vec![0.0f32; s * s], vec![0.0f32; s * s]);
                    g.bench_function("naive", |b| {
                        b.iter(|| {
                            naive(
                                black_box(&q),
                                &k,
                                &v,
                                &mut o,
                                (H, s, d),
                                mask.as_deref(),
                                &mut scores,
                                &mut probs,
                            )
                        })
                    });
                }
                g.finish();
            }
        }
    }
}

/// Sentence-encoder shapes: B = 32, H = 12, D = 32, non-causal, against the naive path.
fn encoder<M: Measurement>(cr: &mut Criterion<M>) {
    let (b, h, d) = (32usize, 12usize, 32usize);
    for s in [16usize, 32, 64, 128, 256] {
        let dims = [b, h, s, d];
        let n = b * h * s * d;
        let (q, k, v) = (values(n, 1), values(n, 2), values(n, 3));
        let mut o = vec![0.0f32; n];
        let mut g = cr.benchmark_group(format!("attention/B{b}_H{h}_S{s}_D{d}"));
        g.throughput(Throughput::Elements((4 * b * h * s * s * d) as u64));
        g.sample_size(if s >= 128 { 10 } else { 20 });
        let opts = AttentionOptions::default();
        g.bench_function("huiyan", |bch| {
            bch.iter(|| {
                let t = |x| Tensor4Ref::bhsd(x, dims);
                attention(
                    t(black_box(&q)),
                    t(&k),
                    t(&v),
                    Tensor4Mut::bhsd(&mut o, dims),
                    &opts,
                    None,
                )
                .unwrap()
            })
        });
        let (mut scores, mut probs) = (vec![0.0f32; s * s], vec![0.0f32; s * s]);
        g.bench_function("naive", |bch| {
            bch.iter(|| {
                naive(
                    black_box(&q),
                    &k,
                    &v,
                    &mut o,
                    (b * h, s, d),
                    None,
                    &mut scores,
                    &mut probs,
                )
            })
        });
        g.finish();
    }
}

/// A batch of 32 sentences of 5..64 tokens: packed (`attention_varlen`) against padded to 64
/// with `key_padding_lens`.
fn varlen<M: Measurement>(cr: &mut Criterion<M>) {
    let (h, d, pad) = (12usize, 32usize, 64usize);
    let mut rng = huiyan_testkit::Rng::new(5);
    let lens: Vec<usize> = (0..32)
        .map(|_| 5 + (rng.next_u64() % 60) as usize)
        .collect();
    let mut cu = vec![0usize];
    for &l in &lens {
        cu.push(cu.last().unwrap() + l);
    }
    let total = *cu.last().unwrap();
    let flops: usize = lens.iter().map(|&l| 4 * h * d * l * l).sum();
    let (q, k, v) = (
        values(32 * pad * h * d, 1),
        values(32 * pad * h * d, 2),
        values(32 * pad * h * d, 3),
    );
    let mut o = vec![0.0f32; 32 * pad * h * d];
    let mut g = cr.benchmark_group(format!("varlen/B32_H{h}_D{d}_S5-64"));
    g.throughput(Throughput::Elements(flops as u64));
    g.sample_size(20);
    let opts = AttentionOptions::default();
    g.bench_function("packed", |bch| {
        bch.iter(|| {
            let n = total * h * d;
            huiyan::attention_varlen(
                Tensor4Ref::thd(&black_box(&q)[..n], [total, h, d]),
                Tensor4Ref::thd(&k[..n], [total, h, d]),
                Tensor4Ref::thd(&v[..n], [total, h, d]),
                Tensor4Mut::thd(&mut o[..total * h * d], [total, h, d]),
                &cu,
                &cu,
                &opts,
                None,
            )
            .unwrap()
        })
    });
    let padded = AttentionOptions {
        key_padding_lens: Some(&lens),
        ..Default::default()
    };
    let dims = [32, h, pad, d];
    g.bench_function("padded", |bch| {
        bch.iter(|| {
            let t = |x| Tensor4Ref::bshd(x, dims);
            attention(
                t(black_box(&q)),
                t(&k),
                t(&v),
                Tensor4Mut::bshd(&mut o, dims),
                &padded,
                None,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn decode<M: Measurement>(cr: &mut Criterion<M>) {
    let d = 128;
    for lk in [4096usize, 32768] {
        for hkv in [8usize, 2] {
            let q = values(H * d, 1);
            let (k, v) = (values(hkv * lk * d, 2), values(hkv * lk * d, 3));
            let mut o = vec![0.0f32; H * d];
            let mut g = cr.benchmark_group(format!("decode/Lk{lk}_D{d}_Hkv{hkv}"));
            g.throughput(Throughput::Bytes((2 * hkv * lk * d * 4) as u64));
            g.sample_size(20);
            let opts = AttentionOptions {
                is_causal: true,
                causal_variant: CausalVariant::LowerRight,
                ..Default::default()
            };
            g.bench_function("huiyan", |b| {
                b.iter(|| {
                    attention(
                        Tensor4Ref::bhsd(black_box(&q), [1, H, 1, d]),
                        Tensor4Ref::bhsd(&k, [1, hkv, lk, d]),
                        Tensor4Ref::bhsd(&v, [1, hkv, lk, d]),
                        Tensor4Mut::bhsd(&mut o, [1, H, 1, d]),
                        &opts,
                        None,
                    )
                    .unwrap()
                })
            });
            g.finish();
        }
    }
}

/// Logit softcap (`t = 30·tanh(t/30)`, Gemma-2 style) on one prefill and one decode shape: the
/// same ids as the plain groups with a `_softcap30` suffix (huiyan only: the naive path has no
/// softcap).
fn softcap<M: Measurement>(cr: &mut Criterion<M>) {
    let opts = AttentionOptions {
        softcap: Some(30.0),
        ..Default::default()
    };
    let (s, d) = (2048usize, 64usize);
    let dims = [1, H, s, d];
    let (q, k, v) = (
        values(H * s * d, 1),
        values(H * s * d, 2),
        values(H * s * d, 3),
    );
    let mut o = vec![0.0f32; H * s * d];
    let mut g = cr.benchmark_group(format!("attention/S{s}_D{d}_noncausal_softcap30"));
    g.throughput(Throughput::Elements((4 * s * s * d * H) as u64));
    g.sample_size(10);
    g.bench_function("huiyan", |b| {
        b.iter(|| {
            let t = |x| Tensor4Ref::bhsd(x, dims);
            attention(
                t(black_box(&q)),
                t(&k),
                t(&v),
                Tensor4Mut::bhsd(&mut o, dims),
                &opts,
                None,
            )
            .unwrap()
        })
    });
    g.finish();

    let (lk, d, hkv) = (4096usize, 128usize, 2usize);
    let q = values(H * d, 1);
    let (k, v) = (values(hkv * lk * d, 2), values(hkv * lk * d, 3));
    let mut o = vec![0.0f32; H * d];
    let mut g = cr.benchmark_group(format!("decode/Lk{lk}_D{d}_Hkv{hkv}_softcap30"));
    g.throughput(Throughput::Bytes((2 * hkv * lk * d * 4) as u64));
    g.sample_size(20);
    let opts = AttentionOptions {
        is_causal: true,
        causal_variant: CausalVariant::LowerRight,
        ..opts
    };
    g.bench_function("huiyan", |b| {
        b.iter(|| {
            attention(
                Tensor4Ref::bhsd(black_box(&q), [1, H, 1, d]),
                Tensor4Ref::bhsd(&k, [1, hkv, lk, d]),
                Tensor4Ref::bhsd(&v, [1, hkv, lk, d]),
                Tensor4Mut::bhsd(&mut o, [1, H, 1, d]),
                &opts,
                None,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn all<M: Measurement>(cr: &mut Criterion<M>) {
    encoder(cr);
    varlen(cr);
    prefill(cr);
    decode(cr);
    softcap(cr);
}

fn main() {
    clock::main_with_clock(all, all);
}
