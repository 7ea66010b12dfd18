#!/usr/bin/env bash
# `make bench`: runs loyalty-bench (1,000,000 members and 1,000,000 sales by default) from the
# repository root, writes bench/results/foundation.json and prints it; then the counter app's
# benchmark (bench/ui_bench.sh: 1920x1080, llvmpipe, 1,000,000 members; bench/results/ui.json).
#   BENCH_MEMBERS, BENCH_SALES  scale the store down for a quick run
#   BENCH_STORE                 build the store there once and reuse it on later runs
#   BENCH_OUT                   another result file (e.g. for scaled-down runs)
#   BENCH_DATASET               the online_retail.csv.gz to replay
#   BENCH_SKIP_UI               set: no counter app benchmark (it needs Xvfb)
# Then the chain-day load test (bench/chain_day.cpp; bench/results/chain-day.json): 1,000
# terminals x 300 sales against 3 head-office instances on a PostgreSQL it starts, paced at ten
# times a real chain's average rate (a terminal's 300 sales in a 12-hour day: one sale every
# 14.4 s, so 4,320 s for the whole day), the rate its online redemption target is set at.
#   CHAIN_DAY_TERMINALS, CHAIN_DAY_SALES  a smaller chain or day for a quicker run (the day's
#                                         length follows the sales: 14.4 s each)
#   CHAIN_DAY_SECONDS                     the day's length in seconds instead; 0: unpaced, as
#                                         fast as head office takes it (a throughput run:
#                                         requests queue, so latencies are not the target's)
#   BENCH_SKIP_CHAIN_DAY                  set: no chain-day load test
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/results/foundation.json}
args=(--out "$OUT" --revision "$(git describe --always --dirty 2>/dev/null || echo unknown)")
[[ -n "${BENCH_MEMBERS:-}" ]] && args+=(--members "$BENCH_MEMBERS")
[[ -n "${BENCH_SALES:-}" ]] && args+=(--sales "$BENCH_SALES")
[[ -n "${BENCH_STORE:-}" ]] && args+=(--store "$BENCH_STORE")
[[ -n "${BENCH_DATASET:-}" ]] && args+=(--dataset "$BENCH_DATASET")
"$BUILD/bin/loyalty-bench" "${args[@]}"
cat "$OUT"
if [[ -z "${BENCH_SKIP_UI:-}" ]]; then
  bash bench/ui_bench.sh "$BUILD"
fi
if [[ -z "${BENCH_SKIP_CHAIN_DAY:-}" ]]; then
  chain=(--out bench/results/chain-day.json)
  [[ -n "${CHAIN_DAY_TERMINALS:-}" ]] && chain+=(--terminals "$CHAIN_DAY_TERMINALS")
  [[ -n "${CHAIN_DAY_SALES:-}" ]] && chain+=(--sales "$CHAIN_DAY_SALES")
  # 14.4 s a sale: 144/10 of a second, in integer arithmetic.
  chain+=(--day-seconds "${CHAIN_DAY_SECONDS:-$(( 10#${CHAIN_DAY_SALES:-300} * 144 / 10 ))}")
  [[ -n "${BENCH_DATASET:-}" ]] && chain+=(--dataset "$BENCH_DATASET")
  nice "$BUILD/bin/chain-day-bench" "${chain[@]}"
fi
