// The child side of a port space: what its namespace inherits from the parent.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/netlink/netlink.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

struct Inheritance {
    // The parent's own addresses (v4 and v6), and its overlay addresses when it is bound
    // to an overlay: the child carries them all on its uplink.
    std::vector<IpAddr> host_addrs;
    // The routes to mirror: dst, family, metric and the carried source address are set;
    // the parent's main-table routes, and routes to the networks behind the parent's
    // overlay (preferred: a lower metric), sent from the overlay address.
    std::vector<netlink::Route> routes;
    // The space's own overlay addresses (it is bound itself): local like the host's, so
    // a connection arriving through the overlay for a port without a listener in the
    // space falls through to the parent's service.
    std::vector<IpAddr> overlay_addrs;
};

// Reads, in the parent (socket s), the addresses the child will carry and the routes
// it will inherit, honouring spec.inherit_routes and spec.hidden_routes. parent is the
// parent space's record (nullptr at the top).
Result<Inheritance> gather_inheritance(netlink::Socket& s, const SpaceSpec& spec,
                                       const registry::Record* parent);

// Configures the child's namespace; s must be a socket opened inside it and the
// calling thread must be in it (for sysctls and nft).
Status configure_child(netlink::Socket& s, const Inheritance& inh, uint16_t label, int depth);
// The addresses the child's service fall-through treats as its own (nft sets local4 and
// local6): the carried host addresses, its own overlay addresses, its downlink's.
std::vector<IpAddr> service_locals(const Inheritance& inh, int depth);
// Installs the service fall-through (nft, one batch) unless spec.inherit_services is
// false. Same namespace requirement as configure_child.
Status inherit_services(const Inheritance& inh, const SpaceSpec& spec, int depth);

}  // namespace personalnet::space
