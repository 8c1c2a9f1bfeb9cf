//! Bad attention options: scale, softcap, window, key padding, mask, bias, ALiBi slopes, sinks
//! (each also through the weights entry points: see [`Attn::expect`]).

use super::Attn;
use huiyan::{AttentionOptions, Error, Operand, Tensor4Mut, Tensor4Ref};

#[test]
fn attention_zero_scale() {
    Attn::small().expect(
        &AttentionOptions {
            scale: Some(0.0),
            ..Default::default()
        },
        Error::InvalidScale { scale: 0.0 },
    );
}

#[test]
fn attention_infinite_scale() {
    let s = f32::INFINITY;
    Attn::small().expect(
        &AttentionOptions {
            scale: Some(s),
            ..Default::default()
        },
        Error::InvalidScale { scale: s },
    );
}

#[test]
fn attention_nan_scale() {
    let mut p = Attn::small();
    let r = huiyan::attention(
        Tensor4Ref::bhsd(&p.q, p.dq),
        Tensor4Ref::bhsd(&p.k, p.dk),
        Tensor4Ref::bhsd(&p.v, p.dv),
        Tensor4Mut::bhsd(&mut p.o, p.do_),
        &AttentionOptions {
            scale: Some(f32::NAN),
            ..Default::default()
        },
        None,
    );
    // NaN != NaN, so match the variant and check the payload is NaN.
    assert!(
        matches!(r, Err(Error::InvalidScale { scale }) if scale.is_nan()),
        "{r:?}"
    );
    p.assert_untouched();
}

#[test]
fn attention_negative_softcap() {
    Attn::small().expect(
        &AttentionOptions {
            softcap: Some(-1.0),
            ..Default::default()
        },
        Error::InvalidSoftcap { softcap: -1.0 },
    );
}

#[test]
fn attention_zero_window() {
    Attn::small().expect(
        &AttentionOptions {
            window: Some(0),
            ..Default::default()
        },
        Error::ZeroWindow,
    );
}

#[test]
fn attention_padding_longer_than_keys() {
    let lens = [5usize, 6];
    Attn::small().expect(
        &AttentionOptions {
            key_padding_lens: Some(&lens),
            ..Default::default()
        },
        Error::PaddingTooLong {
            batch: 1,
            len: 6,
            len_kv: 5,
        },
    );
}

#[test]
fn attention_padding_slice_shorter_than_batch() {
    let lens = [5usize];
    Attn::small().expect(
        &AttentionOptions {
            key_padding_lens: Some(&lens),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::KeyPadding,
            needed: 2,
            got: 1,
        },
    );
}

#[test]
fn attention_mask_shape_mismatch() {
    let mask = vec![true; 3 * 6];
    let opts = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, 3, 6])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::BroadcastShape {
            operand: Operand::Mask,
            expected: [2, 4, 3, 5],
            got: [1, 1, 3, 6],
        },
    );
}

#[test]
fn attention_mask_slice_too_short() {
    let mask = vec![true; 14];
    let opts = AttentionOptions {
        attn_mask: Some(Tensor4Ref::bhsd(&mask, [1, 1, 3, 5])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::SliceTooShort {
            operand: Operand::Mask,
            needed: 15,
            got: 14,
        },
    );
}

#[test]
fn attention_bias_shape_mismatch() {
    let bias = vec![0.0f32; 3 * 4 * 3 * 5];
    let opts = AttentionOptions {
        attn_bias: Some(Tensor4Ref::bhsd(&bias, [3, 4, 3, 5])),
        ..Default::default()
    };
    Attn::small().expect(
        &opts,
        Error::BroadcastShape {
            operand: Operand::Bias,
            expected: [2, 4, 3, 5],
            got: [3, 4, 3, 5],
        },
    );
}

#[test]
fn attention_alibi_slopes_too_short() {
    let slopes = [0.5f32; 3];
    Attn::small().expect(
        &AttentionOptions {
            alibi_slopes: Some(&slopes),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::AlibiSlopes,
            needed: 4,
            got: 3,
        },
    );
}

#[test]
fn attention_sinks_too_short() {
    let sinks: [f32; 0] = [];
    Attn::small().expect(
        &AttentionOptions {
            sinks: Some(&sinks),
            ..Default::default()
        },
        Error::SliceTooShort {
            operand: Operand::Sinks,
            needed: 4,
            got: 0,
        },
    );
}
