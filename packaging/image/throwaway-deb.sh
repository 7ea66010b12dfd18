#!/usr/bin/env bash
# Test mode only: wraps the build tree's loyalty-terminal in a minimal .deb so the image can be
# built and tested before the real packages (make package) exist. Not a product package: no man
# page, no lintian, no units (the image build adds a stand-in kiosk unit when a package has none).
#   throwaway-deb.sh BUILD_DIR OUT_DIR
set -euo pipefail

build=$(realpath "$1")
out=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bin/loyalty-terminal
[[ -x $bin ]] || { echo "throwaway-deb: $bin: not built (cmake --build build --target loyalty-terminal)" >&2; exit 1; }

version=$(sed -n 's/^project(loyalty VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[[ -n $version ]] || { echo "throwaway-deb: no project version in CMakeLists.txt" >&2; exit 1; }
case $(readelf -h "$bin" | sed -n 's/^ *Machine: *//p') in
  *X86-64*) arch=amd64 ;;
  *AArch64*) arch=arm64 ;;
  *) echo "throwaway-deb: $bin: neither amd64 nor arm64" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
install -D -m 0755 "$bin" "$root/usr/bin/loyalty-terminal"
install -D -m 0644 "$src/packaging/config/terminal.example.toml" "$root/etc/loyalty/terminal.toml"
# Shared-library dependencies the Debian way (dpkg-shlibdeps wants a debian/control).
mkdir -p "$work/debian"
printf 'Source: loyalty\n\nPackage: loyalty-terminal\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e "$root/usr/bin/loyalty-terminal" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "throwaway-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: loyalty-terminal
Version: ${version}~imagetest
Architecture: $arch
Maintainer: Loyalty maintainers <loyalty@localhost>
Depends: $depends, cage, adduser, fonts-noto-cjk, libgl1-mesa-dri
Section: misc
Priority: optional
Description: loyalty counter terminal (image test build)
 Built by packaging/image/throwaway-deb.sh from a build tree; for image tests only.
CONTROL
echo /etc/loyalty/terminal.toml > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  adduser --system --group --home /var/lib/loyalty-terminal --no-create-home loyalty-terminal >/dev/null
  install -d -m 0700 -o loyalty-terminal -g loyalty-terminal /var/lib/loyalty-terminal /var/backups/loyalty-terminal
  install -d -m 0700 /etc/loyalty/credentials
  if [ ! -e /etc/loyalty/credentials/terminal-at-rest.key ]; then
    (umask 077; head -c 32 /dev/urandom > /etc/loyalty/credentials/terminal-at-rest.key)
  fi
fi
POSTINST
chmod 0755 "$root/DEBIAN/postinst"

mkdir -p "$out"
deb="$out/loyalty-terminal_${version}~imagetest_${arch}.deb"
dpkg-deb --root-owner-group -Zxz -b "$root" "$deb" >/dev/null
echo "$deb"
