// The child side of a port space: what its namespace inherits from the parent.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/netlink/netlink.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

struct Inheritance {
    std::vector<IpAddr> host_addrs;      // the parent's own addresses (v4 and v6)
    std::vector<netlink::Route> routes;  // the parent's main-table routes to mirror
};

// Reads, in the parent (socket s), the addresses the child will carry and the routes
// it will inherit, honouring spec.inherit_routes and spec.hidden_routes.
Result<Inheritance> gather_inheritance(netlink::Socket& s, const SpaceSpec& spec);

// Configures the child's namespace; s must be a socket opened inside it and the
// calling thread must be in it (for sysctls and nft).
Status configure_child(netlink::Socket& s, const Inheritance& inh, uint16_t label, int depth);
// Installs the service fall-through (nft, one batch) unless spec.inherit_services is
// false. Same namespace requirement as configure_child.
Status inherit_services(const Inheritance& inh, const SpaceSpec& spec, int depth);

}  // namespace personalnet::space
