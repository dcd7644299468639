// SPI dispatch through every ancestor (issue 4). A space's direct parent maps its label
// to its mark when the child is attached (nft::parent_add_child). A space nested deeper
// must be reachable by its label from the host's uplink too, so every ancestor further
// up maps the label to the mark of *its* child on the way down; each hop's policy
// routing then forwards the packet one level, until the direct parent delivers it.
#pragma once

#include "lib/bpf/dispatch.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Adds rec's label to the labels map of every ancestor above its direct parent.
// Caller holds the registry lock; rec's ancestors' records exist.
Status dispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec);

// Removes what dispatch_through_ancestors added; ancestors already gone are skipped.
// Idempotent.
Status undispatch_through_ancestors(const registry::Registry& reg, const registry::Record& rec);

// A BPF-dispatched space's packet counters in its direct parent's dispatcher.
Result<bpf::Counters> dispatch_counters(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
