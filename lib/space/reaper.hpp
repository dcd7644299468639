// The reaper of a space that ends with its last process: a detached pnreaper
// (tools/pnreaper.cpp) waits until the space's uplink disappears (the kernel deletes it
// when the namespace dies) and then releases the host-side state under the registry lock.
// It inherits the label lock, so garbage collection leaves the space alone meanwhile.
#pragma once

#include <vector>

#include "lib/core/fd.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Starts pnreaper for r, handing it label_lock_fd. A failure is returned for the caller
// to ignore: collect_garbage() adopts the space later.
Status spawn_reaper(const registry::Registry& reg, const registry::Record& r, int label_lock_fd);
// The same, watching the uplink in parent_netns_fd (-1: release at once), reached before
// the parent's state for r was released (destroy's fast path: that release may have
// removed the parent's pin). The reaper also holds kept_sockets (descriptors of the
// caller's nft::SocketKeeper) until it exits, so that closing them costs the caller
// nothing.
Status spawn_reaper(const registry::Registry& reg, const registry::Record& r, int label_lock_fd,
                    int parent_netns_fd, const std::vector<int>& kept_sockets = {});
// The parent namespace r's reaper watches (reach_parent); ENOENT when it is gone.
Result<UniqueFd> parent_of_reaped(const registry::Registry& reg, const registry::Record& r);

// pnreaper's wait: a netlink socket opened in the parent's namespace (parent_netns, or
// -1: no wait), then, for the process itself, the host's network namespace (or a new
// empty one if that is a space's), until the uplink ifindex is gone from the parent.
void wait_uplink_gone(const registry::Registry& reg, int parent_netns, int ifindex);

// pnreaper's release, after the wait (lib/space/space.cpp: the space's destroy), and
// the dispatcher of the parent namespace parent_netns (-1: none) when no child needs it
// any more (remove_idle_dispatcher).
void release_reaped(const registry::Registry& reg, const registry::Record& r, int parent_netns);

}  // namespace personalnet::space
