//! proptest strategies for shapes, strides and values.
//!
//! Dimensions are biased toward the values that break kernels: 1, just below and above vector
//! and tile widths, and odd sizes; values toward the ones that break numerics.

use proptest::prelude::*;

use crate::Layout;

/// A dimension in `1..=max`, weighted toward 1, small sizes, and tails around multiples of 8
/// and 16 (vector widths and microkernel tiles).
pub fn dim(max: usize) -> impl Strategy<Value = usize> {
    let max = max.max(1);
    prop_oneof![
        2 => Just(1usize),
        3 => 1..=max.min(17),
        3 => (1..=(max / 16).max(1)).prop_flat_map(move |m| {
            let base = m * 16;
            prop_oneof![Just(base - 1), Just(base), Just(base + 1)]
        }).prop_map(move |d| d.clamp(1, max)),
        2 => 1..=max,
    ]
}

/// A matrix layout: row- or column-major, with 0 to 3 elements of padding.
pub fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        prop_oneof![3 => Just(0usize), 1 => 1usize..4],
    )
        .prop_map(|(col_major, pad)| Layout { col_major, pad })
}

/// Ordinary values in `[-1, 1]`.
pub fn unit_values(len: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(-1.0f32..1.0, len)
}

/// One logit: mostly moderate, sometimes huge (±1e4, ±1e30) or −∞.
pub fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -10.0f32..10.0,
        1 => prop_oneof![Just(1e4f32), Just(-1e4f32), Just(1e30f32), Just(-1e30f32)],
        1 => Just(f32::NEG_INFINITY),
    ]
}

/// A row-major block of `len` logits from [`logit`].
pub fn logits(len: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(logit(), len)
}

/// A boolean mask of `len` entries, mostly true, with whole-false stretches possible.
pub fn mask(len: usize) -> impl Strategy<Value = Vec<bool>> {
    proptest::collection::vec(prop_oneof![4 => Just(true), 1 => Just(false)], len)
}
