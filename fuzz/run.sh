#!/usr/bin/env bash
# Runs one libFuzzer harness (docs/fuzzing.md).
#
#   run.sh check BIN NAME SECONDS        the test suite's run: SECONDS of fuzzing from the
#                                        repository corpus (read only; new inputs go to a
#                                        temporary directory), then every input kept in
#                                        regressions/NAME replayed once
#   run.sh long  BIN NAME SECONDS WORK   `make fuzz`: SECONDS of fuzzing with new inputs and
#                                        crashes under WORK/NAME, then the inputs that add
#                                        coverage merged into corpus/NAME; prints a summary line
set -euo pipefail

mode=$1 bin=$2 name=$3 seconds=$4
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus/$name
regressions=$here/regressions/$name
options=(-timeout=25 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1)
[[ -f $here/dict/$name.dict ]] && options+=("-dict=$here/dict/$name.dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

case $mode in
  check)
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir -p "$scratch/new"
    echo "== $name: ${seconds} s of fuzzing from corpus/$name"
    set +e
    "$bin" "${options[@]}" -max_total_time="$seconds" -artifact_prefix="$scratch/" "$scratch/new" "$corpus" 2>&1 |
      tail -n 40
    status=${PIPESTATUS[0]}
    set -e
    if [[ $status -ne 0 ]]; then
      for crash in "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-*; do
        [[ -f $crash ]] || continue
        echo "== $name: failing input (base64), keep it in fuzz/regressions/$name once fixed:"
        base64 -w0 "$crash"
        echo
      done
      exit "$status"
    fi
    shopt -s nullglob
    kept=("$regressions"/*)
    echo "== $name: replaying ${#kept[@]} regression inputs"
    if [[ ${#kept[@]} -gt 0 ]]; then
      set +e
      "$bin" "${options[@]}" "${kept[@]}" 2>&1 | tail -n 40
      status=${PIPESTATUS[0]}
      set -e
      [[ $status -eq 0 ]] || exit "$status"
    fi
    echo "== $name: passed"
    ;;
  long)
    work=$5/$name
    mkdir -p "$work/new" "$corpus"
    log=$work/fuzz.log
    "$bin" "${options[@]}" -max_total_time="$seconds" -artifact_prefix="$work/" "$work/new" "$corpus" >"$log" 2>&1 &&
      status=0 || status=$?
    before=$(find "$corpus" -type f | wc -l)
    "$bin" "${options[@]}" -merge=1 "$corpus" "$work/new" >"$work/merge.log" 2>&1 || true
    after=$(find "$corpus" -type f | wc -l)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
    crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    printf '%-16s exit %-3s %6s exec/s  %s  corpus +%d  findings %d (%s)\n' "$name" "$status" "${execs:-?}" \
      "$(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/' <<<"$last")" "$((after - before))" "$crashes" "$work"
    ;;
  *)
    echo "usage: run.sh check|long BIN NAME SECONDS [WORK]" >&2
    exit 2
    ;;
esac
