// pnsim: builds the simulated hosts for the demo and the benchmarks.
//   pnsim up DIR          creates hosts A and B (tests/sim/simhosts.hpp), pinned at DIR/A and
//                         DIR/B (enter with nsenter --net=DIR/A)
//   pnsim down DIR        unpins them (the namespaces die with their last process)
//   pnsim mesh up DIR     creates hosts A, B and C on one LAN (tests/sim/lan.hpp: eth0 with
//                         10.10.0.1-3/24 on a bridge in a namespace of its own), pinned at
//                         DIR/A, DIR/B, DIR/C and the bridge's at DIR/lan
//   pnsim mesh down DIR   deletes the hosts' wires and unpins all four
//   pnsim cgroup-down RUNDIR
//                         removes the cgroup subtree of the registry at RUNDIR (a bench's
//                         own, named after it: lib/space/cgroup.hpp) once nothing runs in it
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/netns.hpp"
#include "tests/sim/lan.hpp"
#include "tests/sim/simhosts.hpp"

namespace {

namespace space = personalnet::space;
using personalnet::Status;
using personalnet::UniqueFd;

constexpr const char* kUsage =
    "usage: pnsim up|down DIR | pnsim mesh up|down DIR | pnsim cgroup-down RUNDIR\n";
constexpr const char* kHelp =
    "  up DIR          hosts A and B on a wire of their own (10.9.0.1 and 10.9.0.2 on eth0),\n"
    "                  pinned at DIR/A and DIR/B: enter one with nsenter --net=DIR/A\n"
    "  down DIR        unpins them (each namespace dies with its last process)\n"
    "  mesh up DIR     hosts A, B and C on one LAN (10.10.0.1-3 on eth0, a bridge in a\n"
    "                  namespace of its own), pinned at DIR/A, DIR/B, DIR/C and DIR/lan\n"
    "  mesh down DIR   deletes the hosts' wires and unpins all four\n"
    "  cgroup-down RUNDIR\n"
    "                  removes the cgroup subtree of the registry at RUNDIR once nothing\n"
    "                  runs in it (waits up to 5 s for root's daemons to finish)\n";

constexpr const char* kMeshHosts[] = {"A", "B", "C"};

int fail(const Status& st) {
    std::fprintf(stderr, "pnsim: %s\n", st.error().message().c_str());
    return 1;
}

int pair_down(const std::string& dir) {
    int rc = 0;
    for (const char* h : {"/A", "/B"}) {
        auto st = space::unpin(dir + h);
        if (!st.ok()) rc = fail(st);
    }
    return rc;
}

int pair_up(const std::string& dir) {
    ::mkdir(dir.c_str(), 0755);
    auto a = space::new_netns();
    auto b = space::new_netns();
    if (!a.ok() || !b.ok()) {
        std::fprintf(stderr, "pnsim: cannot create namespaces\n");
        return 1;
    }
    auto st = pnsim::wire_hosts(a->get(), b->get());
    if (st.ok()) st = space::pin_netns(a->get(), dir + "/A");
    if (st.ok()) st = space::pin_netns(b->get(), dir + "/B");
    if (!st.ok()) {
        (void)space::unpin(dir + "/A");
        return fail(st);
    }
    return 0;
}

// Host n's (0-based) end of the LAN.
pnsim::LanHost lan_host(int ns, int n) { return {ns, "eth0", "10.10.0." + std::to_string(n + 1) + "/24"}; }

// lo up in the host (wire_lan configures only the host's end of the wire).
Status lo_up(int ns) {
    auto sw = space::NetnsSwitch::enter(ns);
    if (!sw.ok()) return sw.error();
    auto s = personalnet::netlink::Socket::open();
    if (!s.ok()) return s.error();
    PN_TRY(personalnet::netlink::set_link_up(*s, 1), "lo up");
    return {};
}

// Builds the whole mesh before pinning any of it: on failure the fds close and every
// namespace made here dies with its links, and only the pins made here are removed.
Status build_mesh(const std::string& dir, std::vector<std::string>& pinned) {
    std::vector<UniqueFd> hosts;
    std::vector<pnsim::LanHost> wires;
    for (int n = 0; n < 3; ++n) {
        auto ns = space::new_netns();
        if (!ns.ok()) return ns.error().wrap("host " + std::string(kMeshHosts[n]));
        PN_TRY(lo_up(ns->get()), "host " + std::string(kMeshHosts[n]));
        wires.push_back(lan_host(ns->get(), n));
        hosts.push_back(std::move(ns).value());
    }
    auto lan = space::new_netns();
    if (!lan.ok()) return lan.error().wrap("the LAN");
    PN_TRY(pnsim::wire_lan(lan->get(), wires), "");
    for (int n = 0; n < 3; ++n) {
        const std::string path = dir + "/" + kMeshHosts[n];
        PN_TRY(space::pin_netns(hosts[n].get(), path), "");
        pinned.push_back(path);
    }
    PN_TRY(space::pin_netns(lan->get(), dir + "/lan"), "");
    pinned.push_back(dir + "/lan");
    return {};
}

int mesh_up(const std::string& dir) {
    ::mkdir(dir.c_str(), 0755);
    std::vector<std::string> pinned;
    auto st = build_mesh(dir, pinned);
    if (st.ok()) return 0;
    for (const auto& path : pinned) (void)space::unpin(path);
    return fail(st);
}

// Each host's wire is deleted first, so that the LAN is gone even if a process left in a
// host keeps its namespace alive past the pin; then the pins go. What is not there (a
// mesh never made, or half made) is not an error.
int mesh_down(const std::string& dir) {
    int rc = 0;
    std::vector<UniqueFd> hosts;
    std::vector<pnsim::LanHost> wires;
    for (int n = 0; n < 3; ++n) {
        const std::string path = dir + "/" + kMeshHosts[n];
        if (space::pinned_inode(path) == 0) continue;
        auto ns = personalnet::sys::open_fd(path, O_RDONLY | O_CLOEXEC);
        if (!ns.ok()) {
            rc = fail(ns.error());
            continue;
        }
        wires.push_back(lan_host(ns->get(), n));
        hosts.push_back(std::move(ns).value());
    }
    auto st = pnsim::unwire_lan(wires);
    if (!st.ok()) rc = fail(st);
    for (const char* h : {"A", "B", "C", "lan"}) {
        st = space::unpin(dir + "/" + h);
        if (!st.ok()) rc = fail(st);
    }
    return rc;
}

int remove_cgroup_dir(const char* path, const struct stat* st, int, struct FTW*) {
    if (S_ISDIR(st->st_mode)) (void)::rmdir(path);  // a cgroup goes with its control files
    return 0;
}

// A bench's registry has a subtree of its own (named after its run directory): removed,
// deepest first, once its spaces' cgroups and root's daemons (in helpers) are gone.
int cgroup_down(const std::string& rundir) {
    personalnet::Context ctx;
    ctx.rundir = rundir;
    const std::string subtree = personalnet::space::cgroup_host(ctx).subtree;
    if (subtree.empty()) return 0;  // no cgroup2 here
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
        (void)::nftw(subtree.c_str(), remove_cgroup_dir, 16, FTW_DEPTH | FTW_PHYS);
        if (::access(subtree.c_str(), F_OK) != 0) return 0;
        if (std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "pnsim: cgroup %s still has processes; left in place\n", subtree.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        std::printf("%s%s", kUsage, kHelp);
        return 0;
    }
    if (!args.empty() && args[0] == "cgroup-down") {
        if (args.size() != 2 || args[1].empty() || args[1][0] != '/') {
            std::fprintf(stderr, "pnsim: cgroup-down needs the registry's absolute run directory\n%s",
                         kUsage);
            return 2;
        }
        return cgroup_down(args[1]);
    }
    const bool mesh = !args.empty() && args[0] == "mesh";
    const size_t verb = mesh ? 1 : 0;
    if (args.size() != verb + 2 || (args[verb] != "up" && args[verb] != "down") || args[verb + 1].empty()) {
        std::fprintf(stderr, "%s", kUsage);
        return 2;
    }
    const std::string& dir = args[verb + 1];
    if (mesh) return args[verb] == "up" ? mesh_up(dir) : mesh_down(dir);
    return args[verb] == "up" ? pair_up(dir) : pair_down(dir);
}
