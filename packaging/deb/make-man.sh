#!/usr/bin/env bash
# Writes a program's man page (gzip'd) from its --help and every sub-command's --help.
# Usage: make-man.sh BINDIR PROGRAM VERSION EXTRA.h2m OUT.1.gz
set -euo pipefail
bindir=$1 program=$2 version=$3 extra=$4 out=$5
export PATH="$bindir:$PATH"  # run by name, so the usage lines say the name and not a path

# The sub-commands listed under "Subcommands:" of `PROGRAM WORDS... --help`.
subcommands() {
  "$program" "$@" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ && seen {exit} on {seen = 1}'
}

roff() { sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\\&&/"; }

commands() {
  local sub
  for sub in $(subcommands "$@"); do
    local help
    help=$("$program" "$@" "$sub" --help)
    echo ".SS \"$program $* $sub\"" | sed 's/  */ /g'
    echo ".nf"
    # Drop the usage line's duplicate of the heading and the -h line every command has.
    printf '%s\n' "$help" | grep -v -e '^ *-h,--help ' | roff
    echo ".fi"
    commands "$@" "$sub"
  done
}

include=$(mktemp)
trap 'rm -f "$include" "$include.1"' EXIT
{
  echo "[COMMANDS]"
  commands
  cat "$extra"
} >"$include"

help2man --no-info --no-discard-stderr --version-string="$version" --section=1 \
  --include="$include" --output="$include.1" "$program"
gzip -9n <"$include.1" >"$out"
