//! Differential: every ISA's attention against `reference::attention` on arbitrary small
//! shapes (GQA, Lq ≠ Lk, decode and tile paths), layouts and every option of the contract,
//! with values including NaN, ±∞ and huge ones, within the testkit's attention bounds.
#![no_main]

use arbitrary::Arbitrary;
use huiyan::CausalVariant;
use huiyan_testkit::problems::AttnShape;
use huiyan_testkit::{assert_within, assert_within_attention, AttnProblem};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
struct Input {
    b: u8,
    hkv: u8,
    group: u8,
    lq: u8,
    lk: u16,
    dk: u8,
    dv: u8,
    causal: Option<bool>,
    window: Option<u8>,
    pad: Option<Vec<u8>>,
    sinks: bool,
    alibi: bool,
    softcap: bool,
    lse: bool,
    data: Vec<u8>,
}

fuzz_target!(|inp: Input| {
    // 1 input in 8 may take the large shapes (several 128-row/column tiles): checking one costs
    // the reference ~Lq·Lk²·dk (its identity-V run for the bounds), up to 30 s under ASan,
    // which starved the first campaign (2 exec/s); the small shapes cover every tail. The bits
    // of `b` above the one the batch uses pick the class (values 2 and 11 of 16: the ones the
    // committed regression seeds have, so they keep their shapes).
    let big = matches!((inp.b >> 1) % 16, 2 | 11);
    let shape = AttnShape {
        batch: 1 + inp.b as usize % 2,
        heads_kv: 1 + inp.hkv as usize % 2,
        heads_q: (1 + inp.hkv as usize % 2) * (1 + inp.group as usize % 3),
        len_q: inp.lq as usize % if big { 140 } else { 40 },
        len_kv: inp.lk as usize % if big { 300 } else { 72 },
        dim_qk: 1 + inp.dk as usize % 40,
        dim_v: 1 + inp.dv as usize % 40,
    };
    let n = |d: [usize; 4]| d.iter().product::<usize>();
    let d = &inp.data;
    let mut p = AttnProblem::new(
        shape,
        &common::values(d, n(shape.q_dims())),
        &common::values(&d[d.len() / 3..], n(shape.k_dims())),
        &common::values(&d[d.len() / 2..], n(shape.v_dims())),
    );
    if let Some(lr) = inp.causal {
        p.is_causal = true;
        p.causal_variant = if lr {
            CausalVariant::LowerRight
        } else {
            CausalVariant::UpperLeft
        };
    }
    p.window = inp.window.map(|w| 1 + w as usize);
    p.key_padding_lens = inp.pad.map(|v| {
        (0..shape.batch)
            .map(|i| {
                v.get(i)
                    .map_or(shape.len_kv, |&x| x as usize % (shape.len_kv + 1))
            })
            .collect()
    });
    p.sinks = inp.sinks.then(|| common::values(d, shape.heads_q));
    p.alibi_slopes = inp.alibi.then(|| {
        (0..shape.heads_q)
            .map(|h| 0.5f32.powi(h as i32 + 1))
            .collect()
    });
    p.softcap = inp.softcap.then_some(20.0);
    p.want_lse = inp.lse;
    let (want, want_lse) = p.reference();
    let (bo, bl) = p.bounds();
    for kern in common::kernels() {
        let mut o = p.new_output();
        let mut lse = p.new_lse();
        huiyan::attention_with(
            &kern,
            p.q(),
            p.k(),
            p.v(),
            p.o_view(&mut o),
            &p.options(),
            lse.as_deref_mut(),
        )
        .expect("valid");
        assert_within_attention(&p.gather_o(&o), &want, &bo, kern.isa().name());
        if let (Some(g), Some(w)) = (&lse, &want_lse) {
            assert_within(g, w, &bl, kern.isa().name());
        }
        p.assert_o_gaps_untouched(&o);
    }
});
