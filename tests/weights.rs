//! `attention_weights` (and the layer's `need_weights`, which runs it) against the reference:
//! the weights are the output of reference attention with `V = I`, so every option, the
//! NaN / ±∞ rules and fully masked rows are checked against the one contract.

use huiyan::reference;
use huiyan::{attention_weights, AttentionOptions, Dim, Error, Tensor4Mut, Tensor4Ref};
use huiyan_testkit::layout::{gather4, Layout4, Order4};
use huiyan_testkit::strategies::{self, AttnLimits};
use huiyan_testkit::{assert_within, proptest_cases, tol, AttnProblem};
use proptest::prelude::*;

/// Reference weights `[B, Hq, Lq, Lk]` (dense BHSD) and their bounds: reference attention of
/// the problem's Q and K with `V = I`.
fn reference_weights(p: &AttnProblem) -> (Vec<f32>, Vec<f64>) {
    let s = p.shape;
    let lk = s.len_kv;
    let n = s.score_dims().iter().product();
    if lk == 0 || n == 0 {
        return (vec![0.0; n], vec![0.0; n]);
    }
    let eye: Vec<f32> = (0..lk * lk)
        .map(|x| if x % (lk + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let v = Tensor4Ref::new(&eye, [s.batch, s.heads_kv, lk, lk], [0, 0, lk, 1]);
    let opts = p.options();
    let mut w = vec![0.0f32; n];
    reference::attention(
        p.q(),
        p.k(),
        v,
        Tensor4Mut::bhsd(&mut w, s.score_dims()),
        &opts,
        None,
    )
    .unwrap();
    let (bounds, _) = tol::attention_bounds(p.q(), p.k(), v, &opts);
    (w, bounds)
}

/// Checks per-head weights in `layout` and the head-averaged weights against the reference.
fn check(p: &AttnProblem, layout: Layout4) {
    let s = p.shape;
    let (want, bounds) = reference_weights(p);
    let dims = s.score_dims();
    let (strides, len) = layout.strides(dims);
    const GAP: f32 = -12345.0;
    let mut w = vec![GAP; len];
    attention_weights(
        p.q(),
        p.k(),
        &p.options(),
        Tensor4Mut::new(&mut w, dims, strides),
    )
    .unwrap();
    let got = gather4(&w, dims, strides);
    assert_within(&got, &want, &bounds, &format!("weights {:?} {layout:?}", s));
    let written = got.len();
    let gaps = w.iter().filter(|&&x| x == GAP).count();
    assert_eq!(
        gaps + written,
        len.max(written),
        "wrote into a gap of {layout:?}"
    );

    // Averaged over heads: the mean of the per-head reference, its bound the mean bound plus
    // the rounding of an Hq-term f32 sum of values in [0, 1].
    let (b, hq, lq, lk) = (s.batch, s.heads_q, s.len_q, s.len_kv);
    let adims = [b, 1, lq, lk];
    let mut avg = vec![GAP; b * lq * lk];
    attention_weights(
        p.q(),
        p.k(),
        &p.options(),
        Tensor4Mut::bhsd(&mut avg, adims),
    )
    .unwrap();
    let plane = lq * lk;
    let mut want_avg = vec![0.0f32; b * plane];
    let mut bound_avg = vec![0.0f64; b * plane];
    for bi in 0..b {
        for x in 0..plane {
            let at = |h: usize| (bi * hq + h) * plane + x;
            let mean = (0..hq).map(|h| want[at(h)] as f64).sum::<f64>() / hq as f64;
            let bmax = (0..hq).map(|h| bounds[at(h)]).fold(0.0, f64::max);
            want_avg[bi * plane + x] = mean as f32;
            bound_avg[bi * plane + x] = if bmax == tol::UNCHECKED {
                tol::UNCHECKED
            } else {
                bmax + (hq as f64 + 2.0) * f32::EPSILON as f64
            };
        }
    }
    assert_within(
        &avg,
        &want_avg,
        &bound_avg,
        &format!("averaged weights {s:?}"),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(256)))]

    #[test]
    fn weights_equal_reference_attention_with_identity_values(
        p in strategies::attn_problem(AttnLimits::SMALL),
        bshd in any::<bool>(), row_pad in 0usize..3, batch_pad in 0usize..2,
    ) {
        let order = if bshd { Order4::Bshd } else { Order4::Bhsd };
        check(&p, Layout4 { order, row_pad, batch_pad });
    }

    #[test]
    fn weights_across_tile_sizes(p in strategies::attn_problem(AttnLimits::TILES)) {
        check(&p, Layout4::BHSD);
    }
}

#[test]
fn weights_of_a_causal_row_are_uniform_over_the_visible_prefix() {
    let q = vec![0.25f32; 5 * 3];
    let mut w = vec![f32::NAN; 25];
    let opts = AttentionOptions {
        is_causal: true,
        ..Default::default()
    };
    let t = Tensor4Ref::bhsd(&q, [1, 1, 5, 3]);
    attention_weights(t, t, &opts, Tensor4Mut::bhsd(&mut w, [1, 1, 5, 5])).unwrap();
    for (i, row) in w.chunks(5).enumerate() {
        for (j, &x) in row.iter().enumerate() {
            let want = if j <= i { 1.0 / (i + 1) as f32 } else { 0.0 };
            assert!((x - want).abs() <= 1e-7, "({i}, {j}): {x} vs {want}");
        }
    }
}

#[test]
fn weights_scale_with_the_key_length_not_its_square() {
    // Lq = 1 against 1 Mi keys: the old `V = I` construction needed a 2⁴⁰-element identity.
    let lk = 1 << 20;
    let q = [1.0f32, 0.0];
    let k: Vec<f32> = (0..lk * 2).map(|x| (x % 7) as f32 * 0.1).collect();
    let mut w = vec![0.0f32; lk];
    attention_weights(
        Tensor4Ref::bhsd(&q, [1, 1, 1, 2]),
        Tensor4Ref::bhsd(&k, [1, 1, lk, 2]),
        &AttentionOptions::default(),
        Tensor4Mut::bhsd(&mut w, [1, 1, 1, lk]),
    )
    .unwrap();
    let sum: f64 = w.iter().map(|&x| x as f64).sum();
    assert!((sum - 1.0).abs() < 1e-6, "sum {sum}");
}

#[test]
fn bad_weights_shapes_are_typed_errors_and_leave_out_untouched() {
    let (q, k) = (vec![0.5f32; 2 * 3 * 4], vec![0.5f32; 5 * 4]);
    let (qv, kv) = (
        Tensor4Ref::bhsd(&q, [1, 2, 3, 4]),
        Tensor4Ref::bhsd(&k, [1, 1, 5, 4]),
    );
    let opts = AttentionOptions::default();
    let mut w = vec![7.0f32; 2 * 3 * 5];
    let e = attention_weights(qv, kv, &opts, Tensor4Mut::bhsd(&mut w, [1, 2, 3, 4]));
    assert_eq!(
        e,
        Err(Error::DimMismatch {
            dim: Dim::LenKv,
            expected: 5,
            got: 4
        })
    );
    let e = attention_weights(qv, kv, &opts, Tensor4Mut::bhsd(&mut w, [1, 3, 3, 5]));
    assert_eq!(
        e,
        Err(Error::DimMismatch {
            dim: Dim::HeadsQ,
            expected: 2,
            got: 3
        })
    );
    let e = attention_weights(qv, kv, &opts, Tensor4Mut::bhsd(&mut w[..29], [1, 2, 3, 5]));
    assert!(matches!(e, Err(Error::SliceTooShort { .. })), "{e:?}");
    let bad = AttentionOptions {
        window: Some(0),
        ..opts
    };
    let e = attention_weights(qv, kv, &bad, Tensor4Mut::bhsd(&mut w, [1, 2, 3, 5]));
    assert_eq!(e, Err(Error::ZeroWindow));
    assert!(w.iter().all(|&x| x == 7.0));
}
