// A LAN of its own for several simulated hosts, beside the A-B wire of simhosts.hpp:
// a bridge "lan0" in a namespace of its own, one veth per host (the host's end named
// as given, with its address on the LAN, the other end a port of the bridge). Built
// with the library's own netlink code, taken down again by deleting each host's end
// (which deletes its peer); the bridge dies with its namespace.
//
//   host A eth1 10.10.0.1/24 --+
//   host B eth1 10.10.0.2/24 --+-- lan0 (bridge, namespace of its own)
//   host C eth0 10.10.0.3/24 --+
#pragma once

#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace pnsim {

struct LanHost {
    int ns = -1;          // the host's network namespace (fd)
    std::string ifname;   // its end of the wire, e.g. "eth1"
    std::string address;  // with its prefix length, e.g. "10.10.0.1/24"
};

// Wires every host to a bridge in lan_ns (a fresh namespace) and brings all of it up.
personalnet::Status wire_lan(int lan_ns, const std::vector<LanHost>& hosts);
// Deletes each host's end of its wire; ENODEV (already gone) is not an error.
personalnet::Status unwire_lan(const std::vector<LanHost>& hosts);

}  // namespace pnsim
