#!/usr/bin/env bash
# The packaged systemd units: no unknown or misspelt settings (systemd-analyze verify), and each
# service's exposure by `systemd-analyze security --offline=yes` at most 2.0 (prints the figures).
# Usage: units_test.sh UNIT_DIR
set -euo pipefail
dir=${1:?usage: units_test.sh UNIT_DIR}
status=0
shopt -s nullglob
units=("$dir"/*.service "$dir"/*.timer)
[[ ${#units[@]} -gt 0 ]] || { echo "units-test: no units in $dir" >&2; exit 1; }
for unit in "${units[@]}"; do
  # The programs are not installed here; every other complaint is a fault of the unit file.
  complaints=$(systemd-analyze verify --man=no "$unit" 2>&1 | grep -v -e 'is not executable' -e 'sysinit.target not found' || true)
  if [[ -n "$complaints" ]]; then
    echo "$complaints"
    status=1
  fi
done
for unit in "$dir"/*.service; do
  line=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1 | grep 'Overall exposure level' || true)
  echo "${line:-$unit: no exposure figure}"
  # --threshold is in tenths: 20 means an exposure of 2.0.
  if ! systemd-analyze security --offline=yes --threshold=20 --no-pager "$unit" >/dev/null 2>&1; then
    echo "units-test: $(basename "$unit") is exposed above 2.0" >&2
    status=1
  fi
done
exit $status
