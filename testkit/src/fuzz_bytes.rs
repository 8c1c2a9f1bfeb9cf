//! The fuzz targets' map from input bytes to floats, here so that a regression test can rebuild
//! a fuzz finding's problem from its bytes exactly as the target did (`fuzz/fuzz_targets/common.rs`
//! re-exports these).

/// A float from one byte of fuzz input: mostly ordinary values in [−4, 4], sometimes the values
/// that break kernels (±0, ±∞, NaN, huge, subnormal).
///
/// ```
/// use huiyan_testkit::fuzz_bytes::value;
/// assert!(value(0).is_nan());
/// assert_eq!(value(7), 1e30);
/// assert_eq!(value(255), (255.0 - 131.5) / 31.0);
/// ```
pub fn value(b: u8) -> f32 {
    match b {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        3 => 1e4,
        4 => -1e4,
        5 => -0.0,
        6 => f32::MIN_POSITIVE / 4.0,
        7 => 1e30,
        _ => (b as f32 - 131.5) / 31.0,
    }
}

/// `n` values from `bytes` (cycled, each cycle shifting the bytes by one; zeros when empty).
///
/// ```
/// use huiyan_testkit::fuzz_bytes::values;
/// assert_eq!(values(&[200, 255], 4)[2], huiyan_testkit::fuzz_bytes::value(201));
/// assert_eq!(values(&[], 3), vec![0.0; 3]);
/// ```
pub fn values(bytes: &[u8], n: usize) -> Vec<f32> {
    if bytes.is_empty() {
        return vec![0.0; n];
    }
    (0..n)
        .map(|i| value(bytes[i % bytes.len()].wrapping_add((i / bytes.len()) as u8)))
        .collect()
}
