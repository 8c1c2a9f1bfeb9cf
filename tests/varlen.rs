//! Variable-length attention (`huiyan::attention_varlen`) on every tier: each sequence gets the
//! bits of the same call made for it alone; a packed batch gives the padded batch's outputs on
//! the real tokens; bad offsets and options are typed errors with the output untouched.

use huiyan::dispatch;
use huiyan::dispatch::Kernels;
use huiyan::{AttentionOptions, CausalVariant, Dim, Error, Operand, Tensor4Mut, Tensor4Ref};
use huiyan_testkit::{assert_bits_eq, proptest_cases, Rng};
use proptest::prelude::*;

/// A packed batch: Q `[tq, hq, dk]`, K `[tk, hkv, dk]`, V `[tk, hkv, dv]`.
#[derive(Debug)]
struct Batch {
    cu_q: Vec<usize>,
    cu_k: Vec<usize>,
    hq: usize,
    hkv: usize,
    dk: usize,
    dv: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Batch {
    fn new(
        lens: &[(usize, usize)],
        hq: usize,
        hkv: usize,
        dk: usize,
        dv: usize,
        seed: u64,
    ) -> Self {
        let mut cu_q = vec![0];
        let mut cu_k = vec![0];
        for &(lq, lk) in lens {
            cu_q.push(cu_q.last().unwrap() + lq);
            cu_k.push(cu_k.last().unwrap() + lk);
        }
        let (tq, tk) = (*cu_q.last().unwrap(), *cu_k.last().unwrap());
        let mut rng = Rng::new(seed);
        Batch {
            q: rng.uniform_vec(tq * hq * dk, -1.0, 1.0),
            k: rng.uniform_vec(tk * hkv * dk, -1.0, 1.0),
            v: rng.uniform_vec(tk * hkv * dv, -1.0, 1.0),
            cu_q,
            cu_k,
            hq,
            hkv,
            dk,
            dv,
        }
    }

    fn totals(&self) -> (usize, usize) {
        (*self.cu_q.last().unwrap(), *self.cu_k.last().unwrap())
    }

    /// The packed call: O `[tq, hq, dv]` and lse `[hq, tq]`.
    fn packed(&self, k: &Kernels, opts: &AttentionOptions<'_>) -> (Vec<f32>, Vec<f32>) {
        let (tq, tk) = self.totals();
        let mut o = vec![f32::NAN; tq * self.hq * self.dv];
        let mut lse = vec![f32::NAN; self.hq * tq];
        huiyan::attention_varlen_with(
            k,
            Tensor4Ref::thd(&self.q, [tq, self.hq, self.dk]),
            Tensor4Ref::thd(&self.k, [tk, self.hkv, self.dk]),
            Tensor4Ref::thd(&self.v, [tk, self.hkv, self.dv]),
            Tensor4Mut::thd(&mut o, [tq, self.hq, self.dv]),
            &self.cu_q,
            &self.cu_k,
            opts,
            Some(&mut lse),
        )
        .unwrap();
        (o, lse)
    }

    /// Sequence `s` as a call of its own: its O rows and its lse `[hq, lq]`.
    fn alone(&self, k: &Kernels, s: usize, opts: &AttentionOptions<'_>) -> (Vec<f32>, Vec<f32>) {
        let (q0, q1, k0, k1) = (
            self.cu_q[s],
            self.cu_q[s + 1],
            self.cu_k[s],
            self.cu_k[s + 1],
        );
        let (lq, lk) = (q1 - q0, k1 - k0);
        let (hq, hkv, dk, dv) = (self.hq, self.hkv, self.dk, self.dv);
        let mut o = vec![f32::NAN; lq * hq * dv];
        let mut lse = vec![f32::NAN; hq * lq];
        huiyan::attention_with(
            k,
            Tensor4Ref::thd(&self.q[q0 * hq * dk..q1 * hq * dk], [lq, hq, dk]),
            Tensor4Ref::thd(&self.k[k0 * hkv * dk..k1 * hkv * dk], [lk, hkv, dk]),
            Tensor4Ref::thd(&self.v[k0 * hkv * dv..k1 * hkv * dv], [lk, hkv, dv]),
            Tensor4Mut::thd(&mut o, [lq, hq, dv]),
            opts,
            Some(&mut lse),
        )
        .unwrap();
        (o, lse)
    }

    /// Every sequence of the packed result against its call alone, bit for bit.
    fn check(&self, k: &Kernels, opts: &AttentionOptions<'_>) {
        let (o, lse) = self.packed(k, opts);
        let (tq, _) = self.totals();
        let row = self.hq * self.dv;
        for s in 0..self.cu_q.len() - 1 {
            let (q0, q1) = (self.cu_q[s], self.cu_q[s + 1]);
            let (want_o, want_lse) = self.alone(k, s, opts);
            let ctx = format!("{} sequence {s} of {:?}", k.isa().name(), self.lens());
            assert_bits_eq(&o[q0 * row..q1 * row], &want_o, &format!("O, {ctx}"));
            for h in 0..self.hq {
                let got = &lse[h * tq + q0..h * tq + q1];
                let want = &want_lse[h * (q1 - q0)..(h + 1) * (q1 - q0)];
                assert_bits_eq(got, want, &format!("lse head {h}, {ctx}"));
            }
        }
    }

    fn lens(&self) -> Vec<(usize, usize)> {
        (0..self.cu_q.len() - 1)
            .map(|s| {
                (
                    self.cu_q[s + 1] - self.cu_q[s],
                    self.cu_k[s + 1] - self.cu_k[s],
                )
            })
            .collect()
    }
}

/// Lengths that reach every path: none (0), the decode path (1..=4), the single-block path
/// (up to 40 here) and, now and then, the tile path (keys past 256).
fn len() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 3 => 1usize..=4, 8 => 5usize..=40, 1 => 257usize..=270]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(48)))]

    #[test]
    fn every_sequence_has_the_bits_of_its_own_call(
        lens in prop::collection::vec((len(), len()), 1..6),
        self_attention in any::<bool>(),
        hkv in 1usize..3, group in 1usize..3,
        dk in prop_oneof![Just(1usize), 2usize..=40], dv in prop_oneof![Just(1usize), 2usize..=40],
        causal in any::<bool>(), lower_right in any::<bool>(),
        window in proptest::option::of(1usize..20),
        alibi in any::<bool>(), softcap in proptest::option::of(5.0f32..50.0),
        sinks in any::<bool>(), scale in proptest::option::of(0.05f32..0.5),
        seed in 0u64..1 << 20,
    ) {
        let lens: Vec<(usize, usize)> = if self_attention {
            lens.iter().map(|&(l, _)| (l, l)).collect()
        } else {
            lens
        };
        let hq = hkv * group;
        let b = Batch::new(&lens, hq, hkv, dk, dv, seed);
        let slopes: Vec<f32> = (0..hq).map(|h| 0.5f32.powi(h as i32 + 1)).collect();
        let sink_logits: Vec<f32> = (0..hq).map(|h| h as f32 * 0.25 - 0.3).collect();
        let opts = AttentionOptions {
            scale,
            is_causal: causal,
            causal_variant: if lower_right { CausalVariant::LowerRight } else { CausalVariant::UpperLeft },
            window,
            alibi_slopes: alibi.then_some(&slopes[..]),
            softcap,
            sinks: sinks.then_some(&sink_logits[..]),
            ..Default::default()
        };
        for k in dispatch::under_test() {
            b.check(&k, &opts);
        }
    }
}

#[test]
fn a_packed_batch_gives_the_padded_batch_on_the_real_tokens() {
    // 32 sentences of 5..64 tokens (every path here is the single-block one).
    let mut rng = Rng::new(7);
    let lens: Vec<usize> = (0..32)
        .map(|_| 5 + (rng.next_u64() % 60) as usize)
        .collect();
    let (h, d, pad) = (4, 32, 64);
    let b = Batch::new(
        &lens.iter().map(|&l| (l, l)).collect::<Vec<_>>(),
        h,
        h,
        d,
        d,
        11,
    );
    // The padded batch [32, h, 64, d] (BSHD) holds each sentence at the start of its slot.
    let (mut q, mut k, mut v) = (
        vec![0.0f32; 32 * pad * h * d],
        vec![0.0f32; 32 * pad * h * d],
        vec![0.0f32; 32 * pad * h * d],
    );
    for (s, w) in b.cu_q.windows(2).enumerate() {
        let (a, z) = (w[0] * h * d, w[1] * h * d);
        let at = s * pad * h * d;
        q[at..at + z - a].copy_from_slice(&b.q[a..z]);
        k[at..at + z - a].copy_from_slice(&b.k[a..z]);
        v[at..at + z - a].copy_from_slice(&b.v[a..z]);
    }
    for kern in dispatch::under_test() {
        let (packed, _) = b.packed(&kern, &AttentionOptions::default());
        let mut o = vec![0.0f32; 32 * pad * h * d];
        let dims = [32, h, pad, d];
        let opts = AttentionOptions {
            key_padding_lens: Some(&lens),
            ..Default::default()
        };
        huiyan::attention_with(
            &kern,
            Tensor4Ref::bshd(&q, dims),
            Tensor4Ref::bshd(&k, dims),
            Tensor4Ref::bshd(&v, dims),
            Tensor4Mut::bshd(&mut o, dims),
            &opts,
            None,
        )
        .unwrap();
        for (s, w) in b.cu_q.windows(2).enumerate() {
            let (a, z) = (w[0] * h * d, w[1] * h * d);
            let at = s * pad * h * d;
            let ctx = format!("{} sentence {s} ({} tokens)", kern.isa().name(), lens[s]);
            assert_bits_eq(&o[at..at + z - a], &packed[a..z], &ctx);
        }
    }
}

#[test]
fn bad_offsets_and_options_are_typed_errors_and_the_output_is_untouched() {
    let (t, h, d) = (6, 2, 4);
    let x = vec![0.5f32; t * h * d];
    let view = |x| Tensor4Ref::thd(x, [t, h, d]);
    let run = |cu_q: &[usize], cu_k: &[usize], opts: &AttentionOptions<'_>| {
        let mut o = vec![7.0f32; t * h * d];
        let r = huiyan::attention_varlen(
            view(&x),
            view(&x),
            view(&x),
            Tensor4Mut::thd(&mut o, [t, h, d]),
            cu_q,
            cu_k,
            opts,
            None,
        );
        assert!(o.iter().all(|&y| y == 7.0), "output touched on {r:?}");
        r
    };
    let plain = AttentionOptions::default();
    assert_eq!(
        run(&[0, 4, 2], &[0, 3, 6], &plain),
        Err(Error::BadOffset {
            operand: Operand::SeqOffsetsQ,
            index: 2,
            value: 2,
            min: 4,
            max: 6
        })
    );
    assert_eq!(
        run(&[0, 3, 6], &[0, 3, 7], &plain),
        Err(Error::BadOffset {
            operand: Operand::SeqOffsetsK,
            index: 2,
            value: 7,
            min: 3,
            max: 6
        })
    );
    assert_eq!(
        run(&[0, 3, 6], &[0, 6], &plain),
        Err(Error::DimMismatch {
            dim: Dim::Batch,
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        run(&[], &[], &plain),
        Err(Error::ZeroDim { dim: Dim::Batch })
    );
    let lens = [3usize, 3];
    let padded = AttentionOptions {
        key_padding_lens: Some(&lens),
        ..Default::default()
    };
    assert_eq!(
        run(&[0, 3, 6], &[0, 3, 6], &padded),
        Err(Error::NotPerSequence {
            operand: Operand::KeyPadding
        })
    );
    let mask = vec![true; t * t];
    let masked = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, t, t])),
        ..Default::default()
    };
    assert_eq!(
        run(&[0, 3, 6], &[0, 3, 6], &masked),
        Err(Error::NotPerSequence {
            operand: Operand::Mask
        })
    );
    // A batch axis other than 1.
    let mut o = vec![7.0f32; t * h * d];
    let four = |x| Tensor4Ref::bhsd(x, [2, h, 3, d]);
    let r = huiyan::attention_varlen(
        four(&x),
        four(&x),
        four(&x),
        Tensor4Mut::bhsd(&mut o, [2, h, 3, d]),
        &[0, 3],
        &[0, 3],
        &plain,
        None,
    );
    assert_eq!(
        r,
        Err(Error::DimMismatch {
            dim: Dim::Batch,
            expected: 1,
            got: 2
        })
    );
    assert!(o.iter().all(|&y| y == 7.0));
    // Empty sequences and an empty batch are fine.
    assert_eq!(run(&[0], &[0], &plain), Ok(()));
}
