#pragma once
// Starting root's daemons that serve spaces but belong to none (pnreaper, pnwatch).

#include <sys/types.h>

#include "lib/core/spawn.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Spawns o (its program, arguments and descriptors already set) as a detached daemon of
// root's: a session of its own, a fixed environment, no standard streams, SIGINT and
// SIGHUP ignored; in the host's mount namespace, never in a file space (docs/SECURITY.md,
// rule 2: its creator may be inside one); and in the subtree's helpers cgroup, outside
// every space's (its creator may be in one), so that no owner's limit bears on it and no
// parent's removal ends it. o.what names it in errors. Returns its pid.
Result<pid_t> spawn_root_daemon(sys::SpawnOptions& o, const registry::Registry& reg);

}  // namespace personalnet::space
