#!/usr/bin/env bash
# `make package-test`: lintian on the packages, then a clean Debian 12 root (mmdebstrap, packages
# from Debian's archive) where apt installs both packages, and inside it: head office initialised
# as its service user and serving HTTPS, a terminal registered with it through the packaged
# configuration and the at-rest key handed over as a credential, a sale through exec, a sync,
# and head office answering over HTTPS that it has the member. Then a reinstall keeps the key.
# Usage: package_test.sh PACKAGES_DIR [SUITE]
set -euo pipefail

if [[ "${1:-}" == "--inside" ]]; then
  root=$2
  inroot() { chroot "$root" "$@"; }
  fail() { echo "package-test: $*" >&2; exit 1; }
  check_mode() {  # PATH MODE OWNER
    local got
    got=$(inroot stat -c '%a %U' "$1")
    [[ "$got" == "$2 $3" ]] || fail "$1 is $got, expected $2 $3"
  }

  echo "== apt installs both packages into the clean root"
  inroot apt-get install -y -q --no-install-recommends /tmp/packages/loyalty-terminal_*.deb /tmp/packages/loyalty-hq_*.deb

  echo "== users, directories, conffiles, the at-rest key"
  inroot getent passwd loyalty-terminal >/dev/null || fail "no loyalty-terminal user"
  inroot getent passwd loyalty-hq >/dev/null || fail "no loyalty-hq user"
  for d in /var/lib/loyalty-terminal /var/backups/loyalty-terminal; do check_mode "$d" 700 loyalty-terminal; done
  for d in /var/lib/loyalty-hq /var/backups/loyalty-hq; do check_mode "$d" 700 loyalty-hq; done
  inroot dpkg-query -W -f='${Conffiles}\n' loyalty-terminal | grep -q ' /etc/loyalty/terminal.toml ' || fail "terminal.toml is no conffile"
  inroot dpkg-query -W -f='${Conffiles}\n' loyalty-hq | grep -q ' /etc/loyalty/hq.toml ' || fail "hq.toml is no conffile"
  check_mode /etc/loyalty/hq.toml 640 root
  key=/etc/loyalty/credentials/terminal-at-rest.key
  check_mode "$key" 600 root
  [[ $(inroot stat -c %s "$key") == 32 ]] || fail "$key does not hold 32 bytes"
  [[ $(inroot readlink /var/lib/loyalty-hq/hq.toml) == /etc/loyalty/hq.toml ]] || fail "hq.toml is not linked to /etc/loyalty"
  inroot test -f /lib/systemd/system/loyalty-hq.service || fail "no loyalty-hq.service"
  for unit in loyalty-hq.service loyalty-hq-housekeeping.timer loyalty-hq-backup.timer loyalty-terminal-backup.timer; do
    inroot deb-systemd-helper --quiet is-enabled "$unit" || fail "$unit is not enabled"
  done
  inroot test -f /usr/share/man/man1/loyalty-hq.1.gz || fail "no man page"

  echo "== head office: init as its user (storage from /etc/loyalty/hq.toml), serve, HTTPS"
  inroot runuser -u loyalty-hq -- loyalty-hq init --data /var/lib/loyalty-hq --host localhost,127.0.0.1
  inroot runuser -u loyalty-hq -- loyalty-hq housekeeping --data /var/lib/loyalty-hq
  inroot sh -c 'runuser -u loyalty-hq -- loyalty-hq serve --data /var/lib/loyalty-hq --listen 127.0.0.1:0 >/tmp/hq.log 2>&1 & echo $! >/tmp/hq.pid'
  trap 'kill "$(cat "$root/tmp/hq.pid")" 2>/dev/null || true; sleep 1' EXIT
  url=""
  for _ in $(seq 1 100); do
    url=$(grep -o 'https://[^ ]*' "$root/tmp/hq.log" | head -1 || true)
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || { cat "$root/tmp/hq.log"; fail "head office did not start"; }
  ca=$root/var/lib/loyalty-hq/tls/ca.pem
  token=$(cat "$root/var/lib/loyalty-hq/admin.token")
  curl -sS --fail --cacert "$ca" "$url/healthz" | grep -q '"ok"' || fail "/healthz did not answer ok"

  echo "== terminal: register, exec a sale, sync, with the key as a systemd credential"
  inroot install -m 0644 /var/lib/loyalty-hq/tls/ca.pem /etc/loyalty/hq-ca.pem
  code=$(inroot runuser -u loyalty-hq -- loyalty-hq terminal add --data /var/lib/loyalty-hq --store S001 --terminal T1 --timezone Asia/Shanghai)
  # terminal-run hands the key over as systemd's LoadCredential= does (no systemd runs here).
  as_terminal() { inroot /usr/lib/loyalty/terminal-run "$@"; }
  as_terminal register --data /var/lib/loyalty-terminal --hq "$url" --ca /etc/loyalty/hq-ca.pem --code "$code"
  answers=$(printf '%s\n' \
    '{"id":1,"op":"enroll","phone":"186 1234 0001","name":"刘洋","consent_marketing":true}' \
    '{"id":2,"op":"sale","sale_id":"PKG-1","member":"18612340001","lines":[{"sku":"WATER","qty":2,"unit_price":"10.00"}]}' \
    '{"id":3,"op":"lookup","query":"0001"}' '{"id":4,"op":"verify"}' |
    as_terminal exec --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml)
  echo "$answers"
  [[ $(grep -c '"ok":true' <<<"$answers") == 4 ]] || fail "exec did not answer all four requests ok"
  inroot test ! -e /var/lib/loyalty-terminal/at-rest.key || fail "the terminal made its own key instead of using the credential"
  as_terminal sync --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml --once
  metrics=$(curl -sS --fail --cacert "$ca" -H "Authorization: Bearer $token" "$url/metrics")
  grep -qx 'loyalty_hq_members 1' <<<"$metrics" || { grep '^loyalty_hq_members' <<<"$metrics"; fail "head office does not have the member"; }

  echo "== a reinstall keeps the key and the data"
  before=$(inroot sha256sum "$key")
  inroot apt-get install -y -q --reinstall /tmp/packages/loyalty-terminal_*.deb
  [[ $(inroot sha256sum "$key") == "$before" ]] || fail "the reinstall replaced the at-rest key"
  as_terminal exec --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml <<<'{"id":1,"op":"stats"}' |
    grep -q '"members":1' || fail "the member is gone after the reinstall"
  echo "package-test: inside the root, all checks passed"
  exit 0
fi

packages=$(realpath "${1:?usage: package_test.sh PACKAGES_DIR [SUITE]}")
suite=${2:-bookworm}
shopt -s nullglob
debs=("$packages"/loyalty-terminal_*.deb "$packages"/loyalty-hq_*.deb)
[[ ${#debs[@]} -eq 2 ]] || { echo "package-test: expected one loyalty-terminal and one loyalty-hq .deb in $packages" >&2; exit 1; }

echo "== lintian"
lintian --fail-on error "${debs[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
self=$(realpath "$0")
start=$(date +%s)
# --variant=apt: Essential packages and apt only; everything else comes from the packages' Depends.
mmdebstrap --variant=apt --format=directory \
  --customize-hook='mkdir -p "$1/tmp/packages"' \
  --customize-hook="copy-in ${debs[*]} /tmp/packages" \
  --customize-hook="bash '$self' --inside \"\$1\"" \
  "$suite" "$work/root"
echo "package-test: passed in $(( $(date +%s) - start )) s (root built, installed and run)"
