// Who holds a TCP or UDP port in the current network namespace, asked of the kernel's
// socket diagnostics (NETLINK_SOCK_DIAG through libmnl).
//
// Why not /proc/net/{tcp,udp}{,6}: /proc/net is /proc/self/net, the namespace of the
// process's main thread, not of the calling thread (the library switches namespaces per
// thread; /proc/thread-self/net would do); the text lists every connection, where the
// kernel here filters TCP by state (listeners only); and a binary answer needs no parsing
// of a format meant for people. Needs the kernel's inet_diag with tcp_diag and udp_diag
// (Debian's kernels load the modules on the first request); without them the error says
// so and the port is not published.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::netlink {

struct PortHolder {
    IpAddr addr;  // the local address it is bound to: 0.0.0.0 or :: for any
    uint16_t port = 0;
    uid_t uid = 0;  // the socket's owner
};

// The sockets of the calling thread's network namespace that would receive a new
// connection or datagram on proto (IPPROTO_TCP or IPPROTO_UDP) and port: TCP listeners,
// and UDP sockets bound to the port and not connected; IPv4 and IPv6 (an IPv6 socket
// that also takes IPv4 is listed once, with its IPv6 address).
Result<std::vector<PortHolder>> port_holders(uint8_t proto, uint16_t port);

}  // namespace personalnet::netlink
