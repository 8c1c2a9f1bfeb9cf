//! The self-check of `check.rs` as a wasm32 module for node (`ci/wasm-check.mjs` runs it).
//!
//! Built for `wasm32-unknown-unknown` with `-C target-feature=+simd128`, so
//! `Kernels::best_compile_time()` (the portable tier, `wide`'s f32x8) runs on simd128
//! instructions. The module exports `huiyan_check() -> i32` (0 = pass) and imports
//! `env.huiyan_print(ptr, len)` for its report. On any other target this is a host program.
#![cfg_attr(target_arch = "wasm32", no_std, no_main)]

#[path = "../check.rs"]
mod check;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::fmt::Write;

    #[link(wasm_import_module = "env")]
    extern "C" {
        /// Node prints `len` bytes of UTF-8 at `ptr` in this module's memory.
        fn huiyan_print(ptr: *const u8, len: usize);
    }

    /// The report, handed to node a piece at a time.
    struct Console;

    impl Write for Console {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            // SAFETY: `s` is valid UTF-8 of `s.len()` bytes in linear memory for the duration
            // of the call; the host only reads it.
            unsafe { huiyan_print(s.as_ptr(), s.len()) };
            Ok(())
        }
    }

    /// Runs the self-check: 0 when everything matched the reference (and the module was built
    /// with simd128), 1 otherwise.
    #[no_mangle]
    pub extern "C" fn huiyan_check() -> i32 {
        let mut out = Console;
        let _ = writeln!(
            out,
            "wasm32: simd128 enabled at compile time: {}",
            cfg!(target_feature = "simd128")
        );
        if !cfg!(target_feature = "simd128") {
            let _ = writeln!(out, "FAIL: built without simd128");
            return 1;
        }
        match super::check::run(&mut out, 0.0) {
            Ok(()) => {
                let _ = writeln!(out, "PASS");
                0
            }
            Err(e) => {
                let _ = writeln!(out, "FAIL: {e}");
                1
            }
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        let _ = writeln!(Console, "PANIC: {info}");
        core::arch::wasm32::unreachable()
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    check::host_main(0.0)
}
