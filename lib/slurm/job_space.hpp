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
    std::string nodelist;       // SLURM_JOB_NODELIST: every node of the job, in order
    std::string step_nodelist;  // SLURM_STEP_NODELIST: the nodes of this step
    std::string node;           // this node's name (from the step's node list)
    std::string network;        // --personalnet=NAME; "" for the job's own
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
// c.wait_seconds for the network's peers on the step's nodes to be up. A space made for
// the job earlier is opened as it is (the step's own options do not change it). Nothing
// is left when it fails.
Result<JobSpace> take_job_space(const PluginConfig& c, const JobStep& step);

// Whether a step of the job took its space on this node (RUNDIR/held/job-<id> exists):
// every later step of the job joins it, whether or not it repeats --personalnet. Takes
// no lock, so that jobs which never asked are not slowed down by those that did.
bool job_space_taken(const PluginConfig& c, uint32_t job_id);

// Ends holder's hold on the job's space; the last one destroys it. A holder that holds
// nothing (a step whose take failed) changes nothing.
Status release_job_space(const PluginConfig& c, uint32_t job_id, uid_t uid, pid_t holder);

}  // namespace personalnet::slurm
