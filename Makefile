# volfs build.
#   make            -> build/bin/volfs, build/bin/volctl (optimised, -Werror)
#   make test       -> sanitizer build (ASan+UBSan) in build/san, then unit + integration tests
#   make run        -> install deps, build, mount on /mnt/volfs with state in /var/lib/volfs
#   make install    -> binaries, man pages, bash completion, systemd unit, mount helper under $(PREFIX),
#                      podman's containers.conf.d entry for the Docker volume plugin
#   make bench      -> fio benchmark suite (scripts/bench)
#   make bench-scale -> a volume with a million files: metadata jobs, daemon memory
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
else
B        ?= build
OPT       = -O2
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

META_SRC  := $(wildcard meta/*.c)
FS_SRC    := $(filter-out fs/fuse/main.c,$(wildcard fs/*.c fs/*/*.c))
TOOLS_SRC := $(filter-out tools/volctl.c,$(wildcard tools/*.c))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)

META_OBJ  := $(META_SRC:%.c=$(B)/obj/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(B)/obj/%.o)
TOOLS_OBJ := $(TOOLS_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: check-layers all test unit integration run install uninstall clean bench bench-quick bench-scale bench-pg deps
all: $(B)/bin/volfs $(B)/bin/volctl

$(B)/obj/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(VERSION_OBJ): $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	printf 'const char volfs_version[] = "%s";\n' '$(VERSION)' | $(CC) $(CFLAGS) -x c -c -o $@ -

$(B)/bin/volfs: $(B)/obj/fs/fuse/main.o $(FS_OBJ) $(META_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/volctl: $(B)/obj/tools/volctl.o $(TOOLS_OBJ) $(META_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(FS_OBJ) $(META_OBJ) $(TOOLS_OBJ) $(VERSION_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LDLIBS) -lcmocka

# The test build runs under ASan+UBSan; tests/run.sh prints "N passed, N failed".
test:
	$(DEPS_CMD)
	python3 scripts/check-layers.py
	$(MAKE) SAN=1 all units
	VOLFS_BIN=build/san/bin bash tests/run.sh

units: $(UNIT_BIN)

# Includes point down the layers only (scripts/check-layers.py says which).
check-layers:
	@python3 scripts/check-layers.py

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
	if [ -f docs/volfs.8 ];  then install -D -m 0644 docs/volfs.8  $(DESTDIR)$(PREFIX)/share/man/man8/volfs.8; fi
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

bench-pg: all
	bash scripts/bench/pg.sh

clean:
	rm -rf build
