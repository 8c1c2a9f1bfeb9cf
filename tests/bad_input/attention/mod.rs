//! Attention: the entry points, the problem every case perturbs ([`Attn`]), and its cases:
//! shapes and slices in `shapes.rs`, options in `options.rs`.

mod options;
mod shapes;

use crate::SENTINEL;
use huiyan::dispatch;
use huiyan::{AttentionOptions, Error, Tensor4Mut, Tensor4Ref};

type AttnFn = Box<
    dyn Fn(
        Tensor4Ref<'_>,
        Tensor4Ref<'_>,
        Tensor4Ref<'_>,
        Tensor4Mut<'_>,
        &AttentionOptions<'_>,
        Option<&mut [f32]>,
    ) -> Result<(), Error>,
>;

/// Every public attention entry point: reference, std, and per ISA the std and core calls.
fn attention_entry_points() -> Vec<(String, AttnFn)> {
    let mut v: Vec<(String, AttnFn)> = vec![
        (
            "reference::attention".into(),
            Box::new(huiyan::reference::attention),
        ),
        ("huiyan::attention".into(), Box::new(huiyan::attention)),
    ];
    for kern in dispatch::available() {
        let name = kern.isa().name();
        v.push((
            format!("attention_with({name})"),
            Box::new(move |q, k, v, o, op, l| huiyan::attention_with(&kern, q, k, v, o, op, l)),
        ));
        v.push((
            format!("kernels::attention::attention({name})"),
            Box::new(move |q, k, v, o, op, l| {
                let mut ws = vec![0.0f32; 1 << 16];
                huiyan_kernels::attention::attention(&kern, q, k, v, o, op, l, &mut ws)
            }),
        ));
    }
    v
}

/// Owned buffers for a `[B, Hq/Hkv, Lq/Lk, dk/dv]` attention problem, BHSD.
struct Attn {
    dq: [usize; 4],
    dk: [usize; 4],
    dv: [usize; 4],
    do_: [usize; 4],
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    lse: Vec<f32>,
}

impl Attn {
    fn new(b: usize, hq: usize, hkv: usize, lq: usize, lk: usize, dk: usize, dv: usize) -> Attn {
        let n = |d: [usize; 4]| d.iter().product::<usize>();
        let (dq, dkk, dvv, do_) = (
            [b, hq, lq, dk],
            [b, hkv, lk, dk],
            [b, hkv, lk, dv],
            [b, hq, lq, dv],
        );
        Attn {
            q: vec![0.5; n(dq)],
            k: vec![0.25; n(dkk)],
            v: vec![1.0; n(dvv)],
            o: vec![SENTINEL; n(do_)],
            lse: vec![SENTINEL; b * hq * lq],
            dq,
            dk: dkk,
            dv: dvv,
            do_,
        }
    }

    fn small() -> Attn {
        Attn::new(2, 4, 2, 3, 5, 4, 6)
    }

    /// Runs every attention entry point with `opts`, asserts `want`, and that O and lse are
    /// untouched.
    #[track_caller]
    fn expect(&mut self, opts: &AttentionOptions<'_>, want: Error) {
        for (name, f) in attention_entry_points() {
            let got = f(
                Tensor4Ref::bhsd(&self.q, self.dq),
                Tensor4Ref::bhsd(&self.k, self.dk),
                Tensor4Ref::bhsd(&self.v, self.dv),
                Tensor4Mut::bhsd(&mut self.o, self.do_),
                opts,
                Some(&mut self.lse),
            );
            assert_eq!(got, Err(want), "{name}");
            self.assert_untouched();
        }
        if Self::option_error(&want) {
            self.expect_weights(opts, want);
        }
    }

    /// Errors of the options themselves, which the weights entry points share with attention
    /// (`check_attention_options`): the same call must fail the same way there.
    fn option_error(e: &Error) -> bool {
        use huiyan::Operand as Op;
        match e {
            Error::InvalidScale { .. }
            | Error::InvalidSoftcap { .. }
            | Error::ZeroWindow
            | Error::PaddingTooLong { .. }
            | Error::BroadcastShape { .. } => true,
            Error::SliceTooShort { operand, .. } => matches!(
                operand,
                Op::Mask | Op::Bias | Op::KeyPadding | Op::AlibiSlopes | Op::Sinks
            ),
            _ => false,
        }
    }

    /// `huiyan::attention_weights` and the core `attention_weights` (per head and averaged)
    /// give `want` and leave the weights untouched.
    #[track_caller]
    fn expect_weights(&self, opts: &AttentionOptions<'_>, want: Error) {
        let [b, hq, lq, _] = self.dq;
        let lk = self.dk[2];
        for heads in [hq, 1] {
            let dims = [b, heads, lq, lk];
            let mut w = vec![SENTINEL; dims.iter().product()];
            let (q, k) = (
                Tensor4Ref::bhsd(&self.q, self.dq),
                Tensor4Ref::bhsd(&self.k, self.dk),
            );
            let got = huiyan::attention_weights(q, k, opts, Tensor4Mut::bhsd(&mut w, dims));
            assert_eq!(got, Err(want), "huiyan::attention_weights, {heads} heads");
            let mut ws = vec![0.0f32; lk];
            let got = huiyan_kernels::attention::attention_weights(
                q,
                k,
                opts,
                Tensor4Mut::bhsd(&mut w, dims),
                &mut ws,
            );
            assert_eq!(got, Err(want), "kernels attention_weights, {heads} heads");
            assert!(w.iter().all(|&x| x == SENTINEL), "weights written on error");
        }
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert!(
            self.o.iter().all(|&x| x == SENTINEL),
            "O was written on error"
        );
        assert!(
            self.lse.iter().all(|&x| x == SENTINEL),
            "lse was written on error"
        );
    }
}
