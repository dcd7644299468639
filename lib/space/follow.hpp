// Following the parent's network (issue 20, part 2): a child's carried addresses and
// inherited routes, its service fall-through's `local` sets and its eBPF sources are
// brought in line with what its parent has now. Run by the parent's watcher
// (tools/pnwatch, lib/space/watcher.hpp) under the registry lock; the diffs are pure.
#pragma once

#include <vector>

#include "lib/netlink/netlink.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::space {

struct AddressPlan {
    std::vector<IpAddr> add, remove;
    bool empty() const { return add.empty() && remove.empty(); }
};
// current: the universe-scope addresses on the child's uplink now; carried: the ones
// personalnet put there (the record's addresses); wanted: what the parent has now.
// Only carried addresses are ever removed (one the owner of an --admin space added
// stays), and each address once.
AddressPlan plan_addresses(const std::vector<IpAddr>& current, const std::vector<IpAddr>& carried,
                           const std::vector<IpAddr>& wanted);

struct RoutePlan {
    std::vector<netlink::Route> add, remove;  // a changed route is in both: removed, then added
    bool empty() const { return add.empty() && remove.empty(); }
};
// Whether a route of the child's main table is one personalnet inherited (its protocol,
// an inherited metric, a next hop): only those are ever removed or changed.
bool is_inherited_route(const netlink::Route& r);
// current: the child's main-table routes (any; only inherited ones count); wanted: the
// routes gather_inheritance gives now (dst, family, metric, prefsrc). Routes are the
// same when those four are.
RoutePlan plan_routes(const std::vector<netlink::Route>& current, const std::vector<netlink::Route>& wanted);

// Brings the child of rec in line with its parent: parent is a socket in the parent's
// namespace, parent_ns an fd on it (for the eBPF sources). Reaches the child's namespace
// by its pin (named) or wherever it shows and with its recorded cookie (unnamed); a
// child not found is skipped (its release is on its way). Updates rec.addresses; the
// caller saves it. Caller holds the registry lock.
Status follow_child(const registry::Registry& reg, registry::Record& rec, netlink::Socket& parent,
                    int parent_ns);

}  // namespace personalnet::space
