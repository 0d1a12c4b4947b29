#!/bin/sh
# edgesbc @VERSION@ (commit @COMMIT@) on Deno @DENO@, packed by `deno task pack`.
#
# A self-extracting file: this script, then a gzip'd tar holding the Deno runtime, the bundled
# SBC (edgesbc.js) and their SHA256SUMS. The first run unpacks it into a per-user cache named by
# the payload's hash: into a temporary directory beside the final one, checked, then renamed into
# place, so the final directory is never half-written. Later runs start from there.
# Needs only sh, coreutils, findutils, tar and gzip. Cache: $EDGESBC_CACHE_DIR, else
# $XDG_CACHE_HOME/edgesbc, else $HOME/.cache/edgesbc, else ${TMPDIR:-/tmp}/edgesbc-$UID.
set -eu
payload_sha256=@PAYLOAD_SHA256@
payload_offset=@PAYLOAD_OFFSET@

fail() {
  echo "edgesbc: $*" >&2
  exit 1
}

if [ -n "${EDGESBC_CACHE_DIR:-}" ]; then
  cache=$EDGESBC_CACHE_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
  cache=$XDG_CACHE_HOME/edgesbc
elif [ -n "${HOME:-}" ] && [ "$HOME" != / ]; then
  cache=$HOME/.cache/edgesbc
else
  cache=${TMPDIR:-/tmp}/edgesbc-$(id -u)
fi
dir=$cache/$payload_sha256

unpacked() {
  [ -x "$dir/deno" ] && [ -f "$dir/edgesbc.js" ] && [ -d "$dir/deno-dir" ]
}

unpack() {
  mask=$(umask)
  umask 077
  mkdir -p "$cache" || fail "cannot create the cache directory $cache (set EDGESBC_CACHE_DIR)"
  # code is run from here: it must be ours alone
  [ -O "$cache" ] || fail "$cache belongs to another user; set EDGESBC_CACHE_DIR"
  # what runs killed while unpacking left behind
  find "$cache" -mindepth 1 -maxdepth 1 -name '.unpack-*' -mmin +60 -exec rm -rf {} + || :
  tmp=$(mktemp -d "$cache/.unpack-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 1' HUP INT TERM
  tail -c +"$payload_offset" "$0" >"$tmp/payload.tar.gz"
  echo "$payload_sha256  $tmp/payload.tar.gz" | sha256sum -c --status ||
    fail "$0 is damaged (its payload does not match its checksum): copy it again"
  mkdir "$tmp/root"
  tar -xzf "$tmp/payload.tar.gz" -C "$tmp/root" --no-same-owner
  (cd "$tmp/root" && sha256sum -c --quiet --strict SHA256SUMS >/dev/null) ||
    fail "the files unpacked into $tmp do not match their checksums"
  mkdir "$tmp/root/deno-dir"
  # a directory without the files was not put there by a launcher (they rename whole directories)
  if [ -e "$dir" ] && ! unpacked; then mv -T "$dir" "$tmp/incomplete" || :; fi
  # the rename is atomic; a concurrent first run that won it leaves its directory to us
  mv -T "$tmp/root" "$dir" 2>/dev/null || unpacked || fail "cannot rename $tmp/root to $dir"
  rm -rf "$tmp"
  trap - EXIT HUP INT TERM
  umask "$mask"
}

unpacked || unpack

# Deno's own caches stay in the unpacked directory; nothing is fetched, nothing is asked.
export DENO_DIR="$dir/deno-dir" DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
exec "$dir/deno" run --no-config --no-lock --no-remote --no-npm --cached-only --no-prompt \
  --unstable-net @PERMISSIONS@ \
  "$dir/edgesbc.js" "$@"
exit 1
