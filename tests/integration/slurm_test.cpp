// A real Slurm cluster in the test suite (issue 19): munged, slurmctld and three slurmd
// "nodes" as simulated hosts (tests/integration/slurm_cluster.hpp), started for each test
// and stopped at its end, when the machine must be as it was before: no Slurm or munge
// process, nothing in the cluster's namespaces, no temporary directory, mount or file in
// the places the Debian packages' own services would use.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "tests/integration/slurm_cluster.hpp"
#include "tests/integration/unprivileged.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;

void run_tool(const std::vector<const char*>& argv) {
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> args;
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
    for (auto line : sorted_lines(r.out)) addresses.push_back(line.substr(0, line.find(' ')));
    EXPECT_EQ(addresses,
              (std::vector<std::string>{SlurmCluster::node_address(1), SlurmCluster::node_address(2),
                                        SlurmCluster::node_address(3)}));
    // Another user's job runs as that user.
    r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "id", "-un"}, kBob);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), (std::vector<std::string>{kBob, kBob, kBob}));
}

// The SPANK plugin's skeleton (slurm/spank_personalnet.cpp): it checks the options and
// the administrator's arguments, and fails every job that is to get a personal network,
// since it cannot make one yet. A job that does not ask runs as before.
class SlurmPluginTest : public SlurmTest {
protected:
    void SetUp() override {
        SlurmTest::SetUp();
        if (HasFatalFailure()) return;
        struct stat st {};
        ASSERT_EQ(::stat(plugin().c_str(), &st), 0) << plugin() << " is missing: `make all` builds it where "
                                                    << "Slurm's spank.h is (libslurm-dev)";
    }
    static std::string plugin() { return build_dir() + "/slurm/spank_personalnet.so"; }
    void use_plugin(const std::string& args = "") {
        cluster_->write_plugstack("required " + plugin() + (args.empty() ? "" : " " + args) + "\n");
    }
    static const std::vector<std::string>& nodes() {
        static const std::vector<std::string> v{"node1", "node2", "node3"};
        return v;
    }
};

TEST_F(SlurmPluginTest, AJobThatDoesNotAskRunsAsBefore) {
    use_plugin("files=none");
    auto help = cluster_->run({"srun", "--help"}, kAlice);
    EXPECT_TRUE(contains(help.out, "--personalnet=NAME")) << help.out;
    EXPECT_TRUE(contains(help.out, "--personalnet-files=volatile|none")) << help.out;
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), nodes());
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

// Until spaces are made, a job that is to get one fails on its nodes with the reason,
// and none of its tasks runs.
TEST_F(SlurmPluginTest, AJobThatAsksNeverRunsOutsideASpace) {
    use_plugin();
    for (auto option : {"--personalnet", "--personalnet=m1"}) {
        auto r = cluster_->run({"srun", "--chdir=/", "--nodes=3", option, "hostname"}, kAlice);
        EXPECT_NE(r.rc, 0) << option;
        EXPECT_EQ(r.out, "") << option;
        EXPECT_TRUE(contains(r.err, "personal networks are not implemented yet")) << option << ": " << r.err;
    }
    // And in every node's slurmd log.
    for (int n = 1; n <= SlurmCluster::kNodes; ++n) {
        auto log = sys::read_file(cluster_->dir() + "/log/slurmd-" + SlurmCluster::node_name(n) + ".log");
        ASSERT_TRUE(log.ok());
        EXPECT_TRUE(contains(log.value(), "personal networks are not implemented yet")) << "node " << n;
    }
    // The administrator's default for a partition: the same without the option.
    use_plugin("partitions=pntest files=volatile");
    auto r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname"}, kAlice);
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, "personal networks are not implemented yet")) << r.err;
    // Another partition's jobs do not get one.
    use_plugin("partitions=other");
    r = cluster_->run({"srun", "--chdir=/", "--nodes=3", "hostname"}, kAlice);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(sorted_lines(r.out), nodes());
}

}  // namespace
}  // namespace pntest
