//! Differential: every ISA's matmul against `reference::matmul` on arbitrary small shapes,
//! layouts, α/β and values (NaN, ±∞, huge included), within the testkit's gemm bounds and NaN
//! rules; C's padding is never written.
#![no_main]

use arbitrary::Arbitrary;
use huiyan_testkit::{assert_within, GemmProblem, Layout};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
struct Input {
    m: u8,
    n: u8,
    k: u8,
    alpha: u8,
    beta: u8,
    layouts: [(bool, u8); 3],
    data: Vec<u8>,
}

fuzz_target!(|inp: Input| {
    let (m, n, k) = (
        inp.m as usize % 48,
        inp.n as usize % 48,
        inp.k as usize % 48,
    );
    let pick = |b: u8| [0.0f32, 1.0, -1.0, 0.5, 2.5][b as usize % 5];
    let (alpha, beta) = (pick(inp.alpha), pick(inp.beta));
    let lay = inp.layouts.map(|(col_major, pad)| Layout {
        col_major,
        pad: pad as usize % 3,
    });
    let (a, b, c) = (
        common::values(&inp.data, m * k),
        common::values(&inp.data[inp.data.len() / 3..], k * n),
        common::values(&inp.data[inp.data.len() / 2..], m * n),
    );
    let p = GemmProblem::new((m, n, k), alpha, beta, &a, &b, &c, lay);
    let want = p.reference();
    let bounds = p.bounds();
    for kern in common::kernels() {
        let mut got = p.new_c();
        huiyan::matmul_with(&kern, alpha, p.a(), p.b(), beta, p.c_view(&mut got))
            .expect("valid problem");
        assert_within(&p.gather_c(&got), &want, &bounds, kern.isa().name());
        p.assert_c_gaps_untouched(&got);
    }
});
