// SPI dispatch through every ancestor (issue 4). A space's direct parent maps its label
// to its mark when the child is attached (nft::parent_add_child). A space nested deeper
// must be reachable by its label from the host's uplink too, so every ancestor further
// up maps the label to the mark of *its* child on the way down; each hop's policy
// routing then forwards the packet one level, until the direct parent delivers it.
#pragma once

#include <functional>

#include "lib/bpf/dispatch.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Calls step(label of the ancestor's child on the way) inside each ancestor namespace
// above rec's direct parent, nearest first. Stops at an ancestor whose record or
// namespace is gone (the chain above it is gone too); one that is there but out of reach
// is an error.
Status for_each_ancestor(const registry::Registry& reg, const registry::Record& rec,
                         const std::function<Status(uint16_t)>& step);
// Calls step inside rec's direct parent namespace; nothing when that namespace is gone.
Status in_parent(const registry::Registry& reg, const registry::Record& rec,
                 const std::function<Status()>& step);

// Adds rec's label to the labels map of every ancestor above its direct parent.
// Caller holds the registry lock; rec's ancestors' records exist.
Status dispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec);

// Removes what dispatch_through_ancestors added, and every SPI leading to rec there
// (synced for it, or learned: those its direct parent leads to its mark); ancestors
// already gone are skipped. Idempotent. Call before the parent releases rec.
Status undispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec);

// A BPF-dispatched space's packet counters in its direct parent's dispatcher.
Result<bpf::Counters> dispatch_counters(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
