#include "lib/space/dispatch.hpp"

#include <fcntl.h>

#include <functional>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/parent.hpp"

namespace personalnet::space {

Status for_each_ancestor(const registry::Registry& reg, const registry::Record& rec,
                         const std::function<Status(uint16_t)>& step) {
    uint16_t label = rec.parent_label;
    for (int hops = 0; label != 0 && hops < 64; ++hops) {
        auto hop = reg.load(label);  // the child on the way; its parent is the ancestor
        if (!hop.ok()) return {};
        if (hop->parent_netns == 0) return {};
        auto pin = reach_parent(ParentRef{&reg, hop->parent_netns, hop->depth});
        if (!pin.ok()) return pin.error().wrap("reach the namespace above '" + hop->name + "'");
        if (!pin->has_value()) return {};
        auto sw = NetnsSwitch::enter((*pin)->get());
        if (!sw.ok()) return sw.error().wrap("enter the namespace above '" + hop->name + "'");
        PN_TRY(step(hop->label), "dispatch through the parent of '" + hop->name + "'");
        label = hop->parent_label;
    }
    return {};
}

Status in_parent(const registry::Registry& reg, const registry::Record& rec,
                 const std::function<Status()>& step) {
    auto pin = reach_parent(ParentRef{&reg, rec.parent_netns, rec.depth});
    if (!pin.ok()) return pin.error();
    if (!pin->has_value()) return {};
    auto sw = NetnsSwitch::enter((*pin)->get());
    if (!sw.ok()) return sw.error().wrap("enter the parent namespace");
    return step();
}

Status dispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec) {
    return for_each_ancestor(reg, rec, [&](uint16_t via) -> Status {
        PN_TRY(nft::parent_add_label(rec.label, mark_of(via), rec.network), "nft dispatch");
        if (rec.dispatch != Dispatch::bpf) return {};
        auto s = netlink::Socket::open();
        if (!s.ok()) return s.error();
        auto ifindex = netlink::link_index(*s, host_ifname(via));
        if (!ifindex.ok()) return ifindex.error().wrap("find " + host_ifname(via));
        return bpf::add_label(rec.label, ifindex.value());
    });
}

Status undispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec) {
    // The IKE SPIs the ancestors learned from rec's packets carry no owner: they are the
    // ones the direct parent leads to rec's mark (its learned and synced ones alike).
    std::vector<std::pair<nft::SpiMap, uint64_t>> spis;
    if (rec.parent_label != 0) {
        auto listed = in_parent(reg, rec, [&]() -> Status {
            for (auto m : {nft::SpiMap::ike, nft::SpiMap::esp}) {
                auto now = nft::parent_list_spis(m);
                if (!now.ok()) return now.error();
                for (const auto& e : now.value())
                    if (e.mark == mark_of(rec.label)) spis.emplace_back(m, e.spi);
            }
            return {};
        });
        if (!listed.ok())
            return listed.error().wrap("list the SPIs of label " + registry::label_hex(rec.label));
    }
    return for_each_ancestor(reg, rec, [&](uint16_t via) -> Status {
        PN_TRY(nft::parent_forget_spis(rec.label, mark_of(via), spis), "nft dispatch");
        PN_TRY(nft::parent_remove_label(rec.label), "nft dispatch");
        return bpf::remove_label(rec.label);
    });
}

Result<bpf::Counters> dispatch_counters(const registry::Registry& reg, const registry::Record& rec) {
    auto pin = reach_parent(ParentRef{&reg, rec.parent_netns, rec.depth});
    if (!pin.ok()) return pin.error();
    if (!pin->has_value()) return make_error(ENOENT, "the parent namespace is gone");
    auto sw = NetnsSwitch::enter((*pin)->get());
    if (!sw.ok()) return sw.error().wrap("enter the parent namespace");
    return bpf::counters(rec.label);
}

}  // namespace personalnet::space
