//! Differential: every ISA's softmax (plain, log, masked, biased, with lse) against
//! `reference::softmax` on arbitrary rows, widths and logits (NaN, ±∞, ±1e30 included), within
//! the testkit's softmax bounds and the contract's NaN and masking rules.
#![no_main]

use arbitrary::Arbitrary;
use huiyan::{MatMut, MatRef, SoftmaxOptions};
use huiyan_testkit::{assert_within, tol};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
struct Input {
    rows: u8,
    cols: u16,
    scale: u8,
    log: bool,
    mask_row: Option<Vec<bool>>,
    bias: bool,
    data: Vec<u8>,
}

fuzz_target!(|inp: Input| {
    let (rows, cols) = (inp.rows as usize % 9, inp.cols as usize % 300);
    let scale = [1.0f32, 0.125, -1.0, 3.0][inp.scale as usize % 4];
    let x = common::values(&inp.data, rows * cols);
    let mask: Option<Vec<bool>> = inp.mask_row.map(|m| {
        (0..cols)
            .map(|j| m.get(j % m.len().max(1)).copied().unwrap_or(true))
            .collect()
    });
    let bias: Option<Vec<f32>> = inp
        .bias
        .then(|| common::values(&inp.data[inp.data.len() / 2..], cols));
    let opts = SoftmaxOptions {
        scale,
        log: inp.log,
        mask: mask.as_deref().map(|m| MatRef::row_major(m, 1, cols)),
        bias: bias.as_deref().map(|b| MatRef::row_major(b, 1, cols)),
    };
    let xv = MatRef::row_major(&x, rows, cols);
    let mut want = vec![0.0f32; rows * cols];
    let mut want_lse = vec![0.0f32; rows];
    huiyan::reference::softmax(
        xv,
        MatMut::row_major(&mut want, rows, cols),
        &opts,
        Some(&mut want_lse),
    )
    .expect("valid");
    let (by, bl) = tol::softmax_bounds(xv, &opts);
    for kern in common::kernels() {
        let mut y = vec![f32::NAN; rows * cols];
        let mut lse = vec![f32::NAN; rows];
        huiyan::softmax_with(
            &kern,
            xv,
            MatMut::row_major(&mut y, rows, cols),
            &opts,
            Some(&mut lse),
        )
        .expect("valid");
        assert_within(&y, &want, &by, kern.isa().name());
        assert_within(&lse, &want_lse, &bl, kern.isa().name());
    }
});
