# volfs build.
#   make            -> build/bin/volfs, build/bin/volctl, build/bin/volfs-csi (optimised, -Werror)
#   make test       -> sanitizer build (ASan+UBSan) in build/san, then unit + integration tests
#   make run        -> install deps, build, mount on /mnt/volfs with state in /var/lib/volfs
#   make install    -> binaries, man pages, bash completion, systemd unit, mount helper under $(PREFIX),
#                      podman's containers.conf.d entry for the Docker volume plugin
#   make bench      -> fio benchmark suite (scripts/bench)
#   make bench-scale -> a volume with a million files: metadata jobs, daemon memory;
#                       snapshot, clone, restore, deletion cost in files (build/bench/scale-*.md)
#   make fuzzers    -> libFuzzer targets (clang, ASan+UBSan) in build/fuzz/fuzzers
#   make fuzz       -> run each fuzz target for FUZZ_SECONDS (default 300)
#   make fault      -> the fault-injection volfs and volctl (ASan+UBSan) in build/fault/bin
#   make bench-pg   -> PostgreSQL 15 pgbench on native disk and on volfs (scripts/bench/pg.sh)

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS      = fuse3 sqlite3 liburing uuid yaml-0.1 json-c libcrypto libmicrohttpd
PKG_CONFIG ?= pkg-config
# Evaluated when this Makefile is read: targets that install packages first
# (run, test) build through a sub-make, which reads it again afterwards.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
# What installs the Debian packages, and what mounts volfs for `make run`.
DEPS_CMD ?= bash scripts/install-deps.sh
RUN_CMD  ?= bash scripts/run.sh

SAN ?= 0
ifeq ($(SAN),1)
B        ?= build/san
OPT       = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# test-only hooks (VOLFS_TEST_CLOCK_OFFSET), never in a release build;
# the lock-order check (meta/lockrank.h)
OPT      += -DVOLFS_TEST_HOOKS -DVOLFS_LOCK_CHECKS
else ifeq ($(SAN),fuzz)
# Objects instrumented for libFuzzer's coverage; only the fuzz targets link
# its main (-fsanitize=fuzzer).
B        ?= build/fuzz
CC        = clang
OPT       = -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined -DVOLFS_LOCK_CHECKS
else
B        ?= build
OPT       = -O2
endif

# The fault-injection test build (make fault: build/fault, sanitizers on):
# see meta/fault.h.
FAULT ?= 0
ifeq ($(FAULT),1)
B        := build/fault
CFLAGS   += -DVOLFS_FAULT_INJECTION
endif

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
CFLAGS   += -std=gnu11 -g $(OPT) -Wall -Wextra -Werror -Wno-missing-field-initializers \
            -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. $(PKG_CFLAGS)
# The version lives in one object, rebuilt whenever `git describe` changes
# (the stamp is rewritten only then), so that a binary never reports the
# commit of an older build of the objects that did not change.
VERSION_STAMP := $(B)/version.stamp
$(shell mkdir -p $(B) && (echo '$(VERSION)' | cmp -s - $(VERSION_STAMP) || echo '$(VERSION)' >$(VERSION_STAMP)))
VERSION_OBJ := $(B)/obj/version.o
LDFLAGS  += $(OPT)
LDLIBS   += $(PKG_LIBS)

# volfs-csi: a C++ gRPC adapter (docs/csi.md). Its protocol code is generated
# from tools/csi/csi.proto into $(B)/gen; the generated files are compiled
# without -Werror (their warnings are protoc's, not ours).
CXX      ?= g++
PROTOC   ?= protoc
GRPC_CPP_PLUGIN ?= /usr/bin/grpc_cpp_plugin
CSI_PKGS  = grpc++ protobuf json-c libcrypto
CSI_PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(CSI_PKGS) 2>/dev/null)
CSI_PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(CSI_PKGS) 2>/dev/null) -lpthread
CSI_CXXFLAGS = -std=c++17 -g $(OPT) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. -I$(B)/gen $(CSI_PKG_CFLAGS)
CSI_GEN_SRC := $(B)/gen/csi.pb.cc $(B)/gen/csi.grpc.pb.cc
CSI_GEN_OBJ := $(CSI_GEN_SRC:$(B)/gen/%.cc=$(B)/obj/gen/%.o)
CSI_SRC   := $(filter-out tools/csi/main.cc,$(wildcard tools/csi/*.cc))
CSI_OBJ   := $(CSI_SRC:%.cc=$(B)/obj/%.o)
# the C objects the adapter uses: the control-socket client, quantities, names
# (which quote input through field_error.o)
CSI_C_OBJ := $(B)/obj/tools/client.o $(B)/obj/meta/quantity.o $(B)/obj/meta/names.o \
             $(B)/obj/meta/field_error.o $(VERSION_OBJ)

META_SRC  := $(wildcard meta/*.c)
FS_SRC    := $(filter-out fs/fuse/main.c,$(wildcard fs/*.c fs/*/*.c))
TOOLS_SRC := $(filter-out tools/volctl.c,$(wildcard tools/*.c))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

META_OBJ  := $(META_SRC:%.c=$(B)/obj/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(B)/obj/%.o)
TOOLS_OBJ := $(TOOLS_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzzers/%)
FUZZ_SECONDS ?= 300

.PHONY: check-layers all test unit integration run install uninstall clean bench bench-quick bench-scale bench-pg deps \
        fuzzers fuzz-bins fuzz fault test-builds build-san build-fuzz build-fault build-release
all: $(B)/bin/volfs $(B)/bin/volctl $(B)/bin/volfs-csi

# Every C object depends on every header of the source tree; not on those
# under build/ (another build's generated CSI headers, which no C source
# includes), or generating them would make every other build stale.
SRC_HEADERS := $(filter-out build/%,$(wildcard */*.h */*/*.h))

ifeq ($(SAN)$(FAULT),11)
# The fault build compiles only the sources fault injection changes: one
# that preprocesses to the same text without VOLFS_FAULT_INJECTION takes
# the sanitizer build's object (same flags otherwise) if that is up to date.
SAN_OBJ = build/san/obj/$*.o
$(B)/obj/%.o: %.c $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	@if [ -f $(SAN_OBJ) ] && [ -z "$$(find $^ -newer $(SAN_OBJ))" ] && \
	    $(CC) $(CFLAGS) -E -o $@.i $< && $(CC) $(filter-out -DVOLFS_FAULT_INJECTION,$(CFLAGS)) -E $< | cmp -s - $@.i; then \
	    echo "cp $(SAN_OBJ) $@  # $< is the same without fault injection"; cp $(SAN_OBJ) $@; \
	else \
	    echo "$(CC) $(CFLAGS) -c -o $@ $<"; $(CC) $(CFLAGS) -c -o $@ $<; \
	fi; status=$$?; rm -f $@.i; exit $$status
else
$(B)/obj/%.o: %.c $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
endif

$(VERSION_OBJ): $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	printf 'const char volfs_version[] = "%s";\n' '$(VERSION)' | $(CC) $(CFLAGS) -x c -c -o $@ -

$(B)/bin/volfs: $(B)/obj/fs/fuse/main.o $(FS_OBJ) $(META_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/volctl: $(B)/obj/tools/volctl.o $(TOOLS_OBJ) $(META_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CSI_GEN_SRC) $(CSI_GEN_SRC:.cc=.h) &: tools/csi/csi.proto
	@mkdir -p $(B)/gen
	$(PROTOC) -Itools/csi --cpp_out=$(B)/gen --grpc_out=$(B)/gen \
	    --plugin=protoc-gen-grpc=$(GRPC_CPP_PLUGIN) tools/csi/csi.proto

$(B)/obj/gen/%.o: $(B)/gen/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CSI_CXXFLAGS) -w -c -o $@ $<

$(B)/obj/tools/csi/%.o: tools/csi/%.cc $(wildcard tools/csi/*.h) $(CSI_GEN_SRC)
	@mkdir -p $(dir $@)
	$(CXX) $(CSI_CXXFLAGS) -Wall -Wextra -Werror -c -o $@ $<

$(B)/bin/volfs-csi: $(B)/obj/tools/csi/main.o $(CSI_OBJ) $(CSI_GEN_OBJ) $(CSI_C_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $^ $(CSI_PKG_LIBS)

# csi-call: the tests' CSI client (tests/csi/call.cc)
$(B)/tests/csi-call: tests/csi/call.cc $(CSI_GEN_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(CSI_CXXFLAGS) -Wall -Wextra -Werror $(LDFLAGS) -o $@ $^ $(CSI_PKG_LIBS)

# Every unit binary links the shared fixtures (tests/unit/fixtures.h).
UNIT_FIXTURES := $(B)/obj/tests/unit/fixtures.o
$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(UNIT_FIXTURES) $(FS_OBJ) $(META_OBJ) $(TOOLS_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS) -lcmocka

$(B)/fuzzers/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FS_OBJ) $(META_OBJ) $(TOOLS_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# The test build runs under ASan+UBSan; tests/run.sh prints "N passed, N failed"
# (each fuzz target, run for FUZZ_TEST_SECONDS, counts as one test).
test:
	$(DEPS_CMD)
	python3 scripts/check-layers.py
	$(MAKE) test-builds
	VOLFS_BIN=build/san/bin bash tests/run.sh

# What the tests run, built side by side under one -j: the sanitizer build
# with the unit binaries, the fuzz targets, the fault build (faults.bats)
# and the optimised build (node.bats installs it; `make install` builds it).
test-builds: build-san build-fuzz build-fault build-release
# (after the sanitizer build, whose objects it shares)
build-fault: build-san
build-san:
	$(MAKE) SAN=1 all units
build-fuzz:
	$(MAKE) SAN=fuzz fuzz-bins
build-fault:
	$(MAKE) SAN=1 FAULT=1 build/fault/bin/volfs build/fault/bin/volctl
build-release:
	$(MAKE) SAN=0 all

units: $(UNIT_BIN) $(B)/tests/csi-call

# Includes point down the layers only (scripts/check-layers.py says which).
check-layers:
	@python3 scripts/check-layers.py

fuzz-bins: $(FUZZ_BIN)

fuzzers:
	$(MAKE) SAN=fuzz fuzz-bins

fault:
	$(MAKE) SAN=1 FAULT=1 build/fault/bin/volfs build/fault/bin/volctl

fuzz: fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

deps:
	$(DEPS_CMD)

# Packages first, then a sub-make (which computes the pkg-config flags anew),
# then the binaries on PATH, then the mount.
run:
	$(DEPS_CMD)
	$(MAKE) all
	$(MAKE) install
	VOLFS_BIN=$(B)/bin $(RUN_CMD)

install: all
	install -D -m 0755 $(B)/bin/volfs  $(DESTDIR)$(PREFIX)/bin/volfs
	install -D -m 0755 $(B)/bin/volctl $(DESTDIR)$(PREFIX)/bin/volctl
	install -D -m 0755 $(B)/bin/volfs-csi $(DESTDIR)$(PREFIX)/bin/volfs-csi
	if [ -f docs/volfs.8 ];  then install -D -m 0644 docs/volfs.8  $(DESTDIR)$(PREFIX)/share/man/man8/volfs.8; fi
	install -D -m 0644 docs/volfs-csi.8 $(DESTDIR)$(PREFIX)/share/man/man8/volfs-csi.8
	if [ -f docs/volctl.1 ]; then install -D -m 0644 docs/volctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/volctl.1; fi
	install -D -m 0644 scripts/volctl.bash-completion $(DESTDIR)/usr/share/bash-completion/completions/volctl
	if [ -f scripts/volfs.service ]; then install -d $(DESTDIR)/etc/systemd/system && \
	  sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' scripts/volfs.service >$(DESTDIR)/etc/systemd/system/volfs.service && \
	  chmod 0644 $(DESTDIR)/etc/systemd/system/volfs.service; fi
	if [ -f scripts/mount.fuse.volfs ]; then install -D -m 0755 scripts/mount.fuse.volfs $(DESTDIR)/sbin/mount.fuse.volfs; fi
	install -D -m 0644 scripts/podman-volfs.conf $(DESTDIR)/etc/containers/containers.conf.d/volfs.conf

bench: all
	bash scripts/bench/run.sh

bench-quick: all
	QUICK=1 bash scripts/bench/run.sh

bench-scale: all
	bash scripts/bench/scale.sh
	bash scripts/bench/snapcost.sh

bench-pg: all
	bash scripts/bench/pg.sh

clean:
	rm -rf build
