# kipc - GNU make, no configure step.  See README.md.
#
#   make                 build/libkipc.a, build/libkipc.so, build/kipc, build/kipc.pc
#   make check           build and run every test (TAP), ending "N passed, N failed"
#   make check-asan      the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-tsan      the same under ThreadSanitizer
#   make check-arm64     cross-built for arm64, run under qemu-aarch64
#   make fuzz            libFuzzer on the object header check, FUZZ_SECONDS (30) long
#   make bench           the benchmark table (BENCH_QUICK=1 for a smoke run)
#   make bench-deps      install the peer libraries the benchmark compares with
#   make install / uninstall   honour PREFIX and DESTDIR
#
# BUILD selects the output directory, so the variants never mix objects.

VERSION     := 0.2.0
SOVERSION   := 1
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec
BUILD       ?= build

CC          ?= cc
OPT         ?= -O2 -g
WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS    += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS      += -std=gnu11 $(OPT) $(WARN) -pthread -fPIC -MMD -MP $(SANFLAGS)
LDFLAGS     += -pthread $(SANFLAGS)
LDLIBS      +=

LIB_SRC     := $(sort $(wildcard src/*.c src/sync/*.c src/ipc/*.c))
TEST_SRC    := $(sort $(wildcard tests/*.c))
BENCH_SRC   := $(sort $(wildcard bench/*.c))
TOOL_SRC    := $(sort $(wildcard tools/*.c))

LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_DBG_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj-debug/%.o)
TEST_BIN    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_OBJ   := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_OBJ    := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)

SONAME      := libkipc.so.$(SOVERSION)
SHLIB       := $(BUILD)/libkipc.so.$(VERSION)

# Peer libraries for the benchmark, used only when their headers are present.
# A literal '#' that GNU make 4.3 and older both keep inside $(shell ...).
hash := \#
have = $(shell printf '$(hash)include <%s>\n' $(1) | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
BENCH_DEFS  :=
BENCH_LIBS  :=
ifeq ($(call have,ck_spinlock.h),1)
BENCH_DEFS  += -DHAVE_CK
BENCH_LIBS  += -lck
endif
ifeq ($(call have,urcu/urcu-memb.h),1)
BENCH_DEFS  += -DHAVE_URCU
BENCH_LIBS  += -lurcu-memb -lurcu-qsbr -lurcu-bp -lurcu-common
endif
# Boost.Interprocess (header-only, C++) for the message queue rows' user-space peer.
CXX         ?= g++
have_cxx = $(shell printf '$(hash)include <%s>\n' $(1) | $(CXX) -E -x c++ - >/dev/null 2>&1 && echo 1)
BENCH_CXX_SRC :=
ifeq ($(call have_cxx,boost/interprocess/ipc/message_queue.hpp),1)
BENCH_DEFS  += -DHAVE_BOOST
BENCH_CXX_SRC := bench/boost_mq.cc
BENCH_LIBS  += -lstdc++
endif
BENCH_CXX_OBJ := $(BENCH_CXX_SRC:%.cc=$(BUILD)/obj/%.o)
BENCH_DEPS_PKGS := libck-dev liburcu-dev libboost-dev

.PHONY: all check check-asan check-tsan check-arm64 fuzz bench bench-deps \
	install uninstall clean tests

all: $(BUILD)/libkipc.a $(BUILD)/libkipc.so $(BUILD)/kipc $(BUILD)/kipc-bench $(BUILD)/kipc.pc

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libkipc.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Only kipc_ symbols are exported (src/libkipc.map); internal ones are kipc__.
$(SHLIB): $(LIB_OBJ) src/libkipc.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libkipc.map \
		-Wl,--no-undefined $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/libkipc.so: $(SHLIB)
	ln -sf libkipc.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/kipc: $(TOOL_OBJ) $(BUILD)/libkipc.a
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libkipc.a $(LDLIBS)

$(BUILD)/obj/bench/%.o: CPPFLAGS += $(BENCH_DEFS)
$(BUILD)/obj/tools/%.o: CPPFLAGS += -DKIPC_LIBEXECDIR='"$(LIBEXECDIR)"' -DKIPC_VERSION='"$(VERSION)"'
$(BUILD)/obj/bench/%.o: bench/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(OPT) -Wall -Wextra -Werror -pthread -MMD -MP -c -o $@ $<
$(BUILD)/kipc-bench: $(BENCH_OBJ) $(BENCH_CXX_OBJ) $(BUILD)/libkipc.a
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJ) $(BENCH_CXX_OBJ) $(BUILD)/libkipc.a $(BENCH_LIBS) $(LDLIBS) -lm

$(BUILD)/tests/%: tests/%.c $(BUILD)/libkipc.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkipc.a $(LDLIBS)

# Programs the shell tests drive (tests/*.c are all TAP programs; these are not).
$(BUILD)/tests/helpers/%: tests/helpers/%.c $(BUILD)/libkipc.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkipc.a $(LDLIBS)

# tests/*_debug.c test the KIPC_DEBUG checks, against a library built with them.
$(BUILD)/obj-debug/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DKIPC_DEBUG $(CFLAGS) -c -o $@ $<

$(BUILD)/libkipc-debug.a: $(LIB_DBG_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/%_debug: tests/%_debug.c $(BUILD)/libkipc-debug.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DKIPC_DEBUG $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkipc-debug.a $(LDLIBS)

$(BUILD)/kipc.pc: kipc.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

tests: $(TEST_BIN)

# The symbol check needs the shared library, the tool's test the tool and a
# helper making objects; the sanitizer and cross variants run the same test
# programs without those shell tests.
SHELL_TESTS := tests/symbols.sh tests/tool.sh
SHELL_DEPS  := $(BUILD)/libkipc.so $(BUILD)/kipc $(BUILD)/tests/helpers/mkobj
check: $(TEST_BIN) $(if $(SANFLAGS)$(TEST_RUNNER),,$(SHELL_DEPS))
	@KIPC_BUILD=$(BUILD) tests/run.sh $(if $(TEST_RUNNER),-r "$(TEST_RUNNER)") \
		$(TEST_BIN) $(if $(SANFLAGS)$(TEST_RUNNER),,$(SHELL_TESTS))

check-asan:
	$(MAKE) BUILD=build/asan OPT='-O1 -g' \
		SANFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' check

# TSan needs a fixed address-space layout on kernels with large mmap_rnd_bits.
check-tsan:
	$(MAKE) BUILD=build/tsan OPT='-O1 -g' SANFLAGS='-fsanitize=thread' \
		TEST_RUNNER='setarch -R' check

ARM64_CC    ?= aarch64-linux-gnu-gcc
ARM64_ROOT  ?= /usr/aarch64-linux-gnu
check-arm64:
	$(MAKE) BUILD=build/arm64 CC=$(ARM64_CC) AR=aarch64-linux-gnu-ar \
		TEST_RUNNER='qemu-aarch64 -L $(ARM64_ROOT)' check

# libFuzzer over kipc__obj_check(): the library built again with clang and
# the fuzzer's coverage, ASan and UBSan, in a build directory of its own.
# The seeds are real object files (tests/helpers/mkobj seed); the corpus
# grows in build/fuzz/corpus from run to run.
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_SAN     := address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT='-O1 -g' \
		SANFLAGS='-fsanitize=fuzzer-no-link,$(FUZZ_SAN)' \
		$(FUZZ_BUILD)/fuzz/obj_header $(FUZZ_BUILD)/tests/helpers/mkobj
	@mkdir -p $(FUZZ_BUILD)/seeds $(FUZZ_BUILD)/corpus
	ns=/dev/shm/kipc-fuzz-seed-$$$$; rc=0; \
		for kind in sysv-shm sysv-sem mq; do \
			KIPC_NAMESPACE=$$ns $(FUZZ_BUILD)/tests/helpers/mkobj seed $$kind \
				$(FUZZ_BUILD)/seeds/$$kind || rc=1; \
		done; rm -rf $$ns; exit $$rc
	$(FUZZ_BUILD)/fuzz/obj_header -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/seeds

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libkipc.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libkipc.a $(LDLIBS)

bench: $(BUILD)/kipc-bench
	$(BUILD)/kipc-bench $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)

bench-deps:
	apt-get install -y $(BENCH_DEPS_PKGS)

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/kipc \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/kipc
	install -m 644 $(BUILD)/libkipc.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libkipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libkipc.so
	install -m 644 include/kipc/*.h $(DESTDIR)$(INCLUDEDIR)/kipc/
	install -m 644 $(BUILD)/kipc.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(BUILD)/kipc $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/kipc-bench $(DESTDIR)$(LIBEXECDIR)/kipc/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libkipc.a $(DESTDIR)$(LIBDIR)/libkipc.so* \
		$(DESTDIR)$(LIBDIR)/pkgconfig/kipc.pc $(DESTDIR)$(BINDIR)/kipc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/kipc $(DESTDIR)$(LIBEXECDIR)/kipc

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
