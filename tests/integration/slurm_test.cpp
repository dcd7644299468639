// A real Slurm cluster in the test suite (issue 19): munged, slurmctld and three slurmd
// "nodes" as simulated hosts (tests/integration/slurm_cluster.hpp), started for each test
// and stopped at its end, when the machine must be as it was before: no Slurm or munge
// process, nothing in the cluster's namespaces, no temporary directory, mount or file in
// the places the Debian packages' own services would use.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/slurm/job_network.hpp"
#include "tests/integration/slurm_cluster.hpp"
#include "tests/integration/unprivileged.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;

void run_tool(const std::vector<const char*>& argv) {
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const char* a : argv) args.push_back(const_cast<char*>(a));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
}

// What a Slurm cluster could leave on the machine, as text.
std::string machine_state() {
    std::string s;
    auto procs = sys::list_dir("/proc");
    if (procs.ok()) {
        for (const auto& p : procs.value()) {
            if (p[0] < '1' || p[0] > '9') continue;
            auto comm = sys::read_file("/proc/" + p + "/comm");
            auto cmd = sys::read_file("/proc/" + p + "/cmdline");
            if (!comm.ok()) continue;
            const std::string c = comm.value();
            if (c == "munged\n" || c.rfind("slurm", 0) == 0 || c == "srun\n" ||
                (cmd.ok() && contains(cmd.value(), "/tmp/pnslurm-")))
                s += "process " + c;
        }
    }
    auto tmp = sys::list_dir("/tmp");
    if (tmp.ok())
        for (const auto& n : tmp.value())
            if (n.rfind("pnslurm-", 0) == 0) s += "tmp " + n + "\n";
    auto var_tmp = sys::list_dir("/var/tmp");
    if (var_tmp.ok())
        for (const auto& n : var_tmp.value())
            if (n.rfind("pnslurm-", 0) == 0) s += "var/tmp " + n + "\n";
    auto mounts = sys::read_file("/proc/self/mountinfo");
    if (mounts.ok()) {
        std::istringstream lines(mounts.value());
        for (std::string line; std::getline(lines, line);)
            if (contains(line, "pnslurm-")) s += "mount " + line + "\n";
    }
    // Where the packages' own services keep their sockets, state and logs: the tests use none.
    for (const char* d :
         {"/run/munge", "/var/lib/munge", "/var/log/munge", "/run/slurm", "/run/slurmctld",
          "/var/spool/slurmd", "/var/spool/slurmctld", "/var/lib/slurm", "/var/log/slurm", "/dev/shm"}) {
        auto l = sys::list_dir(d);
        s += std::string(d) + ":";
        if (l.ok())
            for (const auto& n : l.value()) s += " " + n;
        s += "\n";
    }
    return s;
}

// Processes whose network or UTS namespace is one of inodes.
std::string processes_in(const std::vector<unsigned long long>& inodes) {
    std::string s;
    auto procs = sys::list_dir("/proc");
    if (!procs.ok()) return s;
    for (const auto& p : procs.value()) {
        if (p[0] < '1' || p[0] > '9') continue;
        for (const char* ns : {"net", "uts"}) {
            struct stat st {};
            if (::stat(("/proc/" + p + "/ns/" + ns).c_str(), &st) != 0) continue;
            if (std::find(inodes.begin(), inodes.end(), st.st_ino) == inodes.end()) continue;
            auto comm = sys::read_file("/proc/" + p + "/comm");
            s += p + " " + (comm.ok() ? comm.value() : "?\n");
            break;
        }
    }
    return s;
}

class SlurmTest : public ::testing::Test {
protected:
    // The suite's test users (as in UnprivilegedTest): Slurm runs the jobs of real users.
    static void SetUpTestSuite() {
        for (const char* u : {kAlice, kBob})
            if (::getpwnam(u) == nullptr)
                run_tool(
                    {"useradd", "--system", "--user-group", "--no-create-home", "--shell", "/bin/sh", u});
    }
    static void TearDownTestSuite() {
        for (const char* u : {kAlice, kBob}) run_tool({"userdel", u});
    }

    void SetUp() override {
        baseline_ = machine_state();
        cluster_ = std::make_unique<SlurmCluster>();
    }
    void TearDown() override {
        if (!cluster_) return;  // it did not come up: the constructor cleaned up and said why
        const auto inodes = cluster_->namespace_inodes();
        const double up = cluster_->up_seconds();
        const double down = cluster_->stop();
        cluster_.reset();
        std::printf("[ slurm    ] cluster up in %.2f s, down in %.2f s\n", up, down);
        EXPECT_EQ(processes_in(inodes), "") << "processes left in the cluster's namespaces";
        EXPECT_EQ(machine_state(), baseline_) << "the cluster left something behind";
    }

    std::unique_ptr<SlurmCluster> cluster_;
    std::string baseline_;
};

// A file in the machine's (and so every node's) /tmp, which a job's private /tmp must not show.
void write_marker(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
}

// text without its trailing newline(s).
std::string trim(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

// Lines of text, sorted.
std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> v;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) v.push_back(line);
    std::sort(v.begin(), v.end());
    return v;
}

TEST_F(SlurmTest, SrunRunsOnEveryNodeAsTheUser) {
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), (std::vector<std::string>{"node1", "node2", "node3"})) << r.err;
    // Each node's task sees its node's own address (the host's network namespace).
    r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname", "--all-ip-addresses"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    std::vector<std::string> addresses;
    for (const auto& line : sorted_lines(r.out)) addresses.push_back(line.substr(0, line.find(' ')));
    EXPECT_EQ(addresses,
              (std::vector<std::string>{SlurmCluster::node_address(1), SlurmCluster::node_address(2),
                                        SlurmCluster::node_address(3)}));
    // Another user's job runs as that user.
    r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "id", "-un"}, kBob);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), (std::vector<std::string>{kBob, kBob, kBob}));
}

// The SPANK plugin (slurm/spank_personalnet.cpp): a job that asks runs its tasks in a
// space per node, joined to the job's other nodes by a personal network of its own; one
// that does not ask runs as before.
class SlurmPluginTest : public SlurmTest {
protected:
    void SetUp() override {
        SlurmTest::SetUp();
        if (HasFatalFailure()) return;
        struct stat st {};
        ASSERT_EQ(::stat(plugin().c_str(), &st), 0) << plugin() << " is missing: `make all` builds it where "
                                                    << "Slurm's spank.h is (libslurm-dev)";
        // The site secret, the same on every node, root's only.
        secret_ = cluster_->dir() + "/slurm.secret";
        int fd = ::open(secret_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        const std::string text = "pntest site secret, 32 bytes ok\n";
        ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        ::close(fd);
        for (int n = 1; n <= SlurmCluster::kNodes; ++n)
            node_baseline_.push_back(cluster_->node(n).snapshot());
    }
    void TearDown() override {
        if (cluster_) {
            // Every node at once: a step's slurmstepd lets go of its space just after srun
            // returns, and the dispatcher's programs are counted host-wide, so one node's
            // snapshot also counts a space that another node is still letting go of.
            std::vector<std::string> listed(SlurmCluster::kNodes), now(SlurmCluster::kNodes);
            for (int i = 0; i < 150; ++i) {
                bool settled = true;
                for (int n = 1; n <= SlurmCluster::kNodes; ++n) {
                    const auto k = static_cast<size_t>(n - 1);
                    listed[k] = cluster_->run_on_node(n, {bin("pnet"), "list"}).out;
                    now[k] = cluster_->node(n).snapshot();
                    settled = settled && !contains(listed[k], "job-") && now[k] == node_baseline_.at(k);
                }
                if (settled) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            for (int n = 1; n <= SlurmCluster::kNodes; ++n) {
                const auto k = static_cast<size_t>(n - 1);
                EXPECT_FALSE(contains(listed[k], "job-")) << "spaces left on node " << n << ":\n"
                                                          << listed[k];
                EXPECT_EQ(now[k], node_baseline_.at(k)) << "node " << n << " is not as it was";
            }
        }
        SlurmTest::TearDown();
    }
    static std::string plugin() { return build_dir() + "/slurm/spank_personalnet.so"; }
    // `pnet list` on node n once its jobs' steps have ended there: srun returns when the
    // tasks have, and each node's slurmstepd lets go of the space just after (up to 10 s).
    std::string spaces_after_jobs(int n) {
        std::string listed;
        for (int i = 0; i < 100; ++i) {
            listed = cluster_->run_on_node(n, {bin("pnet"), "list"}).out;
            if (!contains(listed, "job-")) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return listed;
    }
    // The plugin with each node's run directory, the build's programs, the test's secret.
    void use_plugin(const std::string& args = "", int wait = 20) {
        cluster_->write_plugstack("required " + plugin() +
                                  " rundir={rundir} statedir={statedir} libexecdir=" + build_dir() +
                                  "/libexec secret=" + secret_ + " wait=" + std::to_string(wait) +
                                  (args.empty() ? "" : " " + args) + "\n");
    }
    // The last job's id, as slurmctld numbers them (one after another).
    unsigned last_job() {
        auto r = cluster_->run({"squeue", "--noheader", "--all", "--states=all", "--format=%i"});
        unsigned last = 0;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);)
            last = std::max(last, unsigned(std::atoi(line.c_str())));
        return last;
    }
    static const std::vector<std::string>& nodes() {
        static const std::vector<std::string> v{"node1", "node2", "node3"};
        return v;
    }
    // What a task prints about where it runs: "NODE NETNS SPACE PEERS", one line.
    static std::vector<std::string> where_task_runs() {
        return {"sh", "-c",
                "echo \"$SLURMD_NODENAME $(readlink /proc/self/ns/net) ${PERSONALNET_SPACE:-none} "
                "${PERSONALNET_PEERS:-none}\""};
    }
    std::string read_secret() const {
        auto s = sys::read_file(secret_);
        return s.ok() ? s.value() : "";
    }
    std::string secret_;
    std::vector<std::string> node_baseline_;
};

TEST_F(SlurmPluginTest, AJobThatDoesNotAskRunsAsBefore) {
    use_plugin("files=none");
    auto help = cluster_->run({"srun", "--help"}, kAlice);
    EXPECT_TRUE(contains(help.out, "--personalnet=NAME")) << help.out;
    EXPECT_TRUE(contains(help.out, "--personalnet-files=volatile|none")) << help.out;
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), nodes());
    // In each node's own network namespace, with no space.
    std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3"};
    for (const auto& a : where_task_runs()) argv.push_back(a);
    r = cluster_->run(argv, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto lines = sorted_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    for (int n = 1; n <= 3; ++n) {
        auto ns = cluster_->run_on_node(n, {"readlink", "/proc/self/ns/net"});
        EXPECT_EQ(lines[static_cast<size_t>(n - 1)],
                  "node" + std::to_string(n) + " " + trim(ns.out) + " none none");
    }
}

TEST_F(SlurmPluginTest, BadOptionsAreRefusedNamingTheValue) {
    use_plugin();
    auto r = cluster_->run({"srun", "--chdir=/", "--personalnet-files=bogus", "hostname"}, kAlice);
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(contains(r.err, "personalnet-files: 'bogus' is not volatile or none")) << r.err;
    EXPECT_EQ(r.out, "");
    r = cluster_->run({"srun", "--chdir=/", "--personalnet=../etc", "hostname"}, kAlice);
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(contains(r.err, "personalnet: '../etc' is not a network name")) << r.err;
    EXPECT_EQ(r.out, "");
    // The administrator's typo: no job runs, whether it asked or not.
    use_plugin("partition=pntest");
    r = cluster_->run({"srun", "--chdir=/", "hostname"}, kAlice);
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(contains(r.err, "unknown argument 'partition=pntest'")) << r.err;
    EXPECT_EQ(r.out, "");
}

// srun -N3 --personalnet: each node's task runs in the job's space there (a network
// namespace of its own, the node's address, the job's network), as the job's user; the
// tasks on node1 and node3 exchange data over the job's network by node name; /tmp is the
// job's own and gone afterwards; nothing is left on any node.
TEST_F(SlurmPluginTest, AJobRunsInASpaceOnEveryNodeJoinedByItsNetwork) {
    use_plugin();
    std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3", "--personalnet"};
    for (const auto& a : where_task_runs()) argv.push_back(a);
    auto r = cluster_->run(argv, kAlice, 90000);
    ASSERT_EQ(r.rc, 0) << r.err;
    const unsigned job = last_job();
    const std::string peers = "node1=10.254.0.1 node2=10.254.0.2 node3=10.254.0.3";
    auto lines = sorted_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out << r.err;
    for (int n = 1; n <= 3; ++n) {
        auto host_ns = trim(cluster_->run_on_node(n, {"readlink", "/proc/self/ns/net"}).out);
        const std::string& line = lines[static_cast<size_t>(n - 1)];
        EXPECT_TRUE(line.rfind("node" + std::to_string(n) + " net:[", 0) == 0) << line;
        EXPECT_FALSE(contains(line, host_ns)) << "node " << n << "'s task runs in the node's namespace";
        EXPECT_TRUE(contains(line, " job-" + std::to_string(job) + " " + peers)) << line;
    }

    // Over the job's network: node3 serves, node1 asks by name; the task's /tmp is its own.
    const std::string probe = cluster_->tool("pnprobe");
    const std::string marker = "/tmp/pnslurm-node-marker-" + std::to_string(::getpid());
    write_marker(marker);
    const std::string script =
        "set -e\n"
        "test ! -e " +
        marker +
        " || { echo \"/tmp is the node's\"; exit 1; }\n"
        "echo task > /tmp/pnslurm-task-file\n"
        "addr=$(getent hosts node3 | cut -d' ' -f1)\n"
        "case $SLURMD_NODENAME in\n"
        "node3) timeout 20 " +
        probe +
        " serve tcp 0.0.0.0 7019 --reply from-node3 >/dev/null & sleep 6; kill $! 2>/dev/null || true ;;\n"
        "node1) for i in $(seq 1 100); do out=$(" +
        probe +
        " connect tcp $addr 7019 --timeout-ms 500 2>/dev/null) && break; sleep 0.1; done\n"
        "       echo \"node1 reached node3 at $addr: $out\" ;;\n"
        "esac\n";
    r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "--personalnet", "sh", "-c", script}, kAlice, 90000);
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "node1 reached node3 at 10.254.0.3: from-node3 peer=10.254.0.1:")) << r.out;
    (void)::unlink(marker.c_str());
    for (int n = 1; n <= 3; ++n) {
        EXPECT_FALSE(contains(spaces_after_jobs(n), "job-")) << "node " << n;
        EXPECT_NE(cluster_->run_on_node(n, {"test", "-e", "/tmp/pnslurm-task-file"}).rc, 0)
            << "node " << n << " kept the task's /tmp file";
    }
}

// Until the nodes are told otherwise, a space that cannot be made on one node fails the
// job there, with the reason in its output and in that slurmd's log; that node's task
// never runs outside a space.
TEST_F(SlurmPluginTest, ANodeThatCannotMakeTheSpaceFailsTheJobWithTheReason) {
    use_plugin("", 2);
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=1", "true"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    const unsigned next = last_job() + 1;
    // Node 2 has a space of that name already, made by someone else: the job refuses it.
    const std::string name = "job-" + std::to_string(next);
    auto made = cluster_->run_on_node(2, {bin("mkportspace"), "-q", "--name", name, "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    r = cluster_->run(
        {"srun", "--chdir=/", "--nodes=3", "--personalnet", "sh", "-c", "echo ran on $SLURMD_NODENAME"},
        kAlice, 90000);
    EXPECT_NE(r.rc, 0);
    EXPECT_FALSE(contains(r.out, "ran on node2")) << r.out;
    const std::string reason = "personalnet: job " + std::to_string(next) + " on node2: space " + name +
                               ": open space '" + name + "': owned by another user";
    EXPECT_TRUE(contains(r.err, reason)) << r.err;
    auto log = sys::read_file(cluster_->dir() + "/log/slurmd-node2.log");
    ASSERT_TRUE(log.ok());
    EXPECT_TRUE(contains(log.value(), reason));
    // The refused space is not the job's: neither the job's end nor a collection takes it.
    EXPECT_EQ(cluster_->run_on_node(2, {bin("pnet"), "gc"}).rc, 0);
    EXPECT_TRUE(contains(cluster_->run_on_node(2, {bin("pnet"), "list"}).out, name))
        << "root's " << name << " went";
    auto destroyed = cluster_->run_on_node(2, {bin("pnet"), "destroy", name});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
}

// The administrator's default for a partition: the same without the option; another
// partition's jobs get nothing.
TEST_F(SlurmPluginTest, APartitionDefaultGivesEveryJobASpace) {
    use_plugin("partitions=pntest files=none");
    std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3"};
    for (const auto& a : where_task_runs()) argv.push_back(a);
    auto r = cluster_->run(argv, kAlice, 90000);
    ASSERT_EQ(r.rc, 0) << r.err;
    for (const auto& line : sorted_lines(r.out))
        EXPECT_TRUE(contains(line, " job-" + std::to_string(last_job()) + " ")) << line;
    use_plugin("partitions=other");
    r = cluster_->run(argv, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    for (const auto& line : sorted_lines(r.out)) EXPECT_TRUE(contains(line, " none none")) << line;
}

// While a job runs: its steps share each node's space and reach its tasks over its
// network; no other job, of another user or the same one, with or without a network of
// its own, reaches them. scancel then leaves nothing on any node: no space, rule, nft
// table, mount, charon or key.
TEST_F(SlurmPluginTest, OnlyTheJobReachesItsTasksAndScancelLeavesNothing) {
    use_plugin("", 10);
    const std::string probe = cluster_->tool("pnprobe");
    const std::string daemons_before = SlurmCluster::running_daemons();
    Proc job = cluster_->spawn({"srun", "--chdir=/", "--nodes=3", "--personalnet", "sh", "-c",
                                "if [ $SLURMD_NODENAME = node3 ]; then exec " + probe +
                                    " serve tcp 0.0.0.0 7019 --reply job-a; else exec sleep 600; fi"},
                               kAlice);
    unsigned a = 0;
    for (int i = 0; i < 300 && a == 0; ++i) {
        auto q = cluster_->run({"squeue", "--noheader", "--states=running", "--format=%i"});
        a = unsigned(std::atoi(q.out.c_str()));
        if (a == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_NE(a, 0u) << "job a does not run";
    // Until job a's first step holds its space on node1.
    std::string holders;
    for (int i = 0; i < 300 && holders.empty(); ++i) {
        holders =
            cluster_
                ->run_on_node(1, {"sh", "-c", "ls " + cluster_->node(1).rundir() + "/held/*/ 2>/dev/null"})
                .out;
        if (holders.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(holders.empty()) << "job a holds no space on node1";
    const std::string jobid = "--jobid=" + std::to_string(a);
    // Another step of job a on node1: the same space as the next one, and it reaches the
    // server on node3 over the job's network (retrying while the server starts).
    const std::vector<std::string> step = {"srun", jobid,   "--overlap", "--chdir=/", "--nodes=1",
                                           "-w",   "node1", "sh",        "-c"};
    auto with = [](std::vector<std::string> v, const std::string& script) {
        v.push_back(script);
        return v;
    };
    const std::string ask =
        "for i in $(seq 1 100); do " + probe +
        " connect tcp 10.254.0.3 7019 --timeout-ms 500 2>/dev/null && exit 0; sleep 0.1; done; "
        "exit 1";
    auto r = cluster_->run(with(step, ask), kAlice, 60000);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "job-a peer=10.254.0.1:")) << r.out;
    auto ns1 = cluster_->run(with(step, "readlink /proc/self/ns/net; echo $PERSONALNET_SPACE"), kAlice);
    auto ns2 = cluster_->run(with(step, "readlink /proc/self/ns/net; echo $PERSONALNET_SPACE"), kAlice);
    ASSERT_EQ(ns1.rc, 0) << ns1.err;
    EXPECT_EQ(ns1.out, ns2.out);
    EXPECT_TRUE(contains(ns1.out, "\njob-" + std::to_string(a) + "\n")) << ns1.out;

    // Other jobs on node1, at job a's address on node3 and at node3's own address.
    const std::string probe_a = probe + " connect tcp 10.254.0.3 7019 --timeout-ms 1500; " + probe +
                                " connect tcp " + SlurmCluster::node_address(3) +
                                " 7019 --timeout-ms 1500; true";
    for (auto [user, option] : {std::pair{kBob, "--personalnet"}, std::pair{kAlice, "--personalnet"},
                                std::pair{kAlice, "--personalnet-files=none"}}) {
        std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3", "-w", "node[1-3]"};
        if (std::string(option) == "--personalnet") argv.push_back(option);
        argv.insert(argv.end(), {"sh", "-c", "[ $SLURMD_NODENAME = node1 ] || exit 0; " + probe_a});
        auto other = cluster_->run(argv, user, 60000);
        EXPECT_EQ(other.rc, 0) << user << " " << option << ": " << other.err;
        EXPECT_FALSE(contains(other.out, "job-a")) << user << " " << option << " reached job a:\n"
                                                   << other.out;
    }

    // scancel: every node lets go, and nothing of the job is left.
    auto cancelled = cluster_->run({"scancel", std::to_string(a)});
    EXPECT_EQ(cancelled.rc, 0) << cancelled.err;
    EXPECT_NE(job.wait(), 0);
    const std::string key = personalnet::slurm::job_key(read_secret(), a);
    for (int n = 1; n <= 3; ++n) {
        EXPECT_FALSE(contains(spaces_after_jobs(n), "job-")) << "node " << n;
        const std::string rundir = cluster_->node(n).rundir();
        std::string look = "grep -c 'job-' /proc/self/mountinfo; grep -rl ";
        look += key;
        look += ' ';
        look += rundir;
        look += ' ';
        look += rundir.substr(0, rundir.rfind('/'));
        look += "/state 2>/dev/null; true";
        auto left = cluster_->run_on_node(n, {"sh", "-c", look});
        EXPECT_EQ(left.out, "0\n") << "node " << n << " (mounts, key files):\n" << left.out;
    }
    // A destroyed space's daemons are told to stop, and gone shortly after.
    std::string now = SlurmCluster::running_daemons();
    for (int i = 0; i < 100 && now != daemons_before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = SlurmCluster::running_daemons();
    }
    EXPECT_EQ(now, daemons_before) << "charon or its keeper left running";
}

// A batch job: the script runs on the first node outside the space (its srun must be
// reachable at the node's address), and every step it starts runs in the job's spaces.
TEST_F(SlurmPluginTest, ABatchJobsStepsRunInItsSpaces) {
    use_plugin();
    const std::string out = cluster_->dir() + "/jobs";
    ASSERT_TRUE(sys::make_dirs(out, 0755).ok());
    ASSERT_EQ(::chmod(out.c_str(), 01777), 0);
    const std::string script =
        "echo script ${PERSONALNET_SPACE:-none}; srun --nodes=3 sh -c 'echo $SLURMD_NODENAME "
        "$PERSONALNET_SPACE $(getent hosts node2 | cut -d\" \" -f1)'";
    auto r = cluster_->run({"sbatch", "--wait", "--chdir=/", "--nodes=3", "--personalnet",
                            "--output=" + out + "/%j.out", "--wrap", script},
                           kAlice, 120000);
    const unsigned job = last_job();
    auto text = sys::read_file(out + "/" + std::to_string(job) + ".out");
    ASSERT_EQ(r.rc, 0) << r.out << r.err << (text.ok() ? text.value() : "(no output)");
    ASSERT_TRUE(text.ok()) << r.out;
    const std::string space = "job-" + std::to_string(job);
    EXPECT_EQ(sorted_lines(text.value()),
              (std::vector<std::string>{"node1 " + space + " 10.254.0.2", "node2 " + space + " 10.254.0.2",
                                        "node3 " + space + " 10.254.0.2", "script none"}))
        << text.value();
}

// A node's slurmstepd killed by SIGKILL cannot let go of the space: `pnet gc` there
// destroys it (as would the next job's step on that node), and the other nodes are not
// disturbed.
TEST_F(SlurmPluginTest, AKilledSlurmstepdsSpaceIsCollected) {
    use_plugin("", 5);
    Proc job = cluster_->spawn({"srun", "--chdir=/", "--nodes=3", "--personalnet", "sleep", "600"}, kAlice);
    // Until node2's step holds the space (made, and the hold recorded).
    const std::string held = cluster_->node(2).rundir() + "/held";
    std::string holders;
    for (int i = 0; i < 300 && holders.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        holders = cluster_->run_on_node(2, {"sh", "-c", "ls " + held + "/*/ 2>/dev/null"}).out;
    }
    ASSERT_FALSE(holders.empty()) << "node2's step holds no space";
    const unsigned a = last_job();
    // node2's slurmstepd of step a.0: its UTS namespace is node2's.
    const std::string uts = trim(cluster_->run_on_node(2, {"readlink", "/proc/self/ns/uts"}).out);
    pid_t stepd = 0;
    for (int i = 0; i < 100 && stepd == 0; ++i) {
        auto procs = sys::list_dir("/proc");
        ASSERT_TRUE(procs.ok());
        for (const auto& p : procs.value()) {
            auto cmd = sys::read_file("/proc/" + p + "/cmdline");
            char link[64] = {};
            if (!cmd.ok() || ::readlink(("/proc/" + p + "/ns/uts").c_str(), link, sizeof link - 1) <= 0)
                continue;
            // The step's slurmstepd, not one of its children (same command line until they
            // exec): the one with the smallest pid.
            const pid_t pid = std::atoi(p.c_str());
            if (link == uts && contains(cmd.value(), "slurmstepd: [" + std::to_string(a) + ".0]") &&
                (stepd == 0 || pid < stepd))
                stepd = pid;
        }
        if (stepd == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_NE(stepd, 0) << "node2's slurmstepd of job " << a;
    ASSERT_EQ(::kill(stepd, SIGKILL), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(contains(cluster_->run_on_node(2, {bin("pnet"), "list"}).out, "job-"))
        << "the space is still there" << [&] {
               auto log = sys::read_file(cluster_->dir() + "/log/slurmd-node2.log");
               return log.ok() ? log.value() : "";
           }();
    auto gc = cluster_->run_on_node(2, {bin("pnet"), "gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_FALSE(contains(cluster_->run_on_node(2, {bin("pnet"), "list"}).out, "job-"));
    for (int n : {1, 3})
        EXPECT_TRUE(contains(cluster_->run_on_node(n, {bin("pnet"), "list"}).out, "job-"))
            << "node " << n << "'s space went with node2's";
    EXPECT_EQ(cluster_->run({"scancel", std::to_string(a)}).rc, 0);
    (void)job.wait();
}

// An interactive job (srun --pty, here under script(1) for a terminal): its shell runs in
// the job's space, on the step's own terminal.
TEST_F(SlurmPluginTest, AnInteractiveJobRunsInItsSpace) {
    use_plugin();
    auto r =
        cluster_->run({"script", "-qec",
                       "srun --chdir=/ --nodes=1 --personalnet --pty sh -c 'echo space=$PERSONALNET_SPACE; "
                       "test -t 0 && echo on-a-terminal'",
                       "/dev/null"},
                      kAlice, 60000);
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "space=job-" + std::to_string(last_job()))) << r.out;
    EXPECT_TRUE(contains(r.out, "on-a-terminal")) << r.out;
}

// The site secret is root's alone: one others may read fails the job on every node, naming it.
TEST_F(SlurmPluginTest, ASecretOthersMayReadFailsTheJob) {
    use_plugin();
    ASSERT_EQ(::chmod(secret_.c_str(), 0644), 0);
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=2", "--personalnet", "echo", "ran"}, kAlice, 60000);
    EXPECT_NE(r.rc, 0);
    EXPECT_FALSE(contains(r.out, "ran")) << r.out;
    EXPECT_TRUE(contains(r.err, "site secret '" + secret_ + "' has mode 0644: others than root may read it"))
        << r.err;
}

}  // namespace
}  // namespace pntest
