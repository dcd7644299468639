# personalnet — top-level build. Objects go to build/ (out of tree).
# Targets: all (default), deps, test, test-kernel, bench, bench-kernel, demo, asan, fuzz, fuzz-replay, install,
# uninstall, clean.

PREFIX  ?= /usr/local
DESTDIR ?=
# Where the set-uid helper is installed (the library runs it) and where it reads the
# administrator's policy (SYSCONFDIR/personalnet/personalnet.conf).
LIBEXECDIR ?= $(PREFIX)/libexec/personalnet
SYSCONFDIR ?= /etc
# pkg-config metadata goes under lib/, not share/: it names the library's directory, so it
# is architecture-dependent (share/pkgconfig is for header-only packages). Debian's
# pkg-config searches $(PREFIX)/lib/pkgconfig for /usr/local by default.
PKGCONFIGDIR ?= $(PREFIX)/lib/pkgconfig
# Where bash-completion (2.x) looks for a command's completion when it is first used.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
BUILD   ?= build
VERSION := 0.3.0
SOVER   := 1

CXX      ?= g++
CXXSTD   := -std=c++20
WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
DEPFLAGS  = -MMD -MP
PKGS     := libmnl libnftnl libcap libbpf
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -I. -Iinclude -DPERSONALNET_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
CXXFLAGS += $(CXXSTD) $(WARN) $(OPT) $(SANITIZE)
LDFLAGS  += $(SANITIZE)

LIB_SRCS   := $(sort $(wildcard lib/*/*.cpp))

# The module graph (docs/ARCHITECTURE.md, "Modules"), kept here and nowhere else: each
# module lib/M is a static archive build/lib/libpn_M.a of lib/M/*.cpp (new files are
# picked up by the wildcard), and MOD_DEPS_M names the modules whose headers it may
# include and whose symbols it may use. `make all` enforces both (see "Module checks"
# below), so a dependency outside the graph fails the build. MOD_PKGS_M: the system
# libraries the module calls itself. MODULES is in link order: a module before the ones
# it depends on.
MODULES := slurm server pam space helper policy ike fs registry bpf nft netlink core
MOD_DEPS_core     :=
MOD_DEPS_netlink  := core
MOD_DEPS_nft      := core
MOD_DEPS_bpf      := core
MOD_DEPS_registry := core
MOD_DEPS_fs       := core
MOD_DEPS_ike      := core
MOD_DEPS_policy   := core ike
MOD_DEPS_helper   := core ike
MOD_DEPS_space    := core netlink nft bpf registry fs ike helper
MOD_DEPS_pam      := core ike policy
MOD_DEPS_server   := core registry policy helper space ike
MOD_DEPS_slurm    := core ike registry space
MOD_PKGS_netlink  := libmnl
MOD_PKGS_nft      := libnftnl libmnl
MOD_PKGS_bpf      := libbpf
MOD_PKGS_helper   := libcap
MOD_PKGS_server   := libcap

# A module and everything it depends on, directly or not (in link order).
mod_closure = $(filter $(sort $(1) $(foreach d,$(MOD_DEPS_$(1)),$(call mod_closure,$(d)))),$(MODULES))
mod_archives = $(foreach m,$(1),$(BUILD)/lib/libpn_$(m).a)
mod_pkg_libs = $(if $(strip $(1)),$(shell pkg-config --libs $(sort $(foreach m,$(1),$(MOD_PKGS_$(m)))) 2>/dev/null))
# What a program using modules $(1) links: their archives and everything below them.
mod_link = $(call mod_archives,$(call mod_closures,$(1))) $(call mod_pkg_libs,$(call mod_closures,$(1)))
mod_closures = $(filter $(sort $(foreach m,$(1),$(call mod_closure,$(m)))),$(MODULES))

# The library's own modules: libpersonalnet.so is all of them (the helper's server is
# the set-uid helper's alone).
LIB_MODULES  := pam space helper policy ike fs registry bpf nft netlink core
# Tests and test helpers link every module.
ALL_ARCHIVES := $(call mod_archives,$(MODULES))
ALL_LINK     := $(call mod_link,$(MODULES))
MOD_CHECKS   := $(MODULES:%=$(BUILD)/check/%.includes) $(MODULES:%=$(BUILD)/check/%.links)
LIB_SONAME := libpersonalnet.so.$(SOVER)
LIB_REAL   := $(BUILD)/lib/libpersonalnet.so.$(VERSION)
LIB_LINK   := $(BUILD)/lib/libpersonalnet.so

TOOLS      := mkportspace pnet
TOOL_BINS  := $(TOOLS:%=$(BUILD)/bin/%)
# The helper is built per policy location, so that a staged install for the tests
# (another SYSCONFDIR) never replaces the real one's object.
PNHELPER_KEY := $(subst /,_,$(SYSCONFDIR))
PNHELPER_OBJ := $(BUILD)/obj/pnhelper$(PNHELPER_KEY)/pnhelper.o
PNHELPER     := $(BUILD)/libexec$(PNHELPER_KEY)/pnhelper
# The session's broker (root starts it, not set-uid) re-reads the same policy: built per
# policy location like the helper, next to it.
PNBROKER_OBJ := $(BUILD)/obj/pnhelper$(PNHELPER_KEY)/pnbroker.o
PNBROKER     := $(BUILD)/libexec$(PNHELPER_KEY)/pnbroker
HARDEN       := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
# Programs the library runs as root (Context::libexecdir): in the build tree under
# $(BUILD)/libexec (PERSONALNET_LIBEXECDIR for the tests), installed to LIBEXECDIR.
LIBEXEC_PROGS := pnreaper pnkeeper pnstore pnassemble pnwatch pninit
LIBEXEC_BINS  := $(LIBEXEC_PROGS:%=$(BUILD)/libexec/%)
HELPER_BINS := $(BUILD)/bin/pnprobe $(BUILD)/bin/pnpkt $(BUILD)/bin/pnfswork $(BUILD)/bin/pnsim $(BUILD)/bin/pnovl \
               $(BUILD)/bin/pnpeer $(BUILD)/bin/pntime $(BUILD)/bin/pnslurmbench \
               $(BUILD)/bin/pnswap $(BUILD)/bin/pnbrokerrace
# The C++ runtime linked statically into the programs that every creation or destroy
# starts (the tools, the helper, the library's root programs): fewer symbols to bind at
# each start, and with -z now all of them were bound. Not under a sanitizer, which
# intercepts the runtime's dynamic symbols.
STATIC_RT  := $(if $(strip $(SANITIZE)),,-static-libstdc++ -static-libgcc)
# libbpf (with libelf and zlib, which it calls) and libnftnl too, from Debian's -dev
# packages' archives: their relocations were ~0.8 ms of each start (`pnet --version`
# 2.84 -> 2.05 ms of CPU under perf stat). (An eBPF overlay test that failed twice with
# libbpf static failed with it shared too: a race, not the linking; the whole suite
# passes with it static.) libmnl has no archive in Debian; libcap is small.
comma := ,
STATIC_PKG_BPF   := -Wl$(comma)-Bstatic -lbpf -lelf -lz -Wl$(comma)-Bdynamic
STATIC_PKG_NFTNL := -Wl$(comma)-Bstatic -lnftnl -Wl$(comma)-Bdynamic
static_pkgs = $(if $(STATIC_RT),$(patsubst -lbpf,$(STATIC_PKG_BPF),$(patsubst -lnftnl,$(STATIC_PKG_NFTNL),$(1))),$(1))

# mkportspace's option parser is an object of its own: the unit tests and fuzzers call it.
MKPS_OPTS_OBJ := $(BUILD)/obj/tools/mkportspace_options.o

# Fuzz targets (tests/fuzz/fuzz_NAME.cpp, corpus in tests/fuzz/corpus/NAME/): every parser
# of input a user reaches.
FUZZ_TARGETS := settings request mkportspace policy overlay pam channel vici mountinfo userdef dnmap credentials \
                hostlist
FUZZ_SRCS    := $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%.cpp)

UNIT_SRCS  := $(sort $(wildcard tests/unit/*.cpp)) $(FUZZ_SRCS) tests/gtest_main.cpp
INTEG_SRCS := $(sort $(wildcard tests/integration/*.cpp)) tests/sim/simhosts.cpp tests/sim/lan.cpp tests/unit/charon_daemon.cpp \
              tests/gtest_main.cpp
# The attack suite (tests/attacks, docs/SECURITY.md): hostile users against the staged install.
ATTACK_SRCS := $(sort $(filter-out tests/attacks/pn%.cpp,$(wildcard tests/attacks/*.cpp))) tests/integration/harness.cpp tests/sim/simhosts.cpp \
               tests/gtest_main.cpp
UNIT_BIN   := $(BUILD)/tests/unit_tests
INTEG_BIN  := $(BUILD)/tests/integration_tests
ATTACK_BIN := $(BUILD)/tests/attack_tests
GTEST_LIBS := -lgtest -lpthread

# podman, runc and busybox-static: the container recipe's test (tests/integration/recipe_test.cpp)
# imports a busybox image of its own and runs it with runc where crun refuses the cgroup setup.
DEB_PACKAGES := g++ make pkg-config libmnl-dev libnftnl-dev libcap-dev libgtest-dev \
                nftables iproute2 iputils-ping util-linux procps bc e2fsprogs fuse-overlayfs mandoc iperf3 \
                strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins \
                libpam0g-dev openssh-server openssh-client clang libbpf-dev bpftool strace \
                podman runc busybox-static
# `make test-kernel` and `make bench-kernel` boot Debian's own kernel (which has ESP and
# XFRM, unlike the development machines') under qemu without KVM; the initramfs is built
# from busybox-static and the kernel's 9p modules (tests/kernel/mkinitramfs). Installed
# without recommends: the kernel only needs to be bootable by qemu -kernel, not by a
# bootloader (its postinst runs update-initramfs, which works in a container).
KERNEL_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
# `make bench` only: the peer a user would pick instead of a personal network, measured
# beside it (bench/network-bench), and the sandbox creation is timed against (bench/run-bench).
BENCH_PACKAGES := nebula bubblewrap
# `make test` runs a real Slurm cluster (tests/integration/slurm_cluster.hpp: munged,
# slurmctld and three slurmd as simulated hosts, each with its own configuration, key and
# state under a temporary directory). The packages' own services are never used; their
# postinst may enable or start them where an init system runs.
SLURM_PACKAGES := slurmd slurmctld slurm-client munge libslurm-dev
# clang's libFuzzer runtime: `make test` builds the fuzz targets and replays their corpora,
# `make fuzz` runs them.
FUZZ_PACKAGES := clang libclang-rt-dev

.PHONY: all deps fuzz-deps test test-kernel unit integration bench bench-kernel demo asan fuzz fuzz-replay install \
        uninstall clean format tidy

PC_FILE    := $(BUILD)/personalnet.pc
# The PAM session module (pam_personalnet(8)).
PAM_MODULE := $(BUILD)/lib/security/pam_personalnet.so
# The Slurm SPANK plugin (spank_personalnet(8)), built where Slurm's spank.h is
# (libslurm-dev, in SLURM_PACKAGES) and installed where slurmd looks for plugins (Debian's
# PluginDir; plugstack.conf may also name it by absolute path).
SPANK_H         := $(wildcard /usr/include/slurm/spank.h)
SPANK_PLUGIN    := $(if $(SPANK_H),$(BUILD)/slurm/spank_personalnet.so)
SLURM_PLUGINDIR ?= /usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/slurm-wlm

all: $(MOD_CHECKS) $(LIB_REAL) $(LIB_LINK) $(TOOL_BINS) $(PNHELPER) $(PNBROKER) $(LIBEXEC_BINS) $(HELPER_BINS) $(PC_FILE) $(PAM_MODULE) \
     $(SPANK_PLUGIN)

# Installs those of the Debian packages $(1) that are missing ($(2): more apt-get options).
define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing >/dev/null; }; \
	fi
endef

deps:
	$(call install_missing,$(sort $(DEB_PACKAGES) $(FUZZ_PACKAGES) $(BENCH_PACKAGES) $(SLURM_PACKAGES)))
	$(call install_missing,$(KERNEL_PACKAGES),--no-install-recommends)

fuzz-deps:
	$(call install_missing,$(FUZZ_PACKAGES))

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -fPIC $(DEPFLAGS) -c $< -o $@

# kmod/: the eBPF SPI dispatcher, compiled for the BPF target and embedded in the library
# as a libbpf skeleton (the kernel's verifier checks it when it is loaded).
BPF_CLANG  ?= clang
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -I/usr/include/$(shell gcc -print-multiarch 2>/dev/null) -Ikmod
BPF_OBJ    := $(BUILD)/kmod/dispatch.bpf.o
BPF_SKEL   := $(BUILD)/kmod/dispatch.skel.h
$(BPF_OBJ): kmod/dispatch.bpf.c kmod/dispatch.h
	@mkdir -p $(@D)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BPF_SKEL): $(BPF_OBJ)
	bpftool gen skeleton $< name pn_dispatch > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/lib/bpf/dispatch.o: $(BPF_SKEL)
$(BUILD)/obj/lib/bpf/dispatch.o: CPPFLAGS += -I$(BUILD)/kmod

# One archive per module (its objects are compiled -fPIC: they also go into the shared
# library and the PAM module).
$(foreach m,$(MODULES),$(eval $(BUILD)/lib/libpn_$(m).a: $(patsubst %.cpp,$(BUILD)/obj/%.o,$(sort $(wildcard lib/$(m)/*.cpp)))))
$(BUILD)/lib/libpn_%.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Module checks, part of `make all`. Includes: a module's sources and headers may include
# lib/X/ headers of itself and of MOD_DEPS only (tools/check-module-includes). Symbols:
# the module's whole archive, linked with its dependencies' archives and its system
# libraries only into a throwaway shared object with --no-undefined, so that a call into
# a module outside the graph fails to link. The public headers (include/personalnet) are
# shared: what a module implements of them is checked by the link. Every directory
# under lib/ must be a module of the graph.
$(foreach d,$(filter-out $(MODULES),$(patsubst lib/%/,%,$(wildcard lib/*/))),$(error lib/$(d) is not a module of the graph: add it to MODULES in the Makefile))
$(foreach m,$(MODULES),$(eval $(BUILD)/check/$(m).includes: tools/check-module-includes $(wildcard lib/$(m)/*.cpp lib/$(m)/*.hpp)))
$(BUILD)/check/%.includes:
	@mkdir -p $(@D)
	@tools/check-module-includes $* "$(MOD_DEPS_$*)" && touch $@
$(foreach m,$(MODULES),$(eval $(BUILD)/check/$(m).links: $(call mod_archives,$(m) $(filter-out $(m),$(call mod_closure,$(m))))))
$(BUILD)/check/%.links:
	@mkdir -p $(@D)
	@$(CXX) -shared -Wl,--no-undefined $(LDFLAGS) -o $(@:.links=.so) -Wl,--whole-archive $< \
	    -Wl,--no-whole-archive $(filter-out $<,$^) $(call mod_pkg_libs,$(call mod_closure,$*)) \
	    || { echo "lib/$* uses a module outside its dependencies ($(or $(MOD_DEPS_$*),none)): see MOD_DEPS_$* in the Makefile" >&2; exit 1; }
	@rm -f $(@:.links=.so) && touch $@

$(LIB_REAL): $(call mod_archives,$(LIB_MODULES)) lib/personalnet.map
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--version-script=lib/personalnet.map $(LDFLAGS) \
	    -o $@ -Wl,--whole-archive $(filter %.a,$^) -Wl,--no-whole-archive $(call mod_pkg_libs,$(LIB_MODULES))
	ln -sf $(notdir $@) $(BUILD)/lib/$(LIB_SONAME)

$(LIB_LINK): $(LIB_REAL)
	ln -sf $(notdir $<) $@

# mkportspace and pnet link the library's archives, not libpersonalnet.so, and the C++
# runtime statically: every creation, login and destroy starts them, and the dynamic
# loader's work (libpersonalnet.so's relocations, libstdc++'s symbols) was 1.5 ms of each
# start here (issue 21; docs/ARCHITECTURE.md, Performance).
$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(call mod_archives,$(LIB_MODULES))
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(call static_pkgs,$(call mod_link,$(LIB_MODULES))) $(STATIC_RT)

$(BUILD)/bin/mkportspace: $(MKPS_OPTS_OBJ)

# The library's built-in path to the helper; the stamp changes when LIBEXECDIR does.
$(BUILD)/libexecdir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@
$(BUILD)/obj/lib/core/context.o: $(BUILD)/libexecdir.stamp
$(BUILD)/obj/lib/core/context.o: CPPFLAGS += -DPERSONALNET_HELPER_PATH='"$(LIBEXECDIR)/pnhelper"'
$(BUILD)/obj/lib/core/context.o: CPPFLAGS += -DPERSONALNET_LIBEXECDIR='"$(LIBEXECDIR)"'

# personalnet.pc for the install PREFIX; the stamp changes when PREFIX does.
$(BUILD)/prefix.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX) $(VERSION)' | cmp -s - $@ || echo '$(PREFIX) $(VERSION)' > $@
$(PC_FILE): personalnet.pc.in $(BUILD)/prefix.stamp
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# The set-uid helper: the modules' archives linked in statically (a set-uid program must
# not look for libraries relative to itself), hardened, no RPATH. Installed stripped
# (`install -s`: 35.0 MB with debug information, 1.39 MB without).
$(PNHELPER_OBJ): tools/pnhelper.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -DPERSONALNET_POLICY_PATH='"$(SYSCONFDIR)/personalnet/personalnet.conf"' \
	    $(CXXFLAGS) $(HARDEN) $(DEPFLAGS) -c $< -o $@
# It links the modules it uses only (the server and what it needs; not lib/pam).
PNHELPER_MODULES := server
$(PNHELPER): $(PNHELPER_OBJ) $(call mod_archives,$(call mod_closures,$(PNHELPER_MODULES)))
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -pie -Wl,-z,relro,-z,now -o $@ $(PNHELPER_OBJ) $(call static_pkgs,$(call mod_link,$(PNHELPER_MODULES))) $(STATIC_RT)
$(PNBROKER_OBJ): tools/pnbroker.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -DPERSONALNET_POLICY_PATH='"$(SYSCONFDIR)/personalnet/personalnet.conf"' \
	    $(CXXFLAGS) $(HARDEN) $(DEPFLAGS) -c $< -o $@
$(PNBROKER): $(PNBROKER_OBJ) $(call mod_archives,$(call mod_closures,$(PNHELPER_MODULES)))
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -pie -Wl,-z,relro,-z,now -o $@ $(PNBROKER_OBJ) $(call static_pkgs,$(call mod_link,$(PNHELPER_MODULES))) $(STATIC_RT)

.PHONY: FORCE
FORCE:

# The programs the library runs (pnreaper, pnkeeper, pnstore, pnassemble, pninit): the modules' archives linked in
# statically like the helper's, so that root runs no library found by a search path.
LIBEXEC_MODULES := space
$(LIBEXEC_BINS): $(BUILD)/libexec/%: $(BUILD)/obj/tools/%.o $(call mod_archives,$(call mod_closures,$(LIBEXEC_MODULES)))
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -pie -Wl,-z,relro,-z,now -o $@ $< $(call static_pkgs,$(call mod_link,$(LIBEXEC_MODULES))) $(STATIC_RT)

# The PAM module links the library objects statically: the login service (sshd, login)
# loads it with dlopen and must find nothing of ours in its library path. The version
# script exports the pam_sm_* entry points only.
PAM_MODULES := pam space
$(PAM_MODULE): $(BUILD)/obj/pam/pam_personalnet.o $(call mod_archives,$(call mod_closures,$(PAM_MODULES))) \
               pam/pam_personalnet.map
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,--version-script=pam/pam_personalnet.map -Wl,-z,relro,-z,now $(LDFLAGS) \
	    -o $@ $(filter %.o,$^) $(call mod_link,$(PAM_MODULES)) -lpam

# The SPANK plugin likewise: slurmd, srun and slurmstepd dlopen it; it exports the symbols
# Slurm's loader looks up only, and leaves Slurm's own (spank_*, slurm_error) undefined
# for the loading program to resolve.
SPANK_MODULES := slurm
$(BUILD)/slurm/spank_personalnet.so: $(BUILD)/obj/slurm/spank_personalnet.o \
                                     $(call mod_archives,$(call mod_closures,$(SPANK_MODULES))) slurm/spank_personalnet.map
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,--version-script=slurm/spank_personalnet.map -Wl,-z,relro,-z,now $(LDFLAGS) \
	    -o $@ $(filter %.o,$^) $(call mod_link,$(SPANK_MODULES))

$(BUILD)/bin/pnprobe: $(BUILD)/obj/bench/pnprobe.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/pnpkt: $(BUILD)/obj/bench/pnpkt.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/pnbrokerrace: $(BUILD)/obj/tests/attacks/pnbrokerrace.o $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK)

$(BUILD)/bin/pnswap: $(BUILD)/obj/tests/attacks/pnswap.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/pnfswork: $(BUILD)/obj/bench/pnfswork.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/pntime: $(BUILD)/obj/bench/pntime.o
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^

# Test and demo helpers (not installed) link the modules' archives statically.
$(BUILD)/bin/pnsim: $(BUILD)/obj/tests/sim/pnsim.o $(BUILD)/obj/tests/sim/simhosts.o $(BUILD)/obj/tests/sim/lan.o $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK)

$(BUILD)/bin/pnovl: $(BUILD)/obj/bench/pnovl.o $(BUILD)/obj/tests/unit/charon_daemon.o $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK) -lpthread

$(BUILD)/bin/pnpeer: $(BUILD)/obj/bench/pnpeer.o $(BUILD)/obj/tests/unit/charon_daemon.o $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK) -lpthread

# make bench's Slurm table (bench/slurm-bench): the test suite's Slurm cluster and simulated hosts.
PNSLURMBENCH_OBJS := $(addprefix $(BUILD)/obj/,bench/pnslurmbench.o tests/integration/slurm_cluster.o \
                     tests/integration/harness.o tests/sim/simhosts.o tests/sim/lan.o)
$(BUILD)/bin/pnslurmbench: $(PNSLURMBENCH_OBJS) $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK)

# Tests link every module's archive statically so they can reach internal APIs.
$(UNIT_BIN): $(UNIT_SRCS:%.cpp=$(BUILD)/obj/%.o) $(MKPS_OPTS_OBJ) $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK) $(GTEST_LIBS)

# The completion test sources the completion script by absolute path, like the corpus below.
$(BUILD)/obj/tests/unit/completion_test.o: CPPFLAGS += -DPN_COMPLETION='"$(CURDIR)/completions/personalnet"'
# So does the example's test, which compiles a copy of examples/run_in_space.cpp.
$(BUILD)/obj/tests/integration/example_test.o: CPPFLAGS += -DPN_EXAMPLES='"$(CURDIR)/examples"'

# The corpus replay finds the corpus by absolute path, whatever the working directory.
$(BUILD)/obj/tests/unit/fuzz_corpus_test.o: CPPFLAGS += -DPN_FUZZ_CORPUS='"$(CURDIR)/tests/fuzz/corpus"'

$(INTEG_BIN): $(INTEG_SRCS:%.cpp=$(BUILD)/obj/%.o) $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK) $(GTEST_LIBS) -lpam

$(ATTACK_BIN): $(ATTACK_SRCS:%.cpp=$(BUILD)/obj/%.o) $(ALL_ARCHIVES)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LINK) $(GTEST_LIBS)

# Where the staged helper reads its policy, which the tests of unprivileged use write.
TEST_SYSCONFDIR ?= /run/personalnet-test
$(BUILD)/test-sysconfdir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(TEST_SYSCONFDIR)' | cmp -s - $@ || echo '$(TEST_SYSCONFDIR)' > $@
$(BUILD)/obj/tests/integration/unprivileged_test.o $(ATTACK_SRCS:%.cpp=$(BUILD)/obj/%.o): $(BUILD)/test-sysconfdir.stamp
$(BUILD)/obj/tests/%.o: CPPFLAGS += -DPN_TEST_SYSCONFDIR='"$(TEST_SYSCONFDIR)"'

unit: $(UNIT_BIN)
integration: all $(INTEG_BIN)

NPROC := $(shell nproc 2>/dev/null || echo 2)

# The tests of unprivileged use and the attack suite run an install staged under
# $(BUILD)/stage, whose helper reads its policy from $(TEST_SYSCONFDIR) (written by the
# tests themselves).
STAGE := $(abspath $(BUILD))/stage

# The fuzz targets are built too (clang, ASan) and each replays its corpus once
# (tests/fuzz/replay-corpus), so that a target that no longer builds fails the tests.
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all $(UNIT_BIN) $(INTEG_BIN) $(ATTACK_BIN) $(FUZZ_BINS)
	@$(MAKE) --no-print-directory -s -j$(NPROC) install DESTDIR=$(STAGE) SYSCONFDIR=$(TEST_SYSCONFDIR) >/dev/null
	@BUILD=$(BUILD) tests/run-tests $(UNIT_BIN) $(INTEG_BIN) $(ATTACK_BIN) tests/fuzz/replay-corpus

# The overlay integration tests and port- and file-space smoke tests inside a VM whose
# kernel has ESP: the kernel XFRM datapath (tests/kernel/run-vm; ~10 min under TCG).
test-kernel: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all $(INTEG_BIN)
	@$(MAKE) --no-print-directory -s -j$(NPROC) install DESTDIR=$(STAGE) SYSCONFDIR=$(TEST_SYSCONFDIR) >/dev/null
	@BUILD=$(BUILD) tests/kernel/run-vm test

bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) bench/run-bench
	@BUILD=$(BUILD) bench/fs-bench
	@BUILD=$(BUILD) bench/overlay-bench
	@BUILD=$(BUILD) bench/dispatch-bench
	@BUILD=$(BUILD) bench/siblings-bench
	@BUILD=$(BUILD) bench/network-bench
	@BUILD=$(BUILD) bench/slurm-bench
	@BUILD=$(BUILD) bench/gc-bench
	@BUILD=$(BUILD) tests/kernel/run-vm bench

# The overlay and network tables alone, in the VM with the kernel datapath.
bench-kernel: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) tests/kernel/run-vm bench

demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) tools/demo

# Unit tests under AddressSanitizer and UBSan, in their own build tree.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT='-O1 -g' \
	    SANITIZE='-fsanitize=address,undefined -fno-omit-frame-pointer' build/asan/tests/unit_tests
	@BUILD=build/asan tests/run-tests build/asan/tests/unit_tests

# libFuzzer: every target built with clang (its own objects, under $(BUILD)/fuzz), then
# run for FUZZ_SECONDS each on a working copy of its corpus; fails on any crash found.
# `make fuzz-replay` only replays each committed corpus once (part of `make test`).
FUZZ_SECONDS ?= 30
FUZZ_MAX_LEN ?= 8192
FUZZ_CXX     ?= clang++
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_FLAGS   := $(CXXSTD) $(WARN) -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cpp=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/tools/mkportspace_options.o
FUZZ_LIB     := $(FUZZ_BUILD)/libpersonalnet-fuzz.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/fuzz_%)

# Everything the targets reach is instrumented for coverage, not only the harness.
$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

# An archive, so that each target links only the library objects it uses.
$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The eBPF dispatcher includes its generated skeleton, shared with the main build.
$(FUZZ_BUILD)/obj/lib/bpf/dispatch.o: $(BPF_SKEL)
$(FUZZ_BUILD)/obj/lib/bpf/dispatch.o: CPPFLAGS += -I$(BUILD)/kmod

$(FUZZ_BINS): $(FUZZ_BUILD)/bin/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/driver/%.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# A static pattern: a plain one would also match what make derives from the .d files.
$(FUZZ_TARGETS:%=$(FUZZ_BUILD)/driver/%.o): $(FUZZ_BUILD)/driver/%.o: tests/fuzz/driver.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_FLAGS) -DPN_FUZZ_TARGET=fuzz_$* $(DEPFLAGS) -c $< -o $@

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) tests/fuzz/run-fuzz $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-replay: fuzz-deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(FUZZ_BINS)
	@BUILD=$(BUILD) tests/fuzz/replay-corpus $(FUZZ_TARGETS)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/personalnet
	install -m 0755 $(LIB_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(LIB_REAL)) $(DESTDIR)$(PREFIX)/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(PREFIX)/lib/libpersonalnet.so
	install -s -m 0755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -s -m 4755 -o root -g root $(PNHELPER) $(DESTDIR)$(LIBEXECDIR)/pnhelper
	install -s -m 0755 -o root -g root $(PNBROKER) $(DESTDIR)$(LIBEXECDIR)/pnbroker
	install -s -m 0755 -o root -g root $(LIBEXEC_BINS) $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 include/personalnet/*.hpp $(DESTDIR)$(PREFIX)/include/personalnet/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/mkportspace.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/pnet.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0644 man/personalnet.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/lib/security
	install -m 0644 $(PAM_MODULE) $(DESTDIR)$(PREFIX)/lib/security/
	install -m 0644 man/pam_personalnet.8 man/spank_personalnet.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 man/libpersonalnet.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	$(if $(SPANK_PLUGIN),install -d $(DESTDIR)$(SLURM_PLUGINDIR))
	$(if $(SPANK_PLUGIN),install -m 0644 $(SPANK_PLUGIN) $(DESTDIR)$(SLURM_PLUGINDIR)/)
	install -d $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(PC_FILE) $(DESTDIR)$(PKGCONFIGDIR)/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completions/personalnet $(DESTDIR)$(BASHCOMPDIR)/mkportspace
	ln -sf mkportspace $(DESTDIR)$(BASHCOMPDIR)/pnet
# The loader finds a new library in /usr/local/lib only once its cache knows it (programs
# built with pkg-config have no RPATH); a staged install (DESTDIR) is not the system's.
	$(if $(DESTDIR),,-ldconfig)
# The group whose members the policy admits by default (personalnet.conf(5): create.groups),
# made once on the machine itself; a staged install (DESTDIR) never touches its groups.
	$(if $(DESTDIR),,@getent group personalnet >/dev/null || \
	    { groupadd --system personalnet && echo "created the system group personalnet"; })

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libpersonalnet.so* $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%)
	rm -f $(DESTDIR)$(LIBEXECDIR)/pnhelper $(DESTDIR)$(LIBEXECDIR)/pnbroker $(LIBEXEC_PROGS:%=$(DESTDIR)$(LIBEXECDIR)/%)
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	rm -rf $(DESTDIR)$(PREFIX)/include/personalnet
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/mkportspace.1 $(DESTDIR)$(PREFIX)/share/man/man8/pnet.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/personalnet.conf.5 $(DESTDIR)$(PREFIX)/share/man/man3/libpersonalnet.3
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/personalnet.pc
	rm -f $(DESTDIR)$(BASHCOMPDIR)/mkportspace $(DESTDIR)$(BASHCOMPDIR)/pnet
	rm -f $(DESTDIR)$(PREFIX)/lib/security/pam_personalnet.so $(DESTDIR)$(PREFIX)/share/man/man8/pam_personalnet.8
	-rmdir $(DESTDIR)$(PREFIX)/lib/security 2>/dev/null
	rm -f $(DESTDIR)$(SLURM_PLUGINDIR)/spank_personalnet.so $(DESTDIR)$(PREFIX)/share/man/man8/spank_personalnet.8
	$(if $(DESTDIR),,-ldconfig)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: $(BPF_SKEL)
	clang-tidy -quiet $$(git ls-files 'lib/*.cpp' 'tools/*.cpp' 'pam/*.cpp') -- $(CPPFLAGS) -I$(BUILD)/kmod $(CXXSTD)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj $(FUZZ_BUILD)/driver -name '*.d' 2>/dev/null)
