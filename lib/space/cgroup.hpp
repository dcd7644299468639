// A cgroup (v2) per space (issue 22): CPU, memory, processes and I/O weight held by the
// kernel for everything of the space, and its use read back for `pnet show`.
//
// Layout under the subtree (Context::cgroupdir, else <cgroup2 mount>/personalnet, or
// personalnet-<rundir, '/' as '-'> for a registry elsewhere than /run/personalnet), nested
// like the spaces, so that a child never gets more than its parent:
//   SUBTREE/LABEL/            the space's limits (cpu.max, memory.max, pids.max, io.weight)
//   SUBTREE/LABEL/procs/      its processes (a leaf: cgroup v2 has no internal processes)
//   SUBTREE/LABEL/CHILD/      a child space's cgroup, the same again
//   SUBTREE/helpers/          root's own daemons of the spaces (reapers, watchers)
// Controllers are enabled in cgroup.subtree_control down the path only where a limit
// needs them. Everything is root's and not writable by the space's owner.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

// The host's cgroup v2 as personalnet uses it.
struct CgroupHost {
    std::string mount;                     // where cgroup2 is mounted ("" for none)
    std::string subtree;                   // personalnet's directory in it
    std::vector<std::string> controllers;  // the controllers cgroup2 has here
};
// Read once per process from /proc/self/mountinfo and the mount's cgroup.controllers.
CgroupHost cgroup_host(const Context& ctx);

// The first limit this host cannot hold (a controller it lacks, or no cgroup2 at all), in
// one line naming what asked for it (option: "--memory", or a policy setting); {} when
// every limit can be held. EOPNOTSUPP.
Status check_limits_here(const ResourceLimits& limits, const CgroupHost& host,
                         const char* const names[4] = nullptr);

// Makes rec's cgroup inside parent's (or at the subtree's top), with limits, and records
// it in rec (cgroup: its path under the cgroup2 mount; limits) before making it. Returns its processes' leaf
// (a directory fd for SpawnOptions::cgroup); invalid when the host has no cgroup2 (and no limit was asked).
Result<UniqueFd> make_cgroup(const registry::Registry& reg, registry::Record& rec,
                             const registry::Record* parent, const ResourceLimits& limits);

// The name of that leaf at the subtree's top (never a label: labels are 4 hex digits).
inline constexpr const char* kHelpersLeaf = "helpers";

// The leaf for root's daemons that serve spaces but belong to none (pnreaper, pnwatch),
// made where missing: outside every space's cgroup, so that no owner's limit starves
// them and a parent's removal (cgroup.kill) does not end the reaper of its child midway.
// Invalid when the host has no cgroup2.
Result<UniqueFd> open_helpers_cgroup(const Context& ctx);

// rec's processes' leaf; invalid when rec has no cgroup (an old record, no cgroup2).
Result<UniqueFd> open_cgroup_leaf(const registry::Record& rec);

// Moves pid into a leaf (root: a login joining its space).
Status move_into_cgroup(int leaf, pid_t pid);

// Removes rec's cgroup once its processes are gone (waiting a little for daemons that end
// with the space, then killing what is left), and the cgroups of ancestors whose records
// are gone and that only stayed for it. Missing is success.
Status remove_cgroup(const registry::Registry& reg, const registry::Record& rec);

// What rec's cgroup says of its use: CPU time, memory now and at peak, processes (its
// child spaces' included). Fields it cannot read stay -1.
void read_usage(const registry::Record& rec, ResourceUsage& usage);

}  // namespace personalnet::space
