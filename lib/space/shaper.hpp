// The bandwidth shaper of a space (mkportspace --bandwidth, issue 22), on the parent's
// side of its uplink, where the space's owner (even with --admin's CAP_NET_ADMIN in the
// space) cannot reach it:
//   - into the space: a token bucket (tbf) as the root qdisc of the parent-side veth's
//     egress;
//   - out of it: the parent-side veth's ingress redirects every packet (clsact, u32 matching
//     all, mirred) to an ifb device of the space's own (shaper_ifname), whose root qdisc is a
//     token bucket; the ifb hands each packet back to the veth's receive path.
// The eBPF dispatcher sends a shaped child's ESP through the same qdiscs (kmod/
// dispatch.bpf.c: PN_KID_SHAPED). See docs/ARCHITECTURE.md, "Bandwidth per space".
#pragma once

#include <cstdint>

#include "lib/netlink/netlink.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

// The token bucket for a rate in bits per second: a bucket of 10 ms at that rate (at
// least 16 full-size frames, so TCP's bursts pass at small rates) and a queue of 100 ms
// behind it (at least 4 buckets).
netlink::Tbf tbf_for(uint64_t bits_per_second);

// In the parent namespace: shapes the child on host_ifindex as limits says (nothing when
// it sets no rate; no netlink request then). A failed creation is undone by removing the
// veth (and with it its qdiscs) and the ifb; an ifb a killed attempt left under the
// label's name is taken over rather than refused.
Status shape_child(netlink::Socket& s, uint16_t label, int host_ifindex, const ResourceLimits& limits);
// In the parent namespace: removes the child's ifb (the veth's qdiscs go with the veth).
// Nothing to do when it is gone.
Status unshape_child(netlink::Socket& s, uint16_t label);

// The traffic through the space's uplink, from its parent-side veth's counters (one
// RTM_GETLINK in the parent namespace): into the space is what the veth sent (rx_*), out
// of it what it received (tx_*). ENOENT when the parent namespace is gone.
Result<ResourceUsage> uplink_usage(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
