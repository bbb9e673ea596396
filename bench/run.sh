#!/bin/sh
# make bench: nudge's benchmarks, each figure next to a baseline measured in
# the same run, medians of several runs, then a summary table for the README.
# BENCH_QUICK=1 for a ~3-minute smoke version; see bench/README.md.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
for t in wrk redis-server cc; do
	command -v "$t" >/dev/null 2>&1 && continue
	echo "bench: installing $t" >&2
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	pkg=$t
	[ "$t" = cc ] && pkg=build-essential
	[ -n "${updated:-}" ] || { $SUDO apt-get update -qq || true; updated=1; }
	$SUDO apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
done
ulimit -n 65536 2>/dev/null || ulimit -n 20000 2>/dev/null || true
exec /usr/bin/python3 bench/bench.py "$@"
