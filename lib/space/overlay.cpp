#include "lib/space/overlay.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/charon_conf.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/netns.hpp"

namespace personalnet::space {

namespace {

using namespace std::chrono_literals;
constexpr const char* kCharon = "/usr/lib/ipsec/charon";

std::string charon_dir(const registry::Registry& reg, const registry::Record& rec) {
    return reg.path("charon/" + registry::label_hex(rec.label));
}

// In a forked child of the keeper (already in the space's namespaces): a private /run
// that still shows the daemon's directory, then charon. Never returns; a failed step is
// reported on report_fd as {step, errno}.
[[noreturn]] void exec_charon(const std::string& dir, int report_fd) {
    const std::string conf = "STRONGSWAN_CONF=" + dir + "/strongswan.conf";
    const char* argv[] = {"charon", nullptr};
    const char* envp[] = {conf.c_str(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};
    auto fail = [&](int step) {
        int msg[2] = {step, errno};
        (void)!::write(report_fd, msg, sizeof msg);
        ::_exit(127);
    };
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail(1);  // never outlives its keeper
    int keep = static_cast<int>(::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (keep < 0) fail(3);
    if (::unshare(CLONE_NEWNS) != 0) fail(4);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(5);
    if (::mount("personalnet-charon", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) fail(6);
    if (dir.rfind("/run/", 0) == 0) {  // the directory was under the /run just covered
        if (!sys::make_dirs(dir, 0700).ok()) fail(7);
        if (::move_mount(keep, "", AT_FDCWD, dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) fail(8);
    }
    if (::chdir("/") != 0) fail(9);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    sys::close_fds_from(3, report_fd);
    ::execve(kCharon, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    fail(10);
    ::_exit(127);  // not reached: fail() exits
}

// Loads the overlay's secrets and connections into a (fresh) charon and brings every
// CHILD_SA up.
Status bring_up(const std::string& socket, const ike::OverlayDefinition& def) {
    auto secrets = ike::secrets_of(def.swanctl);
    if (!secrets.ok()) return secrets.error();
    auto vici = ike::ViciClient::wait_connect(socket, 5s);
    if (!vici.ok()) return vici.error();
    for (const auto& s : secrets.value()) PN_TRY(ike::load_shared(*vici, s), "");
    for (const auto& [name, conn] : ike::connections_of(def.swanctl))
        PN_TRY(ike::load_conn(*vici, name, conn), "");
    for (const auto& [child, conn] : ike::children_of(def.swanctl))
        PN_TRY(ike::initiate(*vici, child, conn, 10s), "");
    return {};
}

volatile sig_atomic_t g_keeper_stop = 0;
void keeper_stop(int) { g_keeper_stop = 1; }

// The keeper: a small process in the space's namespaces that runs charon, restarts it
// (and brings the overlay up again) when it dies, and stops it on SIGTERM. Forked from
// the creator, so it has the definition in memory. Never returns.
[[noreturn]] void keeper(const std::string& dir, const ike::OverlayDefinition& def, int netns, int mntns,
                         int report_fd) {
    // Out of the creator's process group, so a terminal's ^C or hangup never reaches it or
    // charon, but in its session: the scheduler's autogroup is the session, and a daemon
    // per space in a group of its own would take an extra share of the CPU each (measured:
    // charon's user-space ESP alone in its autogroup halved the benchmark's throughput).
    (void)::setpgid(0, 0);
    int msg[2] = {0, 0};
    if (::setns(netns, CLONE_NEWNET) != 0 || (mntns >= 0 && ::setns(mntns, CLONE_NEWNS) != 0)) {
        msg[0] = 2;
        msg[1] = errno;
        (void)!::write(report_fd, msg, sizeof msg);
        ::_exit(127);
    }
    struct sigaction sa = {};
    sa.sa_handler = keeper_stop;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    sys::close_fds_from(3, report_fd);
    for (bool first = true; g_keeper_stop == 0; first = false) {
        // With the kernel datapath the SAs and policies of a daemon that died (SIGKILL, a
        // crash) stay in the space's XFRM database, which is its charon's alone: the old
        // inbound SAs would go on accepting the dead IKE_SA's keys until they expire.
        // A restarted charon starts from an empty one. A failed flush is not fatal here
        // (nobody to tell; the new charon replaces the policies): the daemon comes back.
        if (!first) (void)netlink::flush_xfrm();
        pid_t charon = ::fork();
        if (charon == 0) exec_charon(dir, first ? report_fd : devnull);
        if (first) {
            // The creator learns the keeper's pid and brings the overlay up itself (it can
            // report failures); closing our end tells it that charon was started.
            msg[1] = static_cast<int>(::getpid());
            (void)!::write(report_fd, msg, sizeof msg);
            ::close(report_fd);
        } else if (charon > 0) {
            (void)bring_up(dir + "/charon.vici", def);  // the next death retries
        }
        int status = 0;
        while (charon > 0 && ::waitpid(charon, &status, 0) < 0) {
            if (errno != EINTR) break;
            if (g_keeper_stop != 0) ::kill(charon, SIGTERM);
        }
        if (g_keeper_stop == 0) ::sleep(1);  // a daemon that dies at once is not restarted in a loop
    }
    ::_exit(0);
}

Result<pid_t> spawn_keeper(const std::string& dir, const ike::OverlayDefinition& def, int netns, int mntns) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("start charon: pipe");
    UniqueFd rd(report[0]), wr(report[1]);
    pid_t mid = ::fork();
    if (mid < 0) return errno_error("start charon: fork");
    if (mid == 0) {  // detached through an intermediate process: nobody has to reap the keeper
        rd.reset();
        if (::fork() == 0) keeper(dir, def, netns, mntns, wr.get());
        ::_exit(0);
    }
    wr.reset();
    int status = 0;
    while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
    }
    int msg[2] = {0, 0};
    if (::read(rd.get(), msg, sizeof msg) != sizeof msg) return make_error(EIO, "start charon: no report");
    if (msg[0] != 0) return make_error(msg[1], "start charon: step " + std::to_string(msg[0]));
    pid_t pid = msg[1];
    int failed[2] = {0, 0};  // charon's first start writes here only if it fails before exec
    if (::read(rd.get(), failed, sizeof failed) == sizeof failed) {
        ::kill(pid, SIGTERM);
        return make_error(failed[1], "start charon: step " + std::to_string(failed[0]) + " in the child");
    }
    return pid;
}

bool is_space_process(pid_t pid, uint64_t netns) {
    struct stat st {};
    return pid > 0 && ::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0 &&
           st.st_ino == netns;
}

// The space's side of the overlay's network settings: its overlay addresses on lo, and
// for an overlay-only space (no inherited routes) host routes to the gateways and the
// guard that lets nothing but IKE and ESP out through the uplink.
Status configure_space(const ike::OverlayDefinition& def, const registry::Record& rec, int netns) {
    auto sw = NetnsSwitch::enter(netns);
    if (!sw.ok()) return sw.error();
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    for (const auto& a : def.addresses) {
        auto p = IpPrefix::parse(a, true);
        if (!p) return make_error(EINVAL, "overlay address '" + a + "' is not an address/prefix");
        PN_TRY(netlink::add_address(*s, 1, *p, 0, true, false), "add overlay address " + a);
    }
    if (rec.inherit_routes) return {};
    auto up0 = netlink::link_index(*s, kUplinkName);
    if (!up0.ok()) return up0.error().wrap("overlay routes");
    for (const auto& gw : ike::gateways_of(def.swanctl)) {
        netlink::Route r;
        r.family = gw.family;
        r.dst = IpPrefix{gw, static_cast<uint8_t>(gw.family == AF_INET ? 32 : 128)};
        r.gateway = gw.family == AF_INET ? link4(rec.depth, 1) : link6(1);
        r.oif = up0.value();
        r.onlink = true;
        r.protocol = kRouteProto;
        PN_TRY(netlink::add_route(*s, r), "route to overlay gateway " + gw.str());
    }
    PN_TRY(nft::overlay_guard_install(kUplinkName), "overlay-only guard");
    return {};
}

}  // namespace

Status start_overlay(const registry::Registry& reg, registry::Record& rec, const ike::OverlayDefinition& def,
                     int netns) {
    std::string what = "overlay '" + def.name + "'";
    auto esp = netlink::kernel_has_esp();
    if (!esp.ok()) return esp.error().wrap(what);
    rec.overlay = def.name;
    rec.datapath = esp.value() ? Datapath::kernel : Datapath::libipsec;
    rec.overlay_addresses = def.addresses;
    for (const auto& n : ike::remote_networks_of(def.swanctl)) rec.overlay_networks.push_back(n.str());
    std::string dir = charon_dir(reg, rec);
    auto made = sys::make_trusted_dirs(dir, 0700);
    if (!made.ok()) return made.error().wrap(what);
    ike::CharonConf conf{rec.label, esp.value(), dir + "/charon.vici", dir + "/charon.log"};
    PN_TRY(sys::write_atomic(dir + "/strongswan.conf", ike::render_strongswan_conf(conf)), what);
    PN_TRY(configure_space(def, rec, netns), what);
    auto secrets = ike::secrets_of(def.swanctl);  // checked before anything runs
    if (!secrets.ok()) return secrets.error().wrap(what);

    // charon runs as root: never in the space's file space, whose contents are its owner's
    // (docs/SECURITY.md, rule 2), but in the host's mount namespace (with a private /run),
    // even when the creator itself runs in a file space.
    auto host = host_mntns(reg);
    if (!host.ok()) return host.error().wrap(what);
    auto pid = spawn_keeper(dir, def, netns, host->valid() ? host->get() : -1);
    if (!pid.ok()) return pid.error().wrap(what);
    rec.ike_daemon = pid.value();
    // Recorded at once: a creator killed from here on leaves gc a daemon to stop.
    PN_TRY(reg.save(rec), what);
    PN_TRY(bring_up(conf.vici_socket, def), what);
    // Root only, like its directory: whoever talks to it controls the space's overlay.
    if (::chmod(conf.vici_socket.c_str(), 0600) != 0) return errno_error(what + ": restrict the VICI socket");
    return {};
}

Status stop_overlay(const registry::Registry& reg, const registry::Record& rec) {
    if (rec.overlay.empty()) return {};
    if (is_space_process(rec.ike_daemon, rec.netns)) {
        UniqueFd watch = sys::pidfd_of(rec.ike_daemon);
        if (watch.valid() && ::kill(rec.ike_daemon, SIGTERM) == 0 &&  // the keeper stops charon
            !sys::wait_exit(watch.get(), 5000)) {
            ::kill(rec.ike_daemon, SIGKILL);
            (void)sys::wait_exit(watch.get(), 1000);
        }
    }
    PN_TRY(sys::remove_tree(charon_dir(reg, rec)), "remove the overlay daemon's files");
    return {};
}

Result<std::vector<std::string>> overlay_status(const registry::Registry& reg, const registry::Record& rec) {
    std::vector<std::string> out;
    if (rec.overlay.empty()) return out;
    auto vici = ike::ViciClient::connect(charon_dir(reg, rec) + "/charon.vici", 2s);
    if (!vici.ok()) return vici.error().wrap("overlay '" + rec.overlay + "'");
    auto sas = ike::list_sas(*vici);
    if (!sas.ok()) return sas.error().wrap("overlay '" + rec.overlay + "'");
    char line[256];
    for (const auto& ike_sa : sas.value()) {
        std::snprintf(line, sizeof line, "IKE_SA %s %s %s -> %s spi %016llx", ike_sa.name.c_str(),
                      ike_sa.state.c_str(), ike_sa.local_host.c_str(), ike_sa.remote_host.c_str(),
                      static_cast<unsigned long long>(ike_sa.local_spi()));
        out.emplace_back(line);
        for (const auto& c : ike_sa.children) {
            std::snprintf(
                line, sizeof line,
                "  CHILD_SA %s %s spi in %08x out %08x, in %llu B %llu pkts, out %llu B %llu pkts",
                c.name.c_str(), c.state.c_str(), c.spi_in, c.spi_out,
                static_cast<unsigned long long>(c.bytes_in), static_cast<unsigned long long>(c.packets_in),
                static_cast<unsigned long long>(c.bytes_out), static_cast<unsigned long long>(c.packets_out));
            out.emplace_back(line);
        }
    }
    return out;
}

}  // namespace personalnet::space
