// The run directory as mounts, so that file spaces can share it.
//
// The run directory is a shared bind mount of itself (like iproute2's /run/netns), so
// that the mount namespaces copied from the host's (`ip netns exec`) see the pins made
// under it, and the pins made there. A space's mount namespace gets a view of it without
// the pins instead (lib/fs/run_view), and root's tools there reach the pins through the
// host's namespace (lib/space/pins). Under it, a private bind of itself stops propagation:
//   fs/     the layer stores, one per owner on fs/UID (lib/fs/store)
#pragma once

#include <string>

#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Makes the mounts above unless they are there (nothing in a space's view of the run
// directory: the host's are there).
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
