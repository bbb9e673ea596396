#!/bin/sh
# Builds bench/parse_bench.c against build/libnudge.a and runs it: wall
# time per parse (median of 7 runs), then, when valgrind is installed,
# instructions per parse from callgrind, which a busy machine does not
# change. See docs/parsing.md for what the variants are and the numbers.
#
#	sh bench/parse_bench.sh			both
#	PARSE_BENCH_CALLGRIND=0 sh bench/parse_bench.sh	timing only
#	PARSE_BENCH_N=200			parses per callgrind run
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory all >/dev/null
LDLIBS=$(printf 'p:\n\t@echo $(LDLIBS)\n' | make --no-print-directory -f Makefile -f - p)
BIN=build/bench/parse_bench
mkdir -p build/bench
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -iquote include -o "$BIN" \
    bench/parse_bench.c build/libnudge.a $LDLIBS

BIG=../shared/fixtures/shopify/orders-create.json
SMALL=tests/fixtures/shopify/orders-create-small.json
if [ ! -r "$BIG" ]; then
	echo "parse_bench: $BIG is absent; using the cancelled-order fixture" >&2
	BIG=tests/fixtures/shopify/orders-cancelled.json
fi

echo "== time per parse"
"$BIN" "$BIG" "$SMALL"

[ "${PARSE_BENCH_CALLGRIND:-1}" = 1 ] || exit 0
if ! command -v valgrind >/dev/null 2>&1; then
	echo "parse_bench: no valgrind, no instruction counts" >&2
	exit 0
fi
N=${PARSE_BENCH_N:-100}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "== instructions per parse (callgrind, $N parses of the compacted body)"
for f in "$BIG" "$SMALL"; do
	for v in jansson-load jansson-order yajl-floor stream-order shopify-e2e; do
		valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" \
		    --toggle-collect=bench_one "$BIN" --one "$v" "$f" "$N" \
		    >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
		ir=$(awk '/^totals:/ { print $2 }' "$OUT/cg")
		printf '%-28s %-14s %10d Ir/parse\n' "$(basename "$f")" "$v" \
		    $((ir / N))
	done
done
