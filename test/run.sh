#!/usr/bin/env bash
# The whole test suite, unit and end-to-end (deno task test). Before any test runs, every program
# the tests spawn (test/prerequisites.tsv, suite "test") must be on PATH: what is missing is
# installed from Debian's packages when this user can (root or passwordless sudo); otherwise the run
# stops with the one line that installs them all.
set -uo pipefail
cd "$(dirname "$0")/.."
deno_bin=$(command -v deno || echo node_modules/.bin/deno)

# "program package" for each missing program of the given suite
missing_prerequisites() {
  local suite=$1 program package row_suite _
  while IFS=$'\t' read -r program package row_suite _; do
    [[ -z "$program" || "$program" == \#* || "$row_suite" != "$suite" ]] && continue
    command -v "$program" >/dev/null 2>&1 || echo "$program $package"
  done <test/prerequisites.tsv
}

install_missing() {
  local missing packages
  missing=$(missing_prerequisites test)
  [ -z "$missing" ] && return 0
  packages=$(cut -d' ' -f2 <<<"$missing" | sort -u | tr '\n' ' ')
  echo "test prerequisites missing: $(cut -d' ' -f1 <<<"$missing" | tr '\n' ' ')" >&2
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    echo "installing Debian packages: $packages" >&2
    $sudo apt-get update -qq >&2 &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  fi
  missing=$(missing_prerequisites test)
  if [ -n "$missing" ]; then
    echo "The tests need $(cut -d' ' -f1 <<<"$missing" | tr '\n' ' ' | sed 's/ $//')." \
      "Install them with: sudo apt-get install -y $packages" >&2
    exit 1
  fi
}

install_missing

log=$(mktemp)
# --doc also runs the @example blocks of the source folders (none of them holds a test file).
"$deno_bin" test --allow-all --trace-leaks --doc test/ config/ rtp/ sbc/ 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# deno prints "ok | 12 passed | 0 failed (3s)"; repeat it in the plain form CI summaries read.
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
if [ -n "$summary" ]; then
  passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
  echo "tests: $passed passed, $failed failed"
fi
rm -f "$log"
exit "$rc"
