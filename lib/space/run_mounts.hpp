// The run directory as mounts, so that file spaces can share it.
//
// A file space is a mount namespace of its own, but a space created inside it pins its
// network namespace under the run directory, and the host must see that pin (to list,
// enter, destroy and collect the space). So the run directory is a shared bind mount of
// itself (like iproute2's /run/netns), and each file space binds a clone of it that
// stays in the same peer group: pins propagate both ways, and so do their removals.
// Under it, two private binds of themselves stop propagation where it must not happen:
//   base/   the real root tree, bound inside each file space (nested ones stack on it)
//   fs/     the layer stores, one per owner on fs/UID (lib/fs/store)
#pragma once

#include <string>

#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Makes the mounts above unless they are there (in a file space they always are).
// Caller holds the registry lock; call before anything is pinned under the run directory.
Status ensure_run_mounts(const registry::Registry& reg);

// Detaches them (and every owner's layer store on RUNDIR/fs/UID). Only when the registry
// holds no space: a pin under the run directory would go with them. Caller holds the
// registry lock.
Status release_run_mounts(const registry::Registry& reg);

// Whether this process runs inside a file space: its mount namespace is one the registry
// recorded for a space (defined in filespace.cpp).
bool inside_file_space(const registry::Registry& reg);

}  // namespace personalnet::space
