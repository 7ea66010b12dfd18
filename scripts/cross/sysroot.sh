#!/usr/bin/env bash
# Builds the arm64 sysroot the cross build compiles and links against, and that qemu-user runs
# the arm64 programs and tests in: Debian 12's arm64 -dev packages (with their dependencies)
# unpacked into DIR by mmdebstrap's "extract" variant. Nothing is installed on the build machine
# itself (libpq-dev, for one, cannot be installed beside its amd64 twin).
#
#   scripts/cross/sysroot.sh DIR
#
# Idempotent: does nothing when DIR was made from the same package list. Needs mmdebstrap and
# Debian's package archive (LOYALTY_DEBIAN_MIRROR overrides mmdebstrap's default mirror).
set -euo pipefail

dir=${1:?usage: sysroot.sh DIR}

# The target's libraries: everything the top-level CMakeLists finds, so the tree configures
# unchanged (terminal, UI and head office alike); only the targets asked for get built.
packages=(
  # C and C++ runtime and headers
  libc6-dev libstdc++-12-dev
  # terminal, core, db, sync
  libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev libsodium-dev libphonenumber-dev libprotobuf-dev
  libhowardhinnant-date-dev catch2 tzdata
  # head office
  libcpp-httplib-dev libbrotli-dev libpq-dev libxlsxwriter-dev libqrencode-dev libkainjow-mustache-dev
  libjemalloc-dev
  # the counter app
  libimgui-dev libfreetype-dev libsdl2-dev libgl-dev libgooglepinyin0-dev
)

stamp="$dir/.loyalty-sysroot"
layout=2  # raise when what this script leaves in DIR changes
want=$({ echo "layout $layout"; printf '%s\n' "${packages[@]}" | sort; } | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

command -v mmdebstrap >/dev/null || { echo "sysroot: mmdebstrap is missing (packaging/install-deps.sh)" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
include=$(IFS=,; echo "${packages[*]}")
mirror=()
[[ -n "${LOYALTY_DEBIAN_MIRROR:-}" ]] && mirror=("$LOYALTY_DEBIAN_MIRROR")
echo "sysroot: unpacking ${#packages[@]} arm64 packages and their dependencies into $dir" >&2
# Each package's control files (shlibs, symbols) are kept under var/lib/loyalty-sysroot/control:
# scripts/cross/shlibdeps.sh reads them to compute the arm64 packages' dependencies.
keep_control='for deb in "$1"/var/cache/apt/archives/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package); mkdir -p "$1/var/lib/loyalty-sysroot/control"
  dpkg-deb -e "$deb" "$1/var/lib/loyalty-sysroot/control/$pkg"; done'
mmdebstrap --quiet --variant=extract --architectures=arm64 --include="$include" \
  --extract-hook="$keep_control" bookworm "$dir" "${mirror[@]}" </dev/null

# Absolute symbolic links (libfoo.so -> /lib/...) would point into the build machine's own
# root: make them relative to the sysroot.
find "$dir" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  rel=$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")
  ln -sfn "$rel" "$link"
done

echo "$want" > "$stamp"
