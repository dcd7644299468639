// A batch job's personal network (spank_personalnet(8), issue 19), as plain text and
// values: what the SPANK plugin gives the job's space on each node. Nothing here acts.
//
// Every node of a job computes the same network from the same inputs, with no message
// between the nodes: the job id, the job's node list (SLURM_JOB_NODELIST, in its order),
// each node's address (its name resolved as Slurm's NodeAddr would be by default), the
// plugin's arguments and the site secret (a root-only file, the same on every node).
// - The label: labels' first + job id modulo the range's size.
// - Node i of the job (0-based, in node-list order) has the address addresses + i + 1.
// - The key: HMAC-SHA-256(site secret, "personalnet slurm job <id>"), a pre-shared key
//   only root on the job's nodes can compute; another job (even the same user's) gets
//   another. It reaches charon over VICI only, never a file.
// - One connection per other node, tunnel mode between the two nodes' job addresses, so
//   that it runs on either ESP datapath; each side both initiates and answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/slurm/spank_options.hpp"
#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"
#include "personalnet/space.hpp"

namespace personalnet::slurm {

struct JobNode {
    std::string name;  // the Slurm node name (also the name tasks resolve)
    IpAddr address;    // its address on the cluster's network (IPv4)
};

uint16_t job_label(const PluginConfig& c, uint32_t job_id);

// Node index's address on the job's network; EINVAL when the prefix has no room for it.
Result<IpAddr> job_address(const PluginConfig& c, size_t index);

// The job's pre-shared key, as 64 hex digits.
std::string job_key(std::string_view site_secret, uint32_t job_id);

// The network as node `self` of nodes sees it (at least two nodes), named "job-<id>".
Result<UserNetwork> job_network(const PluginConfig& c, uint32_t job_id, const std::vector<JobNode>& nodes,
                                size_t self, std::string_view site_secret);

// The /etc/hosts of the job's file space: localhost, then every node's name at its
// address on the job's network, so that node names resolve as MPI launchers expect.
Result<std::string> job_hosts(const PluginConfig& c, const std::vector<JobNode>& nodes);

// PERSONALNET_PEERS's value: "node1=10.254.0.1 node2=10.254.0.2 ...", every node of the
// job (this one included), in node-list order.
Result<std::string> job_peers(const PluginConfig& c, const std::vector<JobNode>& nodes);

}  // namespace personalnet::slurm
