#!/bin/bash
# Fleet updates end to end, with real processes and real packages (docs/fleet-updates.md):
# head office publishes signed loyalty-terminal packages built here with dpkg-deb around the
# built program; a terminal installed into a root this test makes (dpkg --root) checks on sync,
# downloads, verifies and stages; the updater installs, health-checks and rolls back.
#   fleet_update.sh BIN_DIR    (the directory with loyalty-hq and loyalty-terminal)
# Covers: publish + its refusals, the terminal's report at head office, an update installed,
# a tampered package refused (at download and once staged), a broken one rolled back and not
# staged again, a lower/equal version never staged, store targeting.
set -euo pipefail
BIN=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then echo "FLEET TEST NEEDS ROOT (dpkg --root installs)"; exit 77; fi
for tool in dpkg dpkg-deb curl; do
  command -v $tool >/dev/null || { echo "FLEET TEST NEEDS $tool"; exit 77; }
done

W=$(mktemp -d)
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# json FILE-or-TEXT EXPR: a field with python3's json (present on Debian with the build deps).
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

ARCH=$(dpkg --print-architecture)
HQ="$BIN/loyalty-hq"

step "head office"
"$HQ" init --data "$W/hq" --host localhost,127.0.0.1 >/dev/null
[ "$(stat -c %a "$W/hq/release/release.key")" = 600 ] || fail "the release key is not 0600"
"$HQ" serve --data "$W/hq" --listen 127.0.0.1:0 >"$W/serve.out" 2>"$W/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$W/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$W/serve.out")
[ -n "$URL" ] || fail "head office did not start: $(cat "$W/serve.err")"
CODE=$("$HQ" terminal add --data "$W/hq" --store S1 --terminal T1)
"$HQ" terminal add --data "$W/hq" --store S2 --terminal T2 >/dev/null
ADMIN=$(cat "$W/hq/admin.token")
admin() { curl -sS --cacert "$W/hq/tls/ca.pem" -H "Authorization: Bearer $ADMIN" "$URL$1"; }

step "packages built with dpkg-deb around the built program"
# mkpkg VERSION good|broken [PACKAGE]
mkpkg() {
  local d="$W/build-$1"
  mkdir -p "$d/DEBIAN" "$d/usr/bin"
  if [ "$2" = good ]; then
    cp "$BIN/loyalty-terminal" "$d/usr/bin/loyalty-terminal"
  else
    printf '#!/bin/sh\necho "this build cannot start" >&2\nexit 3\n' >"$d/usr/bin/loyalty-terminal"
    chmod 755 "$d/usr/bin/loyalty-terminal"
  fi
  cat >"$d/DEBIAN/control" <<CONTROL
Package: ${3:-loyalty-terminal}
Version: $1
Architecture: $ARCH
Maintainer: Loyalty <loyalty@example.invalid>
Description: loyalty counter (test build $1)
CONTROL
  dpkg-deb --root-owner-group -Zgzip -z1 --build "$d" "$W/pkg-$1.deb" >/dev/null
  rm -rf "$d"
  echo "$W/pkg-$1.deb"
}
V1=$(mkpkg 1.0.0~t1 good)
V2=$(mkpkg 1.0.0~t2 good)
V3=$(mkpkg 1.0.0~t3 broken)
OTHER=$(mkpkg 1.0.0~t9 good loyalty-hq)

step "a root with version 1 installed and kept for rollback"
R="$W/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
dpkg --root="$R" -i "$V1" >/dev/null
T="$R/usr/bin/loyalty-terminal"
"$T" update keep "$V1" --root "$R" >/dev/null
installed() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' loyalty-terminal; }
[ "$(installed)" = 1.0.0~t1 ] || fail "version 1 is not installed"

DATA="$W/terminal"
"$T" register --data "$DATA" --hq "$URL" --ca "$W/hq/tls/ca.pem" --code "$CODE" >/dev/null
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = none ] || fail "nothing published, but: $OUT"
ROW=$(admin /api/v1/admin/terminals)
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["version"]')" = 1.0.0~t1 ] || fail "head office does not show version 1: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["update_state"]')" = idle ] || fail "update state: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["backlog"]')" = 0 ] || fail "backlog: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["last_seen"] is not None')" = True ] || fail "last seen: $ROW"
# The terminal's clock travels with its requests: head office keeps the skew (same host: about 0).
[ "$(field "$ROW" 'abs([t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["clock_skew_seconds"]) <= 5')" = True ] || fail "clock skew: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T2"][0]["version"]')" = None ] || fail "T2 never synced: $ROW"

step "publish refuses what it must, changing nothing"
echo "not a package" >"$W/junk.deb"
set +e
"$HQ" release publish "$W/junk.deb" --data "$W/hq" 2>"$W/err"; rc1=$?
"$HQ" release publish "$OTHER" --data "$W/hq" 2>>"$W/err"; rc2=$?
"$HQ" release publish "$V2" --data "$W/hq" --stores NOWHERE 2>>"$W/err"; rc3=$?
"$HQ" release publish "$V2" --data "$W/hq" --percent 0 2>>"$W/err"; rc4=$?
set -e
[ "$rc1$rc2$rc3$rc4" = 2222 ] || fail "publish refusals exit $rc1 $rc2 $rc3 $rc4: $(cat "$W/err")"
grep -q "only loyalty-terminal" "$W/err" && grep -q "store NOWHERE" "$W/err" || fail "refusals do not say why: $(cat "$W/err")"
[ "$(field "$("$HQ" release list --data "$W/hq")" 'len(d["releases"])')" = 0 ] || fail "a refused publish left a release"

step "version 2 published for store S2 only: not offered to T1"
"$HQ" release publish "$V2" --data "$W/hq" --stores S2 >/dev/null
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = none ] || fail "S2's release reached S1: $OUT"

step "then for every store: a tampered download is refused"
PUB=$("$HQ" release publish "$V2" --data "$W/hq")
[ "$(field "$PUB" 'd["republished"]')" = True ] || fail "publishing the same package again: $PUB"
SHA=$(field "$PUB" 'd["sha256"]')
KEPT="$W/hq/releases/$SHA.deb"
cp "$KEPT" "$W/kept.deb"
printf 'X' | dd of="$KEPT" bs=1 seek=2000 conv=notrunc status=none
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = refused ] || fail "a tampered package was not refused: $OUT"
[ ! -e "$DATA/update/staged.deb" ] || fail "a tampered package was staged"
cp "$W/kept.deb" "$KEPT"

step "version 2 staged, installed by the updater, reported back"
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = staged ] || fail "version 2 not staged: $OUT"
ROW=$(admin /api/v1/admin/terminals)
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = already_staged ] || fail "staged again: $OUT"
[ "$(field "$(admin /api/v1/admin/terminals)" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["update_state"]')" = staged ] || fail "staged not reported"
"$T" update apply --data "$DATA" --root "$R" --unit none >"$W/apply.out"
[ "$(field "$(cat "$W/apply.out")" 'd["update"]')" = installed ] || fail "apply: $(cat "$W/apply.out")"
[ "$(installed)" = 1.0.0~t2 ] || fail "version 2 is not installed"
"$T" sync --data "$DATA" --once >/dev/null
ROW=$(admin /api/v1/admin/terminals)
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["version"]')" = 1.0.0~t2 ] || fail "version 2 not reported: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["update_state"]')" = installed ] || fail "state: $ROW"
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = current ] || fail "the installed version offered again: $OUT"

step "a package altered after staging is refused by the updater"
V3GOOD=$(mkpkg 1.0.0~t3a good)
"$HQ" release publish "$V3GOOD" --data "$W/hq" >/dev/null
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = staged ] || fail "1.0.0~t3a not staged: $OUT"
printf 'X' | dd of="$DATA/update/staged.deb" bs=1 seek=2000 conv=notrunc status=none
set +e
"$T" update apply --data "$DATA" --root "$R" --unit none >"$W/apply.out" 2>/dev/null; rc=$?
set -e
[ $rc = 1 ] && grep -q altered "$W/apply.out" || fail "an altered staged package: rc $rc $(cat "$W/apply.out")"
[ "$(installed)" = 1.0.0~t2 ] || fail "the altered package changed the installation"

step "a broken version 3 is rolled back and not staged again"
"$HQ" release publish "$V3" --data "$W/hq" >/dev/null || fail "publish v3"
V4=$(mkpkg 1.0.0~t4 broken)
"$HQ" release publish "$V4" --data "$W/hq" >/dev/null
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = staged ] || fail "version 4 not staged: $OUT"
set +e
"$T" update apply --data "$DATA" --root "$R" --unit none --health-timeout 20 >"$W/apply.out" 2>/dev/null; rc=$?
set -e
[ $rc = 1 ] && [ "$(field "$(cat "$W/apply.out")" 'd["update"]')" = rolled_back ] || fail "not rolled back: rc $rc $(cat "$W/apply.out")"
grep -q "cannot start" "$W/apply.out" || fail "the rollback does not say why: $(cat "$W/apply.out")"
[ "$(installed)" = 1.0.0~t2 ] || fail "version 2 is not back after the rollback"
OUT=$("$T" sync --data "$DATA" --once)
[ "$(field "$OUT" 'd["update"]')" = refused ] || fail "the rolled-back version was offered again: $OUT"
[ ! -e "$DATA/update/staged.json" ] || fail "the rolled-back version was staged again"
ROW=$(admin /api/v1/admin/terminals)
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["update_state"]')" = rolled_back ] || fail "rollback not reported: $ROW"
[ "$(field "$ROW" '[t for t in d["terminals"] if t["terminal_id"]=="T1"][0]["version"]')" = 1.0.0~t2 ] || fail "version after rollback: $ROW"

step "audited"
admin "/api/v1/admin/audit?order=desc" | grep -q '"action":"release.publish"' || fail "publish not audited"
echo "fleet update test passed"
