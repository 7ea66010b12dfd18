#!/usr/bin/env bash
# `make demo`: head office on loopback with a fresh CA, a terminal registered with it and
# sample data; then the counter app connected to head office, or, with no display, a scripted
# counter session through exec, a sync, and head office's reports.
set -euo pipefail
BUILD=${1:-build}
TBIN="$BUILD/bin/loyalty-terminal"
HQBIN="$BUILD/bin/loyalty-hq"
DEMO="$BUILD/demo"
DATA="$DEMO/terminal"
HQDATA="$DEMO/hq"
CONFIG=packaging/config/demo.toml
rm -rf "$DEMO"
mkdir -p "$DEMO"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Counter app"
if [[ -n "${DISPLAY:-}" ]]; then
  echo "A display is present: once head office and the store are ready the counter app opens"
  echo "(staff 1002, PIN 1234; supervisor PIN 246813)."
else
  echo "No display here (DISPLAY is not set): a scripted counter session through 'loyalty-terminal exec'."
fi

say "Head office: a fresh store and private CA in $HQDATA"
"$HQBIN" init --data "$HQDATA"
"$HQBIN" serve --data "$HQDATA" --listen 127.0.0.1:0 >"$DEMO/hq.log" 2>&1 &
HQPID=$!
trap 'kill "$HQPID" 2>/dev/null; wait "$HQPID" 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 100); do
  URL=$(grep -o 'https://[^ ]*' "$DEMO/hq.log" | head -1 || true)
  [[ -n "$URL" ]] && break
  kill -0 "$HQPID" 2>/dev/null || { cat "$DEMO/hq.log"; echo "head office did not start"; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { cat "$DEMO/hq.log"; echo "head office did not say where it listens"; exit 1; }
echo "head office listens on $URL (HTTPS only; log in $DEMO/hq.log)"
TOKEN=$(cat "$HQDATA/admin.token")
hq_get() { curl -sS --fail-with-body --cacert "$HQDATA/tls/ca.pem" -H "Authorization: Bearer $TOKEN" "$URL$1"; echo; }

say "Registering terminal T1 of store S001 (Asia/Shanghai) with a one-time code"
CODE=$("$HQBIN" terminal add --data "$HQDATA" --store S001 --terminal T1 --timezone Asia/Shanghai)
"$TBIN" register --data "$DATA" --hq "$URL" --ca "$HQDATA/tls/ca.pem" --code "$CODE"

say "The store: 5,000 generated members, packaging/sample/members.csv, staff, a reward catalogue"
"$TBIN" gen-members --data "$DATA" --count 5000 --seed 42
"$TBIN" import-members packaging/sample/members.csv --data "$DATA"
echo 246813 | "$TBIN" staff add --data "$DATA" --id 1001 --name "王经理" --role supervisor
echo 1234 | "$TBIN" staff add --data "$DATA" --id 1002 --name "李娜" --role cashier
printf '%s\n' '{"id":1,"op":"reward_put","reward_id":"MUG","name":"保温杯","points":300}' \
  '{"id":2,"op":"reward_put","reward_id":"WASH","name":"洗车券","points":150}' \
  '{"id":3,"op":"reward_put","reward_id":"OIL","name":"金龙鱼食用油 5L","points":2500}' |
  "$TBIN" exec --data "$DATA" --config "$CONFIG" >/dev/null

say "Counter session with the programme of $CONFIG (request -> answer)"
requests=$(cat <<'JSON'
{"id":1,"op":"enroll","phone":"186 1234 0001","name":"刘洋","birthday":"1990-11-20","consent_marketing":true,"at":"2026-11-20T09:15:00+08:00"}
{"id":2,"op":"lookup","query":"0001"}
{"id":3,"op":"lookup","query":"刘洋"}
{"id":4,"op":"member","member":"18612340001","at":"2026-11-20T09:16:00+08:00"}
{"id":5,"op":"sale","sale_id":"DEMO-0001","member":"18612340001","lines":[{"sku":"OIL-5L","description":"金龙鱼 5L","qty":4,"unit_price":"89.90"},{"sku":"WATER","description":"矿泉水","qty":6,"unit_price":"1.50"}],"at":"2026-11-20T09:20:00+08:00"}
{"id":6,"op":"sale","sale_id":"DEMO-0001","member":"18612340001","lines":[{"sku":"OIL-5L","description":"金龙鱼 5L","qty":4,"unit_price":"89.90"},{"sku":"WATER","description":"矿泉水","qty":6,"unit_price":"1.50"}],"at":"2026-11-20T09:20:00+08:00"}
{"id":7,"op":"redeem","redemption_id":"DEMO-R1","member":"18612340001","reward":"WASH","at":"2026-11-20T09:25:00+08:00"}
{"id":8,"op":"refund","refund_id":"DEMO-F1","sale_id":"DEMO-0001","lines":[{"sku":"OIL-5L","qty":1}],"at":"2026-11-21T10:00:00+08:00"}
{"id":9,"op":"sale","sale_id":"DEMO-0002","lines":[{"sku":"COFFEE","qty":1,"unit_price":"12.00"}],"at":"2026-11-21T10:05:00+08:00"}
{"id":10,"op":"survey","survey_id":"DEMO-SV1","sale_id":"DEMO-0002","scale":"nps10","score":9,"at":"2026-11-21T10:06:00+08:00"}
{"id":11,"op":"complaint","complaint_id":"DEMO-C1","member":"18612340001","category":"waiting","description":"3号油枪排队二十分钟","at":"2026-11-21T10:10:00+08:00"}
{"id":12,"op":"history","member":"18612340001","limit":10}
{"id":13,"op":"consent","member":"18612340001","consent_marketing":false,"at":"2026-11-21T10:12:00+08:00"}
{"id":14,"op":"export_member","member":"18612340001"}
{"id":15,"op":"sale","sale_id":"DEMO-0003","member":"18612340001","lines":[{"sku":"OIL-5L","qty":1,"unit_price":12.5}]}
{"id":16,"op":"redeem","redemption_id":"DEMO-R2","member":"18612340001","points":100000}
{"id":17,"op":"stats"}
{"id":18,"op":"verify"}
JSON
)
answers=$(printf '%s\n' "$requests" | "$TBIN" exec --data "$DATA" --config "$CONFIG")
paste -d '\n' <(printf '%s\n' "$requests" | sed 's/^/-> /') <(printf '%s\n' "$answers" | sed 's/^/<- /')

say "Sync with head office (upload the outbox, pull changes)"
"$TBIN" sync --data "$DATA" --once

say "Head office's view"
echo "GET /api/v1/reports/summary"
hq_get /api/v1/reports/summary
echo "GET /api/v1/members/<刘洋>"
MEMBER=$(printf '%s\n' "$answers" | head -1 | sed -n 's/.*"member_id":"\([^"]*\)".*/\1/p')
hq_get "/api/v1/members/$MEMBER"
echo "GET /healthz"
hq_get /healthz

if [[ -n "${DISPLAY:-}" ]]; then
  say "Opening the counter app, connected to head office (close the window to finish)"
  "$TBIN" --data "$DATA" --config "$CONFIG" --windowed --customer-display || echo "The counter app could not open a window."
  "$TBIN" sync --data "$DATA" --once || true
fi

say "Done"
echo "Terminal store: $DATA (try: $TBIN exec --data $DATA --config $CONFIG)"
echo "Head office: $HQDATA (stopped with the demo; start it again with: $HQBIN serve --data $HQDATA)"
