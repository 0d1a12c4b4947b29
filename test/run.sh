#!/usr/bin/env bash
# The whole test suite, unit and end-to-end (deno task test). The end-to-end tests need sipp:
# it is installed when this user can, otherwise the run fails with the line that installs it.
set -uo pipefail
cd "$(dirname "$0")/.."
deno_bin=$(command -v deno || echo node_modules/.bin/deno)

if ! command -v sipp >/dev/null 2>&1; then
  echo "sipp not found; installing Debian package sip-tester" >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null
  fi
  if ! command -v sipp >/dev/null 2>&1; then
    echo "The end-to-end tests need sipp. Install it with: sudo apt-get install sip-tester" >&2
    exit 1
  fi
fi

log=$(mktemp)
"$deno_bin" test --allow-all --trace-leaks test/ 2>&1 | tee "$log"
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
