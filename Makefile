# Split-plane SIP/RTP gateway: sigd, mediad, turnd (+ gwctl).
#
#   make                              build everything (installs Debian deps if missing)
#   make run                          run the three daemons on loopback (deploy/local.ini)
#   make test                         unit + integration tests
#   make SANITIZE=address,undefined test
#   make bench                        benchmarks
#   make fuzz                         build libFuzzer targets (clang)
#   make clean
#   make SRTP=system                  mediad on Debian's libsrtp2 (NSS) instead of
#                                     libsrtp2 built from Debian's source on OpenSSL

PKGS      := sofia-sip-ua libsrtp2 gnutls libzmq libprotobuf-c libuv inih openssl nss liburing
SANITIZE  ?=
V         ?=
Q         := $(if $(V),,@)
CC        ?= cc
VARIANT   := $(if $(SANITIZE),san,rel)
BUILD     ?= build
B         := $(BUILD)/$(VARIANT)

# Install missing Debian packages before anything asks pkg-config.
DEPS_OK := $(shell pkg-config --exists $(PKGS) && command -v protoc-c >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
$(info deps: some packages are missing; running deploy/deps.sh)
$(shell sh deploy/deps.sh >&2)
endif

WARN      := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CFLAGS    ?= -O2 -g
GW_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
CFLAGS    += $(WARN) -D_GNU_SOURCE -fno-omit-frame-pointer -DGW_VERSION=\"$(GW_VERSION)\"
ifneq ($(SANITIZE),)
CFLAGS    += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=$(SANITIZE)
endif
CPPFLAGS  += -I$(B)/proto -Icommon

pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs   = $(shell pkg-config --libs $(1))

# ---- libsrtp2, for mediad and the tools that link it. By default Debian's
# own libsrtp2 source package, built on OpenSSL as a static library by
# deploy/libsrtp2-openssl.sh (once, ~10 s, shared by rel and san: it is
# built without our flags or sanitizers); Debian's binary libsrtp2 is built
# on NSS, which costs SRTP transcryption a third of its speed (README,
# "SRTP crypto back end"). SRTP=system links that binary package instead,
# with mediad's NSS initialisation (GW_SRTP_NSS). SRTP_DEP is a
# prerequisite of everything that includes <srtp2/srtp.h>.
SRTP ?= openssl
ifeq ($(SRTP),openssl)
SRTP_DIR    := $(BUILD)/third_party/libsrtp2
SRTP_DEP    := $(SRTP_DIR)/lib/libsrtp2.a
SRTP_CFLAGS := -I$(SRTP_DIR)/include $(call pc_cflags,libcrypto)
SRTP_LIBS   := $(SRTP_DEP) $(call pc_libs,libcrypto)
else ifeq ($(SRTP),system)
SRTP_DEP    :=
SRTP_CFLAGS := -DGW_SRTP_NSS $(call pc_cflags,libsrtp2 nss)
SRTP_LIBS   := $(call pc_libs,libsrtp2 nss)
else
$(error SRTP=$(SRTP): use SRTP=openssl (the default) or SRTP=system)
endif

PROTO_C   := $(B)/proto/gw.pb-c.c
PROTO_H   := $(B)/proto/gw.pb-c.h
PROTO_O   := $(B)/proto/gw.pb-c.o

COMMON_CORE := log cfg net ports bus
COMMON_UV   := bus_uv node
COMMON_CORE_O := $(patsubst %,$(B)/common/%.o,$(COMMON_CORE)) $(PROTO_O)
COMMON_UV_O   := $(patsubst %,$(B)/common/%.o,$(COMMON_UV))

SIGD_SRC   := $(wildcard sigd/*.c)
MEDIAD_SRC := $(wildcard mediad/*.c)
TURND_SRC  := $(wildcard turnd/*.c)
GWCTL_SRC  := $(wildcard gwctl/*.c)

SIGD_O   := $(patsubst %.c,$(B)/%.o,$(SIGD_SRC))
MEDIAD_O := $(patsubst %.c,$(B)/%.o,$(MEDIAD_SRC))
TURND_O  := $(patsubst %.c,$(B)/%.o,$(TURND_SRC))
GWCTL_O  := $(patsubst %.c,$(B)/%.o,$(GWCTL_SRC))

BINS := $(B)/bin/sigd $(B)/bin/mediad $(B)/bin/turnd $(B)/bin/gwctl

SIGD_PKGS   := sofia-sip-ua libzmq libprotobuf-c inih gnutls openssl
MEDIAD_PKGS := libuv gnutls libzmq libprotobuf-c inih
TURND_PKGS  := libuv gnutls libzmq libprotobuf-c inih liburing
GWCTL_PKGS  := libuv libzmq libprotobuf-c inih

.PHONY: all run test unit integration bench fuzz clean
.SECONDARY:
all: $(BINS)

$(PROTO_C) $(PROTO_H): proto/gw.proto
	@mkdir -p $(B)/proto
	protoc-c --c_out=$(B)/proto -Iproto proto/gw.proto

$(PROTO_O): $(PROTO_C)
	$(CC) $(CPPFLAGS) $(filter-out -Wshadow -Wstrict-prototypes,$(CFLAGS)) \
	    $(call pc_cflags,libprotobuf-c) -c $< -o $@

$(B)/common/%.o: common/%.c $(PROTO_H) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,libuv libzmq libprotobuf-c inih) -c $< -o $@

$(B)/sigd/%.o: sigd/%.c $(PROTO_H) $(wildcard sigd/*.h common/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(SIGD_PKGS)) -c $< -o $@

$(B)/mediad/%.o: mediad/%.c $(PROTO_H) $(wildcard mediad/*.h common/*.h) $(SRTP_DEP)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SRTP_CFLAGS) $(call pc_cflags,$(MEDIAD_PKGS)) -c $< -o $@

$(B)/turnd/%.o: turnd/%.c $(PROTO_H) $(wildcard turnd/*.h common/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(TURND_PKGS)) -c $< -o $@

$(B)/gwctl/%.o: gwctl/%.c $(PROTO_H) $(wildcard gwctl/*.h common/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC     $<'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(GWCTL_PKGS)) -c $< -o $@

$(B)/bin/sigd: $(SIGD_O) $(COMMON_CORE_O)
	@mkdir -p $(B)/bin
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(call pc_libs,$(SIGD_PKGS)) -o $@

$(B)/bin/mediad: $(MEDIAD_O) $(COMMON_CORE_O) $(COMMON_UV_O) $(SRTP_DEP)
	@mkdir -p $(B)/bin
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(SRTP_LIBS) $(call pc_libs,$(MEDIAD_PKGS)) -o $@

$(B)/bin/turnd: $(TURND_O) $(COMMON_CORE_O) $(COMMON_UV_O)
	@mkdir -p $(B)/bin
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(call pc_libs,$(TURND_PKGS)) -o $@

$(B)/bin/gwctl: $(GWCTL_O) $(COMMON_CORE_O) $(COMMON_UV_O)
	@mkdir -p $(B)/bin
	@echo '  LD     $@'
	$(Q)$(CC) $(LDFLAGS) $^ $(call pc_libs,$(GWCTL_PKGS)) -o $@

# ---- unit tests: one binary per test/unit/test-*.c, linked with the
# objects it names in its first line comment is overkill; link them all.
UNIT_SRC  := $(wildcard test/unit/test-*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(B)/test/%,$(UNIT_SRC))
UNIT_LIB_O := $(COMMON_CORE_O) $(COMMON_UV_O) \
              $(filter-out %/main.o,$(SIGD_O) $(MEDIAD_O) $(TURND_O))
UNIT_PKGS := sofia-sip-ua libuv gnutls libzmq libprotobuf-c inih openssl liburing

$(B)/test/runner.o: test/unit/runner.c test/unit/runner.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/test/%: test/unit/%.c $(B)/test/runner.o $(UNIT_LIB_O) test/unit/runner.h \
             $(wildcard common/*.h) $(SRTP_DEP)
	@mkdir -p $(dir $@)
	@echo '  TEST   $@'
	$(Q)$(CC) $(CPPFLAGS) -Isigd -Imediad -Iturnd -Itest/unit $(CFLAGS) \
	    $(SRTP_CFLAGS) $(call pc_cflags,$(UNIT_PKGS)) $< $(B)/test/runner.o $(UNIT_LIB_O) \
	    $(LDFLAGS) $(SRTP_LIBS) $(call pc_libs,$(UNIT_PKGS)) -o $@

run: all
	@B=$(B) sh deploy/run.sh deploy/local.ini

unit: $(UNIT_BINS)
	@sh test/unit/run.sh $(UNIT_BINS)

integration: all
	@B=$(B) sh test/integration/run.sh

# Test tools (sipp, stun, python3-zmq, ...) come from deploy/deps.sh too.
test: all $(UNIT_BINS)
	@sh deploy/deps.sh
	@B=$(B) sh test/run.sh $(UNIT_BINS)

# ---- benchmark tools (test/bench/*.c), built with the daemons' objects.
$(B)/test/barerelay: test/bench/barerelay.c
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(B)/test/turnfloor: test/bench/turnfloor.c
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(call pc_libs,liburing)

$(B)/test/mdload: test/bench/mdload.c $(COMMON_CORE_O) $(SRTP_DEP)
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SRTP_CFLAGS) $(call pc_cflags,libzmq libprotobuf-c gnutls) $< \
	    $(COMMON_CORE_O) $(LDFLAGS) $(SRTP_LIBS) $(call pc_libs,libzmq libprotobuf-c inih gnutls) -o $@

$(B)/test/srtpscale: test/bench/srtpscale.c $(SRTP_DEP)
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(CFLAGS) $(SRTP_CFLAGS) $< $(LDFLAGS) $(SRTP_LIBS) -o $@

ifeq ($(SRTP),openssl)
# The private libsrtp2 (SRTP=openssl). The script is quick and offline once
# built; touching the library afterwards keeps make from asking again when
# only the script's timestamp changed. No fallback to Debian's NSS build:
# that would silently cost a third of mediad's SRTP speed.
$(SRTP_DIR)/lib/libsrtp2.a: deploy/libsrtp2-openssl.sh
	@echo '  SRTP   libsrtp2 from Debian source on OpenSSL -> $(SRTP_DIR)'
	$(Q)sh deploy/libsrtp2-openssl.sh $(SRTP_DIR) || { \
	    echo 'error: building libsrtp2 from Debian'"'"'s source (OpenSSL back end) failed;' >&2; \
	    echo 'error: see the lines above and $(SRTP_DIR)/build.log. It needs deb-src access' >&2; \
	    echo 'error: to the Debian archive (apt). To build on Debian'"'"'s NSS libsrtp2 instead' >&2; \
	    echo 'error: (slower SRTP, see README), run: make SRTP=system ...' >&2; \
	    exit 1; }
	$(Q)touch $@
endif

BENCH_TOOLS := $(B)/test/barerelay $(B)/test/mdload $(B)/test/srtpscale \
    $(B)/test/turnfloor

bench: all $(BENCH_TOOLS)
	@sh deploy/deps.sh
	@B=$(B) sh test/bench/run.sh

clean:
	rm -rf build

# ---- fuzzing (libFuzzer, clang): one binary build/fuzz/fuzz-<name> per
# test/fuzz/fuzz-<name>.c, its seed corpus in test/fuzz/corpus/<name>/.
#   make fuzz                       build every target
#   make fuzz-smoke                 run each target once over its corpus
#   make fuzz-run FUZZ_SECONDS=60   fuzz each target (scratch corpus in build/)
# The daemons' non-main sources go into one archive per daemon, so a target
# pulls in only the objects it uses. While a daemon does not build, leave it
# out: make fuzz-smoke FUZZ_DAEMONS="sigd mediad" FUZZ_TARGETS="cfg bus".
FUZZ_CC      ?= clang
FZ           := build/fuzz
FUZZ_DAEMONS ?= sigd mediad turnd
FUZZ_TARGETS ?= $(patsubst test/fuzz/fuzz-%.c,%,$(wildcard test/fuzz/fuzz-*.c))
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(patsubst %,$(FZ)/fuzz-%,$(FUZZ_TARGETS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -O1 -g $(WARN) -D_GNU_SOURCE -fno-omit-frame-pointer \
                -DGW_VERSION=\"fuzz\" $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_CPPFLAGS := -I$(FZ)/proto -Icommon -Isigd -Imediad -Iturnd \
                 $(SRTP_CFLAGS) $(call pc_cflags,$(UNIT_PKGS))
FUZZ_COMMON_O := $(patsubst %,$(FZ)/obj/common/%.o,$(COMMON_CORE) $(COMMON_UV)) \
                 $(FZ)/obj/proto/gw.pb-c.o
FUZZ_LIBS    := $(patsubst %,$(FZ)/lib%.a,$(FUZZ_DAEMONS))
fuzz_objs     = $(patsubst %.c,$(FZ)/obj/%.o,$(filter-out %/main.c,$(wildcard $(1)/*.c)))

.PHONY: fuzz-smoke fuzz-run
.SECONDARY: $(FUZZ_COMMON_O) $(FZ)/proto/gw.pb-c.h
fuzz: $(FUZZ_BINS)

$(FZ)/proto/%.pb-c.c $(FZ)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(FZ)/proto
	protoc-c --c_out=$(FZ)/proto -Iproto $<

$(FZ)/obj/proto/gw.pb-c.o: $(FZ)/proto/gw.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(filter-out -Wshadow -Wstrict-prototypes,$(FUZZ_CFLAGS)) -c $< -o $@

$(FZ)/obj/%.o: %.c $(FZ)/proto/gw.pb-c.h $(wildcard common/*.h sigd/*.h mediad/*.h turnd/*.h) $(SRTP_DEP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(foreach d,$(FUZZ_DAEMONS),$(eval $(FZ)/lib$(d).a: $(call fuzz_objs,$(d))))
$(FZ)/lib%.a:
	@rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz-%: test/fuzz/fuzz-%.c $(FUZZ_COMMON_O) $(FUZZ_LIBS) $(SRTP_DEP)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(filter-out %/libsrtp2.a,$^) \
	    $(SRTP_LIBS) $(call pc_libs,$(UNIT_PKGS)) -o $@

# Each corpus file is run once; any crash, leak or sanitizer report fails.
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    d=test/fuzz/corpus/$$t; \
	    if [ -n "$$(ls -A $$d 2>/dev/null)" ]; then \
	        $(FZ)/fuzz-$$t $$d/* >$(FZ)/smoke-$$t.log 2>&1 || \
	            { tail -n 40 $(FZ)/smoke-$$t.log; echo "fuzz-smoke: $$t FAILED"; exit 1; }; \
	        echo "fuzz-smoke: $$t ok ($$(ls $$d | wc -l) inputs)"; \
	    else \
	        $(FZ)/fuzz-$$t -runs=1000 >$(FZ)/smoke-$$t.log 2>&1 || \
	            { tail -n 40 $(FZ)/smoke-$$t.log; echo "fuzz-smoke: $$t FAILED"; exit 1; }; \
	        echo "fuzz-smoke: $$t ok (no corpus; 1000 generated inputs)"; \
	    fi; \
	done

# Mutates from the seed corpus into build/fuzz/corpus/<name>; crashes are
# written to build/fuzz/ as crash-*. Copy good new seeds back by hand.
fuzz-run: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FZ)/corpus/$$t; \
	    $(FZ)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FZ)/ \
	        $(FZ)/corpus/$$t test/fuzz/corpus/$$t; \
	done
