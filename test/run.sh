#!/usr/bin/env bash
# The whole test suite, unit and end-to-end (deno task test). Before any test runs, every program
# the tests spawn (sipp, tshark and the rest of test/prerequisites.tsv, suite "test") must be on
# PATH: test/prerequisites.sh installs what is missing, or stops with the line that installs it.
set -uo pipefail
cd "$(dirname "$0")/.."
deno_bin=$(command -v deno || echo node_modules/.bin/deno)

bash test/prerequisites.sh test || exit 1

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
