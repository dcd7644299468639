// spank_personalnet.so: the Slurm SPANK plugin of issue 19 (spank_personalnet(8)). slurmd,
// srun, sbatch and salloc load it from plugstack.conf; Slurm resolves the spank_* and
// slurm_* calls itself (nothing of libslurm is linked), and the library's objects are
// linked in statically and kept local (spank_personalnet.map), as in the PAM module.
//
// A job that asks (--personalnet), or runs in a partition where the administrator made it
// the default, runs its tasks on each node in the job's space there (lib/slurm/job_space):
// each task's process, still root in slurmstepd, takes the space and joins it before it
// becomes the user's. Anything that fails fails the task with one line, in the job's
// output and in slurmd's log: it never runs outside the space it was promised. The step's
// end lets go of the space (slurm_spank_exit, in slurmstepd); the last step's end
// destroys it.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/core/seccomp.hpp"
#include "lib/slurm/hostlist.hpp"
#include "lib/slurm/job_space.hpp"
#include "lib/slurm/spank_options.hpp"

// spank.h declares the plugin's entry points (slurm_spank_init, ...) before its own
// extern "C" block: included in one, so that ours get the unmangled names Slurm looks up.
extern "C" {
#include <slurm/spank.h>
}

namespace ps = personalnet::slurm;

extern "C" {
// SPANK_PLUGIN defines these as const arrays, which C++ would give internal linkage:
// declared extern first, so that Slurm's loader finds them.
extern const char plugin_name[];
extern const char plugin_type[];
extern const unsigned int plugin_version;
extern const unsigned int spank_plugin_version;
SPANK_PLUGIN(personalnet, 1)
}

namespace {

// One process holds one job step at most (srun, slurmstepd): its options live here.
struct JobChoice {
    bool asked = false;   // --personalnet given
    std::string network;  // its NAME, "" for the job's own network
    bool files_given = false;
    ps::Files files = ps::Files::volatile_files;
};
JobChoice g_job;
ps::PluginConfig g_config;
// The step's slurmstepd (remote context), set in slurm_spank_init before it forks the
// tasks, which inherit it: a task's parent may be an intermediate process that is gone
// by the time the task records its hold.
pid_t g_stepd = 0;

int on_personalnet(int, const char* optarg, int) {
    // Slurm 22.05 passes the option alone on to the job's later sruns (a batch script's)
    // through its environment as the text "(null)": the option alone, not a network's name
    // (no name has parentheses).
    const std::string given = optarg != nullptr ? optarg : "";
    const std::string value = given == "(null)" ? "" : given;
    auto st = ps::check_network(value);
    if (!st.ok()) {
        slurm_error("%s", st.error().message().c_str());
        return -1;
    }
    g_job.asked = true;
    g_job.network = value;
    return 0;
}

int on_files(int, const char* optarg, int) {
    auto f = ps::parse_files(optarg != nullptr ? optarg : "");
    if (!f.ok()) {
        slurm_error("%s", f.error().message().c_str());
        return -1;
    }
    g_job.files_given = true;
    g_job.files = f.value();
    return 0;
}

spank_option g_options[] = {
    {const_cast<char*>("personalnet"), const_cast<char*>("NAME"),
     const_cast<char*>("Run the job in a personal network of its own, or on network NAME"), 2, 0,
     on_personalnet},
    {const_cast<char*>("personalnet-files"), const_cast<char*>("volatile|none"),
     const_cast<char*>("The file spaces of the job's personal network"), 1, 0, on_files},
    SPANK_OPTIONS_TABLE_END,
};

// A value of the job's environment; "" when it is not set.
std::string job_env(spank_t sp, const char* name) {
    char buf[4096] = {};
    if (spank_getenv(sp, name, buf, sizeof buf) != ESPANK_SUCCESS) return "";
    return buf;
}

// Whether this job is to get a personal network: it asked, or its partition (Slurm gives no
// spank item for it: its environment names it) is one where the administrator made it the
// default.
bool wanted(spank_t sp) {
    if (g_job.asked) return true;
    const std::string partition = job_env(sp, "SLURM_JOB_PARTITION");
    for (const auto& p : g_config.partitions)
        if (p == partition) return true;
    return false;
}

// Slurm's own steps (the batch script, the allocation's extern and interactive steps) get
// no space: the batch script runs the job's srun, which slurmctld and the other nodes'
// slurmstepd must reach at the node's address, as they cannot reach a space's listeners.
// Every step it starts runs its tasks in the job's spaces.
constexpr uint32_t kFirstSpecialStep = 0xfffffff0;  // slurm.h's SLURM_MAX_NORMAL_STEP_ID
bool normal_step(spank_t sp) {
    uint32_t step = 0;
    if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS) return false;
    return step < kFirstSpecialStep;
}

// This node's Slurm name: the step's node list (SLURM_STEP_NODELIST, which the task's
// environment has before SLURMD_NODENAME is set) at this node's index in the step.
std::string this_node(spank_t sp) {
    uint32_t index = 0;
    if (spank_get_item(sp, S_JOB_NODEID, &index) != ESPANK_SUCCESS) return "";
    std::string list = job_env(sp, "SLURM_STEP_NODELIST");
    if (list.empty()) list = job_env(sp, "SLURM_NODELIST");
    auto names = ps::expand_hostlist(list);
    if (!names.ok() || index >= names->size()) return "";
    return (*names)[index];
}

uint32_t job_id(spank_t sp) {
    uint32_t id = 0;
    (void)spank_get_item(sp, S_JOB_ID, &id);
    return id;
}

uid_t job_uid(spank_t sp) {
    uid_t uid = 0;
    (void)spank_get_item(sp, S_JOB_UID, &uid);
    return uid;
}

}  // namespace

int slurm_spank_init(spank_t sp, int ac, char** av) {
    auto config = ps::parse_plugin_args(std::vector<std::string>(av, av + ac));
    if (!config.ok()) {
        slurm_error("%s", config.error().message().c_str());
        return -1;
    }
    g_config = config.value();
    if (spank_context() == S_CTX_SLURMD) return 0;  // slurmd itself takes no job options
    if (spank_remote(sp) == 1) g_stepd = ::getpid();
    for (auto* opt = g_options; opt->name != nullptr; ++opt) {
        if (spank_option_register(sp, opt) != ESPANK_SUCCESS) {
            slurm_error("personalnet: cannot register --%s", opt->name);
            return -1;
        }
    }
    return 0;
}

// On each node, in slurmstepd, in each task's process before it becomes the user's. Failing
// here, not earlier in slurm_spank_init_post_opt, is what fails the job: Slurm 22.05
// reports a step whose plugin failed to initialise as a launch failure and srun still
// exits 0.
int slurm_spank_task_init_privileged(spank_t sp, int, char**) {
    if (!normal_step(sp)) return 0;
    ps::JobStep step;
    step.job_id = job_id(sp);
    // A job that did not ask gets nothing, but a later step of one that did (srun --jobid,
    // or a step without the option) joins the job's space like the others.
    if (!wanted(sp) && !ps::job_space_taken(g_config, step.job_id)) return 0;
    step.uid = job_uid(sp);
    step.nodelist = job_env(sp, "SLURM_JOB_NODELIST");
    step.step_nodelist = job_env(sp, "SLURM_STEP_NODELIST");
    step.node = this_node(sp);
    step.network = g_job.network;
    step.files = g_job.files_given ? g_job.files : g_config.files;
    step.holder = g_stepd;  // the step's slurmstepd, whose slurm_spank_exit lets go
    const std::string name = ps::job_space_name(step.job_id);
    auto fail = [&](const std::string& why) {
        slurm_error("personalnet: job %u on %s: space %s: %s", step.job_id, step.node.c_str(), name.c_str(),
                    why.c_str());
        return -1;
    };
    if (step.node.empty()) return fail("cannot tell this node's name from the step's node list");
    if (step.holder == 0) return fail("slurm_spank_init did not run in this step's slurmstepd");
    auto taken = ps::take_job_space(g_config, step);
    if (!taken.ok()) return fail(taken.error().message());
    // On failure the hold stays: the step's other tasks on this node may be inside already,
    // and the step's end lets go of it.
    // Not into the space's cgroup: Slurm tracks the task (and holds it to the job's
    // limits) by its own cgroup, which the task must stay in.
    if (auto joined = taken->space->join(false); !joined.ok()) return fail(joined.error().message());
    // Like every command run in a space (Space::run) and every login: the task may not type
    // into the terminal it came from (TIOCSTI); inherited by everything the task starts.
    if (int err = personalnet::seccomp::TtyFilter().install(); err != 0)
        return fail(personalnet::make_error(err, "install the TIOCSTI filter (seccomp)").message());
    if (spank_setenv(sp, "PERSONALNET_SPACE", name.c_str(), 1) != ESPANK_SUCCESS ||
        (!taken->peers.empty() &&
         spank_setenv(sp, "PERSONALNET_PEERS", taken->peers.c_str(), 1) != ESPANK_SUCCESS))
        return fail("cannot set the task's environment");
    return 0;
}

// In slurmstepd when the step ends (normally, by scancel or by its time limit): the step
// lets go of the node's space, and the last step destroys it.
int slurm_spank_exit(spank_t sp, int, char**) {
    if (spank_remote(sp) != 1 || !normal_step(sp)) return 0;
    const uint32_t id = job_id(sp);
    // A job that never took a space on this node (it did not ask) has nothing to let go of,
    // and is not held up by the lock of those that did.
    if (!ps::job_space_taken(g_config, id)) return 0;
    auto released = ps::release_job_space(g_config, id, job_uid(sp), ::getpid());
    if (!released.ok()) {
        slurm_error("personalnet: job %u: release space %s: %s", id, ps::job_space_name(id).c_str(),
                    released.error().message().c_str());
        return -1;
    }
    return 0;
}
