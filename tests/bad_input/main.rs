//! The bad-input catalogue: every kind of bad input through the public API returns the exact
//! error variant, with the offending values, and leaves every output buffer untouched.
//!
//! Each operation is exercised through every public entry point that implements it — the
//! reference, the std call, and for every ISA on this machine the std `_with` call and the core
//! kernel — so they cannot drift apart: they all validate with `huiyan_kernels::shape`.

mod attention;
mod matmul;
mod softmax;

use huiyan::Error;

/// A value no kernel writes: outputs are pre-filled with it and must still hold it after `Err`.
const SENTINEL: f32 = -12345.5;

#[test]
fn errors_display_their_values() {
    let e = Error::PaddingTooLong {
        batch: 1,
        len: 6,
        len_kv: 5,
    };
    assert_eq!(
        e.to_string(),
        "key-padding length 6 of batch 1 exceeds Lk = 5"
    );
    let e: Box<dyn std::error::Error> = Box::new(Error::ZeroWindow);
    assert_eq!(e.to_string(), "sliding window of 0 keys");
}
