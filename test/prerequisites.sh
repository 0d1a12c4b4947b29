#!/usr/bin/env bash
# Installs the programs a suite spawns: `bash test/prerequisites.sh test|bench`. The programs and
# their Debian packages are listed once, in test/prerequisites.tsv. What is missing is installed
# when this user can (root or passwordless sudo); otherwise it stops, exit 1, with the one line
# that installs them all. test/run.sh runs it for "test", `deno task bench` for "bench".
set -uo pipefail
cd "$(dirname "$0")/.."

# "program package" for each missing program of the given suite
missing_prerequisites() {
  local suite=$1 program package row_suite _
  while IFS=$'\t' read -r program package row_suite _; do
    [[ -z "$program" || "$program" == \#* || "$row_suite" != "$suite" ]] && continue
    # A path (a glob) names a file a program loads (a module, a shared library), not a command.
    if [[ "$program" == /* ]]; then
      compgen -G "$program" >/dev/null || echo "$program $package"
    else
      command -v "$program" >/dev/null 2>&1 || echo "$program $package"
    fi
  done <test/prerequisites.tsv
}

install_missing() {
  local suite=$1 missing packages
  missing=$(missing_prerequisites "$suite")
  [ -z "$missing" ] && return 0
  packages=$(cut -d' ' -f2 <<<"$missing" | sort -u | tr '\n' ' ')
  echo "$suite prerequisites missing: $(cut -d' ' -f1 <<<"$missing" | tr '\n' ' ')" >&2
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    echo "installing Debian packages: $packages" >&2
    $sudo apt-get update -qq >&2 &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  fi
  missing=$(missing_prerequisites "$suite")
  if [ -n "$missing" ]; then
    echo "The $suite suite needs $(cut -d' ' -f1 <<<"$missing" | tr '\n' ' ' | sed 's/ $//')." \
      "Install them with: sudo apt-get install -y $packages" >&2
    exit 1
  fi
}

install_missing "${1:?usage: test/prerequisites.sh test|bench}"
