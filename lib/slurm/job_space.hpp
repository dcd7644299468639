// A batch job's space on a node (spank_personalnet(8), issue 19): taken by each step of
// the job on the node (created by the first, opened by the others), released by each
// step's end, destroyed with the last. The plugin calls these as root in slurmstepd.
//
// The space is "job-<id>", owned by the job's user, held (lib/space/held.hpp) by the
// slurmstepd of each step, so that one killed by SIGKILL is caught by the next take on
// the node or by `pnet gc`. With the job's own network (two nodes or more), it is bound
// to that network (job_network.hpp); with --personalnet=NAME, to the administrator's
// overlay or network NAME.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "lib/slurm/spank_options.hpp"
#include "personalnet/context.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::slurm {

struct JobStep {
    uint32_t job_id = 0;
    uid_t uid = 0;
    std::string nodelist;  // SLURM_JOB_NODELIST: every node of the job, in order
    std::string node;      // this node's name (SLURMD_NODENAME)
    std::string network;   // --personalnet=NAME; "" for the job's own
    Files files = Files::volatile_files;
    pid_t holder = 0;  // the step's slurmstepd
};

struct JobSpace {
    std::optional<Space> space;
    std::string peers;  // PERSONALNET_PEERS: "" without the job's own network
};

// The library's context for the job: the plugin's directories, acting for the job's user.
Context job_context(const PluginConfig& c, uid_t uid);

// Takes (creates or opens) the job's space on this node for step.holder, and waits up to
// c.wait_seconds for the network's peers to be up. Nothing is left when it fails.
Result<JobSpace> take_job_space(const PluginConfig& c, const JobStep& step);

// Whether the job's space is held on this node (a step of the job took it): every later
// step of the job joins it, whether or not it repeats --personalnet.
Result<bool> job_space_held(const PluginConfig& c, uint32_t job_id);

// Ends holder's hold on the job's space; the last one destroys it. A holder that holds
// nothing (a step whose take failed) changes nothing.
Status release_job_space(const PluginConfig& c, uint32_t job_id, uid_t uid, pid_t holder);

}  // namespace personalnet::slurm
