// What the Slurm SPANK plugin (slurm/spank_personalnet.cpp, spank_personalnet(8)) reads:
// the administrator's arguments on its plugstack.conf line and a job's options. Plain
// parsing, no Slurm types, so that the unit tests and the fuzzers reach it.
//
// plugstack.conf:   required /usr/lib/.../spank_personalnet.so partitions=batch,mpi files=none
//   partitions=P[,P...]  jobs of these partitions get a personal network without asking
//   files=volatile|none  the file space of a job that does not say (default: volatile)
//   secret=PATH          the site secret the job keys are derived from (root's, mode 0600,
//                        the same file on every node; default /etc/personalnet/slurm.secret)
//   labels=0xA-0xB       the SPI labels of job networks (default 0xe000-0xefff)
//   addresses=PREFIX     the jobs' network addresses, node i of a job at PREFIX + i
//                        (default 10.254.0.0/16)
//   wait=SECONDS         how long a step waits for its nodes' peers to be up (default 30)
//   networks=N[,N...]    the administrator's overlays and networks jobs may bind with
//                        --personalnet=NAME (default: none)
//   rundir= statedir= overlaydir= libexecdir=   personalnet's directories (staged installs)
// Job options (srun, sbatch, salloc):
//   --personalnet[=NAME]              a personal network of the job's own; with NAME, the
//                                     job binds that network (an administrator's overlay)
//   --personalnet-files=volatile|none the job's file spaces
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::slurm {

enum class Files { volatile_files, none };

// The plugin's arguments, as plugstack.conf gives them.
struct PluginConfig {
    std::vector<std::string> partitions;  // where every job gets a personal network
    Files files = Files::volatile_files;
    std::string secret = "/etc/personalnet/slurm.secret";
    uint16_t first_label = 0xe000, last_label = 0xefff;
    IpPrefix addresses = *IpPrefix::parse("10.254.0.0/16");
    int wait_seconds = 30;
    std::vector<std::string> networks;  // what --personalnet=NAME may name
    // personalnet's directories, "" for the installed ones (Context's defaults).
    std::string rundir, statedir, overlaydir, libexecdir;
};

// EINVAL naming the argument for anything unknown, repeated, empty or malformed: an
// administrator's typo must not leave jobs on the node's network.
Result<PluginConfig> parse_plugin_args(const std::vector<std::string>& args);

// --personalnet-files's value; EINVAL naming it otherwise.
Result<Files> parse_files(const std::string& value);
const char* files_word(Files f);

// --personalnet's value: "" (the option alone: the job's own network) or a network's
// name (lib/ike validate_overlay_name); EINVAL naming it otherwise.
Status check_network(const std::string& value);

// The space of job id on a node: "job-ID".
std::string job_space_name(unsigned job_id);

}  // namespace personalnet::slurm
