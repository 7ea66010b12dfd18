#!/usr/bin/env bash
# Builds the counter device's disk image (docs/image.md): Debian 12 by mmdebstrap from the
# archive this machine's apt already uses, the loyalty-terminal package, the kiosk enabled, no
# SSH, a read-only root and the data on its own partition, first-boot registration from a USB
# stick. Runs as root (mmdebstrap's root mode, device nodes, file ownership).
#   image-build.sh --arch amd64|arm64 --out DIR (--packages DIR | --deb FILE.deb ...) [--release-key FILE] [--cache DIR] [--data-mib N]
#                  [--data-mib N] [--cache DIR]
# Output: DIR/loyalty-terminal-ARCH.img (GPT: EFI system partition, root, data), DIR/rootfs
# (the tree the root filesystem was made from, kept for image-test.sh), DIR/build-info.txt.
set -euo pipefail
{ # read whole before running: editing this file cannot change a running build

src=$(cd "$(dirname "$0")/.." && pwd)
arch= out= packages_dir= cache= data_mib=256 release_key=
debs=()
die() { echo "image-build: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --deb) debs+=("$(realpath "${2:?--deb needs a file}")"); shift 2 ;;
    --packages) packages_dir=${2:-}; shift 2 ;;
    --data-mib) data_mib=${2:-}; shift 2 ;;
    --cache) cache=${2:-}; shift 2 ;;
    --release-key) release_key=$(realpath "${2:?--release-key needs a file}"); shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
case $arch in
  amd64) efi_name=BOOTX64.EFI efi_stub=systemd-bootx64.efi root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 ;;
  arm64) efi_name=BOOTAA64.EFI efi_stub=systemd-bootaa64.efi root_type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE ;;
  *) die "--arch: amd64 or arm64, not '$arch'" ;;
esac
[[ -n $out ]] || die "--out: the output directory is required"
[[ $data_mib =~ ^[0-9]+$ && $data_mib -ge 64 ]] || die "--data-mib: a whole number of MiB, at least 64"
[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap root mode, device files, file owners)"
for tool in mmdebstrap sfdisk mkfs.ext4 apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool: not installed (packaging/install-deps.sh)"
done
if [[ $arch != "$(dpkg --print-architecture)" && ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  die "--arch $arch: foreign binaries need qemu-user-static registered with binfmt_misc (docs/image.md)"
fi

mkdir -p "$out"
out=$(realpath "$out")
if [[ -n $packages_dir ]]; then  # make package's output: the newest loyalty-terminal for this arch
  newest=$(ls "$packages_dir"/loyalty-terminal_*_"$arch".deb 2>/dev/null | sort -V | tail -n1)
  [[ -n $newest ]] || die "--packages: no loyalty-terminal_*_$arch.deb in $packages_dir (make package ARCH=$arch)"
  debs+=("$(realpath "$newest")")
fi
[[ ${#debs[@]} -gt 0 ]] || die "give the packages: --packages DIR or --deb FILE.deb (make package)"
for deb in "${debs[@]}"; do
  deb_arch=$(dpkg-deb -f "$deb" Architecture) || die "$deb: not a Debian package"
  [[ $deb_arch == "$arch" || $deb_arch == all ]] || die "$deb: built for $deb_arch, not $arch"
done

# [SECTION] Debian's archive as this machine's apt sees it (no mirror is written in here).
sources=$(apt-get indextargets --format '$(ORIGIN) $(TARGET_OF) $(IDENTIFIER) $(REPO_URI) $(RELEASE) $(COMPONENT)' |
  awk '$1 == "Debian" && $2 == "deb" && $3 == "Packages" && $5 ~ /^bookworm/ { print "deb " $4 " " $5 " " $6 }' |
  sort -u)
[[ -n $sources ]] || die "apt knows no Debian 12 (bookworm) source: configure one and run apt-get update"
aptopts=()
# A host that accepts expired Release files (an archive snapshot) needs the same for the image.
eval "$(apt-config shell check_valid Acquire::Check-Valid-Until)"
[[ ${check_valid:-} != false ]] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')

rootfs=$out/rootfs
rm -rf "$rootfs" "$out/parts"
mkdir -p "$out/parts"
started=$(date +%s)

# The kiosk's compositor and Mesa's drivers are the device's, whatever the package recommends.
packages=(systemd-sysv udev dbus kmod e2fsprogs dosfstools mtools "linux-image-$arch" initramfs-tools
  systemd-boot-efi systemd-resolved systemd-timesyncd iproute2 ca-certificates cage libgl1-mesa-dri)
hooks=()
# Our packages come from a local flat repository (apt resolves their dependencies from Debian's
# archive; mmdebstrap's automount hook makes it visible inside the tree), which the finished
# image does not keep in its sources.
repo=$out/repo
rm -rf "$repo"
mkdir -p "$repo"
cp "${debs[@]}" "$repo/"
(cd "$repo" && dpkg-scanpackages --multiversion . > Packages 2>/dev/null)
sources+=$'\n'"deb [trusted=yes] file://$repo ./"
names=$(for deb in "${debs[@]}"; do dpkg-deb -f "$deb" Package; done | sort -u | paste -sd,)
hooks+=(--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount --include="$names")
hooks+=(--customize-hook='sed -i "/^deb \[trusted=yes\] file:/d" "$1/etc/apt/sources.list"')
# ...nor the empty directories the automount hook mounted it on.
hooks+=(--customize-hook="d=\"\$1$repo\"; while [ \"\$d\" != \"\$1\" ] && rmdir \"\$d\" 2>/dev/null; do d=\$(dirname \"\$d\"); done")
# The at-rest key a package made at install would be the same on every device: each makes its own.
hooks+=(--customize-hook='rm -f "$1"/etc/loyalty/credentials/terminal-at-rest.key "$1"/var/lib/loyalty-terminal/at-rest.key')
if [[ -n $cache ]]; then  # downloaded packages kept between builds (mmdebstrap's documented recipe)
  mkdir -p "$cache/$arch"
  cache=$(realpath "$cache")
  hooks+=(--skip=essential/unlink
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives' --setup-hook="sync-in $cache/$arch /var/cache/apt/archives"
    --customize-hook="sync-out /var/cache/apt/archives $cache/$arch")
fi

echo "$sources" | mmdebstrap --mode=root --variant=minbase --architectures="$arch" --format=directory \
  "${aptopts[@]}" --include="$(IFS=,; echo "${packages[*]}")" "${hooks[@]}" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$rootfs" - >&2

# [SECTION] Device configuration on the tree (nothing here runs the image's programs).
cp -a "$src/packaging/image/overlay/." "$rootfs/"
echo loyalty-terminal > "$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tloyalty-terminal\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$rootfs/etc/hosts"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
: > "$rootfs/etc/machine-id"  # empty on a read-only root: systemd gives each boot one

[[ -e $rootfs/lib/systemd/system/loyalty-kiosk.service ]] || die "the loyalty-terminal package ships no loyalty-kiosk.service"
# Fleet updates (docs/fleet-updates.md): head office's release key, when given, is the one the
# updater trusts; the installed package is kept so that the first update can be rolled back; the
# root is remounted read-write only while the updater runs dpkg.
if [[ -n $release_key ]]; then
  install -m 0644 "$release_key" "$rootfs/etc/loyalty/release.pub"
fi
for deb in "${debs[@]}"; do
  if [[ $(dpkg-deb -f "$deb" Package) == loyalty-terminal ]]; then
    kept=$rootfs/var/lib/loyalty-update/packages
    mkdir -p "$kept" && chmod 0700 "$rootfs/var/lib/loyalty-update"
    install -m 0600 "$deb" "$kept/loyalty-terminal_$(dpkg-deb -f "$deb" Version | tr : %)_$arch.deb"
  fi
done
mkdir -p "$rootfs/etc/systemd/system/loyalty-terminal-update.service.d"
printf '[Service]\nExecStartPre=+/bin/mount -o remount,rw /\nExecStopPost=+/bin/mount -o remount,ro /\n' \
  > "$rootfs/etc/systemd/system/loyalty-terminal-update.service.d/read-only-root.conf"
systemctl --root="$rootfs" set-default graphical.target >/dev/null
systemctl --root="$rootfs" enable loyalty-kiosk.service loyalty-image-firstboot.service \
  systemd-networkd.service systemd-resolved.service systemd-timesyncd.service >/dev/null 2>&1
# No remote shell on a counter, even if a later package brings one; tty1 belongs to the kiosk.
for unit in ssh.service ssh.socket sshd.service getty@tty1.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done

# What a running device writes lives on the data partition, bound into place by fstab.
root_uuid=$(cat /proc/sys/kernel/random/uuid)
data_uuid=$(cat /proc/sys/kernel/random/uuid)
esp_serial=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ' | tr a-f A-F)
data=$out/parts/data-tree
mkdir -p "$data" "$rootfs/data"
binds=(loyalty-terminal:/var/lib/loyalty-terminal backups:/var/backups/loyalty-terminal
  credentials:/etc/loyalty/credentials log:/var/log systemd:/var/lib/systemd image-state:/var/lib/loyalty-image
  update:/var/lib/loyalty-update)
{
  echo "# Read-only root; what changes lives on the data partition (docs/image.md)."
  echo "UUID=$root_uuid / ext4 ro,noatime,errors=remount-ro 0 1"
  echo "UUID=$data_uuid /data ext4 rw,noatime,nosuid,nodev,x-systemd.growfs 0 2"
  echo "UUID=${esp_serial:0:4}-${esp_serial:4:4} /boot/efi vfat ro,noauto,nofail,umask=0077 0 0"
  echo "tmpfs /tmp tmpfs rw,nosuid,nodev,mode=1777,size=20% 0 0"
  echo "tmpfs /var/tmp tmpfs rw,nosuid,nodev,mode=1777,size=10% 0 0"
  for b in "${binds[@]}"; do
    echo "/data/${b%%:*} ${b#*:} none bind,x-systemd.requires-mounts-for=/data 0 0"
  done
} > "$rootfs/etc/fstab"
mkdir -p "$rootfs/boot/efi"
for b in "${binds[@]}"; do
  name=${b%%:*} path=$rootfs${b#*:}
  mkdir -p "$path"
  cp -a "$path/." "$data/$name" 2>/dev/null || mkdir -p "$data/$name"
  chown --reference="$path" "$data/$name"
  chmod --reference="$path" "$data/$name"
  find "$path" -mindepth 1 -delete
done
chmod 0700 "$data/credentials" "$data/image-state" "$data/update"

# [SECTION] Partitions: EFI system partition (systemd-boot, kernel, initrd), root, data.
kernel=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$rootfs"/boot/initrd.img-* | sort -V | tail -n1)
esp_mib=256
esp_tree=$out/parts/esp-tree
mkdir -p "$esp_tree/EFI/BOOT" "$esp_tree/loader/entries"
cp "$rootfs/usr/lib/systemd/boot/efi/$efi_stub" "$esp_tree/EFI/BOOT/$efi_name"
cp "$kernel" "$esp_tree/vmlinuz"
cp "$initrd" "$esp_tree/initrd.img"
# No boot menu and no editor: the kernel command line of a counter is not for passers-by.
printf 'default loyalty.conf\ntimeout 0\neditor no\n' > "$esp_tree/loader/loader.conf"
printf 'title Loyalty counter\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=UUID=%s ro rootfstype=ext4 quiet\n' \
  "$root_uuid" > "$esp_tree/loader/entries/loyalty.conf"
# mtools from the image itself fills the FAT file system: the build host needs no vfat driver.
esp_img=$rootfs/tmp/esp.img
truncate -s "${esp_mib}M" "$esp_img"
chroot "$rootfs" mkfs.vfat -F 32 -n ESP -i "$esp_serial" /tmp/esp.img >/dev/null
mkdir -p "$rootfs/tmp/esp-tree"
cp -r "$esp_tree/." "$rootfs/tmp/esp-tree/"
chroot "$rootfs" sh -c 'cd /tmp/esp-tree && mcopy -s -i /tmp/esp.img EFI loader vmlinuz initrd.img ::/'
mv "$esp_img" "$out/parts/esp.img"
rm -rf "$rootfs/tmp/esp-tree"

root_mib=$(( $(du -sm --apparent-size "$rootfs" | cut -f1) * 115 / 100 + 64 ))
mkfs.ext4 -q -F -L loyalty-root -U "$root_uuid" -d "$rootfs" -m 0 "$out/parts/root.img" "${root_mib}M"
mkfs.ext4 -q -F -L loyalty-data -U "$data_uuid" -d "$data" "$out/parts/data.img" "${data_mib}M"

img=$out/loyalty-terminal-$arch.img
total_mib=$((1 + esp_mib + root_mib + data_mib + 1))
rm -f "$img"
truncate -s "${total_mib}M" "$img"
sfdisk -q "$img" <<PARTS
label: gpt
start=1MiB, size=${esp_mib}MiB, type=U, name=ESP
size=${root_mib}MiB, type=$root_type, name=loyalty-root
size=${data_mib}MiB, type=L, name=loyalty-data
PARTS
dd if="$out/parts/esp.img" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$out/parts/root.img" of="$img" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
dd if="$out/parts/data.img" of="$img" bs=1M seek=$((1 + esp_mib + root_mib)) conv=notrunc,sparse status=none
rm -rf "$out/parts"

elapsed=$(( $(date +%s) - started ))
{
  echo "arch $arch"
  echo "image $img"
  echo "build_seconds $elapsed"
  echo "image_mib $total_mib"
  echo "image_allocated_mib $(du -sm "$img" | cut -f1)"
  echo "root_mib $root_mib"
  echo "esp_mib $esp_mib"
  echo "data_mib $data_mib"
  echo "packages ${debs[*]##*/}"
} | tee "$out/build-info.txt"
exit
}
