#include "lib/space/shaper.hpp"

#include <algorithm>
#include <cerrno>

#include "lib/space/addressing.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/parent.hpp"

namespace personalnet::space {

netlink::Tbf tbf_for(uint64_t bps) {
    constexpr uint64_t kFrame = 1514;
    constexpr uint64_t kMax = 1ULL << 31;
    netlink::Tbf t;
    t.rate_bytes = std::max<uint64_t>(bps / 8, 1);
    uint64_t burst = std::clamp<uint64_t>(t.rate_bytes / 100, 16 * kFrame, kMax);
    uint64_t limit = std::clamp<uint64_t>(t.rate_bytes / 10, 4 * burst, kMax);
    t.burst_bytes = static_cast<uint32_t>(burst);
    t.limit_bytes = static_cast<uint32_t>(limit);
    return t;
}

Status shape_child(netlink::Socket& s, uint16_t label, int host_ifindex, const ResourceLimits& limits) {
    if (limits.rate_in == 0 && limits.rate_out == 0) return {};
    const std::string veth = host_ifname(label);
    if (limits.rate_in != 0)
        PN_TRY(netlink::set_root_tbf(s, host_ifindex, tbf_for(limits.rate_in)), "shape " + veth);
    if (limits.rate_out == 0) return {};
    const std::string ifb = shaper_ifname(label);
    auto made = netlink::create_ifb(s, ifb);
    Result<int> ifb_index = made;
    if (!made.ok()) {
        if (made.error().code != EEXIST) return made.error().wrap("shape " + veth);
        ifb_index = netlink::link_index(s, ifb);  // a killed attempt's
        if (!ifb_index.ok()) return ifb_index.error().wrap("shape " + veth);
    }
    PN_TRY(netlink::set_root_tbf(s, ifb_index.value(), tbf_for(limits.rate_out)), "shape " + veth);
    PN_TRY(netlink::add_ingress_redirect(s, host_ifindex, ifb_index.value()), "shape " + veth);
    return {};
}

Status unshape_child(netlink::Socket& s, uint16_t label) {
    auto st = netlink::delete_link(s, shaper_ifname(label));
    if (st.ok() || st.error().code == ENODEV) return {};
    return st.error().wrap("remove the shaper of " + host_ifname(label));
}

Result<ResourceUsage> uplink_usage(const registry::Registry& reg, const registry::Record& rec) {
    auto pin = reach_parent(ParentRef{&reg, rec.parent_netns, rec.depth});
    if (!pin.ok()) return pin.error();
    if (!pin->has_value()) return make_error(ENOENT, "the parent namespace is gone");
    auto sw = NetnsSwitch::enter((*pin)->get());
    if (!sw.ok()) return sw.error().wrap("enter the parent namespace");
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    auto st = netlink::link_stats(*s, rec.host_ifname);
    if (!st.ok()) return st.error();
    ResourceUsage u;
    u.rx_bytes = static_cast<int64_t>(st->tx_bytes);
    u.rx_packets = static_cast<int64_t>(st->tx_packets);
    u.tx_bytes = static_cast<int64_t>(st->rx_bytes);
    u.tx_packets = static_cast<int64_t>(st->rx_packets);
    return u;
}

}  // namespace personalnet::space
