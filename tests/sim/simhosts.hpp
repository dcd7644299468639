// The simulated-host topology shared by tests, the demo and the benchmarks, built
// with the library's own netlink code:
//
//   host A eth0 10.9.0.1/24 fd00:9::1/64  <--veth-->  host B eth0 10.9.0.2/24 fd00:9::2/64
//   A: route 10.7.0.0/16 via 10.9.0.2          B: 10.7.0.1/32 on lo (a "remote network")
#pragma once

#include "personalnet/error.hpp"

namespace pnsim {

// Wires two fresh network namespaces (fds) as above and brings up their lo.
personalnet::Status wire_hosts(int a_ns, int b_ns);

}  // namespace pnsim
