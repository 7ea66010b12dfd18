#!/usr/bin/env bash
# The counter app's benchmark: the real app under Xvfb (Mesa's software renderer) on a store
# with 1,000,000 members, driven by its hidden --bench-out mode (synthetic key events through
# the normal SDL event loop). Writes bench/results/ui.json and prints it.
#   UI_BENCH_STORE   a data directory with a store to copy (default: build one with gen-members)
#   UI_BENCH_QUERY   what is typed into the lookup: queries separated by commas, one key per 150 ms,
#                    Escape between them (default: a whole phone, pinyin initials, a full pinyin
#                    name, a pinyin prefix, last 4 digits); every key from the 4th digit or the
#                    first letter searches
#   UI_BENCH_SIZE    window size (default 1920x1080)
#   UI_BENCH_IDLE    seconds of idle measured (default 30)
#   UI_BENCH_DATA    the data directory to run on as it is (e.g. a smaller store while profiling)
#   UI_BENCH_WRAP    a command the app runs under, e.g. "perf record -g -o ui.perf"
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
BIN="$BUILD/bin/loyalty-terminal"
OUT=${UI_BENCH_OUT:-bench/results/ui.json}
WORK="$BUILD/bench-ui"
DATA=${UI_BENCH_DATA:-$WORK/store-1m}
mkdir -p "$WORK"
if [[ ! -f "$DATA/terminal.db" ]]; then
  if [[ -n "${UI_BENCH_STORE:-}" ]]; then
    mkdir -p "$DATA"
    cp "$UI_BENCH_STORE/terminal.db" "$DATA/"
  else
    "$BIN" gen-members --data "$DATA" --count 1000000 --seed 1 >/dev/null
  fi
fi
echo 1234 | "$BIN" staff add --data "$DATA" --id BENCH --name Bench >/dev/null 2>&1 || true

command -v Xvfb >/dev/null || { echo "ui_bench: Xvfb is missing (packaging/install-deps.sh)" >&2; exit 1; }
# Xvfb picks a free display and writes its number to a pipe.
FIFO="$WORK/xvfb.display"
rm -f "$FIFO"
mkfifo "$FIFO"
Xvfb -displayfd 3 -screen 0 1920x1080x24 -nolisten tcp 3>"$FIFO" 2>/dev/null &
XPID=$!
trap 'kill "$XPID" 2>/dev/null || true; rm -f "$FIFO"' EXIT
read -r number <"$FIFO"
# The database is warm in the page cache (just copied or built). frame_cpu_ms_* is the UI
# thread's own CPU time per frame; with LP_NUM_THREADS=0 llvmpipe rasterises on that thread too,
# so it is the frame's whole work, whatever else the (shared) machine is doing.
export LP_NUM_THREADS=${LP_NUM_THREADS:-0}
DISPLAY=":$number" ${UI_BENCH_WRAP:-} "$BIN" --data "$DATA" --windowed --size "${UI_BENCH_SIZE:-1920x1080}" --lang zh-CN \
  --bench-out "$OUT" --bench-staff BENCH --bench-pin 1234 \
  --bench-query "${UI_BENCH_QUERY:-13801234567,zsf,zhangwei,wang,5678}" --bench-idle "${UI_BENCH_IDLE:-30}"
cat "$OUT"
