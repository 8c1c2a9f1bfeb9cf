//! Materialised attention weights, for inspection only.

use huiyan_kernels::attention::AttentionOptions;
use huiyan_kernels::shape::product;
use huiyan_kernels::{Error, Kernels, Operand, Tensor4Mut, Tensor4Ref};

/// Writes `P = softmax(scale·QKᵀ + masks)` into `out` — `[B, Hq, Lq, Lk]`, or `[B, Lq, Lk]`
/// averaged over heads when `average` — by running attention with `V = I` (identity over the
/// keys): `O = P·I = P`. So the weights obey exactly the attention contract (every option,
/// fully masked rows → 0) with no second implementation of it.
pub(crate) fn attention_weights(
    kernels: &Kernels,
    q: Tensor4Ref<'_>,
    k: Tensor4Ref<'_>,
    opts: &AttentionOptions<'_>,
    average: bool,
    out: &mut [f32],
) -> Result<(), Error> {
    let [b, hq, lq, _] = q.dims;
    let [_, hkv, lk, _] = k.dims;
    if b == 0 || hq == 0 || lq == 0 || lk == 0 {
        // Nothing to write. (Regression, from fuzz/mha_layer: `Lk = 0` made `V = I` a
        // `dv = 0` operand, and attention refused it with `ZeroDim { DimV }`; with `B = 0` or
        // `Lq = 0` an arbitrary `Lk` still allocated the `Lk × Lk` identity.)
        return Ok(());
    }
    let eye_len = product(&[lk, lk]).ok_or(Error::Overflow {
        operand: Operand::Weights,
    })?;
    let mut eye = vec![0.0f32; eye_len];
    eye.iter_mut().step_by(lk + 1).for_each(|x| *x = 1.0);
    // One identity shared by every batch entry and head: stride 0 on those axes.
    let v = Tensor4Ref::new(&eye, [b, hkv, lk, lk], [0, 0, lk, 1]);
    let dims = [b, hq, lq, lk];
    if !average {
        return crate::attention_with(kernels, q, k, v, Tensor4Mut::bhsd(out, dims), opts, None);
    }
    let mut per_head = vec![
        0.0f32;
        product(&dims).ok_or(Error::Overflow {
            operand: Operand::Weights
        })?
    ];
    crate::attention_with(
        kernels,
        q,
        k,
        v,
        Tensor4Mut::bhsd(&mut per_head, dims),
        opts,
        None,
    )?;
    let plane = lq * lk;
    for bi in 0..b {
        let dst = &mut out[bi * plane..(bi + 1) * plane];
        dst.fill(0.0);
        for h in 0..hq {
            let src = &per_head[(bi * hq + h) * plane..(bi * hq + h + 1) * plane];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
        dst.iter_mut().for_each(|d| *d /= hq as f32);
    }
    Ok(())
}
