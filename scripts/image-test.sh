#!/usr/bin/env bash
# Checks a built device image from the inside (docs/image.md): its partitions attached through
# loop devices and mounted as fstab says (root read-only, data partition, binds), then in a chroot
# (qemu-user for a foreign architecture): kiosk enabled, no SSH, the first boot step, the counter
# answering `loyalty-terminal exec` as its service user, and the USB-stick registration against
# a real head office on loopback (the build tree's loyalty-hq), refusals included.
#   image-test.sh IMAGE BUILD_DIR
set -euo pipefail
{ # read whole before running: editing this file cannot change a running build

built=$(realpath "$1")
build=$(realpath "$2")
hq_bin=$build/bin/loyalty-hq
[[ $(id -u) -eq 0 ]] || { echo "image-test: needs root (loop devices, mounts, chroot)" >&2; exit 1; }
[[ -x $hq_bin ]] || { echo "image-test: $hq_bin: not built" >&2; exit 1; }

work=$(mktemp -d)
mnt=$work/root
img=$work/image.img
loops=() mounts=() hq_pid=
failures=0
cleanup() {
  [[ -z $hq_pid ]] || kill "$hq_pid" 2>/dev/null || true
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME COMMAND...: one line per check, the run fails at the end if any failed
  local name=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    echo "ok   $name"
  else
    echo "FAIL $name"
    sed 's/^/     | /' "$work/check.out"
    failures=$((failures + 1))
  fi
}
in_root() { chroot "$mnt" "$@"; }
not() { ! "$@"; }
contains() { grep -q -- "$2" <<<"$1"; }
as_terminal() {  # loyalty-terminal as its service user with this device's key (the package's way)
  in_root /usr/lib/loyalty/terminal-run "$@"
}
attach() {  # attach PARTITION_NUMBER [--read-only]: $dev, a loop device over one partition of the image
  local start size
  read -r start size < <(sfdisk -J "$img" | python3 -c '
import json, sys
p = json.load(sys.stdin)["partitiontable"]
part = p["partitions"][int(sys.argv[1]) - 1]
print(part["start"] * p.get("sectorsize", 512), part["size"] * p.get("sectorsize", 512))' "$1")
  dev=$(losetup --find --show --offset "$start" --sizelimit "$size" ${2:+"$2"} "$img")
  loops+=("$dev")
}
fstab_field() { awk -v mp="$1" -v f="$2" '$1 !~ /^#/ && $2 == mp { print $f }' "$mnt/etc/fstab"; }

# [SECTION] Mount a copy as the device would: root read-only, data read-write, fstab's binds and
# tmpfs, /run a tmpfs as systemd makes it.
cp --sparse=always "$built" "$img"
attach 2 --read-only && root_dev=$dev
attach 3 && data_dev=$dev
attach 1 --read-only && esp_dev=$dev
mkdir -p "$mnt"
mount -o ro "$root_dev" "$mnt" && mounts+=("$mnt")
check "fstab mounts / read-only" contains ",$(fstab_field / 4)," ',ro,'
check "fstab's root is the root partition" test "$(fstab_field / 1)" = "UUID=$(blkid -s UUID -o value "$root_dev")"
check "fstab's /data is the data partition" test "$(fstab_field /data 1)" = "UUID=$(blkid -s UUID -o value "$data_dev")"
mount "$data_dev" "$mnt/data" && mounts+=("$mnt/data")
while read -r what where type opts _; do
  [[ $what != \#* && -n $what ]] || continue
  if [[ $opts == bind* ]]; then
    mount --bind "$mnt$what" "$mnt$where" && mounts+=("$mnt$where")
  elif [[ $type == tmpfs ]]; then
    mount -t tmpfs tmpfs "$mnt$where" && mounts+=("$mnt$where")
  fi
done < "$mnt/etc/fstab"
for fs in proc sys dev; do mount --rbind "/$fs" "$mnt/$fs" && mounts+=("$mnt/$fs"); done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$mnt/run" && mounts+=("$mnt/run")

# [SECTION] What the image holds.
check "root is read-only" not in_root touch /usr/.write-test
check "kiosk unit enabled" test "$(systemctl --root="$mnt" is-enabled loyalty-kiosk.service)" = enabled
check "first-boot unit enabled" test "$(systemctl --root="$mnt" is-enabled loyalty-image-firstboot.service)" = enabled
check "boots to the graphical target" test "$(systemctl --root="$mnt" get-default)" = graphical.target
check "no SSH server installed" not test -e "$mnt/usr/sbin/sshd"
for unit in ssh.service ssh.socket sshd.service; do
  check "$unit masked" test "$(systemctl --root="$mnt" is-enabled "$unit")" = masked
done
check "no at-rest key shipped in the image" test -z "$(find "$mnt/etc/loyalty/credentials" "$mnt/var/lib/loyalty-terminal" -name '*.key')"
check "loyalty-terminal package installed" in_root dpkg-query -W loyalty-terminal
entry=$(in_root mtype -i "$esp_dev" ::/loader/entries/loyalty.conf 2>/dev/null)
check "boot entry: read-only root by UUID" contains "$entry" "root=UUID=$(blkid -s UUID -o value "$root_dev") ro "
case $(in_root dpkg --print-architecture) in
  amd64) efi_name=BOOTX64.EFI ;;
  arm64) efi_name=BOOTAA64.EFI ;;
esac
check "EFI partition: loader, kernel, initrd" in_root mdir -i "$esp_dev" -b "::/EFI/BOOT/$efi_name" ::/vmlinuz ::/initrd.img

# [SECTION] First boot and the counter.
check "first boot creates this device's key" in_root /usr/lib/loyalty/image-firstboot
check "the key is 32 bytes, 0600, on the data partition" \
  test "$(stat -c '%s %a %U' "$mnt/data/credentials/terminal-at-rest.key")" = "32 600 root"
# [SECTION] Registration from a USB stick against a real head office on loopback.
hq=$work/hq
"$hq_bin" init --data "$hq" --host 127.0.0.1 > "$work/hq-init.out"
code=$("$hq_bin" terminal add --data "$hq" --store S001 --terminal T01)
"$hq_bin" serve --data "$hq" --listen 127.0.0.1:0 > "$work/hq-serve.out" 2> "$work/hq-serve.err" &
hq_pid=$!
for _ in $(seq 100); do grep -q '^listening on https://' "$work/hq-serve.out" && break; sleep 0.1; done
url=$(sed -n 's|^listening on \(https://[^ ]*\).*|\1|p' "$work/hq-serve.out" | head -n1)
[[ -n $url ]] || { echo "image-test: head office did not start"; cat "$work/hq-serve.err"; exit 1; }

stick_dir=$work/stick-files
make_stick() {  # make_stick: $stick, a USB stick stand-in (a file system on a loop device) holding stick_dir
  local file=$work/stick-${#loops[@]}.img
  truncate -s 8M "$file"
  mkfs.ext4 -q -F -d "$stick_dir" "$file"
  stick=$(losetup --find --show "$file")
  loops+=("$stick")
}
stick_says() {  # stick_says DEVICE REGEX: the result the registration wrote back on the stick
  local said
  said=$(debugfs -R "cat /LOYALTY-REGISTER-RESULT.TXT" "$1" 2>/dev/null)
  echo "the stick says: $said"
  grep -q -- "$2" <<<"$said"
}
mkdir -p "$stick_dir"
cp "$hq/tls/ca.pem" "$stick_dir/LOYALTY-CA.PEM"

printf 'hq = %s\nca = LOYALTY-CA.PEM\n' "$url" > "$stick_dir/LOYALTY-REGISTER.TXT"
make_stick
check "a request without a code is refused" not in_root /usr/lib/loyalty/image-register-usb "$stick"
check "the stick says why, naming the field" stick_says "$stick" '^error: LOYALTY-REGISTER.TXT: code: missing'
check "a refused request registers nothing" test ! -e "$mnt/var/lib/loyalty-image/registered"

printf 'hq = %s\nca = LOYALTY-CA.PEM\ncode = %s\ncolour = red\n' "$url" "$code" > "$stick_dir/LOYALTY-REGISTER.TXT"
make_stick
check "a request with an unknown field is refused" not in_root /usr/lib/loyalty/image-register-usb "$stick"
check "the stick names the unknown field and its line" stick_says "$stick" '^error: LOYALTY-REGISTER.TXT:4: colour: unknown field'
check "a refused stick is unmounted" not grep -q "^$stick " /proc/mounts

printf '# from head office\nhq = %s\nca = LOYALTY-CA.PEM\ncode = %s\n' "$url" "$code" > "$stick_dir/LOYALTY-REGISTER.TXT"
make_stick
check "the stick registers the terminal" in_root /usr/lib/loyalty/image-register-usb "$stick"
check "the stick says so" stick_says "$stick" "^ok: registered with $url"
check "the stick is unmounted afterwards" not grep -q "^$stick " /proc/mounts
in_root /usr/lib/loyalty/image-register-usb "$stick" > /dev/null 2>&1 || true
check "a second registration changes nothing" stick_says "$stick" '^refused: this terminal is already registered'

# [SECTION] The registered counter sells and syncs.
exec_out=$(printf '%s\n' '{"id":1,"op":"enroll","phone":"13812345678","name":"王小明","consent_marketing":true}' \
  '{"id":2,"op":"lookup","query":"5678"}' |
  as_terminal exec --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml 2>&1) || true
check "loyalty-terminal exec answers in the image" contains "$exec_out" '"id":2,"ok":true,"result":{"matches":\[{.*王小明'
check "the counter's data is on the data partition" test -s "$mnt/data/loyalty-terminal/terminal.db"

sync_out=$(as_terminal sync --data /var/lib/loyalty-terminal --config /etc/loyalty/terminal.toml --once 2>&1) || true
check "the enrolment reaches head office" contains "$sync_out" '"uploaded":[1-9]'

if [[ $failures -gt 0 ]]; then
  echo "image-test: $failures check(s) failed"
  exit 1
fi
echo "image-test: all checks passed"
exit
}
