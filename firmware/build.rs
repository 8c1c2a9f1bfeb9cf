//! For bare-metal Arm: put `memory.x` where the linker finds it and link with cortex-m-rt's
//! `link.x`. For wasm32: export the check's entry point from the `wasm-check` module (a `bin`
//! without `main` exports nothing by itself). Every other target (the host build of the
//! workspace) gets nothing.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "wasm32" {
        println!("cargo:rustc-link-arg-bin=wasm-check=--no-entry");
        println!("cargo:rustc-link-arg-bin=wasm-check=--export=huiyan_check");
        return;
    }
    if arch != "arm" || os != "none" {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
}
