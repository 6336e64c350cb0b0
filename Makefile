# hearth — one GNU Makefile, out-of-tree build in $(BUILD).
#   make                  build hearth, hearth-init, the C runtime, examples, fixtures
#   make check            what CI runs: deps, -Werror build, unit tests, end-to-end tests
#   make test | e2e       unit tests (cmocka) | end-to-end tests (pytest)
#   make bench            benchmarks (bench/)
#   make demo             deploy and invoke the examples on a local daemon
#   make SANITIZE=address,undefined check   the same under ASan+UBSan (in build/san)
#   make V=1              show full command lines

ifdef SANITIZE
BUILD ?= build/san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
# hearth-init is PID 1 of every sandbox: linked statically it skips the
# dynamic loader on each cold start (ASan cannot link statically).
INIT_STATIC := -static
endif

CC ?= cc
PYTHON := /usr/bin/python3
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wimplicit-fallthrough -Wvla
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu17 -D_GNU_SOURCE -MMD -MP -Isrc -I$(LLHTTP_INC) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)

DAEMON_LIBS := -luv -ljansson -lsqlite3 -lseccomp -lcap -larchive -lcrypto -lcurl -lpthread -lm
INIT_LIBS :=

ifeq ($(V),1)
Q :=
else
Q := @
endif

MODULES := lib http api invoke pool sandbox store cli daemon triggers gateway
INIT_SRC := $(wildcard src/init/*.c)
RT_SRC := $(wildcard runtimes/c/*.c)
RT_PY_SRC := $(wildcard runtimes/python/*.py)
RT_PY_STAMP := $(BUILD)/runtimes-python.stamp
UNIT_SRC := $(wildcard tests/unit/test-*.c)
FIXTURES := $(patsubst tests/fixtures/%.c,%,$(wildcard tests/fixtures/*.c))
EXAMPLES_C := hello-c scheduled http-api

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
modlib = $(BUILD)/libhearth-$(1).a
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/obj/llhttp/%.o,$(wildcard $(LLHTTP_DIR)/*.c))

HEARTH := $(BUILD)/hearth
INIT := $(BUILD)/hearth-init
RT_A := $(BUILD)/libhearth-runtime.a
MOD_LIBS := $(foreach m,$(MODULES),$(call modlib,$(m)))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FIXTURE_BIN := $(patsubst %,$(BUILD)/fixtures/%/bootstrap,$(FIXTURES))
EXAMPLE_BIN := $(patsubst %,$(BUILD)/examples/%/bootstrap,$(EXAMPLES_C))
# Static archives in a group, so their order on the link line does not matter.
LINK_GROUP = -Wl,--start-group $(1) -Wl,--end-group

.PHONY: all deps check test e2e bench demo clean fuzz compile_commands.json
all: $(HEARTH) $(INIT) $(RT_A) $(EXAMPLE_BIN) $(FIXTURE_BIN) $(UNIT_BIN) $(RT_PY_STAMP)

deps:
	./scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# llhttp is third-party C; it gets our build flags but not our warning set.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -w -c -o $@ $<

# One archive per module (src/<module>/*.c); llhttp goes with the http module.
define MODULE_RULE
$(call modlib,$(1)): $(call obj,$(wildcard src/$(1)/*.c)) $(if $(filter http,$(1)),$(LLHTTP_OBJ))
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call MODULE_RULE,$(m))))

$(HEARTH): $(call obj,src/main.c) $(MOD_LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call obj,src/main.c) $(call LINK_GROUP,$(MOD_LIBS)) $(DAEMON_LIBS)

$(INIT): $(call obj,$(INIT_SRC)) $(call modlib,lib) $(LLHTTP_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(INIT_STATIC) -o $@ $^ $(INIT_LIBS)

$(RT_A): $(call obj,$(RT_SRC))
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The python3 runtime's bytecode, compiled here because /var/runtime is
# read-only in the sandbox: otherwise every cold start compiles it again.
$(RT_PY_STAMP): $(RT_PY_SRC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  PYC     runtimes/python")
	$(Q)$(PYTHON) -m compileall -q runtimes/python && touch $@

# A C function is a handler linked with libhearth-runtime into `bootstrap`.
$(BUILD)/examples/%/bootstrap: examples/%/main.c runtimes/c/hearth_runtime.h $(RT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -Iruntimes/c $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(RT_A)

$(BUILD)/fixtures/%/bootstrap: tests/fixtures/%.c tests/fixtures/fixture.h runtimes/c/hearth_runtime.h $(RT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -Iruntimes/c $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(RT_A)

# tests/unit/test-MODULE[-what].c links MODULE's archive and lib's (and may
# #include the source it tests to reach static functions).
unit_mod = $(word 2,$(subst -, ,$(notdir $(1))))
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(call modlib,$$(call unit_mod,%)) $(call modlib,lib) $(LLHTTP_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call LINK_GROUP,$(call modlib,$(call unit_mod,$*)) $(call modlib,lib)) \
		$(if $(filter http,$(call unit_mod,$*)),,$(LLHTTP_OBJ)) $(DAEMON_LIBS) -lcmocka

$(BUILD)/bench/invoke-bench: bench/invoke-bench.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/floor-server: bench/floor-server.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/trace-replay: bench/trace-replay.c $(call modlib,pool) $(call modlib,lib)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call modlib,pool) $(call modlib,lib) -lm

$(BUILD)/bench/event-prune: bench/event-prune.c $(call modlib,store) $(call modlib,lib)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call LINK_GROUP,$(call modlib,store) $(call modlib,lib)) $(DAEMON_LIBS)

$(BUILD)/bench/log-write: bench/log-write.c src/invoke/fnlog.c $(call modlib,lib)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call modlib,lib) $(DAEMON_LIBS)

$(BUILD)/bench/gateway-bench: bench/gateway-bench.c $(call modlib,gateway) $(call modlib,http) \
		$(call modlib,lib) $(LLHTTP_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call LINK_GROUP,$(call modlib,gateway) $(call modlib,http) $(call modlib,lib)) \
		$(LLHTTP_OBJ) $(DAEMON_LIBS)

# Fuzzing (clang's libFuzzer): one driver per parser of untrusted bytes.
# `make fuzz` runs each for FUZZ_SECONDS on its corpus in tests/fuzz/corpus/.
FUZZ_SECONDS ?= 15
FUZZ_CC := clang
FUZZ_FLAGS := -std=gnu17 -D_GNU_SOURCE -Isrc -I$(LLHTTP_INC) -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB := src/lib/buf.c src/lib/err.c
FUZZ_SRC_relay := src/lib/relay.c
FUZZ_SRC_router := src/http/router.c
FUZZ_SRC_jscan := src/lib/jscan.c src/lib/utf8.c
FUZZ_LIBS_jscan := -ljansson
FUZZERS := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_LIB) $$(FUZZ_SRC_$$*)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB) $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

fuzz: $(patsubst %,build/fuzz/fuzz-%,$(FUZZERS))
	$(Q)for f in $(FUZZERS); do \
		mkdir -p build/fuzz/corpus-$$f && \
		./build/fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			build/fuzz/corpus-$$f tests/fuzz/corpus/$$f 2>&1 | tail -n 1 || exit 1; \
	done

$(BUILD)/bench/sandbox-bench: bench/sandbox-bench.c $(call modlib,sandbox) $(call modlib,lib)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(call LINK_GROUP,$(call modlib,sandbox) $(call modlib,lib)) $(DAEMON_LIBS)

test: $(UNIT_BIN)
	$(Q)./tests/run-unit.sh $(UNIT_BIN)

e2e: all
	$(Q)HEARTH_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/e2e

# The whole suite twice: as built for users, then under ASan+UBSan (leaks included).
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory test
	$(Q)$(MAKE) --no-print-directory e2e
ifndef SANITIZE
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined all test e2e
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
endif

bench: all $(BUILD)/bench/invoke-bench $(BUILD)/bench/trace-replay $(BUILD)/bench/floor-server \
	$(BUILD)/bench/sandbox-bench $(BUILD)/bench/gateway-bench
	$(Q)HEARTH_BUILD=$(abspath $(BUILD)) ./bench/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)HEARTH_BUILD=$(abspath $(BUILD)) ./scripts/demo.sh

compile_commands.json:
	$(MAKE) clean && bear -- $(MAKE) all

clean:
	rm -rf build runtimes/python/__pycache__

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
