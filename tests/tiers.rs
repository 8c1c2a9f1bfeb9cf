//! The tier list cannot drift: every tier of `IsaId::ALL` has its row in the README's ISA
//! table and the files of the README's "Adding a tier" checklist, and the table names no
//! other tier.

use std::path::Path;

use huiyan_kernels::isa::IsaId;

const README: &str = include_str!("../README.md");

/// Tier names in the first column of the README's ISA table (rows like "| `x86-v4` (…) |").
fn readme_tiers() -> Vec<String> {
    let table = README
        .split("## ISA support")
        .nth(1)
        .expect("README has an ISA support section");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let first = l.split('|').nth(1)?.trim();
            let name = first.strip_prefix('`')?.split('`').next()?;
            (!name.starts_with("HUIYAN")).then(|| name.to_string())
        })
        .collect()
}

/// The checklist's files for a tier: (wiring, vector layer, microkernel).
fn files(id: IsaId) -> [String; 3] {
    let (arch, file) = match id {
        IsaId::Scalar => ("", "scalar"),
        IsaId::Portable => ("", "portable"),
        IsaId::X86V3 => ("x86_64/", "v3"),
        IsaId::X86V4 => ("x86_64/", "v4"),
        IsaId::Neon => ("aarch64/", "neon"),
        other => panic!("tier {} is missing from this test's map", other.name()),
    };
    let wiring = id.name().replace('-', "_");
    [
        format!("kernels/src/tiers/{wiring}.rs"),
        format!("kernels/src/simd/{arch}{file}.rs"),
        format!("kernels/src/gemm/{arch}{file}.rs"),
    ]
}

#[test]
fn readme_table_lists_exactly_the_tiers() {
    let mut want: Vec<String> = IsaId::ALL.iter().map(|t| t.name().to_string()).collect();
    let mut got = readme_tiers();
    want.sort();
    got.sort();
    assert_eq!(got, want, "README ISA table vs IsaId::ALL");
}

#[test]
fn every_tier_has_the_checklist_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kernels_rs = std::fs::read_to_string(root.join("kernels/src/kernels.rs")).unwrap();
    for id in IsaId::ALL {
        for f in files(id) {
            assert!(
                root.join(&f).is_file(),
                "tier {}: {f} is missing",
                id.name()
            );
        }
        let arm = format!("IsaId::{id:?} =>");
        assert!(
            kernels_rs.contains(&arm),
            "tier {}: no arm in Kernels::new_unchecked",
            id.name()
        );
        assert_eq!(IsaId::from_name(id.name()), Some(id));
    }
}
