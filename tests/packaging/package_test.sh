#!/usr/bin/env bash
# `make package-test`: lintian on the packages, then a clean Debian 12 root (mmdebstrap, packages
# from Debian's archive) where apt installs both packages, and inside it: head office initialised
# as its service user and serving HTTPS, a terminal registered with it through the packaged
# configuration and the at-rest key handed over as a credential, a sale through exec, a sync,
# and head office answering over HTTPS that it has the member; a reinstall keeps the key. Then the
# root is booted with systemd-nspawn: the hardened loyalty-hq.service serves that data, the
# housekeeping unit runs, and terminal-run hands the key over through systemd-run.
# Usage: package_test.sh PACKAGES_DIR [CACHE_DIR] [ARCH]
# CACHE_DIR keeps the archive's packages between runs (the first run downloads them). ARCH
# (default: this machine's) picks the packages; another architecture's root runs under
# qemu-user (binfmt_misc registered for the test and unregistered after), without the boot step.
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
  inroot sh -c 'apt-get install -y -q --no-install-recommends /tmp/packages/*.deb' 

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
  for wanted in multi-user.target.wants/loyalty-hq.service timers.target.wants/loyalty-hq-housekeeping.timer \
    timers.target.wants/loyalty-hq-backup.timer timers.target.wants/loyalty-terminal-backup.timer \
    timers.target.wants/loyalty-terminal-update.timer multi-user.target.wants/loyalty-terminal-update.path; do
    inroot test -L "/etc/systemd/system/$wanted" || fail "${wanted#*/} is not enabled"
  done
  inroot test -f /usr/share/man/man1/loyalty-hq.1.gz || fail "no man page"
  inroot test -f /lib/systemd/system/loyalty-kiosk.service || fail "no loyalty-kiosk.service"
  inroot test ! -L /etc/systemd/system/multi-user.target.wants/loyalty-kiosk.service || fail "the kiosk is enabled by the package"

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
  inroot sh -c 'apt-get install -y -q --reinstall /tmp/packages/loyalty-terminal_*.deb' 
  [[ $(inroot sha256sum "$key") == "$before" ]] || fail "the reinstall replaced the at-rest key"
  as_terminal exec --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml <<<'{"id":1,"op":"stats"}' |
    grep -q '"members":1' || fail "the member is gone after the reinstall"

  echo "== for the boot: head office on a free port, a probe that runs the housekeeping unit"
  inroot install -d /etc/systemd/system/loyalty-hq.service.d
  printf '[Service]\nEnvironment=LOYALTY_HQ_LISTEN=127.0.0.1:%s\n' "$PACKAGE_TEST_PORT" \
    >"$root/etc/systemd/system/loyalty-hq.service.d/port.conf"
  cat >"$root/usr/local/sbin/package-test-probe" <<'PROBE'
#!/bin/sh
# Runs once at boot: the housekeeping unit, terminal-run through systemd-run, head office's state.
out=/var/tmp/probe.new
systemctl start loyalty-hq-housekeeping.service
echo "housekeeping $?" >$out
printf '%s\n' '{"id":1,"op":"stats"}' |
  /usr/lib/loyalty/terminal-run exec --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml >>$out 2>&1
echo "terminal-run $?" >>$out
systemctl start loyalty-terminal-backup.service
echo "terminal-backup $? $(ls /var/backups/loyalty-terminal | grep -c '^loyalty-terminal-.*\.backup$')" >>$out
systemctl start loyalty-hq-backup.service
echo "hq-backup $? $(ls /var/backups/loyalty-hq | grep -c '^loyalty-hq-.*\.backup$')" >>$out
systemctl show -p ActiveState,NRestarts loyalty-hq.service >>$out
mv $out /var/tmp/probe
PROBE
  chmod 0755 "$root/usr/local/sbin/package-test-probe"
  cat >"$root/etc/systemd/system/package-test-probe.service" <<'UNIT'
[Unit]
Description=package-test: the hardened units run under systemd
After=loyalty-hq.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/package-test-probe
[Install]
WantedBy=multi-user.target
UNIT
  inroot ln -sf /etc/systemd/system/package-test-probe.service /etc/systemd/system/multi-user.target.wants/
  echo "package-test: inside the root, all checks passed"
  exit 0
fi

packages=$(realpath "${1:?usage: package_test.sh PACKAGES_DIR [CACHE_DIR] [ARCH]}")
host_arch=$(dpkg --print-architecture)
arch=${3:-$host_arch}
[[ $arch == amd64 || $arch == arm64 ]] || { echo "package-test: ARCH: amd64 or arm64, not '$arch'" >&2; exit 1; }
cache=$(realpath -m "${2:-$packages/../package-test-cache}")/$arch
mkdir -p "$cache"
shopt -s nullglob
debs=("$packages"/loyalty-terminal_*_"$arch".deb "$packages"/loyalty-hq_*_"$arch".deb)
[[ ${#debs[@]} -eq 2 ]] || { echo "package-test: expected one loyalty-terminal and one loyalty-hq $arch .deb in $packages" >&2; exit 1; }

# Another architecture's programs run through qemu-user: registered with binfmt_misc for the
# test only (and the registration undone at the end if the test made it).
binfmt_made=
if [[ $arch != "$host_arch" ]]; then
  command -v update-binfmts >/dev/null && [[ -e /usr/share/binfmts/qemu-aarch64 ]] ||
    { echo "package-test: $arch needs qemu-user-static and binfmt-support (packaging/install-deps.sh)" >&2; exit 1; }
  [[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --enable qemu-aarch64
    binfmt_made=1
  fi
fi
undo_binfmt() { [[ -z $binfmt_made ]] || update-binfmts --disable qemu-aarch64 || true; }

echo "== lintian"
lintian --fail-on error "${debs[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"; undo_binfmt' EXIT
self=$(realpath "$0")
# A free port for head office in the booted root (it shares this machine's network).
PACKAGE_TEST_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PACKAGE_TEST_PORT
start=$(date +%s)
# --variant=apt: Essential packages and apt only (and systemd with its bus, to boot it afterwards);
# everything else comes from the packages' Depends. The chroot runs terminal-run without systemd,
# the booted root through systemd-run.
mmdebstrap --variant=apt --architectures="$arch" --include=systemd-sysv,dbus --format=directory --skip=essential/unlink \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook="sync-in '$cache' /var/cache/apt/archives" \
  --customize-hook='mkdir -p "$1/tmp/packages"' \
  --customize-hook="copy-in ${debs[*]} /tmp/packages" \
  --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
  --customize-hook="bash '$self' --inside \"\$1\"" \
  --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
  bookworm "$work/root"
rm -f "$cache"/loyalty-*.deb
echo "package-test: root built, packages installed and run in $(( $(date +%s) - start )) s"
if [[ $arch != "$host_arch" ]]; then
  echo "package-test: $arch: booting the root under qemu-user is left out (the units were checked on $host_arch); passed"
  exit 0
fi

# The same root booted with systemd (systemd-nspawn): loyalty-hq.service with all its
# hardening serves the data made above, and the housekeeping unit succeeds.
echo "== boot the root: the hardened units under systemd"
boot_start=$(date +%s)
systemd-nspawn -D "$work/root" --register=no --keep-unit --console=passive -b >"$work/boot.log" 2>&1 &
nspawn=$!
stop_boot() { kill "$nspawn" 2>/dev/null && wait "$nspawn" 2>/dev/null || true; }
trap 'stop_boot; rm -rf "$work"; undo_binfmt' EXIT
for _ in $(seq 1 120); do
  [[ -e "$work/root/var/tmp/probe" ]] && break
  kill -0 "$nspawn" 2>/dev/null || break
  sleep 1
done
probe=$(cat "$work/root/var/tmp/probe" 2>/dev/null || true)
echo "$probe"
grep -qx 'housekeeping 0' <<<"$probe" && grep -qx 'terminal-run 0' <<<"$probe" &&
  grep -qx 'terminal-backup 0 1' <<<"$probe" && grep -qx 'hq-backup 0 1' <<<"$probe" && grep -q '"members":1' <<<"$probe" &&
  grep -qx 'ActiveState=active' <<<"$probe" && grep -qx 'NRestarts=0' <<<"$probe" ||
  { tail -n 40 "$work/boot.log"; echo "package-test: the units did not run under systemd" >&2; exit 1; }
url=https://127.0.0.1:$PACKAGE_TEST_PORT
token=$(cat "$work/root/var/lib/loyalty-hq/admin.token")
curl -sS --fail --cacert "$work/root/var/lib/loyalty-hq/tls/ca.pem" -H "Authorization: Bearer $token" "$url/metrics" |
  grep -qx 'loyalty_hq_members 1' || { echo "package-test: the service does not serve the data" >&2; exit 1; }
stop_boot
echo "package-test: booted and checked in $(( $(date +%s) - boot_start )) s; passed in $(( $(date +%s) - start )) s"
