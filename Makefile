# tensorpress — top-level build. `make demo`, `make test`, `make asan`,
# `make bench`, `make fuzz`. Everything builds into build/ (or build-asan/).

CC      ?= gcc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
# clang reports GCC unroll hints it cannot honour as errors under -Werror.
WARN    += $(if $(findstring clang,$(CC)),-Wno-pass-failed)
CPPFLAGS = -Iinclude -Isrc -D_GNU_SOURCE
# Hidden by default: the shared library exports only what the public
# headers mark TP_API (the CLI and tests link the static library).
ALLFLAGS = -std=c11 -ffp-contract=off $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -fPIC -pthread -fvisibility=hidden
LIBS     = -lzstd -lxxhash -lcjson -lyaml -lpng -ljpeg -llapacke -lopenblas -lm -lpthread

LIB_SRC  = $(sort $(wildcard src/*/*.c src/codecs/*/*.c))
CLI_SRC  = $(sort $(wildcard cli/*.c))
TEST_SRC = $(sort $(wildcard tests/*.c))
BENCH_SRC = $(sort $(wildcard bench/*.c))
EXAMPLE_SRC = $(sort $(wildcard examples/*.c))

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_OBJ = $(BENCH_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_BIN = $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

# The shared library's version, from tpress.h; the soname follows the major.
VERSION       := $(shell sed -n 's/^\#define TP_VERSION_STRING "\(.*\)"/\1/p' include/tpress.h)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
STATIC   = $(BUILD)/libtpress.a
SHARED   = $(BUILD)/libtpress.so
SONAME   = libtpress.so.$(VERSION_MAJOR)
CLI      = $(BUILD)/tpress
UNIT     = $(BUILD)/unit_tests

.PHONY: all lib deps demo test check asan bench bench-build fuzz clean format validate

all: $(STATIC) $(SHARED) $(CLI) $(UNIT) $(EXAMPLE_BIN)
lib: $(STATIC) $(SHARED)

# V=1 shows full command lines.
Q = $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC  $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALLFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(Q)$(CC) -shared $(ALLFLAGS) -Wl,-soname,$(SONAME) -o $@.$(VERSION) $^ $(LIBS)
	$(Q)ln -sf libtpress.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf $(SONAME) $@

$(CLI): $(CLI_OBJ) $(STATIC)
	@$(if $(V),,echo "  LD  $@")
	$(Q)$(CC) $(ALLFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

$(UNIT): $(TEST_OBJ) $(STATIC)
	@$(if $(V),,echo "  LD  $@")
	$(Q)$(CC) $(ALLFLAGS) -o $@ $(TEST_OBJ) $(STATIC) $(LIBS)

# Example programs (examples/*.c): built with the public header only, as
# a user's program would be; tests/cli/test_examples.sh runs them.
$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD  $@")
	$(Q)$(CC) -Iinclude $(ALLFLAGS) -o $@ $< $(STATIC) $(LIBS)

# Benchmark programs: one per bench/*.c, same flags as the library.
bench-build: $(BENCH_BIN)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(STATIC)
	$(CC) $(ALLFLAGS) -o $@ $< $(STATIC) $(LIBS)

.SECONDARY: $(BENCH_OBJ)
# -O3: at -O2 GCC 12 leaves the baselines' plain write loops scalar, which
# would flatter every ratio measured against them.
$(BENCH_OBJ): OPT = -O3

# Installs what is missing (apt -dev packages, pip packages); idempotent.
deps:
	@scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh $(BUILD)

# The inner loop: C unit tests without the model-level ones (no CLI or
# Python scripts); `make test` stays the whole suite.
check:
	@$(MAKE) --no-print-directory all
	@TP_QUICK=1 $(UNIT)

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh build-asan

# Needs only the library; bench/run.sh builds the bench programs itself.
# Every benchmark section of docs/BENCHMARKS.md (long: tens of minutes);
# BENCH_SECTIONS="spine lossless" picks some.
BENCH_SECTIONS ?=
bench: deps
	@$(MAKE) --no-print-directory all bench-build
	@bench/all.sh $(BUILD) $(BENCH_SECTIONS)

fuzz: deps
	@fuzz/build.sh

# Model-level checks against independent implementations (installs torch and
# transformers once into a separate virtual environment; not part of test).
validate: deps
	@$(MAKE) --no-print-directory all
	@scripts/validate.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
