// spank_personalnet.so: the Slurm SPANK plugin of issue 19 (spank_personalnet(8)). slurmd,
// srun, sbatch and salloc load it from plugstack.conf; Slurm resolves the spank_* and
// slurm_* calls itself (nothing of libslurm is linked), and the library's objects are
// linked in statically and kept local (spank_personalnet.map), as in the PAM module.
//
// This is the skeleton: it reads the administrator's arguments and the job's options and
// checks them, but creates no space yet. A job that asks for a personal network, or runs
// in a partition where the administrator made it the default, therefore fails on every
// node with one line saying why: it never runs outside the space it was promised.
#include <cstdint>
#include <string>
#include <vector>

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

int on_personalnet(int, const char* optarg, int) {
    const std::string value = optarg != nullptr ? optarg : "";
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

// The job's partition as its environment names it (Slurm gives no spank item for it).
std::string job_partition(spank_t sp) {
    char buf[256] = {};
    if (spank_getenv(sp, "SLURM_JOB_PARTITION", buf, sizeof buf) != ESPANK_SUCCESS) return "";
    return buf;
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
    for (auto* opt = g_options; opt->name != nullptr; ++opt) {
        if (spank_option_register(sp, opt) != ESPANK_SUCCESS) {
            slurm_error("personalnet: cannot register --%s", opt->name);
            return -1;
        }
    }
    return 0;
}

// On each node, in slurmstepd, in each task's process before it becomes the user's: a job
// that is to get a personal network fails here until spaces are made (see the top of this
// file). Failing here, not earlier in slurm_spank_init_post_opt, is what fails the job:
// Slurm 22.05 reports a step whose plugin failed to initialise as a launch failure and
// srun still exits 0.
int slurm_spank_task_init_privileged(spank_t sp, int, char**) {
    bool wanted = g_job.asked;
    const std::string partition = job_partition(sp);
    for (const auto& p : g_config.partitions) wanted = wanted || p == partition;
    if (!wanted) return 0;  // a job that did not ask gets nothing
    uint32_t job_id = 0;
    (void)spank_get_item(sp, S_JOB_ID, &job_id);
    slurm_error("personalnet: job %u: cannot make space %s: personal networks are not implemented yet",
                job_id, ps::job_space_name(job_id).c_str());
    return -1;
}
