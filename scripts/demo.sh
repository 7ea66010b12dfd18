#!/usr/bin/env bash
# `make demo`: a fresh terminal store with sample data and a scripted counter session through
# exec, printing each request and its answer.
set -euo pipefail
BUILD=${1:-build}
BIN="$BUILD/bin/loyalty-terminal"
DATA="$BUILD/demo/terminal"
rm -rf "$BUILD/demo"
mkdir -p "$BUILD/demo"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Counter app"
if [[ -n "${DISPLAY:-}" ]]; then
  echo "A display is present: after the store is prepared the counter app opens (staff 1002, PIN 1234)."
else
  echo "No display here (DISPLAY is not set): a scripted counter session through 'loyalty-terminal exec'."
fi

say "A fresh terminal store in $DATA with 5,000 generated members"
"$BIN" gen-members --data "$DATA" --count 5000 --seed 42
say "Importing packaging/sample/members.csv (Chinese, UK and Hong Kong numbers)"
"$BIN" import-members packaging/sample/members.csv --data "$DATA"
say "Adding a supervisor (PIN 2468) for large redemptions and a cashier (PIN 1234)"
echo 2468 | "$BIN" staff add --data "$DATA" --id 1001 --name "王经理" --role supervisor
echo 1234 | "$BIN" staff add --data "$DATA" --id 1002 --name "李娜" --role cashier

say "Counter session (request -> answer)"
requests=$(cat <<'JSON'
{"id":1,"op":"enroll","phone":"186 1234 0001","name":"刘洋","birthday":"1990-12-01","consent_marketing":true,"at":"2026-11-20T09:15:00+08:00"}
{"id":2,"op":"lookup","query":"0001"}
{"id":3,"op":"lookup","query":"刘洋"}
{"id":4,"op":"sale","sale_id":"DEMO-0001","member":"18612340001","lines":[{"sku":"OIL-5L","description":"金龙鱼 5L","qty":2,"unit_price":"89.90"},{"sku":"WATER","description":"矿泉水","qty":6,"unit_price":"1.50"}],"at":"2026-11-20T09:20:00+08:00"}
{"id":5,"op":"sale","sale_id":"DEMO-0001","member":"18612340001","lines":[{"sku":"OIL-5L","description":"金龙鱼 5L","qty":2,"unit_price":"89.90"},{"sku":"WATER","description":"矿泉水","qty":6,"unit_price":"1.50"}],"at":"2026-11-20T09:20:00+08:00"}
{"id":6,"op":"redeem","redemption_id":"DEMO-R1","member":"18612340001","points":50}
{"id":7,"op":"refund","refund_id":"DEMO-F1","sale_id":"DEMO-0001","lines":[{"sku":"OIL-5L","qty":1}]}
{"id":8,"op":"sale","sale_id":"DEMO-0002","lines":[{"sku":"COFFEE","qty":1,"unit_price":"12.00"}]}
{"id":9,"op":"member","member":"18612340001"}
{"id":10,"op":"history","member":"18612340001","limit":10}
{"id":11,"op":"sale","sale_id":"DEMO-0003","member":"18612340001","lines":[{"sku":"OIL-5L","qty":1,"unit_price":12.5}]}
{"id":12,"op":"redeem","redemption_id":"DEMO-R2","member":"18612340001","points":100000}
{"id":13,"op":"stats"}
{"id":14,"op":"verify"}
JSON
)
answers=$(printf '%s\n' "$requests" | "$BIN" exec --data "$DATA")
paste -d '\n' <(printf '%s\n' "$requests" | sed 's/^/-> /') <(printf '%s\n' "$answers" | sed 's/^/<- /') | sed 's/^<- /<- /'

if [[ -n "${DISPLAY:-}" ]]; then
  say "Opening the counter app (close the window to finish)"
  printf '%s\n' '{"id":1,"op":"reward_put","reward_id":"MUG","name":"保温杯","points":300}' \
    '{"id":2,"op":"reward_put","reward_id":"WASH","name":"洗车券","points":150}' \
    '{"id":3,"op":"reward_put","reward_id":"OIL","name":"金龙鱼食用油 5L","points":2500}' |
    "$BIN" exec --data "$DATA" >/dev/null
  "$BIN" --data "$DATA" --windowed --customer-display || echo "The counter app could not open a window."
fi

say "Done"
echo "The store is in $DATA; try: $BIN exec --data $DATA"
