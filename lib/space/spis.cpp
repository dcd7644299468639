#include "lib/space/spis.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/sys.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/dispatch.hpp"
#include "lib/space/parent.hpp"

namespace personalnet::space {

namespace {

using namespace std::chrono_literals;

// One namespace's maps: the nft ones always, the BPF one for a BPF-dispatched space
// (the veth of the child on the way, by name: via's host-side veth).
Status publish_here(const registry::Record& rec, const OwnSpis& spis, uint16_t via) {
    const uint32_t mark = mark_of(via);
    // ESP whatever became of IKE: the SAs' packets must reach the space even while an IKE
    // SPI cannot be synced (a sync that failed on IKE left ESP unsynced until it worked).
    Status ike = nft::parent_sync_spis(nft::SpiMap::ike, rec.label, mark, spis.ike);
    PN_TRY(nft::parent_sync_spis(nft::SpiMap::esp, rec.label, mark,
                                 std::vector<uint64_t>(spis.esp.begin(), spis.esp.end())),
           "");
    if (rec.dispatch == Dispatch::bpf) {
        auto s = netlink::Socket::open();
        if (!s.ok()) return s.error();
        auto ifindex = netlink::link_index(*s, host_ifname(via));
        if (!ifindex.ok()) return ifindex.error().wrap("find " + host_ifname(via));
        PN_TRY(bpf::sync_esp(dispatch_devices, rec.label, ifindex.value(), spis.esp), "");
    }
    return ike;
}

}  // namespace

Result<OwnSpis> own_spis(const registry::Registry& reg, const registry::Record& rec) {
    const std::string socket = reg.path("charon/" + registry::label_hex(rec.label)) + "/charon.vici";
    auto vici = ike::ViciClient::connect(socket, 2s);
    if (!vici.ok()) return vici.error();
    auto sas = ike::list_sas(*vici);
    if (!sas.ok()) return sas.error();
    OwnSpis own;
    for (const auto& sa : sas.value()) {
        if (sa.local_spi() != 0) own.ike.push_back(sa.local_spi());
        for (const auto& c : sa.children)
            if (c.spi_in != 0) own.esp.push_back(c.spi_in);
    }
    for (auto* v : {&own.ike}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    std::sort(own.esp.begin(), own.esp.end());
    own.esp.erase(std::unique(own.esp.begin(), own.esp.end()), own.esp.end());
    return own;
}

Status publish_spis(const registry::Registry& reg, const registry::Record& rec, const OwnSpis& spis) {
    const std::string what = "dispatch the SPIs of label " + registry::label_hex(rec.label);
    PN_TRY(in_parent(reg, rec, [&] { return publish_here(rec, spis, rec.label); }), what);
    PN_TRY(for_each_ancestor(reg, rec, [&](uint16_t via) { return publish_here(rec, spis, via); }), what);
    return {};
}

Status sync_spis(const registry::Registry& reg, const registry::Record& rec) {
    if (rec.overlay.empty()) return {};
    const std::string what = "list the SAs of label " + registry::label_hex(rec.label);
    // One sync at a time per space, the list and the publish together: the creator's and
    // the keeper's ran at once, and the keeper's list from before the first CHILD_SA came
    // up, published after the creator's, took the new SA's inbound SPI out again (the
    // first packet's reply was dropped until the next sync). Serialized, whichever runs
    // last lists last. The lock is the daemon's root-only directory itself.
    auto dir = sys::open_fd(reg.path("charon/" + registry::label_hex(rec.label)),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir.ok()) return dir.error().wrap(what);
    while (::flock(dir->get(), LOCK_EX) != 0)
        if (errno != EINTR) return errno_error(what + ": lock the daemon's directory");
    auto own = own_spis(reg, rec);
    if (!own.ok()) return own.error().wrap(what);
    return publish_spis(reg, rec, own.value());
}

}  // namespace personalnet::space
