// The parent's watcher (tools/pnwatch): one process per parent network namespace that
// has children, which follows the parent's addresses and routes into every child
// (lib/space/follow). No daemon per space, nothing per packet, nothing per space while
// nothing changes.
//
// Its lifetime is a lock file, rundir/parents/INODE/watch, flock'ed by the watcher for its
// life (and holding its pid): parent_acquire starts one when the lock is free (the first
// child, or after a watcher died); parent_release stops it with the last child; gc
// restarts a dead one; `pnet show` says a space's addresses are stale when its parent's
// lock is free. The watcher lives in the host's mount namespace and a private empty
// network namespace; only its sockets (and its fd) are the parent's.
#pragma once

#include <cstdint>
#include <string>

#include "lib/registry/registry.hpp"
#include "lib/space/parent.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// How a watcher starts: with a first pass over the children (catch_up: it was dead, its
// children may have missed changes meanwhile), or straight to waiting (fresh: its only
// child is being created and has just read the parent itself; a pass would only cost
// that creation, and the next ones, time under the registry lock).
enum class WatchStart { fresh, catch_up };

// Starts the watcher of the parent p (its namespace: parent_ns_fd) unless one holds its
// lock. Caller holds the registry lock.
Status ensure_watcher(const ParentRef& p, int parent_ns_fd, WatchStart start);
// Stops the watcher of the parent state in dir and waits for it (up to 2 s); removes
// its lock file. Caller holds the registry lock (so the watcher is not mid-change).
void stop_watcher(const std::string& dir);
// Whether a watcher holds the lock of the parent namespace with that inode.
bool watcher_running(const registry::Registry& reg, uint64_t parent_inode);
// gc: starts a watcher for every parent state that has children and none running.
// Caller holds the registry lock.
Status restart_watchers(const registry::Registry& reg);

// pnwatch's life: opens its event and query sockets in the parent (parent_ns), moves to
// a private empty network namespace, follows once (catch_up), then on every change (debounced)
// until the parent has no child left, its state is gone or belongs to another namespace.
// lock_fd is the held lock, where it first writes its own pid. Returns the exit status.
int run_watcher(const registry::Registry& reg, uint64_t parent_inode, int lock_fd, int parent_ns,
                WatchStart start);

}  // namespace personalnet::space
