#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need, only if missing.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git ccache
  # libraries
  libsqlite3-dev sqlite3 nlohmann-json3-dev catch2 libcli11-dev libspdlog-dev
  libtomlplusplus-dev libcurl4-openssl-dev libssl-dev openssl zlib1g-dev
  libcpp-httplib-dev libpq-dev postgresql libsodium-dev libqrencode-dev libxlsxwriter-dev
  libimgui-dev libfreetype-dev libsdl2-dev libbenchmark-dev fonts-noto-cjk
  libphonenumber-dev libprotobuf-dev libhowardhinnant-date-dev libkainjow-mustache-dev
  # head office's allocator (apps/CMakeLists.txt, docs/operations.md "Memory allocator")
  libjemalloc-dev
  # the counter's on-screen pinyin keyboard (engine and its dictionary; ui/src/pinyin_engine.cpp)
  libgooglepinyin0-dev
  # the pinyin table's source (Unihan readings; scripts/gen_pinyin_table.py, test pinyin_table_current)
  unicode-data
  # tests and demo tooling
  xvfb xdotool imagemagick procps python3
  # the counter app under Xvfb renders with Mesa's software rasteriser (llvmpipe)
  libgl1-mesa-dri
  # kiosk tests (tests/kiosk): weston's kiosk shell + screenshooter, cage (with Xwayland), OCR
  weston cage xwayland tesseract-ocr tesseract-ocr-chi-sim
  # fleet update test: head office's admin routes asked with curl (dpkg-deb comes with dpkg)
  curl
  # head-office dashboard test (headless)
  chromium
  # Debian packages (make package): man pages, lintian, unit checks (systemd-analyze)
  help2man lintian systemd
  # make package-test: a clean Debian 12 root to install the packages into, booted with systemd-nspawn
  mmdebstrap curl systemd-container
  # fuzzing: clang with libFuzzer and the sanitizers (make fuzz; a few seconds each in make test)
  clang libclang-rt-14-dev
  # arm64 cross build and its tests (make arm64, make test-arm64): cross compilers, qemu-user,
  # mmdebstrap to unpack the arm64 sysroot from Debian's archive
  crossbuild-essential-arm64 qemu-user-static mmdebstrap
  # device image (make image, make image-test; docs/image.md): arm64 through qemu-user
  fdisk e2fsprogs dpkg-dev binfmt-support
  # make package-test ARCH=arm64: mmdebstrap checks the foreign architecture runs (qemu-user)
  arch-test
  # network fault tests (tests/net): namespaces and veth (ip), nft rules, nsenter
  iproute2 nftables util-linux
  # the customer display's QR e-card decoded back off the screen (tests/ui/test_customer_display_e2e.cpp)
  zbar-tools
  # clock faults: the terminal's clock jumped back and forward under libfaketime (tests/e2e/test_clock_jumps.cpp)
  faketime
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: missing packages (${missing[*]}) and not root; install them and retry" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
