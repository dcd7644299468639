// A real Slurm cluster for the tests (issue 19): a controller host "ctl" and three compute
// hosts node1..node3 on a LAN of their own (tests/sim/lan.hpp), each host a network
// namespace (Host), a UTS namespace with its own hostname and a private mount namespace:
//
//   ctl   eth0 10.19.0.100/24  munged, slurmctld; srun, sinfo, scancel run here
//   node1 eth0 10.19.0.1/24    munged, slurmd      (node2 .2, node3 .3 alike)
//
// Every daemon is the Debian package's binary run in the foreground as a child of the test
// with a configuration, key, sockets, state, spool and logs of its own under a temporary
// directory (/tmp/pnslurm-XXXXXX); the packages' own service setup (/etc/slurm,
// /etc/munge, /run/munge) is never used. Each host has its own munged with the same key,
// as a real cluster has: munged refuses to decode one credential twice, and slurmd decodes
// the job's credential on every node. slurm.conf names one socket path (AuthInfo); each
// node's mount namespace binds its own munged's directory over it.
//
// Plugins that need no cgroup (this machine mounts cgroup v1 controllers and an empty v2
// hierarchy and runs no systemd): proctrack/linuxproc, task/none, jobacct_gather/none.
//
// The constructor returns once sinfo shows the three nodes idle, or throws naming what did
// not come up, with its log's tail. stop() (and the destructor) ends every daemon, kills
// whatever is left in the cluster's namespaces (slurmstepd, tasks) and removes the
// directory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "tests/integration/harness.hpp"

namespace pntest {

class SlurmCluster {
public:
    static constexpr int kNodes = 3;

    SlurmCluster();
    ~SlurmCluster();
    SlurmCluster(const SlurmCluster&) = delete;
    SlurmCluster& operator=(const SlurmCluster&) = delete;

    // Runs a Slurm client (srun, sinfo, ...) in the controller's host: as root when user
    // is null, else as that user with a plain environment.
    RunResult run(const std::vector<std::string>& argv, const char* user = nullptr,
                  int timeout_ms = 60000) const;

    // Replaces plugstack.conf (SPANK plugins; empty at first) on every host, with
    // "{rundir}" and "{statedir}" replaced by the host's own run directory (Host::rundir())
    // and layer store. srun reads it
    // at each start, slurmstepd at each step's: no daemon needs a restart.
    void write_plugstack(const std::string& text);

    // Starts a Slurm client in the controller's host in the background, as run() does;
    // its stdout is piped, its stderr the test's.
    Proc spawn(const std::vector<std::string>& argv, const char* user = nullptr) const;

    // Runs argv as root on node n (its network, UTS and mount namespaces), with
    // PERSONALNET_RUNDIR and PERSONALNET_STATEDIR of its Host.
    RunResult run_on_node(int n, const std::vector<std::string>& argv, int timeout_ms = 30000) const;

    // Stops everything (idempotent); how long that took, in seconds.
    double stop();

    // The build's program name (bin(name)) where a job's tasks can run it: copied to a
    // directory of the cluster's under /var/tmp, since a job's private /tmp hides a build
    // tree under /tmp. Removed by stop().
    std::string tool(const std::string& name);

    // This machine's IKE daemons and keepers that run, counted ("charon 2 pnkeeper 1"); the
    // exited ones wait as zombies for stop(), which reaps the cluster's orphans.
    static std::string running_daemons();

    static std::string node_name(int n) { return "node" + std::to_string(n); }
    static std::string node_address(int n) { return "10.19.0." + std::to_string(n); }
    static std::string controller_address() { return "10.19.0.100"; }

    const std::string& dir() const { return dir_; }
    std::string conf() const { return dir_ + "/slurm.conf"; }
    Host& node(int n) { return *hosts_.at(static_cast<size_t>(n)); }  // 1..kNodes
    Host& controller() { return *hosts_.at(0); }
    double up_seconds() const { return up_seconds_; }
    // Inodes of the cluster's network and UTS namespaces (for the leftover checks).
    const std::vector<unsigned long long>& namespace_inodes() const { return ns_inodes_; }

private:
    struct Daemon {
        std::string what;  // "slurmd on node2"
        std::string log;   // where its output goes
        pid_t pid = -1;
        personalnet::UniqueFd pidfd;
    };
    // A host's UTS and mount namespaces (made by a short-lived child).
    struct HostNs {
        personalnet::UniqueFd uts, mnt;
    };

    void start();
    void make_files();
    std::vector<std::string> client(const std::vector<std::string>& argv, const char* user) const;
    HostNs make_host_namespaces(const std::string& hostname, const std::string& munge_dir,
                                const std::string& etc);
    std::string etc_dir(size_t host) const;  // bound over dir/etc in the host's mount namespace
    Daemon& start_daemon(size_t host, const std::string& what, const std::vector<std::string>& argv);
    void wait_for_munge(size_t host, const Daemon& d);
    void wait_until_idle();
    std::string host_name(size_t host) const { return host == 0 ? "ctl" : node_name(static_cast<int>(host)); }
    std::string munge_dir(size_t host) const;
    // Why the cluster did not come up: the daemons that died and every log's tail.
    std::string diagnosis() const;
    void end(Daemon& d, int sig, int timeout_ms);
    void kill_leftovers();
    void reap_orphans();

    std::string dir_;
    std::string tools_dir_;                     // tool(): "" until the first
    std::vector<std::unique_ptr<Host>> hosts_;  // ctl, node1..node3
    std::vector<HostNs> host_ns_;
    personalnet::UniqueFd lan_ns_;
    bool wired_ = false;
    std::vector<Daemon> munged_, slurmd_;
    std::vector<Daemon> slurmctld_;  // one, or none before it started
    std::vector<unsigned long long> ns_inodes_;
    double up_seconds_ = 0;
    bool stopped_ = false;
    bool subreaper_ = false;
    int was_subreaper_ = 0;
    std::vector<pid_t> foreign_children_;  // children of this process before start()
};

}  // namespace pntest
