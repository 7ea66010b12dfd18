#!/usr/bin/env bash
# arm64 smoke test: the cross-built loyalty-terminal, run by qemu-user, answers `exec`
# (enrol a member, find them by the last digits of their phone, count them).
#
#   scripts/cross/smoke.sh ARM64_BUILD_DIR
#
# Exit 0 when it answers, 1 when it answers wrongly, 77 (skipped) when there is nothing to run:
# no qemu-user, no arm64 build (make arm64) or no sysroot.
set -euo pipefail

build=${1:?usage: smoke.sh ARM64_BUILD_DIR}
skip() { echo "ARM64 SMOKE SKIPPED: $*"; exit 77; }

qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
[[ -n "$qemu" ]] || skip "no qemu-aarch64 (package qemu-user-static)"
bin="$build/bin/loyalty-terminal"
[[ -x "$bin" ]] || skip "no arm64 loyalty-terminal in $build (make arm64)"
sysroot=$(sed -n 's/^LOYALTY_ARM64_SYSROOT:PATH=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[[ -n "$sysroot" && -d "$sysroot" ]] || skip "no arm64 sysroot recorded in $build/CMakeCache.txt"

# ELF machine 183 (0xb7) is AArch64: make sure this is not a build for the build machine.
machine=$(od -An -t u2 -j 18 -N 2 "$bin" | tr -d ' ')
[[ "$machine" == 183 ]] || { echo "arm64 smoke: $bin is not an AArch64 program (ELF machine $machine)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
answers=$(printf '%s\n' \
  '{"id":1,"op":"enroll","phone":"13800001111","name":"王伟","consent_marketing":false,"at":"2026-12-01T09:00:00Z"}' \
  '{"id":2,"op":"lookup","query":"1111"}' \
  '{"id":3,"op":"stats"}' |
  "$qemu" -L "$sysroot" "$bin" exec --data "$work/data" 2>"$work/stderr") || {
  echo "arm64 smoke: loyalty-terminal exec failed under qemu:"; cat "$work/stderr"; exit 1; }
echo "$answers"

fail() { echo "arm64 smoke: $*"; exit 1; }
[[ $(grep -c '"ok":true' <<<"$answers") == 3 ]] || fail "not every request answered ok"
grep -q '"id":2,.*"name":"王伟"' <<<"$answers" || fail "the lookup did not find the enrolled member"
grep -q '"id":3,.*"members":1' <<<"$answers" || fail "stats does not count one member"
echo "arm64 smoke: loyalty-terminal ($machine, AArch64) answers exec under $(basename "$qemu")"
