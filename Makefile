# nudge: plain Makefile. `make` builds the three binaries from one static
# library of src/. `make test` runs C unit tests and the black-box suite.
# WERROR=1 (set by .ci/run) turns warnings into errors.

CC      ?= cc
PREFIX  ?= /usr/local
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
BUILD   ?= build
BIN     := bin

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -iquote include -iquote $(BUILD) -MMD -MP \
           -DNUDGE_VERSION='"$(VERSION)"'
LDLIBS  += -levent -levent_pthreads -lhiredis -lcurl -ljansson -lyajl -lssl -lcrypto -lm -lpthread

# `make asan test` runs everything against a sanitizer build.
ifneq ($(filter asan,$(MAKECMDGOALS)),)
SAN     := 1
endif

ifeq ($(SAN),1)
BUILD   := build-asan
BIN     := bin-asan
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
endif

SRCS    := $(sort $(wildcard src/*.c))
OBJS    := $(SRCS:src/%.c=$(BUILD)/src/%.o)
LUA     := $(sort $(wildcard src/lua/*.lua))
LIB     := $(BUILD)/libnudge.a
PROGS   := $(BIN)/nudge-server $(BIN)/nudge-worker $(BIN)/nudgectl
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

PY      := /usr/bin/python3

.PHONY: all deps run test unit blackbox asan clean install bench image fuzz test-faults
all: $(PROGS)

# Lua scripts are compiled into the library as C strings (one source of truth).
$(BUILD)/lua_scripts.h: $(LUA) scripts/lua2c.sh
	@mkdir -p $(@D)
	sh scripts/lua2c.sh $(LUA) > $@.tmp && mv $@.tmp $@

$(BUILD)/src/%.o: src/%.c $(BUILD)/lua_scripts.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# (the mains print VERSION: they are rebuilt when it changes)
$(BIN)/%: cmd/%/main.c $(LIB) VERSION
	@mkdir -p $(@D) $(BUILD)/cmd
	$(CC) $(CFLAGS) -MF $(BUILD)/cmd/$*.d -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

deps:
	@sh scripts/deps.sh

run: deps all
	@sh scripts/run.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; NUDGE_SOURCE_DIR=$(CURDIR) ./$$t; done

blackbox: all
	NUDGE_BIN=$(CURDIR)/$(BIN) NUDGE_BUILD_DIR=$(CURDIR)/$(BUILD) \
	    $(PY) -m pytest -q -x tests/blackbox tests/spec tests/deploy $(PYTEST_ARGS)

# The request dumper of tests/spec (the spec test runs `make spec-helper`).
spec-helper: $(LIB) tests/spec/dump_requests.c
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) -o $(BUILD)/tests/dump_requests tests/spec/dump_requests.c $(LIB) \
	    $(LDFLAGS) $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory SAN=$(SAN) all
	@$(MAKE) --no-print-directory SAN=$(SAN) unit
	@$(MAKE) --no-print-directory SAN=$(SAN) blackbox

# Fault tests: restarts, kills, storms and hostile input (slower than `test`).
test-faults: deps all
	NUDGE_BIN=$(CURDIR)/$(BIN) $(PY) -m pytest -q -x tests/faults $(PYTEST_ARGS)

# libFuzzer targets (clang) for a bounded time each: FUZZ_SECONDS=60 make fuzz
fuzz: deps
	@sh tests/fuzz/run.sh

# Benchmarks with their baselines, measured in the same run (never part of test).
bench: deps all
	@sh bench/run.sh

# `make asan` builds bin-asan/ (AddressSanitizer + UBSan) from build-asan/;
# `make asan test` runs the unit and black-box suites on it (the harness fails
# on any report or leaked fd), leaving build/ and bin/ alone. CI runs both.
asan: all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nudge
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	cp -r config templates $(DESTDIR)$(PREFIX)/share/nudge/

# The container image (Dockerfile): Docker when its daemon answers, else the
# buildah-based ../shared/tools/image (docker-format image, so HEALTHCHECK is kept).
image:
	@if docker info >/dev/null 2>&1; then \
		docker build -t nudge:dev . ; \
	else \
		BUILDAH_FORMAT=docker ../shared/tools/image build nudge:dev . ; \
	fi

clean:
	rm -rf build build-asan build-fuzz bin bin-asan

-include $(OBJS:.o=.d) $(wildcard $(BUILD)/cmd/*.d) $(UNIT_BINS:=.d)
