// Address and route notifications of one network namespace (rtnetlink multicast, through
// libmnl): what a parent's watcher (tools/pnwatch) waits on to follow the parent's
// network (docs/ARCHITECTURE.md, "Following the parent's network").
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <memory>

#include "personalnet/error.hpp"

struct mnl_socket;

namespace personalnet::netlink {

// Whether a notification says something a child inherits may have changed: an address
// added or removed (any link), or a route of the main table added or removed. Routes of
// other tables (the per-child reply tables a creation adds) are not inherited. Pure:
// looks at the message only.
bool inherited_change(const nlmsghdr* m);

class Events {
public:
    // Subscribes, in the current network namespace, to RTNLGRP_IPV4_IFADDR,
    // RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE. Non-blocking.
    static Result<Events> open();
    Events(Events&&) noexcept;
    Events& operator=(Events&&) noexcept;
    ~Events();

    int fd() const;
    // Reads every pending notification without blocking: true if one of them is an
    // inherited_change, or if some were lost (ENOBUFS: the caller must look again).
    Result<bool> drain();

private:
    struct Impl;
    explicit Events(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace personalnet::netlink
