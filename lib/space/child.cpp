#include "lib/space/child.hpp"

#include <linux/rtnetlink.h>

#include <algorithm>

#include "lib/core/sys.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"

namespace personalnet::space {

namespace {

bool is_host_route_to(const netlink::Route& r, const std::vector<IpAddr>& addrs) {
    return r.dst.len == static_cast<int>(r.dst.addr.size() * 8) &&
           std::find(addrs.begin(), addrs.end(), r.dst.addr) != addrs.end();
}

std::optional<IpAddr> first_of(const std::vector<IpAddr>& addrs, int family) {
    for (const auto& a : addrs)
        if (a.family == family) return a;
    return std::nullopt;
}

bool is_hidden(const SpaceSpec& spec, const IpPrefix& dst) {
    return std::find(spec.hidden_routes.begin(), spec.hidden_routes.end(), dst) != spec.hidden_routes.end();
}

// One route per prefix: the first one offered.
void add_route(Inheritance& inh, const netlink::Route& r) {
    if (std::none_of(inh.routes.begin(), inh.routes.end(), [&](const auto& o) { return o.dst == r.dst; }))
        inh.routes.push_back(r);
}

// The parent's overlay, inherited: its addresses are carried like the host's, and its
// networks are reached through it from the overlay address.
void inherit_overlay(const registry::Record& parent, const SpaceSpec& spec, Inheritance& inh) {
    std::vector<IpAddr> sources;
    for (const auto& a : parent.overlay_addresses)
        if (auto p = IpPrefix::parse(a, false)) {
            sources.push_back(p->addr);
            if (std::find(inh.host_addrs.begin(), inh.host_addrs.end(), p->addr) == inh.host_addrs.end())
                inh.host_addrs.push_back(p->addr);
        }
    if (!spec.inherit_routes) return;
    for (const auto& n : parent.overlay_networks) {
        auto dst = IpPrefix::parse(n, false);
        if (!dst || is_hidden(spec, *dst)) continue;
        auto src = first_of(sources, dst->addr.family);
        if (!src) continue;  // the overlay gives no address of this family to send from
        netlink::Route r;
        r.family = dst->addr.family;
        r.dst = *dst;
        r.prefsrc = src;
        r.metric = kInheritedMetric - 1;  // wins over a main-table route to the same prefix
        add_route(inh, r);                // offered first: the main table's route to the prefix is left out
    }
}

}  // namespace

Result<Inheritance> gather_inheritance(netlink::Socket& s, const SpaceSpec& spec,
                                       const registry::Record* parent) {
    Inheritance inh;
    auto addrs = netlink::list_addresses(s, AF_UNSPEC);
    if (!addrs.ok()) return addrs.error().wrap("read parent addresses");
    for (const auto& a : addrs.value()) {
        if (a.scope != RT_SCOPE_UNIVERSE || is_internal(a.prefix.addr)) continue;
        if (a.ifindex == kLoopbackIndex) continue;  // not reachable from outside the host
        if (std::find(inh.host_addrs.begin(), inh.host_addrs.end(), a.prefix.addr) == inh.host_addrs.end())
            inh.host_addrs.push_back(a.prefix.addr);
    }
    if (parent != nullptr && !parent->overlay.empty()) inherit_overlay(*parent, spec, inh);
    if (!spec.inherit_routes) return inh;
    for (int fam : {AF_INET, AF_INET6}) {
        auto routes = netlink::list_routes(s, fam, RT_TABLE_MAIN);
        if (!routes.ok()) return routes.error().wrap("read parent routes");
        // The parent's preferred route to a prefix is the one with the lowest metric.
        std::stable_sort(routes->begin(), routes->end(),
                         [](const auto& a, const auto& b) { return a.metric < b.metric; });
        for (auto& r : routes.value()) {
            if (r.type != RTN_UNICAST || is_internal(r.dst.addr) || is_host_route_to(r, inh.host_addrs))
                continue;
            if (r.dst.len > 0 && r.dst.addr.family == AF_INET6 && r.dst.addr.bytes[0] == 0xff) continue;
            if (is_hidden(spec, r.dst)) continue;
            // Sent from the parent's source for it when the child carries that address
            // (a route a grandparent's overlay gave), else from the first host address.
            bool carried = r.prefsrc && std::find(inh.host_addrs.begin(), inh.host_addrs.end(), *r.prefsrc) !=
                                            inh.host_addrs.end();
            auto src = carried ? r.prefsrc : first_of(inh.host_addrs, fam);
            if (!src) continue;  // no address of this family to send from
            netlink::Route m;
            m.family = fam;
            m.dst = r.dst;
            m.prefsrc = src;
            m.metric = kInheritedMetric;
            add_route(inh, m);
        }
    }
    return inh;
}

Status configure_child(netlink::Socket& s, const Inheritance& inh, uint16_t label, int depth) {
    PN_TRY(netlink::set_link_up(s, 1), "bring up lo");
    auto up = netlink::link_index(s, kUplinkName);
    if (!up.ok()) return up.error().wrap("find uplink");
    int up0 = up.value();
    // Forwarding serves nested spaces and the service fall-through, whose DNAT turns
    // a packet that arrived on lo into one that leaves through the uplink.
    PN_TRY(sys::set_sysctl("net.ipv4.ip_forward", "1"), "configure space");
    PN_TRY(sys::set_sysctl("net.ipv6.conf.all.forwarding", "1"), "configure space");
    PN_TRY(sys::set_sysctl("net.ipv4.conf.lo.accept_local", "1"), "configure space");
    // The parent's ICMP errors about what it forwards for us ("fragmentation needed",
    // "time exceeded") come from an address we share with it: the parent picks its own
    // address towards our (= its) address. Without accept_local they were dropped as
    // martians and path-MTU discovery never reached a space: with the kernel's ESP in the
    // parent (a smaller MTU there, which the overlay's peer does not advertise) a child's
    // bulk TCP through the overlay stalled. The parent accepts our side's the same way.
    PN_TRY(sys::set_sysctl("net.ipv4.conf.up0.accept_local", "1"), "configure space");
    PN_TRY(sys::set_sysctl("net.ipv6.conf.up0.accept_ra", "0"), "configure space");
    // fe80::2 is set by hand; a second, generated link-local address would only add
    // kernel routes and neighbour traffic.
    PN_TRY(sys::set_sysctl("net.ipv6.conf.up0.addr_gen_mode", "1"), "configure space");

    PN_TRY(netlink::add_address(s, up0, IpPrefix{link4(depth, 2), 32}, RT_SCOPE_LINK, false),
           "uplink address");
    PN_TRY(netlink::add_address(s, up0, IpPrefix{link6(2), 64}, RT_SCOPE_LINK, true, false),
           "uplink address");
    for (const auto& a : inh.host_addrs)
        PN_TRY(netlink::add_address(s, up0, IpPrefix{a, static_cast<int>(a.size() * 8)}, RT_SCOPE_UNIVERSE,
                                    true),
               "carry host address " + a.str());
    auto parent_mac = mac_of(label, depth, false);
    PN_TRY(netlink::add_neighbor(s, up0, link4(depth, 1), parent_mac), "uplink neighbour");
    PN_TRY(netlink::add_neighbor(s, up0, link6(1), parent_mac), "uplink neighbour");
    PN_TRY(netlink::set_link_up(s, up0), "bring up uplink");

    // The parent's service addresses are always reachable, even without inherited routes.
    netlink::Route to_parent4;
    to_parent4.dst = IpPrefix{link4(depth, 1), 32};
    to_parent4.oif = up0;
    to_parent4.scope = RT_SCOPE_LINK;
    to_parent4.protocol = kRouteProto;
    PN_TRY(netlink::add_route(s, to_parent4), "route to parent");
    netlink::Route to_parent6;
    to_parent6.family = AF_INET6;
    to_parent6.dst = IpPrefix{service6(depth), 128};
    to_parent6.gateway = link6(1);
    to_parent6.oif = up0;
    to_parent6.protocol = kRouteProto;
    PN_TRY(netlink::add_route(s, to_parent6), "route to parent");

    for (const auto& pr : inh.routes) {
        netlink::Route r = pr;
        r.gateway = pr.family == AF_INET ? link4(depth, 1) : link6(1);
        r.oif = up0;
        r.onlink = true;
        r.protocol = kRouteProto;
        PN_TRY(netlink::add_route(s, r), "inherit route " + pr.dst.str());
    }

    return {};
}

std::vector<IpAddr> service_locals(const Inheritance& inh, int depth) {
    std::vector<IpAddr> local = inh.host_addrs;
    local.insert(local.end(), inh.overlay_addrs.begin(), inh.overlay_addrs.end());
    local.push_back(link4(depth + 1, 1));  // where this space's own children reach it
    local.push_back(service6(depth + 1));
    return local;
}

Status inherit_services(const Inheritance& inh, const SpaceSpec& spec, int depth) {
    if (!spec.inherit_services) return {};
    nft::ChildServices svc;
    svc.local = service_locals(inh, depth);
    for (const auto& h : spec.hidden_services) svc.hidden.push_back({h.proto, h.port});
    for (const auto& p : spec.published) {
        // Two published ports may lead to one port inside (tcp/8080:80, tcp/8081:80).
        nft::HiddenService in{p.proto, p.inner};
        if (std::none_of(svc.published.begin(), svc.published.end(),
                         [&](const auto& q) { return q.proto == in.proto && q.port == in.port; }))
            svc.published.push_back(in);
    }
    svc.uplink = kUplinkName;
    svc.parent4 = link4(depth, 1);
    svc.parent6 = service6(depth);
    svc.down4 = link4(depth + 1, 1);
    svc.down6 = service6(depth + 1);
    PN_TRY(nft::child_install(svc), "inherit services");
    return {};
}

}  // namespace personalnet::space
