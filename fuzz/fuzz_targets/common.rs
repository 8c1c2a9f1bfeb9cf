//! Shared by the differential targets: values from bytes (specials included) and the kernel
//! tables to compare.

/// A float from one byte of fuzz input: mostly ordinary values in [−4, 4], sometimes the values
/// that break kernels (±0, ±∞, NaN, huge, subnormal).
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

/// `n` values from `bytes` (cycled; zeros when empty).
pub fn values(bytes: &[u8], n: usize) -> Vec<f32> {
    if bytes.is_empty() {
        return vec![0.0; n];
    }
    (0..n)
        .map(|i| value(bytes[i % bytes.len()].wrapping_add((i / bytes.len()) as u8)))
        .collect()
}

/// Every kernel table this CPU runs.
pub fn kernels() -> Vec<huiyan::dispatch::Kernels> {
    huiyan::dispatch::available()
}
