#!/bin/sh
# Installs the Debian packages nudge needs to build, run and test, when
# they are missing. Needs root (or sudo). Idempotent and quiet when done.
# Fuzzing (make fuzz) needs clang, its sanitizer and libFuzzer runtimes
# (libclang-rt-14-dev, only a Recommends of clang) and llvm-14, whose
# llvm-symbolizer gives the fuzzers' reports function names and lines.
PKGS="build-essential pkg-config libevent-dev libcurl4-openssl-dev libjansson-dev
libhiredis-dev libssl-dev libyajl-dev redis-server libcmocka-dev python3 python3-pytest
python3-redis python3-requests python3-yaml python3-jsonschema tzdata
clang libclang-rt-14-dev llvm-14"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
