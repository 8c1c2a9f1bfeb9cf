//! Shared by the differential targets: values from bytes (specials included; the map lives in
//! `huiyan_testkit::fuzz_bytes` so regression tests rebuild findings with it) and the kernel
//! tables to compare.

pub use huiyan_testkit::fuzz_bytes::values;

/// Every kernel table this CPU runs.
pub fn kernels() -> Vec<huiyan::dispatch::Kernels> {
    huiyan::dispatch::available()
}
