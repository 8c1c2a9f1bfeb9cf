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

/// The runtime-detected tiers this architecture can have (reported when missing).
#[cfg(target_arch = "x86_64")]
const ARCH_TIERS: &[IsaId] = &[IsaId::X86V3, IsaId::X86V4];
#[cfg(target_arch = "aarch64")]
const ARCH_TIERS: &[IsaId] = &[IsaId::Neon];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH_TIERS: &[IsaId] = &[];
pub use huiyan_kernels::Kernels;

/// Every kernel table this CPU can run, best last. `Scalar` and `Portable` are always there.
///
/// ```
/// let all = huiyan::dispatch::available();
/// assert_eq!(all[0].isa().name(), "scalar");
/// ```
pub fn available() -> Vec<Kernels> {
    let mut v = vec![Kernels::scalar(), Kernels::portable()];
    #[cfg(target_arch = "x86_64")]
    {
        use huiyan_kernels::isa::{X86V3, X86V4};
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: avx2 and fma were just detected on this CPU.
            v.push(Kernels::x86_v3(unsafe { X86V3::new_unchecked() }));
            if ["avx512f", "avx512bw", "avx512dq", "avx512vl"]
                .iter()
                .all(|f| detected(f))
            {
                // SAFETY: the AVX-512 subsets (and avx2, fma above) were detected.
                v.push(Kernels::x86_v4(unsafe { X86V4::new_unchecked() }));
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use huiyan_kernels::isa::Neon;
        if std::arch::is_aarch64_feature_detected!("neon") {
            // SAFETY: neon was just detected.
            v.push(Kernels::neon(unsafe { Neon::new_unchecked() }));
        }
    }
    v
}

#[cfg(target_arch = "x86_64")]
fn detected(feature: &str) -> bool {
    match feature {
        "avx512f" => std::is_x86_feature_detected!("avx512f"),
        "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
        "avx512dq" => std::is_x86_feature_detected!("avx512dq"),
        "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
        _ => false,
    }
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
    for &id in ARCH_TIERS {
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
