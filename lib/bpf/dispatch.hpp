// The eBPF SPI dispatcher (kmod/dispatch.bpf.c): one instance per parent network
// namespace, loaded from the libbpf skeleton when the first BPF-dispatched child arrives
// and gone with the parent state when the last child leaves.
//
// Nothing is pinned. The program is attached with tcx (no qdisc), which holds it (and
// through it its maps) for as long as it is attached; a later call finds the instance
// again through its attachment to lo, whose packets it lets pass (lo is every
// namespace's first device, so it anchors the instance whatever uplinks come and go).
// The nftables dispatcher stays installed beside it: whatever the program passes on
// (fragments, unknown labels, spoofed sources) gets the same answer there.
//
// All functions act on the calling thread's current network namespace; callers hold
// the registry lock, so no two of them change one instance at a time, except sync_esp:
// the SA syncs of different spaces may run at once (each holds its own space's lock), and
// touch only their own SPIs and attachments that are the same whoever makes them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::bpf {

// "" when this kernel can run the dispatcher: it has tcx attachment (Linux 6.6, which
// has every helper the program calls); otherwise why not, for --dispatch=bpf's error.
std::string unsupported_reason();

// The namespace's uplinks as the caller (lib/space) tells them apart: every device but
// lo and the children's host-side veths.
struct Devices {
    std::vector<int> uplinks;
};
// Called only when the program is first attached for a child's SAs (sync_esp): listing a
// namespace's devices costs in proportion to its children.
using DeviceLister = std::function<Result<Devices>()>;

// A child on host-side veth kid_ifindex gets label's packets from every uplink, and its
// IKE/ESP from the given source addresses leaves straight through an uplink. Loads the
// instance if this namespace has none (anchored on lo) and maps the child; the program
// is attached to the uplinks and the child's veth only with the first SA that needs it
// (sync_esp): until then ESP takes the nftables path. EEXIST if the label is mapped. A shaped child (a
// bandwidth limit, lib/space/shaper) gets nothing past its veth's qdiscs: ESP for it is redirected to the
// veth's egress instead of its peer, and nothing it sends is taken off its veth's ingress before the shaper's
// filter.
Status attach_child(int kid_ifindex, uint16_t label, const std::vector<IpAddr>& sources, bool shaped = false);
// Makes the child on kid_ifindex's allowed sources exactly `wanted` (its parent's
// addresses changed: lib/space/follow). Nothing to do in a namespace without an instance.
Status sync_sources(int kid_ifindex, const std::vector<IpAddr>& wanted);
// Forgets the child with this label (its veth detaches its own program when deleted).
// Nothing to do without an instance or mapping.
Status forget_child(uint16_t label);
// A space further down, reached through the child on via_ifindex (issue 4's dispatch
// through ancestors); loads the instance if needed.
Status add_label(uint16_t label, int via_ifindex);
Status remove_label(uint16_t label);  // absent: nothing to do
// Detaches the program from the given devices (all of the namespace's: its last child
// has left); the kernel then frees programs and maps.
Status remove_instance(const std::vector<int>& devices);

// Exact inbound ESP SPIs (issue 17): makes map espspis hold exactly `wanted` (SPIs as
// charon prints them) for the space labelled owner, each leading to the child on
// via_ifindex (owner's own veth at its parent, the child on the way further up).
// With any SPI wanted, attaches the program to every uplink (devs) and to via_ifindex
// when it is a mapped child, unless via_ifindex has it already. Nothing to do in a
// namespace without an instance.
Status sync_esp(const DeviceLister& devs, uint16_t owner, int via_ifindex,
                const std::vector<uint32_t>& wanted);
// Deletes every SPI of owner; nothing to do without an instance.
Status forget_esp(uint16_t owner);

struct Counters {
    uint64_t in = 0;   // ESP redirected into the space by its exact SPIs
    uint64_t out = 0;  // IKE/ESP sent from it straight out of an uplink
};
// The label's counters in this namespace's instance; ENOENT without instance or label.
Result<Counters> counters(uint16_t label);

// The name the program carries (bpftool prog show, leak checks).
inline constexpr const char* kProgram = "pn_dispatch";

}  // namespace personalnet::bpf
