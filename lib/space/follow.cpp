#include "lib/space/follow.hpp"

#include <linux/rtnetlink.h>

#include <algorithm>

#include "lib/bpf/dispatch.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/child.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/pins.hpp"
#include "lib/space/reach.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

namespace {

bool has(const std::vector<IpAddr>& v, const IpAddr& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
}

bool same_route(const netlink::Route& a, const netlink::Route& b) {
    return a.family == b.family && a.dst == b.dst && a.metric == b.metric && a.prefsrc == b.prefsrc;
}

bool tolerated(const Status& st, int code) { return st.ok() || st.error().code == code; }

std::vector<IpAddr> parse_addresses(const std::vector<std::string>& texts) {
    std::vector<IpAddr> out;
    for (const auto& t : texts)
        if (auto p = IpPrefix::parse(t, false)) out.push_back(p->addr);
    return out;
}

// The child's namespace, or nullopt when it is not there (any more): a named space only
// by its pin, an unnamed one wherever its inode shows and only with its recorded cookie.
Result<std::optional<UniqueFd>> reach_child(const registry::Registry& reg, const registry::Record& rec) {
    if (rec.netns == 0) return std::optional<UniqueFd>{};
    if (rec.named) return reach_named(reg, rec);
    if (rec.netns_cookie == 0) return std::optional<UniqueFd>{};  // an older record: cannot tell it apart
    auto found = reach_netns(rec.netns, "", Reach::anywhere);
    if (!found.ok() || !found->has_value()) return found;
    if (netns_cookie((*found)->get()) != rec.netns_cookie) return std::optional<UniqueFd>{};
    return found;
}

// Inside the child: addresses and routes first (new addresses before the routes sent
// from them, old ones after the routes that used them), then the nft sets.
Status reconcile_inside(const registry::Record& rec, const Inheritance& inh, bool* changed) {
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    auto up = netlink::link_index(*s, kUplinkName);
    if (!up.ok()) return up.error().wrap("find uplink");
    auto addrs = netlink::list_addresses(*s, AF_UNSPEC);
    if (!addrs.ok()) return addrs.error();
    std::vector<IpAddr> current;
    for (const auto& a : addrs.value())
        if (a.ifindex == up.value() && a.scope == RT_SCOPE_UNIVERSE) current.push_back(a.prefix.addr);
    auto aplan = plan_addresses(current, parse_addresses(rec.addresses), inh.host_addrs);
    std::vector<netlink::Route> routes;
    for (int fam : {AF_INET, AF_INET6}) {
        auto r = netlink::list_routes(*s, fam, RT_TABLE_MAIN);
        if (!r.ok()) return r.error();
        routes.insert(routes.end(), r->begin(), r->end());
    }
    auto rplan = plan_routes(routes, inh.routes);
    if (aplan.empty() && rplan.empty() && !*changed) return {};
    *changed = true;
    for (const auto& a : aplan.add) {
        auto st = netlink::add_address(*s, up.value(), IpPrefix{a, static_cast<int>(a.size() * 8)},
                                       RT_SCOPE_UNIVERSE, true);
        if (!tolerated(st, EEXIST)) return st.error().wrap("carry host address " + a.str());
    }
    for (const auto& r : rplan.remove) {
        auto st = netlink::delete_route(*s, r);
        if (!tolerated(st, ESRCH)) return st.error().wrap("remove inherited route " + r.dst.str());
    }
    for (const auto& pr : rplan.add) {
        netlink::Route r = pr;
        r.gateway = pr.family == AF_INET ? link4(rec.depth, 1) : link6(1);
        r.oif = up.value();
        r.onlink = true;
        r.protocol = kRouteProto;
        auto st = netlink::add_route(*s, r);
        if (!tolerated(st, EEXIST)) return st.error().wrap("inherit route " + pr.dst.str());
    }
    for (const auto& a : aplan.remove) {
        auto st = netlink::delete_address(*s, up.value(), IpPrefix{a, static_cast<int>(a.size() * 8)});
        if (!tolerated(st, EADDRNOTAVAIL)) return st.error().wrap("drop host address " + a.str());
    }
    if (!rec.inherit_services) return {};
    auto st = nft::child_set_local(service_locals(inh, rec.depth));
    // The owner of an --admin space may have removed the table: nothing to update then.
    if (!tolerated(st, ENOENT)) return st.error().wrap("update the service fall-through");
    return {};
}

}  // namespace

AddressPlan plan_addresses(const std::vector<IpAddr>& current, const std::vector<IpAddr>& carried,
                           const std::vector<IpAddr>& wanted) {
    AddressPlan p;
    for (const auto& a : wanted)
        if (!has(current, a) && !has(p.add, a)) p.add.push_back(a);
    for (const auto& a : current)
        if (has(carried, a) && !has(wanted, a) && !has(p.remove, a)) p.remove.push_back(a);
    return p;
}

bool is_inherited_route(const netlink::Route& r) {
    return r.protocol == kRouteProto && r.gateway.has_value() &&
           (r.metric == kInheritedMetric || r.metric == kInheritedMetric - 1);
}

RoutePlan plan_routes(const std::vector<netlink::Route>& current, const std::vector<netlink::Route>& wanted) {
    RoutePlan p;
    for (const auto& r : current) {
        if (!is_inherited_route(r)) continue;
        if (std::none_of(wanted.begin(), wanted.end(), [&](const auto& w) { return same_route(r, w); }))
            p.remove.push_back(r);
    }
    for (const auto& w : wanted) {
        auto ours = [&](const auto& r) { return is_inherited_route(r) && same_route(r, w); };
        if (std::none_of(current.begin(), current.end(), ours) &&
            std::none_of(p.add.begin(), p.add.end(), [&](const auto& r) { return same_route(r, w); }))
            p.add.push_back(w);
    }
    return p;
}

Status follow_child(const registry::Registry& reg, registry::Record& rec, netlink::Socket& parent,
                    int parent_ns) {
    const std::string what = "follow the parent of space '" + rec.name + "'";
    SpaceSpec spec;
    spec.inherit_routes = rec.inherit_routes;
    for (const auto& h : rec.hidden_routes)
        if (auto p = IpPrefix::parse(h, false)) spec.hidden_routes.push_back(*p);
    std::optional<registry::Record> up;
    if (rec.parent_label != 0)
        if (auto p = reg.load(rec.parent_label); p.ok()) up = std::move(p).value();
    auto inh = gather_inheritance(parent, spec, up ? &*up : nullptr);
    if (!inh.ok()) return inh.error().wrap(what);
    inh->overlay_addrs = parse_addresses(rec.overlay_addresses);
    auto child = reach_child(reg, rec);
    if (!child.ok()) return child.error().wrap(what);
    if (!child->has_value()) return {};
    std::vector<std::string> now;
    for (const auto& a : inh->host_addrs) now.push_back(a.str());
    bool changed = now != rec.addresses;  // the sets follow the recorded addresses too
    {
        auto sw = NetnsSwitch::enter((*child)->get());
        if (!sw.ok()) return sw.error().wrap(what);
        PN_TRY(reconcile_inside(rec, inh.value(), &changed), what);
    }
    if (!changed) return {};
    if (rec.dispatch == Dispatch::bpf && parent_ns >= 0) {
        auto sw = NetnsSwitch::enter(parent_ns);
        if (!sw.ok()) return sw.error().wrap(what);
        PN_TRY(bpf::sync_sources(rec.host_ifindex, inh->host_addrs), what);
    }
    rec.addresses = now;
    return {};
}

}  // namespace personalnet::space
