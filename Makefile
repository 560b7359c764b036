# muster: plain GNU make.  `make` builds into build/, `make check` runs the
# whole suite, `make demo` runs the main job.  V=1 shows commands,
# SANITIZE=address,undefined (or thread) builds instrumented, DEVELOPER=1
# adds -Werror.  Out-of-tree objects under build/obj, -MMD dependencies.
# CPPFLAGS, CFLAGS and LDFLAGS are the user's and come last.
#
# What links what: common/ (the rendezvous client and wire protocol) is
# compiled once and linked into libmuster and into each program that talks
# to a rendezvous (muster, musterd); the programs reach libmuster only
# through <muster.h>.  Each folder compiles with its own include path.

MAJOR := $(shell sed -n 's/^\#define MUSTER_VERSION_MAJOR \([0-9]*\)/\1/p' lib/include/muster.h)
MINOR := $(shell sed -n 's/^\#define MUSTER_VERSION_MINOR \([0-9]*\)/\1/p' lib/include/muster.h)
PATCH := $(shell sed -n 's/^\#define MUSTER_VERSION_PATCH \([0-9]*\)/\1/p' lib/include/muster.h)
VERSION := $(MAJOR).$(MINOR).$(PATCH)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
# the Python metrics helper (lib/python): muster puts it on every rank's
# PYTHONPATH from BINDIR/../share/muster/python (metrics.c)
PYDIR := $(PREFIX)/share/muster/python
DESTDIR ?=

# Sanitizer builds go to their own tree, so that both can coexist.
ifdef SANITIZE
B ?= build-$(subst $(comma),-,$(SANITIZE))
else
B ?= build
endif
comma := ,
CC ?= cc
CFLAGS ?= -O2 -g
OPT_HOT ?= -O3
WARN := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wpointer-arith -Wvla -Wformat-security -Wshadow
ifdef DEVELOPER
WARN += -Werror
endif
ALL_CFLAGS := -std=gnu11 -fPIC -pthread -D_GNU_SOURCE $(WARN) $(CFLAGS)
ALL_LDFLAGS := -pthread $(LDFLAGS)
# MPI reference programs are Open MPI's peers, never instrumented.
PEER_CFLAGS := $(ALL_CFLAGS)
# The shared library names every library it needs (-z defs), except in
# sanitizer builds, whose runtime clang does not link into shared objects.
SO_DEFS := -Wl,-z,defs
ifdef SANITIZE
SO_DEFS :=
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif
# TSan: every program reads tests/tsan.supp by default (common/tsan.c);
# programs that link only libmuster.a get the object itself
ifeq ($(SANITIZE),thread)
TSAN_OBJ = $(B)/obj/common/tsan.o
$(B)/obj/common/tsan.o: ALL_CFLAGS += -DMST_TSAN_SUPP='"$(CURDIR)/tests/tsan.supp"'
endif

# Each package is asked for on its own, so that a missing one is named
# (pkg-check) instead of failing every file that includes another one.
PKGS := libzmq libcjson libsodium hwloc
PKG_MISSING := $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p)))
PKG_CFLAGS := $(foreach p,$(PKGS),$(shell pkg-config --cflags $(p) 2>/dev/null))
PKG_LIBS := $(foreach p,$(PKGS),$(shell pkg-config --libs $(p) 2>/dev/null))
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)

# NCCL: built when nccl.h is found; the library is loaded at run time
# (dlopen), so libmuster runs where CUDA is absent.
CUDA_HOME ?= /usr/local/cuda
ifneq ($(wildcard $(CUDA_HOME)/include/nccl.h),)
NCCL_CFLAGS := -DMUSTER_HAVE_NCCL -I$(CUDA_HOME)/include
endif

LIBS := $(PKG_LIBS) -ldl -lrt -lm

# Include paths per folder: each sees its own headers, common/'s and the
# public muster.h; the launcher also embeds the rendezvous server.
INC_common := -Ilib/include -Icommon
INC_lib := -Ilib/include -Ilib -Icommon
INC_rendezvous := -Ilib/include -Irendezvous -Icommon
INC_launcher := -Ilib/include -Ilauncher -Irendezvous -Icommon
INC_examples := -Ilib/include
# unit tests and test tools see every internal header
INC_tests := -Ilib/include -Ilib -Icommon -Irendezvous -Ilauncher -Itests/unit
$(B)/obj/common/%.o: INCLUDES = $(INC_common)
$(B)/obj/lib/%.o: INCLUDES = $(INC_lib)
$(B)/obj/lib/tools/%.o: INCLUDES = $(INC_examples)
$(B)/obj/rendezvous/%.o: INCLUDES = $(INC_rendezvous)
$(B)/obj/launcher/%.o: INCLUDES = $(INC_launcher)
$(B)/obj/examples/%.o: INCLUDES = $(INC_examples)
$(B)/obj/tests/%.o: INCLUDES = $(INC_tests)

COMMON_SRCS := $(sort $(wildcard common/*.c))
LIB_SRCS := $(sort $(wildcard lib/*.c))
RDV_SRCS := $(filter-out rendezvous/musterd.c,$(sort $(wildcard rendezvous/*.c)))
LCH_SRCS := $(filter-out launcher/main.c,$(sort $(wildcard launcher/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/unit/*_test.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
COMMON_OBJS := $(call obj,$(COMMON_SRCS))
# libmuster carries its own copy of common/ (its bootstrap is a client)
LIB_OBJS := $(call obj,$(LIB_SRCS)) $(COMMON_OBJS)
RDV_OBJS := $(call obj,$(RDV_SRCS))
LCH_OBJS := $(call obj,$(LCH_SRCS))

SONAME := libmuster.so.$(MAJOR)
LIB_SO := $(B)/lib/libmuster.so.$(VERSION)
LIB_A := $(B)/lib/libmuster.a
BINS := $(B)/bin/muster $(B)/bin/musterd
ifneq ($(wildcard lib/tools/allreduce_perf.c),)
BINS += $(B)/bin/muster-allreduce-perf
endif
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRCS))
EXAMPLE_BINS := $(patsubst examples/%.c,$(B)/examples/%,$(EXAMPLE_SRCS))

ifeq ($(V),1)
Q :=
QUIET_CC :=
QUIET_LD :=
else
Q := @
QUIET_CC = @echo '   CC' $@;
QUIET_LD = @echo '   LD' $@;
endif

.PHONY: all lib tests install uninstall check check-all demo deps-check \
	deps-demo clean perf fuzz fuzz-long lint-man pkg-check
.DEFAULT_GOAL := all
.SECONDARY:

all: lib $(BINS) $(EXAMPLE_BINS)
lib: $(LIB_SO) $(LIB_A)

pkg-check:
ifneq ($(strip $(PKG_MISSING)),)
	@echo "muster: pkg-config finds no '$(strip $(PKG_MISSING))' (run 'make deps-demo' as root, or install its -dev package)" >&2; exit 1
endif

$(B)/obj/%.o: %.c | pkg-check
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(INCLUDES) $(PKG_CFLAGS) $(NCCL_CFLAGS) $(CPPFLAGS) \
		$(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Hot loops (reductions) get $(OPT_HOT) after CFLAGS, sanitizer builds too
# (OPT_HOT= turns it off).
$(B)/obj/lib/reduce.o: ALL_CFLAGS += $(OPT_HOT)

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_LD)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) lib/libmuster.map
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -shared -Wl,-soname,$(SONAME) $(SO_DEFS) \
		-Wl,--version-script=lib/libmuster.map -o $@ $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(LIBS)
	$(Q)ln -sf libmuster.so.$(VERSION) $(B)/lib/$(SONAME)
	$(Q)ln -sf $(SONAME) $(B)/lib/libmuster.so

# muster.pc is written at install time, for the PREFIX, LIBDIR and INCDIR
# of that install.
define muster_pc
prefix=$(PREFIX)
libdir=$(LIBDIR)
includedir=$(INCDIR)

Name: muster
Description: muster rendezvous client and allreduce core
Version: $(VERSION)
Requires.private: libzmq libcjson libsodium
Libs: -L$${libdir} -lmuster
Libs.private: -ldl -lrt -lm -pthread
Cflags: -I$${includedir}
endef
export muster_pc

$(B)/bin/muster: $(call obj,launcher/main.c) $(LCH_OBJS) $(RDV_OBJS) \
		$(COMMON_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

$(B)/bin/musterd: $(call obj,rendezvous/musterd.c) $(RDV_OBJS) \
		$(COMMON_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

$(B)/bin/muster-allreduce-perf: $(call obj,lib/tools/allreduce_perf.c) \
		$(TSAN_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

$(B)/examples/%: $(B)/obj/examples/%.o $(TSAN_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

# Unit tests and test tools see every internal symbol.
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LCH_OBJS) $(RDV_OBJS) $(COMMON_OBJS) \
		$(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)
$(B)/tests/%: $(B)/obj/tests/tools/%.o $(LCH_OBJS) $(RDV_OBJS) \
		$(COMMON_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

# MPI reference programs (benchmarks and tests against Open MPI).
$(B)/tests/mpi_%: tests/mpi/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(PEER_CFLAGS) $(MPI_CFLAGS) -o $@ $< $(MPI_LIBS)
MPI_BINS := $(patsubst tests/mpi/%.c,$(B)/tests/mpi_%,$(sort $(wildcard tests/mpi/*.c)))

tests: all $(UNIT_BINS) $(TOOL_BINS) $(MPI_BINS)

deps-check:
	@sh mk/deps.sh check
deps-demo:
	@sh mk/deps.sh demo

check: deps-check
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)MUSTER_BUILD=$(B) MUSTER_SANITIZE=$(SANITIZE) sh tests/run.sh

# What CI runs: the suite plain, under ASan+UBSan and under TSan (each in
# its own build tree), then the long fuzz run.  TSan code runs 5-15x
# slower, so its per-case (TEST_TIMEOUT) and per-file limits are larger.
check-all: deps-check
	$(Q)$(MAKE) --no-print-directory check SANITIZE=
	$(Q)$(MAKE) --no-print-directory check SANITIZE=address,undefined
	$(Q)TEST_TIMEOUT=600 MUSTER_TEST_TIMEOUT=3000 \
		$(MAKE) --no-print-directory check SANITIZE=thread
	$(Q)$(MAKE) --no-print-directory fuzz-long SANITIZE=

demo: deps-demo
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh examples/demo.sh

perf: tests
	$(Q)sh tests/perf/run.sh

lint-man:
	$(Q)mandoc -Tlint -W warning man/*.[0-9]

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libmuster.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libmuster.so
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	printf '%s\n' "$$muster_pc" > $(DESTDIR)$(LIBDIR)/pkgconfig/muster.pc
	install -m 644 lib/include/muster.h $(DESTDIR)$(INCDIR)/
	for f in man/*.1; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man1/; done; true
	for f in man/*.3; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man3/; done; true
	for f in man/*.8; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man8/; done; true
	install -d $(DESTDIR)$(PYDIR)/muster
	install -m 644 lib/python/muster/__init__.py $(DESTDIR)$(PYDIR)/muster/
	install -d $(DESTDIR)$(PYDIR)/muster-hook
	install -m 644 lib/python/muster-hook/sitecustomize.py $(DESTDIR)$(PYDIR)/muster-hook/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS))) \
		$(DESTDIR)$(LIBDIR)/libmuster.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libmuster.so \
		$(DESTDIR)$(LIBDIR)/libmuster.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/muster.pc \
		$(DESTDIR)$(INCDIR)/muster.h \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard man/*.3))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
		$(DESTDIR)$(PYDIR)/muster/__init__.py \
		$(DESTDIR)$(PYDIR)/muster-hook/sitecustomize.py
	-rmdir $(DESTDIR)$(PYDIR)/muster $(DESTDIR)$(PYDIR)/muster-hook $(DESTDIR)$(PYDIR) \
		$(DESTDIR)$(PREFIX)/share/muster 2>/dev/null

# libFuzzer target on the rendezvous message parser/dispatcher (clang);
# tests/t3100-musterd-fuzz.sh builds it and runs a short smoke run.
FUZZ_CC ?= clang
FUZZ_SRCS := tests/fuzz/rdv_msg_fuzz.c $(RDV_SRCS) $(COMMON_SRCS)
$(B)/fuzz/rdv_msg_fuzz: $(FUZZ_SRCS) $(wildcard rendezvous/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$(INC_rendezvous) \
		$(PKG_CFLAGS) -o $@ \
		$(FUZZ_SRCS) $(LIBS) -pthread
fuzz: $(B)/fuzz/rdv_msg_fuzz

# FUZZ_RUNS inputs (10^6) from the seed corpus, on a scratch corpus copy.
FUZZ_RUNS ?= 1000000
fuzz-long: $(B)/fuzz/rdv_msg_fuzz
	$(Q)d=$$(mktemp -d /tmp/muster-fuzz.XXXXXX) && \
	cp tests/fuzz/corpus/rdv_msg/* $$d/ && \
	(cd $$d && $(CURDIR)/$(B)/fuzz/rdv_msg_fuzz -runs=$(FUZZ_RUNS) \
		-rss_limit_mb=2048 -print_final_stats=1 $$d) > $$d.log 2>&1; \
	rc=$$?; grep -E '^(Done|stat::number_of_executed_units)|ERROR|SUMMARY' $$d.log; \
	rm -rf $$d $$d.log; \
	[ $$rc -eq 0 ] && echo "fuzz-long: $(FUZZ_RUNS) inputs, no crash, leak or hang"; \
	exit $$rc

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
