//! Runtime ISA dispatch: detect once per process, pick the best [`Kernels`] table.
//!
//! Environment (read once, at first use):
//! * `HUIYAN_FORCE_ISA=scalar|portable|x86-v3|x86-v4|neon` restricts dispatch to that tier, so
//!   a test suite can run once per ISA. Forcing a tier this CPU lacks falls back to the best
//!   available one and says so on stderr (never silently).
//! * `HUIYAN_REQUIRE_ISA=<name>` makes a missing tier a hard failure instead: [`kernels`]
//!   panics at first use with a message naming the tier, and the test helpers fail instead of
//!   printing "skipped".

use std::sync::OnceLock;

use huiyan_kernels::isa::IsaId;

pub use huiyan_kernels::Kernels;

/// Whether this CPU has the target feature `name` (a name as `#[target_feature]` spells it).
/// Knows every feature a tier of `huiyan-kernels` lists ([`IsaId::features`]); any other name
/// is `false`.
///
/// ```
/// // Every x86_64 CPU has SSE2; no CPU has a feature this function does not know.
/// assert_eq!(huiyan::dispatch::cpu_has("sse2"), cfg!(target_arch = "x86_64"));
/// assert!(!huiyan::dispatch::cpu_has("no-such-feature"));
/// ```
pub fn cpu_has(name: &str) -> bool {
    detect(name).unwrap_or(false)
}

/// `Some(present)` for a feature this module knows how to detect, `None` otherwise.
fn detect(name: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    let found = match name {
        "sse2" => Some(std::is_x86_feature_detected!("sse2")),
        "avx2" => Some(std::is_x86_feature_detected!("avx2")),
        "fma" => Some(std::is_x86_feature_detected!("fma")),
        "f16c" => Some(std::is_x86_feature_detected!("f16c")),
        "avx512f" => Some(std::is_x86_feature_detected!("avx512f")),
        "avx512bw" => Some(std::is_x86_feature_detected!("avx512bw")),
        "avx512dq" => Some(std::is_x86_feature_detected!("avx512dq")),
        "avx512vl" => Some(std::is_x86_feature_detected!("avx512vl")),
        _ => None,
    };
    #[cfg(target_arch = "aarch64")]
    let found = match name {
        "neon" => Some(std::arch::is_aarch64_feature_detected!("neon")),
        _ => None,
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let found = {
        let _ = name;
        None
    };
    found
}

/// Whether this CPU has every feature tier `id` needs at run time.
fn cpu_runs(id: IsaId) -> bool {
    let f = id.features();
    f.is_empty() || f.split(',').all(cpu_has)
}

/// Every kernel table this CPU can run, best last. `Scalar` and `Portable` are always there.
///
/// ```
/// let all = huiyan::dispatch::available();
/// assert_eq!(all[0].isa().name(), "scalar");
/// ```
pub fn available() -> Vec<Kernels> {
    IsaId::ALL
        .into_iter()
        .filter(|&id| cpu_runs(id))
        // SAFETY: `cpu_runs` checked every feature of `id.features()` on this CPU.
        .filter_map(|id| unsafe { Kernels::new_unchecked(id) })
        .collect()
}

/// The kernel table of the tier called `name` ([`IsaId::name`]), if this CPU has it.
///
/// ```
/// use huiyan::dispatch::by_name;
/// // The scalar tier exists on every machine; unknown names and absent tiers give `None`.
/// assert_eq!(by_name("scalar").map(|k| k.isa().name()), Some("scalar"));
/// assert!(by_name("no-such-tier").is_none());
/// ```
pub fn by_name(name: &str) -> Option<Kernels> {
    let id = IsaId::from_name(name)?;
    available().into_iter().find(|k| k.isa() == id)
}

/// The table every `huiyan` call uses: the best available, unless `HUIYAN_FORCE_ISA` says
/// otherwise. Detected once per process.
///
/// # Panics
///
/// When `HUIYAN_REQUIRE_ISA` names a tier this CPU lacks (a deliberate, configured failure).
///
/// ```
/// let k = huiyan::dispatch::kernels();
/// // Chosen once: every call returns the same table, one this CPU can run.
/// assert!(std::ptr::eq(k, huiyan::dispatch::kernels()));
/// assert!(huiyan::dispatch::available().iter().any(|a| a.isa() == k.isa()));
/// ```
pub fn kernels() -> &'static Kernels {
    static CHOSEN: OnceLock<Kernels> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        if let Ok(req) = std::env::var("HUIYAN_REQUIRE_ISA") {
            if by_name(&req).is_none() {
                panic!("HUIYAN_REQUIRE_ISA={req}: this CPU (or build) has no such kernel tier");
            }
        }
        let all = available();
        let best = *all.last().expect("scalar is always available");
        match std::env::var("HUIYAN_FORCE_ISA") {
            Ok(name) => match by_name(&name) {
                Some(k) => k,
                None => {
                    eprintln!(
                        "huiyan: HUIYAN_FORCE_ISA={name} not available here; using {}",
                        best.isa().name()
                    );
                    best
                }
            },
            Err(_) => best,
        }
    })
}

/// The tables a test suite should exercise: all of [`available`], or only the forced one when
/// `HUIYAN_FORCE_ISA` is set. Prints each tier it skips (and why) to stderr; with
/// `HUIYAN_REQUIRE_ISA` set, a missing required tier is a panic, never a skip.
///
/// ```
/// use huiyan::{dispatch, MatMut, MatRef};
/// // Run one product on every tier under test and compare with the reference.
/// let (a, b) = ([1.0f32, 2.0, 3.0, 4.0], [5.0f32, 6.0, 7.0, 8.0]);
/// for k in dispatch::under_test() {
///     let mut c = [0.0f32; 4];
///     huiyan::matmul_with(&k, 1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2), 0.0,
///                         MatMut::row_major(&mut c, 2, 2))?;
///     assert_eq!(c, [19.0, 22.0, 43.0, 50.0], "tier {}", k.isa().name());
/// }
/// # Ok::<(), huiyan::Error>(())
/// ```
pub fn under_test() -> Vec<Kernels> {
    let all = available();
    if let Ok(req) = std::env::var("HUIYAN_REQUIRE_ISA") {
        assert!(
            all.iter().any(|k| k.isa().name() == req),
            "HUIYAN_REQUIRE_ISA={req}: tier not detected on this machine"
        );
    }
    let forced = std::env::var("HUIYAN_FORCE_ISA").ok();
    for id in IsaId::ALL.into_iter().filter(|id| id.in_build()) {
        if !all.iter().any(|k| k.isa() == id) {
            eprintln!(
                "huiyan: skipped ISA {}: not detected on this CPU",
                id.name()
            );
        }
    }
    match forced {
        Some(name) => all.into_iter().filter(|k| k.isa().name() == name).collect(),
        None => all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tier whose feature list names a feature `detect` does not know would never be
    /// dispatched to, silently: every tier of this build must be detectable.
    #[test]
    fn every_feature_of_every_tier_in_this_build_is_detectable() {
        for id in IsaId::ALL.into_iter().filter(|id| id.in_build()) {
            for f in id.features().split(',').filter(|f| !f.is_empty()) {
                assert!(detect(f).is_some(), "tier {}: cannot detect {f}", id.name());
            }
        }
    }
}
