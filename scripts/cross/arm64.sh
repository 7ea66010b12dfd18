#!/usr/bin/env bash
# The arm64 cross build and its tests under qemu-user (docs/cross-arm64.md).
#
#   scripts/cross/arm64.sh build [TARGET...]   sysroot + configure + build (default: the programs)
#   scripts/cross/arm64.sh test                build and run the core, db, terminal and sync tests
#                                              under qemu-user, then the exec smoke test
#   scripts/cross/arm64.sh package [OUTDIR]     the arm64 .debs (cmake/Packaging.cmake), copied to
#                                              OUTDIR (default build/packages) beside the amd64 ones
#
# ARM64_BUILD (default build-arm64) is the build directory, its sysroot ARM64_BUILD/sysroot
# (LOYALTY_ARM64_SYSROOT overrides); JOBS (default 2) parallel compile jobs; ARM64_TESTS the test
# binaries `test` runs. Tools: crossbuild-essential-arm64, qemu-user-static, mmdebstrap
# (packaging/install-deps.sh).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${ARM64_BUILD:-build-arm64}
sysroot=${LOYALTY_ARM64_SYSROOT:-$build/sysroot}
jobs=${JOBS:-2}
tests=${ARM64_TESTS:-test_core test_db test_terminal test_sync}

need() {
  command -v "$1" >/dev/null || { echo "arm64: $1 is missing (package $2; packaging/install-deps.sh)" >&2; exit 1; }
}

configure() {
  need aarch64-linux-gnu-g++ crossbuild-essential-arm64
  need qemu-aarch64-static qemu-user-static
  bash scripts/cross/sysroot.sh "$sysroot"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchains/aarch64-linux-gnu.cmake" \
    -DLOYALTY_ARM64_SYSROOT="$(realpath -m "$sysroot")" ${CMAKE_ARGS:-} >/dev/null
}

cmd=${1:-build}
shift || true
case "$cmd" in
  build)
    configure
    targets=("$@")
    [[ ${#targets[@]} -gt 0 ]] || targets=(loyalty-terminal loyalty-hq)
    cmake --build "$build" -j "$jobs" --target "${targets[@]}"
    ;;
  test)
    configure
    # shellcheck disable=SC2086
    cmake --build "$build" -j "$jobs" --target loyalty-terminal $tests
    qemu=$(command -v qemu-aarch64-static)
    root=$(realpath "$sysroot")
    # Tests start loyalty-terminal as a child process. Without binfmt_misc the kernel cannot
    # start an arm64 program, so they are given a script (run natively) that starts it by qemu
    # (made by cmake/toolchains/cross_packaging.cmake; ctest in the build directory uses it too).
    export LOYALTY_TERMINAL_BIN
    LOYALTY_TERMINAL_BIN=$(realpath "$build/qemu-bin/loyalty-terminal")
    mkdir -p "$build/test-logs"
    status=0
    summary=()
    for t in $tests; do
      log="$build/test-logs/$t.log"
      echo "arm64: $t under qemu-user (log $log)" >&2
      if "$qemu" -L "$root" "$build/bin/$t" >"$log" 2>&1; then result=passed; else result=FAILED; status=1; fi
      # Catch2's last line: "All tests passed (A assertions in N test cases)" or "test cases: ..."
      summary+=("$t: $result: $(grep -E '^(All tests passed|test cases:)' "$log" | tail -1)")
    done
    smoke=passed
    bash scripts/cross/smoke.sh "$build" >"$build/test-logs/smoke.log" 2>&1 || { smoke="FAILED (exit $?)"; status=1; }
    summary+=("smoke (exec under qemu): $smoke")
    printf '%s\n' "${summary[@]}" | tee "$build/test-logs/summary.txt"
    exit $status
    ;;
  package)
    need help2man help2man
    configure
    cmake --build "$build" -j "$jobs" --target loyalty-terminal loyalty-hq loyalty_package_files
    rm -f "$build"/packages/*.deb
    (cd "$build" && cpack -G DEB)
    out=${1:-build/packages}
    mkdir -p "$out"
    cp "$build"/packages/*_arm64.deb "$out"/
    ls -l "$out"/*_arm64.deb
    ;;
  *)
    echo "usage: arm64.sh build [TARGET...] | test | package [OUTDIR]" >&2
    exit 2
    ;;
esac
