#!/usr/bin/env bash
# Cross targets for huiyan, with Debian packages only (DESIGN.md §8): no rustup target or
# component is needed or used.
#
#   nostd     huiyan-kernels builds with `core` only for x86_64-unknown-none, and type-checks
#             for riscv32imac-unknown-none-elf and aarch64-unknown-none (the firmware and wasm
#             steps build it for thumbv7em-none-eabihf and wasm32 +simd128, and the aarch64
#             step compiles and runs its NEON code)
#   firmware  firmware/ on a Cortex-M4F: qemu-system-arm -machine mps2-an386, semihosting exit
#             status; a deliberately wrong expected value must make it fail; .text of the
#             attention path (attn-size) with its largest symbols
#   wasm      the same self-check as a wasm32 simd128 module under node
#   aarch64   tests/{matmul,softmax,attention}.rs for aarch64-unknown-linux-gnu under
#             qemu-aarch64 with HUIYAN_REQUIRE_ISA=neon (the NEON kernels really run)
#   install   only what every other step first does: the packages and the compiler
#
# usage: ci/cross.sh [step ...]       (default: every step; exit status non-zero if any failed)
#
# Environment (all optional):
#   HUIYAN_CROSS_HOME        unpacked compiler cache (default /opt/huiyan-cross, or
#                            ~/.cache/huiyan-cross when /opt is not writable)
#   HUIYAN_CROSS_TARGET_DIR  cargo target dir of the cross builds (default
#                            ${CARGO_TARGET_DIR:-target}/cross); each step builds in its own
#                            folder under it, so that steps can run side by side (.ci/run
#                            runs them so): their profiles and targets differ, so they would
#                            share nothing but a lock
#   PROPTEST_CASES           proptest cases per property test under qemu (default 16; every
#                            suite honours it since huiyan_testkit::proptest_cases)
#
# From .ci/run: `ci/cross.sh install`, then each other step on its own. Installs what it needs
# (apt packages; the Debian rustc-web compiler, its exact library sources, and its prebuilt
# aarch64 std, unpacked privately with `apt-get download` + `dpkg -x`), under a lock; a second
# run finds all of it and installs nothing. Cold, measured: apt 7 s, the compiler 23 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

# The Debian compiler series: rustc-web and rust-web-src must be the same version exactly.
RUST_WEB_SERIES=1.96
# Built by the nostd step; NOSTD_CHECK_TARGETS only type-checked there (see step_nostd).
NOSTD_TARGETS=(x86_64-unknown-none)
NOSTD_CHECK_TARGETS=(riscv32imac-unknown-none-elf aarch64-unknown-none)
APT_PACKAGES=(libllvm22 lld-22 qemu-user qemu-system-arm gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross binutils-arm-none-eabi)
QEMU_M4=(qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none)
QEMU_M4_SEMIHOSTING=enable=on,target=native
ATTN_TEXT_GOAL=$((32 * 1024))

if [[ -n ${HUIYAN_CROSS_HOME:-} ]]; then
  CROSS_HOME=$HUIYAN_CROSS_HOME
elif mkdir -p /opt/huiyan-cross 2>/dev/null && [[ -w /opt/huiyan-cross ]]; then
  CROSS_HOME=/opt/huiyan-cross
else
  CROSS_HOME=$HOME/.cache/huiyan-cross
fi
TARGET_DIR=${HUIYAN_CROSS_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/cross}
TOOLCHAIN=$CROSS_HOME/rust-web-$RUST_WEB_SERIES

SUDO=()
[[ $(id -u) == 0 ]] || SUDO=(sudo)

say() { printf '\n--- cross: %s\n' "$*"; }

apt_updated=0
apt_update_once() {
  if [[ $apt_updated == 0 ]]; then
    "${SUDO[@]}" apt-get update -qq
    apt_updated=1
  fi
}

# Debian's aarch64 std (libstd-rust-web-dev:arm64), the same version as the compiler: with it
# the aarch64 test build links against prebuilt std instead of -Zbuild-std (which compiled
# std, core, alloc, proc_macro and libtest from source in the test profile, with debug
# assertions). Downloaded through a private apt state holding only the arm64 list of the suite
# the compiler came from, so the machine's dpkg architectures and lists stay as they are.
AARCH64_STD=$TOOLCHAIN/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib
install_aarch64_std() {
  if [[ -f $TOOLCHAIN/.aarch64-std-complete ]]; then
    return
  fi
  local ver origin uri suite priv=$CROSS_HOME/apt-arm64
  ver=$(cat "$TOOLCHAIN/.version")
  # The line under the version in apt-cache policy's table:
  # "500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"
  origin=$(apt-cache policy libstd-rust-web-dev 2>/dev/null | awk -v v="$ver" '
    $1 == v || $2 == v { hit = 1; next }
    hit && $2 ~ /:\/\// { print $2, $3; exit }')
  uri=${origin%% *}
  suite=${origin#* }
  suite=${suite%%/*}
  [[ -n $uri && -n $suite && $uri != "$origin" ]] || {
    echo "FATAL: cannot tell which apt source has libstd-rust-web-dev $ver (got '$origin')"
    return 1
  }
  say "prebuilt aarch64 std: libstd-rust-web-dev:arm64 $ver from $uri $suite"
  rm -rf "$priv"
  mkdir -p "$priv/lists/partial" "$priv/cache/archives/partial" "$priv/parts" "$priv/deb"
  echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
    >"$priv/sources.list"
  local apt=(-o "Dir::Etc::sourcelist=$priv/sources.list" -o "Dir::Etc::sourceparts=$priv/parts"
    -o "Dir::State::Lists=$priv/lists" -o "Dir::Cache=$priv/cache" -o Dir::State::status=/dev/null
    -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
  apt-get "${apt[@]}" update -qq
  (cd "$priv/deb" && apt-get "${apt[@]}" download -qq "libstd-rust-web-dev:arm64=$ver" 2>&1 |
    grep -v 'Download is performed unsandboxed' || true)
  dpkg -x "$priv"/deb/libstd-rust-web-dev_*_arm64.deb "$TOOLCHAIN"
  rm -rf "$priv"
  ls "$AARCH64_STD"/libstd-*.rlib >/dev/null || {
    echo "FATAL: no aarch64 libstd under $AARCH64_STD"
    return 1
  }
  touch "$TOOLCHAIN/.aarch64-std-complete"
}

install_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v node >/dev/null || missing+=(nodejs)
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

# The Debian compiler (rustc-web) with its std sources, unpacked into $TOOLCHAIN, and a rustc
# wrapper that finds librustc_driver there. Its sysroot is found relative to the binary, so
# -Zbuild-std reads $TOOLCHAIN/usr/lib/rustlib/src/rust/library.
install_toolchain() {
  # .version (the Debian version unpacked) is what the aarch64 std must match exactly.
  if [[ -f $TOOLCHAIN/.complete && -f $TOOLCHAIN/.version ]]; then
    return
  fi
  say "unpacking Debian rustc-web $RUST_WEB_SERIES into $TOOLCHAIN"
  apt-cache show rustc-web >/dev/null 2>&1 || apt_update_once
  local ver
  ver=$(apt-cache policy rustc-web | sed -n 's/^ *Candidate: //p')
  if [[ -z $ver || $ver == "(none)" ]]; then
    apt_update_once
    ver=$(apt-cache policy rustc-web | sed -n 's/^ *Candidate: //p')
  fi
  [[ $ver == "$RUST_WEB_SERIES".* ]] || {
    echo "FATAL: Debian rustc-web is $ver, this script expects $RUST_WEB_SERIES.x (update RUST_WEB_SERIES)"
    return 1
  }
  rm -rf "$TOOLCHAIN"
  mkdir -p "$TOOLCHAIN/deb" "$TOOLCHAIN/bin"
  (cd "$TOOLCHAIN/deb" && apt-get download -qq \
    "rustc-web=$ver" "libstd-rust-web-$RUST_WEB_SERIES=$ver" "libstd-rust-web-dev=$ver" \
    "rust-web-src=$ver" 2>&1 | grep -v 'Download is performed unsandboxed' || true)
  local deb
  for deb in "$TOOLCHAIN"/deb/*.deb; do
    case $deb in
      */rust-web-src_*)
        # Only the library sources (69 MiB of 434): -Zbuild-std needs nothing else.
        dpkg-deb --fsys-tarfile "$deb" |
          tar -x -C "$TOOLCHAIN" --wildcards './usr/src/rustc-*/library' './usr/lib/rustlib/src/rust'
        ;;
      *) dpkg -x "$deb" "$TOOLCHAIN" ;;
    esac
  done
  rm -rf "$TOOLCHAIN/deb"
  cat >"$TOOLCHAIN/bin/rustc" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$TOOLCHAIN/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$TOOLCHAIN/usr/bin/rustc" "\$@"
EOF
  chmod +x "$TOOLCHAIN/bin/rustc"
  "$TOOLCHAIN/bin/rustc" -vV >/dev/null
  echo "$ver" >"$TOOLCHAIN/.version"
  [[ -f $TOOLCHAIN/usr/lib/rustlib/src/rust/library/Cargo.lock ]] || {
    echo "FATAL: library sources missing under $TOOLCHAIN"
    return 1
  }
  touch "$TOOLCHAIN/.complete"
}

# cargo (the host's, any recent one) driving the Debian rustc, nightly features unlocked, in
# the step's own target folder ($1: the step's name).
# On aarch64-unknown-linux-gnu (tests only) `--cfg huiyan_no_bench_deps` drops the benches'
# criterion from the dev-dependencies (Cargo.toml): that test build took 8m56 with it and 6m02
# without it, cold, on the 2-core dev machine.
# `--release` here means what an embedded user ships: fat LTO, opt-level "s", one codegen unit.
# LTO matters: without it the `Kernels` table of fn pointers keeps every kernel of the tier
# alive (≈ 430 KiB of .text on thumbv7em for a program that only calls attention); with it
# the unused entries are dropped.
xcargo() {
  local dir=$TARGET_DIR/$1
  shift
  env -u RUSTFLAGS -u RUSTC_WRAPPER -u CARGO_BUILD_RUSTFLAGS \
    RUSTC="$TOOLCHAIN/bin/rustc" RUSTDOC="$TOOLCHAIN/bin/rustc" RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_DIR="$dir" \
    CARGO_PROFILE_RELEASE_LTO="${CROSS_LTO:-fat}" CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CROSS_CGU:-1}" \
    CARGO_PROFILE_RELEASE_DEBUG="${CROSS_DEBUG:-1}" \
    CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER=ld.lld-22 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--cfg huiyan_no_bench_deps" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    cargo "$@"
}

# Without LTO: under LTO cargo builds libraries as bitcode only, and LLVM's code generation
# (where target-specific failures show up) would run only for what a binary reaches. Nothing
# here is shipped, so 16 codegen units and no debug info: LLVM still generates code for every
# function, on both cores. Each target compiles `core` from source first, so a target another
# step builds is not built again: thumbv7em-none-eabihf (firmware) and wasm32 +simd128 (wasm)
# build the same crate with `core` only and run it; aarch64-unknown-none differs from the
# aarch64 step's Linux target only in having no OS, and a type-check proves it needs none.
# x86_64-unknown-none and riscv32imac compile the same code (soft float: the scalar and
# portable tiers only), so only the first is built (LLVM's 80 s per target, measured on the
# 2-core dev machine); the 32-bit one is type-checked, as thumbv7em and wasm32 build 32-bit code.
step_nostd() {
  local args=() checks=() t
  for t in "${NOSTD_TARGETS[@]}"; do args+=(--target "$t"); done
  for t in "${NOSTD_CHECK_TARGETS[@]}"; do checks+=(--target "$t"); done
  CROSS_LTO=off CROSS_CGU=16 CROSS_DEBUG=0 \
    xcargo nostd build --release --keep-going -Zbuild-std=core -p huiyan-kernels "${args[@]}"
  CROSS_LTO=off CROSS_CGU=16 CROSS_DEBUG=0 \
    xcargo nostd check --release --keep-going -Zbuild-std=core -p huiyan-kernels "${checks[@]}"
}

M4_DIR() { echo "$TARGET_DIR/firmware/thumbv7em-none-eabihf/release"; }

# Runs a Cortex-M4F image ($1) with the words after it as its semihosting command line (the
# first word is the program's name); qemu's exit status is the firmware's semihosting exit
# status.
run_m4() {
  local image=$1 cfg=${QEMU_M4_SEMIHOSTING}
  shift
  if (($#)); then
    cfg+=",arg=${image##*/}"
    local a
    for a in "$@"; do cfg+=",arg=$a"; done
  fi
  timeout 120 "${QEMU_M4[@]}" -semihosting-config "$cfg" -kernel "$image"
}

step_firmware() {
  xcargo firmware build --release -Zbuild-std=core --target thumbv7em-none-eabihf \
    -p huiyan-firmware --bin huiyan-firmware --bin attn-size
  say "firmware self-check on Cortex-M4F (qemu mps2-an386)"
  run_m4 "$(M4_DIR)/huiyan-firmware"
  run_m4 "$(M4_DIR)/attn-size"
  echo "attn-size ran: exit 0"
  # The same image with a deliberately wrong expected value (+1e-3 on one element of O's
  # reference, ≈ 40× the tolerance, asked for on the semihosting command line) must fail
  # the run, and fail by a mismatch, or the check proves nothing.
  say "the same firmware with a wrong expected value (must FAIL with a mismatch)"
  local out rc=0
  out=$(run_m4 "$(M4_DIR)/huiyan-firmware" perturb=1e-3 2>&1) || rc=$?
  printf '%s\n' "$out"
  if ((rc == 0)); then
    echo "FATAL: the firmware passed with a perturbed reference"
    return 1
  fi
  if [[ $out != *"moved by 1e-3"* || $out != *"MISMATCH"* ||
    $out != *"FAIL: result outside the tolerance"* ]]; then
    echo "FATAL: the perturbed run failed (exit $rc), but not by the mismatch it was asked for"
    return 1
  fi
  echo "(failed by a mismatch, as it must: exit $rc)"
  # 3. Size of the attention path.
  say "sizes (thumbv7em-none-eabihf, release)"
  (cd "$(M4_DIR)" && arm-none-eabi-size huiyan-firmware attn-size)
  local text
  text=$(arm-none-eabi-size -A "$(M4_DIR)/attn-size" | awk '$1 == ".text" { print $2 }')
  echo "attention path (attn-size, Kernels::best_compile_time()) .text = $text bytes" \
    "($((text / 1024)) KiB; goal <= $((ATTN_TEXT_GOAL / 1024)) KiB)"
  echo "largest symbols:"
  arm-none-eabi-nm --size-sort -S -C --radix=d "$(M4_DIR)/attn-size" | tail -8 | cut -d' ' -f2-
  if ((text > ATTN_TEXT_GOAL)); then
    echo "NOTE: over the ${ATTN_TEXT_GOAL}-byte goal (reported, not enforced)"
  fi
}

step_wasm() {
  xcargo wasm build --release -Zbuild-std=core --target wasm32-unknown-unknown \
    -p huiyan-firmware --bin wasm-check
  say "wasm32 simd128 self-check under node $(node --version)"
  node ci/wasm-check.mjs "$TARGET_DIR/wasm/wasm32-unknown-unknown/release/wasm-check.wasm"
}

# Under qemu-aarch64 (user mode, f64 in software) the suites run 10–50× slower than on the
# host, so: only the NEON tier (HUIYAN_FORCE_ISA; scalar and portable are tested on the host),
# workspace crates at opt-level 3 (debug assertions stay on), and the sizes that reach the
# code paths, not the host's budget (which the host suites run in full on every other tier):
# - PROPTEST_CASES=16: on x86-v3 (the SIMD tier measured with -C instrument-coverage; the
#   tiers share every driver and differ in their kernels) the property tests at 16 cases reach
#   all but 2 of the lines the full budget reaches (at 64: all but 1);
# - skipped, as large by design (they still run on the host): residual_large (1024–2048
#   products), encoder_projections_packed_weights (the f64 reference at 128×384×1536), the
#   attention tests over long rows, block boundaries and many decode shapes;
#   and two tests whose every line other tests reach, measured on the host tiers:
#   memory_sized_contiguous_rows (≥ 8 MiB rows; NEON has no streamed softmax path, and on
#   scalar, which has none either, it adds no line; 86 s of 320 s under qemu) and
#   bit_identical_for_any_thread_count (without the rayon feature it repeats one single-thread
#   call; 54 s under qemu).
# std is Debian's prebuilt aarch64 std (install_aarch64_std), not -Zbuild-std.
QEMU_SKIP=(residual_large encoder_projections_packed_weights
  kernel_matches_reference_on_a_long_plain_row decode_shapes
  plain_and_causal_at_block_boundaries memory_sized_contiguous_rows
  bit_identical_for_any_thread_count)
step_aarch64() {
  say "kernel property tests on aarch64-unknown-linux-gnu under qemu-aarch64 (NEON required)"
  local skip=() t
  for t in "${QEMU_SKIP[@]}"; do skip+=(--skip "$t"); done
  HUIYAN_FORCE_ISA=neon HUIYAN_REQUIRE_ISA=neon PROPTEST_CASES=${PROPTEST_CASES:-16} \
    xcargo aarch64 test --config 'profile.dev.opt-level=3' \
    --target aarch64-unknown-linux-gnu -p huiyan --test matmul --test matmul_packed \
    --test softmax --test attention --test half_kv --test half_matmul --test half_softmax \
    -- -Zunstable-options --report-time "${skip[@]}"
}

step_install() { :; } # what every step does first

ALL_STEPS=(nostd firmware wasm aarch64)
steps=("$@")
((${#steps[@]})) || steps=("${ALL_STEPS[@]}")
for s in "${steps[@]}"; do
  declare -F "step_$s" >/dev/null || {
    echo "unknown step '$s' (steps: ${ALL_STEPS[*]} install)"
    exit 2
  }
done

t0=$SECONDS
# One installer at a time: .ci/run starts the steps side by side.
mkdir -p "$CROSS_HOME"
exec 8>"$CROSS_HOME/.install.lock"
flock 8
install_apt
install_toolchain
install_aarch64_std
flock -u 8
exec 8>&-
echo "cross: Debian $("$TOOLCHAIN/bin/rustc" -V) driven by $(cargo -V); target dir $TARGET_DIR;" \
  "install $((SECONDS - t0)) s"

failed=()
summary=()
for s in "${steps[@]}"; do
  say "step $s"
  ts=$SECONDS
  # A subshell with errexit of its own: a step stops at its first failing command (errexit
  # would be ignored inside an `if` condition), and the next step still runs.
  set +e
  (
    set -e
    "step_$s"
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    summary+=("ok     $s ($((SECONDS - ts)) s)")
  else
    summary+=("FAILED $s ($((SECONDS - ts)) s)")
    failed+=("$s")
  fi
done
say "summary"
printf '  %s\n' "${summary[@]}"
echo "cross: $((SECONDS - t0)) s in all"
if ((${#failed[@]})); then
  echo "cross: FAILED: ${failed[*]}"
  exit 1
fi
