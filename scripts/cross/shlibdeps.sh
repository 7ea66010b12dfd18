#!/usr/bin/env bash
# dpkg-shlibdeps for programs cross-built against the arm64 sysroot (scripts/cross/sysroot.sh):
# the dependencies of their shared libraries, from the shlibs files of the sysroot's packages.
# dpkg-shlibdeps itself looks libraries up in the build machine's dpkg database, which holds no
# arm64 packages. CPack's DEB generator calls this in its place in a cross build
# (cmake/toolchains/cross_packaging.cmake) the way it calls dpkg-shlibdeps:
#
#   shlibdeps.sh --sysroot=DIR [-lDIR...] [--ignore-missing-info] -O FILE...
#
# and gets `shlibs:Depends=pkg (>= v), ...` on stdout.
set -euo pipefail

sysroot=
ignore_missing=0
files=()
for a in "$@"; do
  case "$a" in
    --version) echo "shlibdeps.sh (arm64 sysroot) standing in for dpkg-shlibdeps version 1.21.0"; exit 0 ;;
    --help) echo "usage: shlibdeps.sh --sysroot=DIR [-lDIR...] [--ignore-missing-info] -O FILE..."; exit 0 ;;
    --sysroot=*) sysroot=${a#--sysroot=} ;;
    --ignore-missing-info) ignore_missing=1 ;;
    -O|-l*|-e*) [[ "$a" == -e?* ]] && files+=("${a#-e}") ;;
    -*) echo "shlibdeps.sh: unknown option $a" >&2; exit 2 ;;
    *) files+=("$a") ;;
  esac
done
[[ -n "$sysroot" ]] || { echo "shlibdeps.sh: --sysroot=DIR is required" >&2; exit 2; }
control="$sysroot/var/lib/loyalty-sysroot/control"
[[ -d "$control" ]] || { echo "shlibdeps.sh: $control is missing: remake the sysroot (scripts/cross/sysroot.sh)" >&2; exit 1; }
readelf=$(command -v aarch64-linux-gnu-readelf || command -v readelf)

shlibs=$(cat "$control"/*/shlibs 2>/dev/null | grep -v '^udeb:' || true)
declare -A best  # package -> "(>= version)" or ""
status=0
for f in "${files[@]}"; do
  while read -r soname; do
    if [[ "$soname" =~ ^(.*)\.so\.([0-9].*)$ ]]; then name=${BASH_REMATCH[1]}; ver=${BASH_REMATCH[2]}
    elif [[ "$soname" =~ ^(.*)-([0-9][0-9.]*)\.so$ ]]; then name=${BASH_REMATCH[1]}; ver=${BASH_REMATCH[2]}
    else name=$soname; ver=; fi
    dep=$(awk -v n="$name" -v v="$ver" '$1 == n && $2 == v { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' <<<"$shlibs")
    if [[ -z "$dep" ]]; then
      echo "shlibdeps.sh: no shlibs entry in the sysroot for $soname (needed by $f)" >&2
      [[ $ignore_missing == 1 ]] || status=1
      continue
    fi
    # A shlibs dependency may list alternatives or several packages; each "pkg (op v)" counts.
    IFS=',' read -ra parts <<<"$dep"
    for part in "${parts[@]}"; do
      part=$(sed 's/^ *//; s/ *$//' <<<"$part")
      pkg=${part%% *}
      constraint=
      [[ "$part" == *"("* ]] && constraint="(${part#*(}"
      if [[ -z "${best[$pkg]+set}" ]]; then best[$pkg]=$constraint; continue; fi
      old=${best[$pkg]}
      if [[ -n "$constraint" ]]; then
        oldv=$(sed -n 's/^(>= *\(.*\))$/\1/p' <<<"$old"); newv=$(sed -n 's/^(>= *\(.*\))$/\1/p' <<<"$constraint")
        if [[ -z "$old" ]] || { [[ -n "$oldv" && -n "$newv" ]] && dpkg --compare-versions "$newv" gt "$oldv"; }; then
          best[$pkg]=$constraint
        fi
      fi
    done
  done < <("$readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
done
[[ $status == 0 ]] || exit $status

out=()
for pkg in $(printf '%s\n' "${!best[@]}" | sort); do
  out+=("$pkg${best[$pkg]:+ ${best[$pkg]}}")
done
(IFS=','; echo "shlibs:Depends=$(printf '%s, ' "${out[@]}" | sed 's/, $//')")
