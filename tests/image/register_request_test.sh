#!/usr/bin/env bash
# The device image's USB-stick registration refuses a bad LOYALTY-REGISTER.TXT before it touches
# anything: each case names the line or field on the stick's result file and exits non-zero.
# (A good request registering against a real head office is in scripts/image-test.sh.)
#   register_request_test.sh SOURCE_DIR
set -euo pipefail

script=$1/packaging/image/overlay/usr/lib/loyalty/image-register-usb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

ca_pem=$'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
refused() {  # refused NAME EXPECTED_RESULT_REGEX REQUEST_TEXT [CA_TEXT]
  local stick
  stick=$(mktemp -d "$work/stick.XXXXXX")  # unique: $RANDOM repeated once in a CI run
  printf '%s\n' "$3" > "$stick/LOYALTY-REGISTER.TXT"
  printf '%s\n' "${4-$ca_pem}" > "$stick/LOYALTY-CA.PEM"
  if TMPDIR=$work bash "$script" --dir "$stick" >/dev/null 2>&1; then
    echo "FAIL $1: accepted"
    failures=$((failures + 1))
  elif ! grep -q -- "$2" "$stick/LOYALTY-REGISTER-RESULT.TXT" 2>/dev/null; then
    echo "FAIL $1: result '$(cat "$stick/LOYALTY-REGISTER-RESULT.TXT" 2>/dev/null)' does not match '$2'"
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

good_hq='hq = https://hq.example.com:8443'
refused "missing code" '^error: LOYALTY-REGISTER.TXT: code: missing' "$good_hq"$'\nca = LOYALTY-CA.PEM'
refused "missing hq" '^error: LOYALTY-REGISTER.TXT: hq: missing' $'ca = LOYALTY-CA.PEM\ncode = C0DE'
refused "missing ca" '^error: LOYALTY-REGISTER.TXT: ca: missing' "$good_hq"$'\ncode = C0DE'
refused "plain http" "^error: LOYALTY-REGISTER.TXT: hq: 'http://hq:80' is not an https:// URL" \
  $'hq = http://hq:80\nca = LOYALTY-CA.PEM\ncode = C0DE'
refused "unknown field" '^error: LOYALTY-REGISTER.TXT:3: colour: unknown field' \
  "$good_hq"$'\n# comment\ncolour = red'
refused "field given twice" '^error: LOYALTY-REGISTER.TXT:2: hq: given twice' "$good_hq"$'\n'"$good_hq"
refused "not field = value" "^error: LOYALTY-REGISTER.TXT:1: expected 'field = value'" 'hq https://x'
refused "CA outside the stick" "^error: LOYALTY-REGISTER.TXT: ca: '../etc/ssl/ca.pem' must be a plain file name" \
  "$good_hq"$'\nca = ../etc/ssl/ca.pem\ncode = C0DE'
refused "CA file absent" '^error: LOYALTY-REGISTER.TXT: ca: OTHER.PEM: no such file on the stick' \
  "$good_hq"$'\nca = OTHER.PEM\ncode = C0DE'
refused "CA not PEM" '^error: LOYALTY-REGISTER.TXT: ca: LOYALTY-CA.PEM: not a PEM certificate' \
  "$good_hq"$'\nca = LOYALTY-CA.PEM\ncode = C0DE' 'not a certificate'
refused "bad pin" "^error: LOYALTY-REGISTER.TXT: pin: 'sha256//short' is not sha256//BASE64" \
  "$good_hq"$'\nca = LOYALTY-CA.PEM\ncode = C0DE\npin = sha256//short'

# A stick without a request is not a registration stick: left alone, no result written.
mkdir "$work/other"
if TMPDIR=$work bash "$script" --dir "$work/other" >/dev/null 2>&1 && [[ ! -e $work/other/LOYALTY-REGISTER-RESULT.TXT ]]; then
  echo "ok   a stick without a request is left alone"
else
  echo "FAIL a stick without a request is left alone"
  failures=$((failures + 1))
fi

[[ $failures -eq 0 ]] || { echo "$failures case(s) failed"; exit 1; }
