//! The layer oracle's bound on problems whose answer is known in kind.

use super::*;
use crate::Rng;

/// `[B, Lq, Lk]`, `[Hkv, group, d]`, cross attention with `[kdim, vdim]`: inputs, weights
/// and biases uniform in [−1, 1).
fn random(dims: [usize; 3], heads: [usize; 3], kv: Option<[usize; 2]>, seed: u64) -> LayerProblem {
    let ([batch, len_q, len_kv], [hkv, group, head_dim]) = (dims, heads);
    let e = hkv * group * head_dim;
    let [kdim, vdim] = kv.unwrap_or([e, e]);
    let shape = LayerShape {
        embed_dim: e,
        num_heads: hkv * group,
        num_kv_heads: hkv,
        head_dim,
        kdim,
        vdim,
        batch,
        len_q,
        len_kv,
    };
    let mut rng = Rng::new(seed);
    let mut vals = |n: usize| rng.uniform_vec(n, -1.0, 1.0);
    let w = shape.projections().map(|[i, o]| vals(i * o));
    let b = shape.projections().map(|[_, o]| Some(vals(o)));
    let x = shape.inputs().map(|[r, f]| vals(r * f));
    LayerProblem::new(shape, w, b, x)
}

fn max_abs<T: Copy + Into<f64>>(v: &[T]) -> f64 {
    v.iter().fold(0.0, |m, &x| m.max(x.into().abs()))
}

/// The bound grows with the sizes (module documentation: `≈ 2e-3` of the largest `|y|` at
/// `E = 64`, tests/layer.rs's largest shape); it must stay far below the `O(1)` error of a
/// wrong head, row or layout.
#[test]
fn bounds_stay_far_below_an_indexing_error() {
    for (seed, heads) in [[4, 2, 8], [8, 1, 8], [1, 1, 1], [2, 2, 3]]
        .into_iter()
        .enumerate()
    {
        let mut p = random([2, 6, 8], heads, Some([11, 11]), seed as u64);
        p.is_causal = seed % 2 == 0;
        p.want_weights = true;
        let want = p.expected();
        let (ym, bm) = (max_abs(&want.y), max_abs(&want.y_bounds));
        assert!(
            bm <= ym / 64.0,
            "{heads:?}: bound {bm:e} against |y| ≤ {ym}"
        );
        for (_, wb) in [want.weights.unwrap(), want.averaged_weights.unwrap()] {
            assert!(
                max_abs(&wb) <= 1.0 / 256.0,
                "{heads:?}: weights bound {}",
                max_abs(&wb)
            );
        }
    }
}

#[test]
fn non_finite_query_leaves_only_its_output_row_unchecked() {
    let mut p = random([1, 3, 4], [2, 1, 2], Some([3, 5]), 1);
    p.x[0][1] = f32::NAN; // query row 0
    let want = p.expected();
    let e = p.shape.embed_dim;
    assert!(want.y_bounds[..e].iter().all(|&b| b == UNCHECKED));
    assert!(want.y_bounds[e..].iter().all(|b| b.is_finite()));
}

#[test]
fn non_finite_key_the_rows_cannot_see_leaves_them_checked() {
    let mut p = random([1, 3, 4], [1, 2, 2], Some([3, 5]), 2);
    p.key_padding_lens = Some(vec![3]);
    p.x[1][3 * 3] = f32::INFINITY; // key row 3: padding
    p.x[2][3 * 5 + 4] = f32::NAN; // value row 3
    p.want_weights = true;
    let want = p.expected();
    assert!(want.y_bounds.iter().all(|b| b.is_finite()));
    assert!(want.weights.unwrap().1.iter().all(|b| b.is_finite()));
    // Seen by every row: nothing is determined any more.
    p.key_padding_lens = None;
    assert!(p.expected().y_bounds.iter().all(|&b| b == UNCHECKED));
}
