#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30). Exits non-zero
# when a target finds a crash, a leak, a sanitizer report or a
# timeout (every target still runs), printing for each failure the
# report, the reproducer's path, its bytes (base64, so a CI log is enough
# to get it back) and how to replay it.
#
#	FUZZ_SECONDS=60 FUZZ_JOBS=2 make fuzz	(CI, .ci/run)
#	sh tests/fuzz/run.sh render sig	only these targets
#	FUZZ_BUILD_ONLY=1 sh tests/fuzz/run.sh	build, do not run
#	FUZZ_JOBS=2				targets run side by side (default 1)
#
# New interesting inputs go to a temporary working corpus seeded from the
# committed tests/fuzz/corpus/<target>/ and are thrown away at the end;
# only reproducers of failures are kept, in build-fuzz/artifacts/<target>/,
# with the failing target's whole log (fuzz.log).
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)

CC=${FUZZ_CC:-clang}
SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-1}
OUT=build-fuzz

# -max_len per target: the largest input that still makes sense for it.
max_len() {
	case "$1" in
	sig)		echo 512 ;;
	shopify_stream)	echo 16384 ;;	# orders are the largest bodies
	render)		echo 8192 ;;
	flows)		echo 8192 ;;
	cartflows)	echo 4096 ;;
	*)		echo 8192 ;;	# the JSON platforms: bodies plus a header block
	esac
}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
mkdir -p "$OUT/src" "$OUT/targets" "$OUT/artifacts"
# libFuzzer and the sanitizer runtimes are a separate Debian package.
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
    > "$OUT/probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined -o "$OUT/probe" "$OUT/probe.c" 2>"$OUT/probe.log"; then
	cat "$OUT/probe.log" >&2
	echo "fuzz: $CC cannot link libFuzzer with ASan/UBSan (Debian: apt-get install libclang-rt-14-dev)" >&2
	exit 2
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g $SAN -Wall -Wextra -iquote include -iquote $OUT"
# The libraries are the Makefile's, so a new dependency needs no edit here.
LDLIBS=$(printf 'fuzz-print-ldlibs:\n\t@echo $(LDLIBS)\n' |
    make -s --no-print-directory -f Makefile -f - fuzz-print-ldlibs)

# The library, instrumented for coverage (fuzzer-no-link) and sanitizers.
# Rebuilt when any source, header or script is newer than the archive.
LIB="$OUT/libnudge-fuzz.a"
newest=$(ls -t src/*.c src/lua/*.lua include/*.h scripts/lua2c.sh tests/fuzz/run.sh | head -n 1)
if [ ! -f "$LIB" ] || [ "$newest" -nt "$LIB" ]; then
	echo "fuzz: building $LIB"
	sh scripts/lua2c.sh src/lua/*.lua > "$OUT/lua_scripts.h.tmp"
	mv "$OUT/lua_scripts.h.tmp" "$OUT/lua_scripts.h"
	rm -f "$OUT"/src/*.o
	# One compiler per core; a failure of any shows and stops the run.
	export FUZZ_CC="$CC" FUZZ_CFLAGS="$CFLAGS" FUZZ_OUT="$OUT"
	# shellcheck disable=SC2016,SC2086
	printf '%s\n' src/*.c | xargs -P "$(nproc 2>/dev/null || echo 2)" -n 1 sh -c \
	    'exec $FUZZ_CC $FUZZ_CFLAGS -fsanitize=fuzzer-no-link -c \
	    -o "$FUZZ_OUT/src/$(basename "$1" .c).o" "$1"' sh
	rm -f "$LIB"
	ar rcs "$LIB" "$OUT"/src/*.o
fi

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')
fi

for t in $targets; do
	src=tests/fuzz/fuzz_$t.c
	[ -f "$src" ] || { echo "fuzz: no target $src" >&2; exit 2; }
	bin=$OUT/targets/fuzz_$t
	if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ] || [ tests/fuzz/fuzz.h -nt "$bin" ] ||
	    [ "$LIB" -nt "$bin" ]; then
		echo "fuzz: building $bin"
		# shellcheck disable=SC2086
		"$CC" $CFLAGS -fsanitize=fuzzer -iquote tests/fuzz -o "$bin" "$src" "$LIB" $LDLIBS
	fi
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nudge-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# Sanitizers: every report is fatal; leaks are checked after each input
# (libFuzzer's -detect_leaks, on by default with ASan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:allocator_may_return_null=0:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export NUDGE_SOURCE_DIR="$TOP"

# Runs one target; writes its log to $WORK/<t>.log and its status to $WORK/<t>.rc.
run_one() {
	t=$1
	corpus=tests/fuzz/corpus/$t
	dict=tests/fuzz/fuzz_$t.dict
	art=$OUT/artifacts/$t
	mkdir -p "$WORK/corpus-$t" "$art"
	set -- -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" \
	    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$art/"
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	# New inputs go to the first (temporary) directory; the committed
	# corpus is only read.
	set -- "$@" "$WORK/corpus-$t"
	[ -d "$corpus" ] && set -- "$@" "$corpus"
	# the shipped templates seed the template engine, read in place
	[ "$t" = render ] && set -- "$@" templates/en templates/el templates/pl
	rc=0
	"./$OUT/targets/fuzz_$t" "$@" >"$WORK/$t.log" 2>&1 || rc=$?
	echo "$rc" > "$WORK/$t.rc"
}

report() {
	t=$1
	rc=$(cat "$WORK/$t.rc")
	cov=$(grep -o 'cov: [0-9]*' "$WORK/$t.log" | tail -n 1 | sed 's/cov: //')
	execs=$(grep 'stat::number_of_executed_units' "$WORK/$t.log" | awk '{print $2}')
	if [ "$rc" = 0 ]; then
		echo "fuzz: $t ok: ${execs:-?} runs, coverage ${cov:-?} edges in ${SECONDS_EACH}s"
		return 0
	fi
	echo "fuzz: $t FAILED (exit $rc); the report:" >&2
	# From the first report line (sanitizer, libFuzzer or the target's own
	# check), else the end of the log.
	start=$(grep -n -m 1 -E '(ERROR|WARNING): |runtime error:|^fuzz_[a-z_]+: ' \
	    "$WORK/$t.log" | cut -d: -f1)
	if [ -n "$start" ]; then
		sed -n "${start},$((start + 40))p" "$WORK/$t.log" >&2
	else
		tail -n 40 "$WORK/$t.log" >&2
	fi
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$WORK/$t.log" | tail -n 1)
	if [ -n "$repro" ] && [ -f "$repro" ]; then
		# The input itself goes to the log too: a CI machine's disk is gone
		# with it. Pasting the block into a shell writes the file back.
		echo "fuzz: reproducer: $repro ($(wc -c < "$repro") bytes), in base64:" >&2
		echo "base64 -d > $(basename "$repro") <<'EOF'" >&2
		base64 < "$repro" >&2
		echo "EOF" >&2
		echo "fuzz: replay with: NUDGE_SOURCE_DIR=$TOP ./$OUT/targets/fuzz_$t $repro" >&2
	else
		echo "fuzz: no reproducer was written" >&2
	fi
	cp "$WORK/$t.log" "$OUT/artifacts/$t/fuzz.log"
	echo "fuzz: the whole log: $OUT/artifacts/$t/fuzz.log" >&2
	return 1
}

failed=0
set -- $targets
while [ $# -gt 0 ]; do
	batch=""
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$JOBS" ]; do
		batch="$batch $1"
		shift
		n=$((n + 1))
	done
	for t in $batch; do
		echo "fuzz: running $t for ${SECONDS_EACH}s"
		run_one "$t" &
	done
	wait
	for t in $batch; do
		report "$t" || failed="$failed $t"
	done
done
if [ "$failed" != 0 ]; then
	echo "fuzz: FAILED:${failed#0}" >&2
	exit 1
fi
echo "fuzz: all targets ok"
