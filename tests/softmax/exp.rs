//! `exp` on every tier: special values, gradual underflow, a reduced sweep plus the
//! power-of-two boundaries against `f64::exp` (within `tol::EXP_ULP`, the same bits on every
//! tier), and the opt-in full sweep.

use super::NEG_INF;
use huiyan::dispatch;
use huiyan_kernels::softmax::exp_lane;
use huiyan_testkit::{assert_bits_eq, tol, ulp_error};

/// The accuracy domain: results are normal numbers.
const DOMAIN: (f32, f32) = (-87.3, 88.7);

/// Every `f32` in `[a, b]` visited in order of bit pattern, `step` apart.
fn floats(a: f32, b: f32, step: u32) -> impl Iterator<Item = f32> {
    // Negative floats: bits grow as values fall; walk both signs separately.
    let neg = (0x8000_0000u32..=a.to_bits())
        .step_by(step as usize)
        .map(f32::from_bits);
    let pos = (0u32..=b.to_bits())
        .step_by(step as usize)
        .map(f32::from_bits);
    neg.chain(pos)
}

/// The worst ulp error of `y = exp(x)` over a batch, and where.
fn worst(x: &[f32], y: &[f32]) -> (f64, f32) {
    let mut w = (0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let e = ulp_error(b, (a as f64).exp());
        if e > w.0 {
            w = (e, a);
        }
    }
    w
}

/// Inputs around every power-of-two boundary: of the input (`±2ᵉ`) and of the output
/// (`x ≈ k·ln2`, where `eˣ` crosses `2ᵏ`), 8 floats either side.
fn boundaries() -> Vec<f32> {
    let mut v = Vec::new();
    let around = |c: f32, v: &mut Vec<f32>| {
        for d in -8i32..=8 {
            let b = (c.to_bits() as i64 + d as i64) as u32;
            v.push(f32::from_bits(b));
        }
    };
    for e in -149..=6 {
        around(2f32.powi(e), &mut v);
        around(-(2f32.powi(e)), &mut v);
    }
    for k in -126..=127 {
        around((k as f64 * std::f64::consts::LN_2) as f32, &mut v);
    }
    v.retain(|x| x.is_finite() && *x >= DOMAIN.0 && *x <= DOMAIN.1);
    v
}

#[test]
fn exp_specials_exact() {
    let x = [
        NEG_INF,
        f32::INFINITY,
        f32::NAN,
        -f32::NAN,
        88.73,
        100.0,
        f32::MAX,
        0.0,
        -0.0,
        -104.0,
        -1e30,
        -f32::MAX,
    ];
    for k in dispatch::under_test() {
        let mut y = [1.5f32; 12];
        huiyan::exp_with(&k, &x, &mut y).unwrap();
        let ctx = k.isa().name();
        assert_eq!(y[0].to_bits(), 0, "{ctx}: exp(−∞) = +0");
        assert_eq!(y[1], f32::INFINITY, "{ctx}");
        assert!(y[2].is_nan() && y[3].is_nan(), "{ctx}");
        assert!(
            y[4..7].iter().all(|&v| v == f32::INFINITY),
            "{ctx}: overflow"
        );
        assert_eq!(&y[7..9], &[1.0, 1.0], "{ctx}");
        assert!(
            y[9..].iter().all(|&v| v.to_bits() == 0),
            "{ctx}: underflow to +0"
        );
    }
}

#[test]
fn exp_underflow_is_gradual_within_one_subnormal_ulp() {
    // [−103.97, −87.34]: subnormal results, rounded once.
    let x: Vec<f32> = ((-87.0f32).to_bits()..=(-104.0f32).to_bits())
        .step_by(97)
        .map(f32::from_bits)
        .collect();
    let mut y = vec![0.0; x.len()];
    huiyan::exp_with(dispatch::kernels(), &x, &mut y).unwrap();
    for (&a, &b) in x.iter().zip(&y) {
        let err = ((b as f64) - (a as f64).exp()).abs() / tol::MIN_SUBNORMAL;
        assert!(err <= 1.0, "exp({a}) = {b:e}: {err} subnormal ulps off");
    }
}

#[test]
fn exp_reduced_sweep_and_boundaries_within_2_ulp_and_bitwise_on_every_isa() {
    let mut x: Vec<f32> = floats(DOMAIN.0, DOMAIN.1, 509).collect();
    x.extend(boundaries());
    let want: Vec<f32> = x.iter().map(|&v| exp_lane(v)).collect();
    let (w, at) = worst(&x, &want);
    assert!(w <= tol::EXP_ULP, "exp_lane: {w} ulp at {at:e}");
    for k in dispatch::under_test() {
        let mut y = vec![0.0; x.len()];
        huiyan::exp_with(&k, &x, &mut y).unwrap();
        assert_bits_eq(&y, &want, &format!("exp on {}", k.isa().name()));
    }
}

#[test]
fn exp_full_sweep() {
    if std::env::var("HUIYAN_FULL_EXP_SWEEP").as_deref() != Ok("1") {
        eprintln!("exp_full_sweep: skipped (set HUIYAN_FULL_EXP_SWEEP=1; use --release)");
        return;
    }
    let tiers = dispatch::under_test();
    let all: Vec<u32> = {
        let neg = 0x8000_0000u32..=DOMAIN.0.to_bits();
        let pos = 0u32..=DOMAIN.1.to_bits();
        vec![neg.start().to_owned(), *neg.end(), *pos.start(), *pos.end()]
    };
    let ranges = [(all[0], all[1]), (all[2], all[3])];
    let chunk = 1u32 << 20;
    let results = std::thread::scope(|sc| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(lo, hi)| {
                let tiers = &tiers;
                sc.spawn(move || {
                    let (mut w, mut at, mut count) = (0.0f64, 0.0f32, 0u64);
                    let mut start = lo as u64;
                    while start <= hi as u64 {
                        let end = (start + chunk as u64 - 1).min(hi as u64);
                        let x: Vec<f32> = (start as u32..=end as u32).map(f32::from_bits).collect();
                        let mut y = vec![0.0; x.len()];
                        let mut z = vec![0.0; x.len()];
                        huiyan::exp_with(&tiers[tiers.len() - 1], &x, &mut y).unwrap();
                        for k in &tiers[..tiers.len() - 1] {
                            huiyan::exp_with(k, &x, &mut z).unwrap();
                            assert_bits_eq(&z, &y, &format!("{} vs best tier", k.isa().name()));
                        }
                        let (cw, ca) = worst(&x, &y);
                        if cw > w {
                            (w, at) = (cw, ca);
                        }
                        count += x.len() as u64;
                        start = end + 1;
                    }
                    (w, at, count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let count: u64 = results.iter().map(|r| r.2).sum();
    let (w, at, _) = results
        .iter()
        .cloned()
        .fold((0.0, 0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
    eprintln!(
        "exp_full_sweep: {count} floats in [{}, {}], {} tiers bit-identical; max error {w:.4} ulp at x = {at:e} ({:#010x})",
        DOMAIN.0, DOMAIN.1, tiers.len(), at.to_bits()
    );
    assert!(w <= tol::EXP_ULP);
}
