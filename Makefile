# Split-plane SIP/RTP gateway: sigd, mediad, turnd (+ gwctl).
#
#   make                              build everything (installs Debian deps if missing)
#   make run                          run the three daemons on loopback (deploy/local.ini)
#   make test                         unit + integration tests
#   make SANITIZE=address,undefined test
#   make bench                        benchmarks
#   make fuzz                         build libFuzzer targets (clang)
#   make clean

PKGS      := sofia-sip-ua libsrtp2 gnutls libzmq libprotobuf-c libuv inih
SANITIZE  ?=
CC        ?= cc
VARIANT   := $(if $(SANITIZE),san,rel)
B         := build/$(VARIANT)

# Install missing Debian packages before anything asks pkg-config.
DEPS_OK := $(shell pkg-config --exists $(PKGS) && command -v protoc-c >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
$(info deps: some packages are missing; running deploy/deps.sh)
$(shell sh deploy/deps.sh >&2)
endif

WARN      := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN) -D_GNU_SOURCE -fno-omit-frame-pointer
ifneq ($(SANITIZE),)
CFLAGS    += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=$(SANITIZE)
endif
CPPFLAGS  += -I$(B)/proto -Icommon

pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs   = $(shell pkg-config --libs $(1))

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

BINS := $(B)/sigd $(B)/mediad $(B)/turnd $(B)/gwctl

SIGD_PKGS   := sofia-sip-ua libzmq libprotobuf-c inih
MEDIAD_PKGS := libuv libsrtp2 libzmq libprotobuf-c inih
TURND_PKGS  := libuv gnutls libzmq libprotobuf-c inih
GWCTL_PKGS  := libuv libzmq libprotobuf-c inih

.PHONY: all run test unit integration bench fuzz clean
all: $(BINS)

$(PROTO_C) $(PROTO_H): proto/gw.proto
	@mkdir -p $(B)/proto
	protoc-c --c_out=$(B)/proto -Iproto proto/gw.proto

$(PROTO_O): $(PROTO_C)
	$(CC) $(CPPFLAGS) $(filter-out -Wshadow -Wstrict-prototypes,$(CFLAGS)) \
	    $(call pc_cflags,libprotobuf-c) -c $< -o $@

$(B)/common/%.o: common/%.c $(PROTO_H) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,libuv libzmq libprotobuf-c inih) -c $< -o $@

$(B)/sigd/%.o: sigd/%.c $(PROTO_H) $(wildcard sigd/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(SIGD_PKGS)) -c $< -o $@

$(B)/mediad/%.o: mediad/%.c $(PROTO_H) $(wildcard mediad/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(MEDIAD_PKGS)) -c $< -o $@

$(B)/turnd/%.o: turnd/%.c $(PROTO_H) $(wildcard turnd/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(TURND_PKGS)) -c $< -o $@

$(B)/gwctl/%.o: gwctl/%.c $(PROTO_H) $(wildcard gwctl/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(GWCTL_PKGS)) -c $< -o $@

$(B)/sigd: $(SIGD_O) $(COMMON_CORE_O)
	$(CC) $(LDFLAGS) $^ $(call pc_libs,$(SIGD_PKGS)) -o $@

$(B)/mediad: $(MEDIAD_O) $(COMMON_CORE_O) $(COMMON_UV_O)
	$(CC) $(LDFLAGS) $^ $(call pc_libs,$(MEDIAD_PKGS)) -o $@

$(B)/turnd: $(TURND_O) $(COMMON_CORE_O) $(COMMON_UV_O)
	$(CC) $(LDFLAGS) $^ $(call pc_libs,$(TURND_PKGS)) -o $@

$(B)/gwctl: $(GWCTL_O) $(COMMON_CORE_O) $(COMMON_UV_O)
	$(CC) $(LDFLAGS) $^ $(call pc_libs,$(GWCTL_PKGS)) -o $@

# ---- unit tests: one binary per test/unit/test-*.c, linked with the
# objects it names in its first line comment is overkill; link them all.
UNIT_SRC  := $(wildcard test/unit/test-*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(B)/test/%,$(UNIT_SRC))
UNIT_LIB_O := $(COMMON_CORE_O) $(COMMON_UV_O) \
              $(filter-out %/main.o,$(SIGD_O) $(MEDIAD_O) $(TURND_O))
UNIT_PKGS := sofia-sip-ua libuv libsrtp2 gnutls libzmq libprotobuf-c inih

$(B)/test/runner.o: test/unit/runner.c test/unit/runner.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/test/%: test/unit/%.c $(B)/test/runner.o $(UNIT_LIB_O) test/unit/runner.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isigd -Imediad -Iturnd -Itest/unit $(CFLAGS) \
	    $(call pc_cflags,$(UNIT_PKGS)) $< $(B)/test/runner.o $(UNIT_LIB_O) \
	    $(LDFLAGS) $(call pc_libs,$(UNIT_PKGS)) -o $@

run: all
	@B=$(B) sh deploy/run.sh deploy/local.ini

unit: $(UNIT_BINS)
	@sh test/unit/run.sh $(UNIT_BINS)

integration: all
	@B=$(B) sh test/integration/run.sh

test: all unit integration

bench: all
	@B=$(B) sh test/bench/run.sh

clean:
	rm -rf build
