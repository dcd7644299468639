#include "lib/space/overlay.hpp"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/charon_conf.hpp"
#include "lib/ike/credentials.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/spis.hpp"

namespace personalnet::space {

namespace {

using namespace std::chrono_literals;

std::string charon_dir(const registry::Registry& reg, const registry::Record& rec) {
    return reg.path("charon/" + registry::label_hex(rec.label));
}

// The keeper: pnkeeper (tools/pnkeeper.cpp), a small program in the space's network
// namespace and the host's mount namespace that runs charon, restarts it (and brings the
// overlay up again) when it dies, and stops it on SIGTERM. It is handed the overlay's
// connections and secrets in a sealed memfd, and tells how charon's first start went.
Result<pid_t> spawn_keeper(const registry::Registry& reg, const registry::Record& rec, const std::string& dir,
                           const ike::OverlayDefinition& def, int netns, int mntns) {
    const Context& ctx = reg.context();
    const std::string what = "start charon";
    UniqueFd definition(::memfd_create("personalnet-overlay", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!definition.valid()) return errno_error(what + ": memfd_create");
    const std::string text = ike::render_settings(def.swanctl);
    for (size_t done = 0; done < text.size();) {
        ssize_t n = ::write(definition.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_error(what + ": write the overlay's definition");
        done += static_cast<size_t>(n);
    }
    if (::fcntl(definition.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
            0 ||
        ::lseek(definition.get(), 0, SEEK_SET) != 0)
        return errno_error(what + ": seal the overlay's definition");
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error(what + ": pipe");
    UniqueFd report_rd(p[0]), report_wr(p[1]);

    sys::SpawnOptions o;
    o.what = what;
    o.program = ctx.libexecdir + "/pnkeeper";
    o.argv = {"pnkeeper", dir, "3", "4", ctx.rundir, registry::label_hex(rec.label)};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.stdio = sys::SpawnOptions::Stdio::null;
    o.fds = {{definition.get(), 3}, {report_wr.get(), 4}};
    // Detached: nobody has to reap the keeper. Out of the creator's process group, so a
    // terminal's ^C or hangup never reaches it or charon, but in its session: the
    // scheduler's autogroup is the session, and a daemon per space in a group of its own
    // would take an extra share of the CPU each (measured: charon's user-space ESP alone
    // in its autogroup halved the benchmark's throughput).
    o.detach = true;
    o.process_group = 0;
    o.ignored_signals = {SIGHUP, SIGINT};
    o.netns = netns;
    o.netns_what = "join the space's network namespace";
    o.mntns = mntns;  // charon never runs in a file space (docs/SECURITY.md, rule 2)
    o.mntns_what = "join the host's mount namespace";
    // The keeper and charon are the space's: in its cgroup.
    auto cgroup = open_cgroup_leaf(rec);
    if (!cgroup.ok()) return cgroup.error().wrap(what);
    o.cgroup = cgroup->get();
    auto pid = sys::spawn(o);
    report_wr.reset();
    if (!pid.ok()) return pid.error();
    PN_TRY(sys::decode_status(sys::read_to_eof(report_rd.get()), what + ": the keeper"), "");
    return pid;
}

bool is_space_process(pid_t pid, uint64_t netns) {
    struct stat st {};
    return pid > 0 && ::stat((sys::proc_dir(pid) + "/ns/net").c_str(), &st) == 0 && st.st_ino == netns;
}

// Whether address a lies in prefix n.
bool holds(const IpPrefix& n, const IpAddr& a) {
    if (a.family != n.addr.family) return false;
    for (int bit = 0; bit < n.len; ++bit) {
        const auto mask = static_cast<uint8_t>(0x80 >> (bit % 8));
        if ((a.bytes[bit / 8] & mask) != (n.addr.bytes[bit / 8] & mask)) return false;
    }
    return true;
}

// The space's side of the overlay's network settings: its overlay addresses on lo, for a
// personal network unreachable routes to its addresses outside the SAs, and for an
// overlay-only space (no inherited routes) host routes to the gateways and the
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
    if (rec.network && rec.inherit_routes) {
        // A personal network's addresses are reached only through it: while an SA is down
        // (a peer made again, a charon restarted), charon's route in table 220 is gone and
        // a host's default route would otherwise carry the packet out in plaintext. An
        // unreachable route per remote network in the main table answers it locally
        // instead; table 220's rule comes first, so the network's own routes still win.
        // A network that holds a peer's own address is left out: IKE goes there.
        const auto gateways = ike::gateways_of(def.swanctl);
        for (const auto& n : ike::remote_networks_of(def.swanctl)) {
            bool holds_peer = false;
            for (const auto& gw : gateways) holds_peer = holds_peer || holds(n, gw);
            if (holds_peer) continue;
            netlink::Route r;
            r.family = n.addr.family;
            r.dst = n;
            r.protocol = kRouteProto;
            r.type = RTN_UNREACHABLE;
            PN_TRY(netlink::add_route(*s, r), "unreachable route for network " + n.str());
        }
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

Status bring_up_overlay(const std::string& socket, const ike::Settings& swanctl, Initiation how) {
    auto secrets = ike::secrets_of(swanctl);
    if (!secrets.ok()) return secrets.error();
    auto vici = ike::ViciClient::wait_connect(socket, 5s);
    if (!vici.ok()) return vici.error();
    // A user's keys (and the certificate data checked) before the connections that use them.
    PN_TRY(ike::load_credentials(*vici, swanctl), "");
    for (const auto& s : secrets.value()) PN_TRY(ike::load_shared(*vici, s), "");
    for (const auto& [name, conn] : ike::connections_of(swanctl))
        PN_TRY(ike::load_conn(*vici, name, conn), "");
    for (const auto& [child, conn] : ike::children_of(swanctl)) {
        if (how == Initiation::background)
            PN_TRY(ike::initiate_in_background(*vici, child, conn), "");
        else
            PN_TRY(ike::initiate(*vici, child, conn, 10s), "");
    }
    return {};
}

Status start_overlay(const registry::Registry& reg, registry::Record& rec, const ike::OverlayDefinition& def,
                     int netns) {
    std::string what = "overlay '" + def.name + "'";
    auto esp = netlink::kernel_has_esp();
    if (!esp.ok()) return esp.error().wrap(what);
    rec.overlay = def.name;
    rec.overlay_source = def.path;
    rec.user_network = def.user;
    rec.datapath = esp.value() ? Datapath::kernel : Datapath::libipsec;
    rec.overlay_addresses = def.addresses;
    for (const auto& n : ike::remote_networks_of(def.swanctl)) rec.overlay_networks.push_back(n.str());
    for (const auto& gw : ike::gateways_of(def.swanctl)) rec.overlay_peers.push_back(gw.str());
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
    auto pid = spawn_keeper(reg, rec, dir, def, netns, host->valid() ? host->get() : -1);
    if (!pid.ok()) return pid.error().wrap(what);
    rec.ike_daemon = pid.value();
    // Recorded at once: a creator killed from here on leaves gc a daemon to stop.
    PN_TRY(reg.save(rec), what);
    // A personal network's peers come up in any order: creation neither fails nor waits
    // for them (the late side initiates, the early one answers).
    PN_TRY(bring_up_overlay(conf.vici_socket, def.swanctl,
                            rec.network ? Initiation::background : Initiation::wait),
           what);
    // Root only, like its directory: whoever talks to it controls the space's overlay.
    if (::chmod(conf.vici_socket.c_str(), 0600) != 0) return errno_error(what + ": restrict the VICI socket");
    // The first packet after mkportspace returns is dispatched by the SAs' exact SPIs; the
    // keeper keeps them in step from here on.
    PN_TRY(sync_spis(reg, rec), what);
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

Result<int> settle_duplicate_sas(ike::ViciClient& vici) {
    auto sas = ike::list_sas(vici);
    if (!sas.ok()) return sas.error().wrap("settle duplicate SAs");
    auto lower = [](const std::string& a, const std::string& b) {
        auto x = IpAddr::parse(a), y = IpAddr::parse(b);
        return x && y && std::tie(x->family, x->bytes) < std::tie(y->family, y->bytes);
    };
    const auto& all = sas.value();
    int terminated = 0;
    for (const auto& sa : all) {
        if (sa.state != "ESTABLISHED") continue;
        // The one that stays for this connection and peer: the one this side initiated
        // (then the newest established; equal ages: the higher unique id). When the
        // IKE_AUTHs cross, only a side whose own IKE_SA was already up drops a copy on the
        // peer's INITIAL_CONTACT, and the copy it drops is the one it initiated: what it
        // keeps is the SA the other side initiated. So "our own" is what both sides keep,
        // whichever dropped; by age both were often established in the same second, and
        // the unique ids (in order of creation) picked the dropped one (a CI run).
        auto better = [](const ike::IkeSaInfo& a, const ike::IkeSaInfo& b) {
            if (a.initiator != b.initiator) return a.initiator;
            if (a.established_s != b.established_s) return a.established_s < b.established_s;
            return a.uniqueid > b.uniqueid;
        };
        const ike::IkeSaInfo* keep = nullptr;
        for (const auto& o : all)
            if (o.state == "ESTABLISHED" && o.name == sa.name && o.remote_host == sa.remote_host &&
                (keep == nullptr || better(o, *keep)))
                keep = &o;
        // An initiation still under way is left alone: terminating one made charon's next
        // list-sas wait (seen: the keeper stuck past its safety net), and if it completes it
        // is settled here like any later one.
        if (keep == nullptr || keep == &sa) continue;
        // The side with the lower address settles, once the peer is surely done with both
        // (as the responder we finish first, and a delete that reached the peer before our
        // IKE_AUTH answer was dropped there): the younger of the two counts. The other side
        // waits longer: a duplicate it still holds then is one the peer no longer has (the
        // two IKE_AUTHs crossed, each with INITIAL_CONTACT, and the peer dropped its copy),
        // which nobody else will ever delete. Both deleting the same SA at once left it
        // stuck in DELETING.
        const bool lower_side = lower(sa.local_host, sa.remote_host);
        const uint64_t age = std::min(keep->established_s, sa.established_s);
        if (age < (lower_side ? kSettleLowerS : kSettleHigherS)) continue;
        // Forced on both sides (charon sends the DELETE and does not wait for its answer):
        // the higher side's is one the peer dropped, and so, when the peer had dropped its
        // own initiation on our INITIAL_CONTACT, can the lower side's be (a CI run: the
        // lower side's DELETE went unanswered and its SA stayed in DELETING past 15 s).
        // A DELETE that is lost leaves the peer a copy its own, later settling removes.
        PN_TRY(ike::terminate_ike_sa_in_background(vici, sa.uniqueid, /*force=*/true),
               "settle duplicate SAs");
        ++terminated;
    }
    return terminated;
}

Result<OverlayStatus> overlay_status(const registry::Registry& reg, const registry::Record& rec) {
    OverlayStatus status;
    for (const auto& p : rec.overlay_peers) status.peers.emplace_back(p, false);
    if (rec.overlay.empty()) return status;
    std::vector<std::string>& out = status.lines;
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
        bool installed = false;
        for (const auto& c : ike_sa.children) installed = installed || c.state == "INSTALLED";
        if (ike_sa.state != "ESTABLISHED" || !installed) continue;
        auto remote = IpAddr::parse(ike_sa.remote_host);
        for (auto& [address, up] : status.peers) {
            auto peer = IpAddr::parse(address);
            up = up || (remote && peer && *remote == *peer);
        }
    }
    return status;
}

}  // namespace personalnet::space
