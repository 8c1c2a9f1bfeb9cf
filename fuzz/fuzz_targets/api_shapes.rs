//! Arbitrary, possibly invalid shapes, strides and slice lengths into the safe entry points:
//! each call returns `Ok` or a typed `Err`, never panics, and on `Err` the output is unchanged.
#![no_main]

use arbitrary::Arbitrary;
use huiyan::{AttentionOptions, MatMut, MatRef, SoftmaxOptions, Tensor4Mut, Tensor4Ref};
use libfuzzer_sys::fuzz_target;

const SENTINEL: f32 = -7.25;

#[derive(Arbitrary, Debug)]
enum Case {
    Matmul {
        dims: [u8; 3],
        strides: [u8; 6],
        lens: [u8; 3],
        beta_zero: bool,
    },
    Softmax {
        rows: u8,
        cols: u8,
        rs: [u8; 2],
        lens: [u8; 2],
        scale: f32,
    },
    Attention {
        dq: [u8; 4],
        dk: [u8; 4],
        dv: [u8; 4],
        lens: [u8; 4],
        causal: bool,
        window: Option<u8>,
        scale: Option<f32>,
    },
}

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|&x| x == SENTINEL)
}

fuzz_target!(|case: Case| match case {
    Case::Matmul {
        dims: [m, n, k],
        strides: s,
        lens: [la, lb, lc],
        beta_zero,
    } => {
        let (m, n, k) = (m as usize % 24, n as usize % 24, k as usize % 24);
        let (a, b) = (vec![1.0f32; la as usize], vec![1.0f32; lb as usize]);
        let mut c = vec![SENTINEL; lc as usize];
        let s: Vec<usize> = s.iter().map(|&x| x as usize % 40).collect();
        let r = huiyan::reference::matmul(
            1.0,
            MatRef::new(&a, m, k, s[0], s[1]),
            MatRef::new(&b, k, n, s[2], s[3]),
            if beta_zero { 0.0 } else { 0.5 },
            MatMut::new(&mut c, m, n, s[4], s[5]),
        );
        if r.is_err() {
            assert!(untouched(&c));
        }
    }
    Case::Softmax {
        rows,
        cols,
        rs: [rx, ry],
        lens: [lx, ly],
        scale,
    } => {
        let (rows, cols) = (rows as usize % 16, cols as usize % 40);
        let x = vec![0.5f32; lx as usize];
        let mut y = vec![SENTINEL; ly as usize];
        let opts = SoftmaxOptions {
            scale,
            ..Default::default()
        };
        let r = huiyan::reference::softmax(
            MatRef::new(&x, rows, cols, rx as usize, 1),
            MatMut::new(&mut y, rows, cols, ry as usize, 1),
            &opts,
            None,
        );
        if r.is_err() {
            assert!(untouched(&y));
        }
    }
    Case::Attention {
        dq,
        dk,
        dv,
        lens,
        causal,
        window,
        scale,
    } => {
        let d = |x: [u8; 4]| x.map(|v| v as usize % 6);
        let (dq, dk, dv) = (d(dq), d(dk), d(dv));
        let q = vec![0.1f32; lens[0] as usize];
        let k = vec![0.2f32; lens[1] as usize];
        let v = vec![0.3f32; lens[2] as usize];
        let mut o = vec![SENTINEL; lens[3] as usize];
        let od = [dq[0], dq[1], dq[2], dv[3]];
        let opts = AttentionOptions {
            is_causal: causal,
            window: window.map(|w| w as usize),
            scale,
            ..Default::default()
        };
        let r = huiyan::attention(
            Tensor4Ref::bhsd(&q, dq),
            Tensor4Ref::bhsd(&k, dk),
            Tensor4Ref::bhsd(&v, dv),
            Tensor4Mut::bhsd(&mut o, od),
            &opts,
            None,
        );
        if r.is_err() {
            assert!(untouched(&o));
        }
    }
});
