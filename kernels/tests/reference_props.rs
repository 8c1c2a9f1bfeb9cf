//! Properties of the reference itself (proptest): a second oracle for matmul, internal
//! consistency of softmax and attention, and the equivalences the attention contract implies
//! (each must hold bit for bit, because the reference does the same `f64` arithmetic in the
//! same order on both sides).

use huiyan_kernels::attention::CausalVariant;
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, MatMut, MatRef};
use huiyan_testkit::strategies::{
    attn_problem, attn_problem_from, attn_problem_with, attn_shape, gemm_problem, layout4,
    softmax_problem, AttnLimits, AttnOptionSet,
};
use huiyan_testkit::tol::U;
use huiyan_testkit::{
    assert_bits_eq, assert_within, layout::gather4, problems::Bcast4, AttnProblem, Layout4,
};
use proptest::prelude::*;

const SMALL: AttnLimits = AttnLimits::SMALL;

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Integration tests have no lib.rs for proptest to anchor regression files to.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// O and lse of the reference, gathered.
fn run(p: &AttnProblem) -> (Vec<f32>, Vec<f32>) {
    let mut p = p.clone();
    p.want_lse = true;
    let (o, lse) = p.reference();
    (o, lse.unwrap())
}

/// Q·Kᵀ through reference::matmul, softmax through reference::softmax (with the problem's
/// mask and bias as 2-d broadcast views), then P·V through reference::matmul, per (b, h).
/// Returns O in logical BHSD order.
fn composed(p: &AttnProblem) -> Vec<f32> {
    let s = p.shape;
    let (q, k, v) = (
        gather4(&p.q, s.q_dims(), p.q_layout.strides(s.q_dims()).0),
        gather4(&p.k, s.k_dims(), p.k_layout.strides(s.k_dims()).0),
        gather4(&p.v, s.v_dims(), p.v_layout.strides(s.v_dims()).0),
    );
    let (lq, lk, dk, dv) = (s.len_q, s.len_kv, s.dim_qk, s.dim_v);
    let scale = p.scale.unwrap_or((1.0 / (dk as f64).sqrt()) as f32);
    let mut out = Vec::new();
    for b in 0..s.batch {
        for h in 0..s.heads_q {
            let hk = h / (s.heads_q / s.heads_kv);
            let qs = &q[(b * s.heads_q + h) * lq * dk..][..lq * dk];
            let ks = &k[(b * s.heads_kv + hk) * lk * dk..][..lk * dk];
            let vs = &v[(b * s.heads_kv + hk) * lk * dv..][..lk * dv];
            if lk == 0 {
                // No keys: every row fully masked, O = 0.
                out.extend(vec![0.0; lq * dv]);
                continue;
            }
            let mut sc = vec![f32::NAN; lq * lk];
            reference::matmul(
                scale,
                MatRef::row_major(qs, lq, dk),
                MatRef::row_major(ks, lk, dk).t(),
                0.0,
                MatMut::row_major(&mut sc, lq, lk),
            )
            .unwrap();
            let mask = p.attn_mask.as_ref().map(|t| slice2(t, b, h));
            let bias = p.attn_bias.as_ref().map(|t| slice2(t, b, h));
            let opts = SoftmaxOptions {
                scale: 1.0,
                mask,
                bias,
                log: false,
            };
            let mut pr = vec![f32::NAN; lq * lk];
            reference::softmax(
                MatRef::row_major(&sc, lq, lk),
                MatMut::row_major(&mut pr, lq, lk),
                &opts,
                None,
            )
            .unwrap();
            let mut o = vec![f32::NAN; lq * dv];
            reference::matmul(
                1.0,
                MatRef::row_major(&pr, lq, lk),
                MatRef::row_major(vs, lk, dv),
                0.0,
                MatMut::row_major(&mut o, lq, dv),
            )
            .unwrap();
            out.extend(o);
        }
    }
    out
}

/// The `[Lq, Lk]` slice (or its broadcast) of a 4-d mask/bias at batch `b`, head `h`.
fn slice2<T>(t: &Bcast4<T>, b: usize, h: usize) -> MatRef<'_, T> {
    let off = if t.dims[0] > 1 { b * t.strides[0] } else { 0 }
        + if t.dims[1] > 1 { h * t.strides[1] } else { 0 };
    MatRef::new(&t.data[off..], t.dims[2], t.dims[3], t.strides[2], 1)
}

/// The problem with K and V repeated so that every query head has its own kv head.
fn repeat_kv(p: &AttnProblem) -> AttnProblem {
    let s = p.shape;
    let group = s.heads_q / s.heads_kv;
    let rep = |data: &[f32], dims: [usize; 4], l: Layout4| -> Vec<f32> {
        let x = gather4(data, dims, l.strides(dims).0);
        let per_head = dims[2] * dims[3];
        let mut out = Vec::new();
        for b in 0..s.batch {
            for h in 0..s.heads_q {
                let src = (b * s.heads_kv + h / group) * per_head;
                out.extend_from_slice(&x[src..src + per_head]);
            }
        }
        out
    };
    let mut shape = s;
    shape.heads_kv = s.heads_q;
    let q = gather4(&p.q, s.q_dims(), p.q_layout.strides(s.q_dims()).0);
    let mut m = AttnProblem::new(
        shape,
        &q,
        &rep(&p.k, s.k_dims(), p.k_layout),
        &rep(&p.v, s.v_dims(), p.v_layout),
    );
    m.scale = p.scale;
    m.is_causal = p.is_causal;
    m.causal_variant = p.causal_variant;
    m.key_padding_lens = p.key_padding_lens.clone();
    m.window = p.window;
    m.attn_mask = p.attn_mask.clone();
    m.attn_bias = p.attn_bias.clone();
    m.alibi_slopes = p.alibi_slopes.clone();
    m.softcap = p.softcap;
    m.sinks = p.sinks.clone();
    m
}

proptest! {
    #![proptest_config(cfg(256))]

    /// Second oracle: `matrixmultiply::sgemm` (f32, blocked) agrees with the reference within
    /// the gemm bound on random shapes, transposed and padded layouts, α, β (β = 0 with a
    /// NaN-filled C), k = 0. Also: padding gaps of C stay untouched.
    #[test]
    fn matmul_matches_matrixmultiply(p in gemm_problem(40, 40)) {
        let want = p.reference();
        let mut c = p.new_c();
        let (rsa, csa, _) = p.a_layout.strides(p.m, p.k);
        let (rsb, csb, _) = p.b_layout.strides(p.k, p.n);
        let (rsc, csc, _) = p.c_layout.strides(p.m, p.n);
        // SAFETY: the layouts' strides address only elements inside `p.a`, `p.b` and `c`
        // (their lengths are the layouts' exact extents); `c` is a separate, exclusive buffer.
        unsafe {
            matrixmultiply::sgemm(
                p.m, p.k, p.n, p.alpha,
                p.a.as_ptr(), rsa as isize, csa as isize,
                p.b.as_ptr(), rsb as isize, csb as isize,
                p.beta,
                c.as_mut_ptr(), rsc as isize, csc as isize,
            );
        }
        assert_within(&p.gather_c(&c), &want, &p.bounds(), "sgemm vs reference");
        let mut c = p.new_c();
        reference::matmul(p.alpha, p.a(), p.b(), p.beta, p.c_view(&mut c)).unwrap();
        p.assert_c_gaps_untouched(&c);
    }

    /// Softmax: each row with a finite lse sums to 1 (each output rounded once: ≤ U each);
    /// entries that do not take part are exactly 0; fully masked rows are all 0 with
    /// lse = −∞; and `t_j − lse = ln y_j` ties lse to the outputs.
    #[test]
    fn softmax_rows_sum_to_one_and_lse_is_consistent(mut p in softmax_problem(6, 40)) {
        p.log = false;
        let (y, lse) = p.reference();
        p.log = true;
        let (ly, lse2) = p.reference();
        assert_bits_eq(&lse, &lse2, "lse is the same for softmax and log-softmax");
        let (rows, cols) = (p.rows, p.cols);
        for r in 0..rows {
            let row = &y[r * cols..(r + 1) * cols];
            let lrow = &ly[r * cols..(r + 1) * cols];
            let l = lse[r] as f64;
            if lse[r] == f32::NEG_INFINITY {
                prop_assert!(row.iter().all(|&v| v == 0.0), "fully masked row {r}: {row:?}");
                prop_assert!(lrow.iter().all(|&v| v == f32::NEG_INFINITY));
                continue;
            }
            if lse[r].is_nan() {
                for &v in row {
                    prop_assert!(v.is_nan() || v == 0.0);
                }
                continue;
            }
            let sum: f64 = row.iter().map(|&v| v as f64).sum();
            prop_assert!((sum - 1.0).abs() <= (cols as f64 + 1.0) * U, "row {r} sums to {sum}");
            let xv = p.x();
            for j in 0..cols {
                let masked = p.mask.as_ref().is_some_and(|m| {
                    !m.data[if m.rows == 1 { 0 } else { r } * m.rs + if m.cols == 1 { 0 } else { j }]
                });
                // The logit as the contract forms it: fl(fl(scale·x) + bias).
                let mut t = p.scale * *xv.get(r, j).unwrap();
                if let Some(b) = &p.bias {
                    t += b.data[if b.rows == 1 { 0 } else { r } * b.rs + if b.cols == 1 { 0 } else { j }];
                }
                if masked || t == f32::NEG_INFINITY {
                    prop_assert_eq!(row[j], 0.0);
                    prop_assert_eq!(lrow[j], f32::NEG_INFINITY);
                    continue;
                }
                // Log-softmax is t − lse up to two roundings.
                let want = t as f64 - l;
                prop_assert!(
                    (lrow[j] as f64 - want).abs() <= 2.0 * U * (want.abs() + 1.0) + 4.0 * U * (t.abs() as f64 + l.abs()),
                    "row {r} col {j}: log y {} vs t − lse {want}", lrow[j]
                );
                if row[j] as f64 > 1e-30 {
                    prop_assert!(((row[j] as f64).ln() - lrow[j] as f64).abs() <= 2.0 * U * (1.0 + (lrow[j] as f64).abs()),
                        "row {r} col {j}: ln y {} vs log-softmax {}", (row[j] as f64).ln(), lrow[j]);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(cfg(256))]

    /// Attention = softmax(scale·Q·Kᵀ + bias, mask)·V composed from the reference matmul and
    /// softmax (each rounding to f32 in between), within the attention bound of testkit —
    /// which also checks that bound is not too tight for an f32 pipeline.
    #[test]
    fn attention_equals_composed_matmul_softmax_matmul(p in attn_problem_with(SMALL, AttnOptionSet {
        mask: true, bias: true, scale: true, huge: true, ..AttnOptionSet::NONE
    })) {
        let (want, _) = run(&p);
        let (bo, _) = p.bounds();
        assert_within(&composed(&p), &want, &bo, "composed vs attention");
    }

    /// GQA/MQA: query head h reads kv head h / (Hq / Hkv) — identical bits to MHA on K, V with
    /// each kv head repeated, under every option.
    #[test]
    fn gqa_equals_repeated_kv(p in attn_problem(SMALL)) {
        let (o, l) = run(&p);
        let (o2, l2) = run(&repeat_kv(&p));
        assert_bits_eq(&o, &o2, "O");
        assert_bits_eq(&l, &l2, "lse");
    }

    /// Layouts are only strides: BSHD, BHSD and padded variants of Q, K, V, O give identical
    /// bits, and O's padding gaps stay untouched.
    #[test]
    fn layouts_do_not_change_bits(p in attn_problem(SMALL), ls in [layout4(), layout4(), layout4(), layout4()]) {
        let (o, l) = run(&p);
        let r = p.relayout(ls);
        let (o2, l2) = run(&r);
        assert_bits_eq(&o, &o2, "O");
        assert_bits_eq(&l, &l2, "lse");
        let mut buf = r.new_output();
        reference::attention(r.q(), r.k(), r.v(), r.o_view(&mut buf), &r.options(), None).unwrap();
        r.assert_o_gaps_untouched(&buf);
    }

    /// With Lq = Lk the two causal alignments coincide (p(i) = i either way), for the causal
    /// mask, the window and ALiBi alike.
    #[test]
    fn lower_right_equals_upper_left_when_square(p in attn_problem_from(
        attn_shape(SMALL).prop_map(|mut s| { s.len_q = s.len_kv.max(1); s.len_kv = s.len_q; s }),
        AttnOptionSet::ALL,
    )) {
        let mut a = p.clone();
        a.causal_variant = CausalVariant::UpperLeft;
        let mut b = p;
        b.causal_variant = CausalVariant::LowerRight;
        let (oa, la) = run(&a);
        let (ob, lb) = run(&b);
        assert_bits_eq(&oa, &ob, "O");
        assert_bits_eq(&la, &lb, "lse");
    }

    /// Options that cannot mask or move anything are no-ops, bit for bit: a window of
    /// Lk + Lq, an all-true mask (any broadcast shape), a zero bias (any broadcast shape),
    /// zero ALiBi slopes, key-padding lengths equal to Lk, sinks of −∞.
    #[test]
    fn neutral_options_are_no_ops(p in attn_problem(SMALL), keep in proptest::array::uniform4(any::<bool>())) {
        let s = p.shape;
        let (o, l) = run(&p);
        let check = |q: AttnProblem, what: &str| {
            let (o2, l2) = run(&q);
            assert_bits_eq(&o, &o2, what);
            assert_bits_eq(&l, &l2, what);
        };
        let full = s.score_dims();
        let dims: [usize; 4] = core::array::from_fn(|ax| if keep[ax] { full[ax] } else { 1 });
        let n = dims.iter().product();
        if p.window.is_none() {
            let mut q = p.clone();
            q.window = Some(s.len_kv + s.len_q);
            check(q, "window ≥ Lk + Lq");
        }
        if p.attn_mask.is_none() {
            let mut q = p.clone();
            q.attn_mask = Some(Bcast4::dense(dims, &vec![true; n]));
            check(q, "all-true mask");
        }
        if p.attn_bias.is_none() {
            let mut q = p.clone();
            q.attn_bias = Some(Bcast4::dense(dims, &vec![0.0; n]));
            check(q, "zero bias");
        }
        if p.alibi_slopes.is_none() {
            let mut q = p.clone();
            q.alibi_slopes = Some(vec![0.0; s.heads_q]);
            check(q, "zero ALiBi slopes");
        }
        if p.key_padding_lens.is_none() {
            let mut q = p.clone();
            q.key_padding_lens = Some(vec![s.len_kv; s.batch]);
            check(q, "padding = Lk");
        }
        if p.sinks.is_none() {
            let mut q = p.clone();
            q.sinks = Some(vec![f32::NEG_INFINITY; s.heads_q]);
            check(q, "sinks −∞");
        }
    }

    /// Causal masks (both alignments), sliding windows and key padding are exactly an
    /// explicit boolean mask built here from the contract's visibility formula
    /// (`j < len[b]`, causal ⇒ `j ≤ p(i)`, window ⇒ `p(i) − j < w` and, when not causal,
    /// `j − p(i) < w`), combined with the problem's own mask: identical bits.
    #[test]
    fn structured_masks_equal_explicit_bool_mask(p in attn_problem(SMALL)) {
        let s = p.shape;
        let full = s.score_dims();
        let mut m = Vec::with_capacity(full.iter().product());
        for b in 0..s.batch {
            for h in 0..s.heads_q {
                for i in 0..s.len_q {
                    let pos = match p.causal_variant {
                        CausalVariant::UpperLeft => i as i64,
                        CausalVariant::LowerRight => (i + s.len_kv) as i64 - s.len_q as i64,
                    };
                    for j in 0..s.len_kv {
                        let jj = j as i64;
                        let mut vis = p.key_padding_lens.as_ref().is_none_or(|l| j < l[b]);
                        vis &= !p.is_causal || jj <= pos;
                        if let Some(w) = p.window {
                            let w = w as i64;
                            vis &= pos - jj < w && (p.is_causal || jj - pos < w);
                        }
                        vis &= p.attn_mask.as_ref().is_none_or(|am| am.at([b, h, i, j]));
                        m.push(vis);
                    }
                }
            }
        }
        let mut e = p.clone();
        e.is_causal = false;
        e.window = None;
        e.key_padding_lens = None;
        e.attn_mask = Some(Bcast4::dense(full, &m));
        let (o, l) = run(&p);
        let (o2, l2) = run(&e);
        assert_bits_eq(&o, &o2, "O");
        assert_bits_eq(&l, &l2, "lse");
    }

    /// lse is the log of the row normaliser: with V = I (so O is the weight row p_ij), every
    /// visible key satisfies t_ij = lse_i + ln p_ij, with t_ij recomputed here from the
    /// contract's formula (scale, softcap, bias, ALiBi); the weights plus the sink's share
    /// exp(sink − lse) sum to 1; and a row with no visible key has lse = −∞ (or the sink).
    #[test]
    fn lse_is_log_of_the_normaliser(p in attn_problem(SMALL)) {
        let s = p.shape;
        prop_assume!(s.len_kv > 0);
        let (_, lse) = run(&p);
        let mut e = p.clone();
        let lk = s.len_kv;
        let eye: Vec<f32> = (0..s.batch * s.heads_kv * lk * lk)
            .map(|n| if n % lk == (n / lk) % lk { 1.0 } else { 0.0 })
            .collect();
        e.shape.dim_v = lk;
        e.v = eye;
        e.v_layout = Layout4::BHSD;
        e.o_layout = Layout4::BHSD;
        let (w, _) = run(&e);
        let (q, k) = (p.q(), p.k());
        let scale = p.scale.unwrap_or((1.0 / (s.dim_qk as f64).sqrt()) as f32) as f64;
        for b in 0..s.batch {
            for h in 0..s.heads_q {
                let hk = h / (s.heads_q / s.heads_kv);
                for i in 0..s.len_q {
                    let r = (b * s.heads_q + h) * s.len_q + i;
                    let l = lse[r] as f64;
                    let row = &w[r * lk..(r + 1) * lk];
                    if !l.is_finite() || row.iter().any(|x| x.is_nan()) {
                        continue;
                    }
                    let sink_share = p.sinks.as_ref().map_or(0.0, |sk| (sk[h] as f64 - l).exp());
                    let total = row.iter().map(|&x| x as f64).sum::<f64>() + sink_share;
                    if row.iter().all(|&x| x == 0.0) && p.sinks.is_some() {
                        prop_assert_eq!(lse[r], p.sinks.as_ref().unwrap()[h]);
                        continue;
                    }
                    prop_assert!((total - 1.0).abs() <= (lk as f64 + 4.0) * U, "row {r}: weights sum {total}");
                    let pos = match p.causal_variant {
                        CausalVariant::UpperLeft => i as f64,
                        CausalVariant::LowerRight => (i + lk) as f64 - s.len_q as f64,
                    };
                    for (j, &pj) in row.iter().enumerate() {
                        if (pj as f64) < 1e-20 {
                            continue;
                        }
                        let dot: f64 = (0..s.dim_qk)
                            .map(|d| *q.get([b, h, i, d]).unwrap() as f64 * *k.get([b, hk, j, d]).unwrap() as f64)
                            .sum();
                        let mut t = scale * dot;
                        if let Some(c) = p.softcap {
                            t = c as f64 * (t / c as f64).tanh();
                        }
                        if let Some(bias) = &p.attn_bias {
                            t += bias.at([b, h, i, j]) as f64;
                        }
                        if let Some(sl) = &p.alibi_slopes {
                            t -= sl[h] as f64 * (pos - j as f64).abs();
                        }
                        let got = l + (pj as f64).ln();
                        prop_assert!((got - t).abs() <= 4.0 * U * (1.0 + l.abs() + t.abs()),
                            "row {r} key {j}: lse + ln p = {got}, t = {t}");
                    }
                }
            }
        }
    }
}
