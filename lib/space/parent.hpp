// The parent side of port spaces: what a network namespace needs once it has
// children, and what each child adds to it.
//
// Per parent namespace (refcounted by rundir/parents/INODE/kids/LLLL entries):
//   - a pin of the parent namespace (so destroy/gc can reach it from anywhere),
//   - ip forwarding on (previous values saved and restored),
//   - the local-table rule moved from pref 0 to 100, and a gate rule at pref 9 that
//     sends every packet not carrying a personalnet mark straight to pref 100 (so the
//     per-child rules cost nothing for ordinary traffic),
//   - the nft table personalnet_parent (conntrack-mark reply steering),
//   - the service addresses its children reach it at (169.254.(100+d).1/32 and
//     fd50:6e65:7400:d::1/128) on lo: one copy, not one per child uplink, so that the
//     parent's address list does not grow with its children.
//   - the frame of the reply tree (lib/space/reply_tree.hpp): pref 10 sends marked
//     packets to it, past the local table.
// Per child: the reply tree's path to its table (reply_tables.hpp), which holds the default routes
// over the child's veth, the nft kids element and the child's guard (the
// services it may not reach, the foreign sources it may send from), and the veth
// sysctls.
#pragma once

#include <cstdint>
#include <string>

#include "lib/bpf/dispatch.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

struct ParentRef {
    const registry::Registry* reg;
    uint64_t inode;       // of the parent network namespace
    int child_depth = 1;  // depth of its children (they all share it)
    std::string dir() const { return reg->path("parents/" + std::to_string(inode)); }
};

// In the parent namespace (current thread): make sure the parent state exists and
// register the child's label in it, with a reply table (lib/space/reply_tables.hpp),
// which it returns. Idempotent.
Result<uint32_t> parent_acquire(const ParentRef& p, int parent_ns_fd, uint16_t label);
// In the parent namespace: configure the parent side of a child whose host veth exists
// (sysctls, neighbours, the reply route in its table, and the rules that lead there).
Status parent_attach_child(netlink::Socket& s, uint16_t label, uint32_t table, int depth, int host_ifindex);
// In the parent namespace: the nft elements of the child (one batch: reply steering, and
// the guard of the parent's services and of the child's sources) and, when it is
// BPF-dispatched, its place in the eBPF dispatcher (which may be loaded now). sources:
// the addresses the child may send IKE/ESP from on the fast path; peers: the child's
// overlay addresses and the networks behind its overlay, whose connections it hands to
// the parent's listeners.
Status parent_steer_child(const registry::Record& child, const std::vector<IpAddr>& sources,
                          const std::vector<IpPrefix>& peers);
// The current namespace's devices as the eBPF dispatcher sees them.
Result<bpf::Devices> dispatch_devices();
// An fd on the parent namespace, by its pin or wherever the kernel shows it (another
// mount namespace's pin, a process in it, the caller's own), checked against the cookie
// its state recorded; nullopt when it is gone (its inode may since name another one).
Result<std::optional<UniqueFd>> reach_parent(const ParentRef& p);
// What parent_release removes: everything, or all but what destroy's fast path leaves
// to the space's reaper, whose own release (once the child's namespace is gone) removes
// the rest. That is the child's veth, which the kernel deletes when the child's namespace
// is torn down (a dying namespace: deleting it here would wait out RCU grace periods for
// nothing), and the reply tree's interior rules that no sibling shares (each deletion of
// an IPv6 rule walks the IPv6 routes to flush them: ~80 us a rule, 14 of them for a child
// with few siblings). The leaf goes at once: from then on the child's mark leads nowhere.
// When it was the last child, the eBPF dispatcher stays attached too (an idle program on
// lo with empty maps: each tcx detachment waits out an RCU grace period, 8 to 30 ms here),
// for remove_idle_dispatcher.
enum class Release { whole, leave_to_reaper };
// Enters the parent namespace (reach_parent) and removes everything the child added
// (veth included, and its shaper's ifb when shaped: it has a bandwidth limit; see
// Release); tears the parent state down when it was the last child. Idempotent.
Status parent_release(const ParentRef& p, uint16_t label, Release what = Release::whole, bool shaped = false);
// The reaper's end of Release::leave_to_reaper's last child: removes the eBPF dispatcher
// from the namespace netns_fd when that namespace has no parent state (no child) now; a
// first child made meanwhile has kept it, and uses it. Caller holds the registry lock.
Status remove_idle_dispatcher(const registry::Registry& reg, int netns_fd);

}  // namespace personalnet::space
