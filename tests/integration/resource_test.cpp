// Resources (issue 22): a cgroup per space, nested like the spaces, that every process
// of the space is created in, removed with the space; limits this host cannot hold
// refused in one line with nothing left; bad values exit 2; usage read back. The limits
// themselves (an OOM kill inside, a fork bomb stopped, a CPU quota held, nesting) need
// cgroup v2's controllers: they run in `make test-kernel`'s VM and skip here.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "lib/space/cgroup.hpp"
#include "personalnet/space.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

namespace pn = personalnet;

class ResourceTest : public SpaceTest {
protected:
    void SetUp() override {
        if (pn::space::cgroup_host(pn::Context()).mount.empty()) GTEST_SKIP() << "no cgroup2 mounted here";
        SpaceTest::SetUp();
    }
    // The cgroup v2 path (as /proc/PID/cgroup shows it) of a named space's processes.
    std::string procs_path(const std::string& label_path) {
        const std::string mount = pn::space::cgroup_host(pn::Context()).mount;
        return A().cgroupdir().substr(mount.size()) + "/" + label_path + "/procs";
    }
    // The spaces' cgroup directory names under the host's subtree, one level (not root's
    // own leaf for its daemons, which stays with the subtree).
    std::vector<std::string> top_cgroups() {
        auto l = pn::sys::list_dir(A().cgroupdir());
        std::vector<std::string> dirs;
        if (!l.ok()) return dirs;
        for (const auto& n : l.value()) {
            struct stat st {};
            if (n != personalnet::space::kHelpersLeaf &&
                ::lstat((A().cgroupdir() + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
                dirs.push_back(n);
        }
        return dirs;
    }
    // The same, once the releases under way (reapers, slow under the VM's emulation) have
    // had up to 20 s to remove theirs.
    std::vector<std::string> top_cgroups_settled() {
        wait_for_reapers();
        auto left = top_cgroups();
        for (int i = 0; i < 200 && !left.empty(); ++i) {
            usleep(100 * 1000);
            left = top_cgroups();
        }
        return left;
    }
    // The names (comm) of the processes in the cgroup at dir itself.
    static std::vector<std::string> comms_in(const std::string& dir) {
        std::vector<std::string> out;
        auto procs = pn::sys::read_file(dir + "/cgroup.procs");
        if (!procs.ok()) return out;
        std::istringstream in(procs.value());
        for (std::string pid; std::getline(in, pid);) {
            auto comm = pn::sys::read_file("/proc/" + pid + "/comm");
            if (comm.ok() && !comm->empty()) out.push_back(comm->substr(0, comm->size() - 1));
        }
        return out;
    }
    pn::Context ctx() {
        pn::Context c;
        c.rundir = A().rundir();
        c.statedir = A().rundir().substr(0, A().rundir().rfind('/')) + "/state";
        c.cgroupdir = A().cgroupdir();
        c.libexecdir = build_dir() + "/libexec";
        return c;
    }
    std::string label_of(const std::string& name) {
        auto info = pn::show_space(name, ctx());
        EXPECT_TRUE(info.ok()) << info.error().message();
        return info.ok() ? pn::registry::label_hex(info->label) : "";
    }
    static bool has_controllers(const std::vector<std::string>& want) {
        auto have = pn::space::cgroup_host(pn::Context()).controllers;
        for (const auto& w : want)
            if (std::find(have.begin(), have.end(), w) == have.end()) return false;
        return true;
    }
    // The v2 line of /proc/PID/cgroup ("0::PATH"): PATH.
    static std::string cgroup_of(const std::string& proc_cgroup_text) {
        std::istringstream in(proc_cgroup_text);
        for (std::string line; std::getline(in, line);)
            if (line.rfind("0::", 0) == 0) return line.substr(3);
        return "";
    }
    static std::string cgroup_of_pid(pid_t pid) {
        auto text = pn::sys::read_file("/proc/" + std::to_string(pid) + "/cgroup");
        return text.ok() ? cgroup_of(text.value()) : "";
    }
};

// A named space has its cgroup from creation on (its init in the processes' leaf), and
// destroy removes it: nothing of it is left under the subtree.
TEST_F(ResourceTest, NamedSpaceCgroupIsMadeAndRemoved) {
    ASSERT_EQ(mk({"--name", "rc", "--", "true"}).rc, 0);
    const std::string label = label_of("rc");
    EXPECT_EQ(top_cgroups(), std::vector<std::string>{label});
    auto procs = pn::sys::read_file(A().cgroupdir() + "/" + label + "/procs/cgroup.procs");
    ASSERT_TRUE(procs.ok()) << procs.error().message();
    ASSERT_FALSE(procs->empty()) << "its init is in it";
    pid_t init = std::atoi(procs->c_str());
    auto comm = pn::sys::read_file("/proc/" + std::to_string(init) + "/comm");
    EXPECT_EQ(comm.ok() ? comm.value() : "", "pninit\n");
    // Root's, and not writable by anyone else (the owner cannot lift a limit).
    struct stat st {};
    ASSERT_EQ(::stat((A().cgroupdir() + "/" + label).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 022, 0u);
    EXPECT_EQ(pnet({"destroy", "rc"}).rc, 0);
    EXPECT_EQ(top_cgroups_settled(), std::vector<std::string>{});
}

// The space's command, `pnet exec` commands and its init are all in its cgroup, and a
// child space's cgroup is inside its parent's.
TEST_F(ResourceTest, EveryProcessIsInTheSpacesCgroup) {
    ASSERT_EQ(mk({"--name", "rp", "--", "true"}).rc, 0);
    const std::string label = label_of("rp");
    const std::string want = procs_path(label);
    auto cmd = mk({"--name", "rp", "--", "cat", "/proc/self/cgroup"});
    EXPECT_EQ(cgroup_of(cmd.out), want) << cmd.out << cmd.err;
    auto exec = pnet({"exec", "rp", "--", "cat", "/proc/self/cgroup"});
    EXPECT_EQ(cgroup_of(exec.out), want) << exec.out << exec.err;
    struct stat st {};
    ASSERT_EQ(::stat((A().rundir() + "/ns/rp").c_str(), &st), 0);
    pid_t init = process_in_netns("pninit", st.st_ino);
    ASSERT_GT(init, 0);
    EXPECT_EQ(cgroup_of_pid(init), want);
    // A child space, made inside: its cgroup in its parent's directory.
    auto child = pnet({"exec", "rp", "--", bin("mkportspace"), "-q", "--file-space=none", "--", "cat",
                       "/proc/self/cgroup"});
    EXPECT_EQ(child.rc, 0) << child.err;
    const std::string got = cgroup_of(child.out);
    const std::string prefix =
        A().cgroupdir().substr(pn::space::cgroup_host(pn::Context()).mount.size()) + "/" + label + "/";
    EXPECT_EQ(got.rfind(prefix, 0), 0u) << got;
    EXPECT_NE(got, want);
    EXPECT_EQ(got.size() - got.rfind("/procs"), 6u) << got;
    // The child's reaper was started inside rp's PID namespace: destroying rp while it
    // still releases the child would end it midway, leaving both cgroups to gc.
    wait_for_reapers();
    EXPECT_EQ(pnet({"destroy", "rp"}).rc, 0);
    EXPECT_EQ(top_cgroups_settled(), std::vector<std::string>{});
}

// Root's daemons of a child space (the parent namespace's watcher, the child's reaper)
// are outside the parent's cgroup, though their creator was in it: the owner's limits do
// not bear on them, and the parent's removal (cgroup.kill of what is left) does not end
// the child's reaper midway, which would leave the child's cgroup, and so the parent's.
TEST_F(ResourceTest, RootsDaemonsAreOutsideTheSpacesCgroup) {
    ASSERT_EQ(mk({"--name", "rd", "--", "true"}).rc, 0);
    const std::string label = label_of("rd");
    Proc child = A().spawn({bin("pnet"), "exec", "rd", "--", bin("mkportspace"), "-q", "--file-space=none",
                            "--", "sh", "-c", "echo started; exec sleep 300"});
    ASSERT_EQ(child.read_line(15000), "started");
    const auto in_space = comms_in(A().cgroupdir() + "/" + label + "/procs");
    EXPECT_EQ(std::count(in_space.begin(), in_space.end(), "pnwatch"), 0) << testing::PrintToString(in_space);
    EXPECT_EQ(std::count(in_space.begin(), in_space.end(), "pnreaper"), 0)
        << testing::PrintToString(in_space);
    const auto helpers = comms_in(A().cgroupdir() + "/helpers");
    EXPECT_EQ(std::count(helpers.begin(), helpers.end(), "pnwatch"), 2)
        << "the watchers of the host's namespace and of rd's: " << testing::PrintToString(helpers);
    for (const auto& c : helpers) EXPECT_TRUE(c == "pnwatch" || c == "pnreaper") << c;
    struct stat st {};
    EXPECT_EQ(::stat((A().cgroupdir() + "/helpers").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 022, 0u);
    // The parent goes while its child's command still runs: the child's processes end
    // with it (its supervisor, mkportspace, was one of the parent's), and gc releases the
    // child and with it every cgroup of both.
    EXPECT_EQ(pnet({"destroy", "rd"}).rc, 0);
    EXPECT_NE(child.wait(), 0);
    EXPECT_EQ(pnet({"gc"}).rc, 0);
    EXPECT_EQ(top_cgroups_settled(), std::vector<std::string>{});
}

// An unnamed space's cgroup goes with its last process, through its reaper.
TEST_F(ResourceTest, UnnamedSpaceCgroupGoesWithItsLastProcess) {
    auto r = mk({"--", "cat", "/proc/self/cgroup"});
    EXPECT_EQ(r.rc, 0) << r.err;
    const std::string got = cgroup_of(r.out);
    EXPECT_EQ(got.rfind(A().cgroupdir().substr(pn::space::cgroup_host(pn::Context()).mount.size()) + "/", 0),
              0u)
        << got;
    EXPECT_EQ(got.size() - got.rfind("/procs"), 6u) << got;
    EXPECT_EQ(pnet({"gc"}).rc, 0);
    EXPECT_EQ(top_cgroups_settled(), std::vector<std::string>{});
}

// show_space reads the CPU time of all the space's processes and counts them.
TEST_F(ResourceTest, UsageCountsCpuTimeAndProcesses) {
    ASSERT_EQ(mk({"--name", "ru", "--", "true"}).rc, 0);
    auto before = pn::show_space("ru", ctx());
    ASSERT_TRUE(before.ok()) << before.error().message();
    EXPECT_GE(before->usage.cpu_usec, 0);
    EXPECT_EQ(before->usage.processes, 1) << "its init";
    // A busy command: a quarter of a second of CPU at least.
    auto busy = pnet({"exec", "ru", "--", "sh", "-c",
                      "end=$(($(date +%s%N) + 300000000)); while [ $(date +%s%N) -lt $end ]; do :; done"});
    EXPECT_EQ(busy.rc, 0) << busy.err;
    Proc sleeper = A().spawn({bin("pnet"), "exec", "ru", "--", "sh", "-c", "echo started; exec sleep 300"});
    EXPECT_EQ(sleeper.read_line(), "started");
    auto after = pn::show_space("ru", ctx());
    ASSERT_TRUE(after.ok()) << after.error().message();
    EXPECT_GE(after->usage.cpu_usec - before->usage.cpu_usec, 100000) << "CPU time grows";
    EXPECT_EQ(after->usage.processes, 2) << "its init and the sleep";
    if (!has_controllers({"memory"})) {
        EXPECT_EQ(after->usage.memory_bytes, -1) << "no memory controller here";
    } else {  // enabled for every space where the host has it, limit or not
        EXPECT_GT(after->usage.memory_bytes, 0);
        EXPECT_GE(after->usage.memory_peak, after->usage.memory_bytes) << "read after it: never below";
    }
    auto json = pnet({"destroy", "ru"});
    EXPECT_EQ(json.rc, 0) << json.err;
    EXPECT_EQ(sleeper.wait(), 128 + SIGKILL);
}

// A limit this host cannot hold is refused in one line naming the option and what the
// host has, with nothing made (the fixture's leak check: records, links, cgroups).
TEST_F(ResourceTest, LimitsWithoutTheirControllerAreRefusedInOneLine) {
    for (const auto& [option, value, controller] :
         std::vector<std::tuple<std::string, std::string, std::string>>{{"--cpu", "0.5", "cpu"},
                                                                        {"--memory", "64M", "memory"},
                                                                        {"--pids", "20", "pids"},
                                                                        {"--io-weight", "50", "io"}}) {
        if (has_controllers({controller})) continue;
        auto r = mk({"--name", "rl", option, value, "--", "true"});
        EXPECT_EQ(r.rc, 1) << option << ": " << r.err;
        std::string refusal = "mkportspace: ";
        refusal.append(option).append(" needs cgroup v2's ").append(controller).append(" controller");
        EXPECT_EQ(r.err.rfind(refusal, 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_NE(pnet({"show", "rl"}).rc, 0) << "no space made";
        EXPECT_TRUE(top_cgroups().empty());
    }
}

TEST_F(ResourceTest, BadValuesExitTwoNamingTheValue) {
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--memory", "12Q"}, "mkportspace: --memory '12Q': "},
             {{"--cpu", "-1"}, "mkportspace: --cpu '-1': "},
             {{"--cpu", "0"}, "mkportspace: --cpu '0': "},
             {{"--pids", "0"}, "mkportspace: --pids '0': "},
             {{"--io-weight", "10001"}, "mkportspace: --io-weight '10001': "},
             {{"--pids", "99999999999999"}, "mkportspace: --pids '99999999999999': "},
         }) {
        auto a = args;
        a.insert(a.begin(), {"--name", "rb"});
        a.insert(a.end(), {"--", "true"});
        auto r = mk(a);
        EXPECT_EQ(r.rc, 2) << r.err;
        EXPECT_EQ(r.err.rfind(needle, 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_NE(pnet({"show", "rb"}).rc, 0);
}

// ---- The limits themselves: cgroup v2 with its controllers (make test-kernel's VM). ----

// A memory-limited space's hog is OOM-killed inside; the host's processes are untouched.
TEST_F(ResourceTest, MemoryHogIsKilledInsideOnly) {
    if (!has_controllers({"memory"})) GTEST_SKIP() << "no memory controller in cgroup v2 here";
    Proc outside = A().spawn({"sh", "-c", "echo started; exec sleep 300"});
    ASSERT_EQ(outside.read_line(), "started");
    ASSERT_EQ(mk({"--name", "rm", "--memory", "32M", "--", "true"}).rc, 0);
    // 256 MiB held by tail (a "line" without end), 8 times the limit.
    auto hog = pnet({"exec", "rm", "--", "sh", "-c", "head -c 256M /dev/zero | tail > /dev/null"});
    EXPECT_EQ(hog.rc, 128 + SIGKILL) << hog.out << hog.err;
    auto events = pn::sys::read_file(A().cgroupdir() + "/" + label_of("rm") + "/memory.events");
    ASSERT_TRUE(events.ok());
    EXPECT_TRUE(contains(events.value(), "oom_kill 1")) << events.value();
    EXPECT_EQ(::kill(outside.pid(), 0), 0) << "the host's process lives";
    EXPECT_EQ(pnet({"exec", "rm", "--", "true"}).rc, 0) << "the space itself lives on";
    EXPECT_EQ(pnet({"destroy", "rm"}).rc, 0);
}

// A fork bomb inside a --pids space is stopped at its limit; the host still forks.
TEST_F(ResourceTest, PidsLimitStopsAForkBombInside) {
    if (!has_controllers({"pids"})) GTEST_SKIP() << "no pids controller in cgroup v2 here";
    ASSERT_EQ(mk({"--name", "rf", "--pids", "20", "--", "true"}).rc, 0);
    const std::string dir = A().cgroupdir() + "/" + label_of("rf");
    Proc bomb = A().spawn({bin("pnet"), "exec", "rf", "--", "sh", "-c",
                           "echo started; for i in $(seq 100); do sleep 30 & done; wait"});
    EXPECT_EQ(bomb.read_line(), "started");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto current = pn::sys::read_file(dir + "/pids.current");
    ASSERT_TRUE(current.ok());
    EXPECT_LE(std::atoi(current->c_str()), 20);
    auto events = pn::sys::read_file(dir + "/pids.events");
    EXPECT_TRUE(events.ok() && !contains(events.value(), "max 0")) << "forks were refused";
    EXPECT_EQ(A().run({"true"}).rc, 0) << "the host still forks";
    EXPECT_EQ(pnet({"destroy", "rf"}).rc, 0);
    bomb.wait();
}

// --cpu 0.5 holds a busy loop to about half of one CPU (cpu.stat over wall time).
TEST_F(ResourceTest, CpuQuotaHoldsABusyLoop) {
    if (!has_controllers({"cpu"})) GTEST_SKIP() << "no cpu controller in cgroup v2 here";
    ASSERT_EQ(mk({"--name", "rq", "--cpu", "0.5", "--", "true"}).rc, 0);
    const std::string dir = A().cgroupdir() + "/" + label_of("rq");
    auto usage = [&] {
        auto stat = pn::sys::read_file(dir + "/cpu.stat");
        std::istringstream in(stat.ok() ? stat.value() : "");
        for (std::string k, v; in >> k >> v;)
            if (k == "usage_usec") return std::atoll(v.c_str());
        return -1LL;
    };
    Proc loop = A().spawn({bin("pnet"), "exec", "rq", "--", "sh", "-c", "echo started; while :; do :; done"});
    ASSERT_EQ(loop.read_line(), "started");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto t0 = std::chrono::steady_clock::now();
    const long long u0 = usage();
    std::this_thread::sleep_for(std::chrono::seconds(4));
    const long long u1 = usage();
    const double wall =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    const double share = static_cast<double>(u1 - u0) / wall;
    EXPECT_GE(share, 0.45);
    EXPECT_LE(share, 0.55);
    std::printf("measured: --cpu 0.5 held a busy loop to %.1f %% of one CPU\n", share * 100);
    EXPECT_EQ(pnet({"destroy", "rq"}).rc, 0);
    loop.wait();
}

// A child asking more than its parent gets at most the parent's: the kernel holds the
// child's cgroup inside the parent's.
TEST_F(ResourceTest, ChildLimitsNestInTheParents) {
    if (!has_controllers({"pids"})) GTEST_SKIP() << "no pids controller in cgroup v2 here";
    ASSERT_EQ(mk({"--name", "rn", "--pids", "20", "--", "true"}).rc, 0);
    const std::string dir = A().cgroupdir() + "/" + label_of("rn");
    Proc bomb =
        A().spawn({bin("pnet"), "exec", "rn", "--", bin("mkportspace"), "-q", "--file-space=none", "--pids",
                   "100", "--", "sh", "-c", "echo started; for i in $(seq 100); do sleep 30 & done; wait"});
    EXPECT_EQ(bomb.read_line(), "started");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto current = pn::sys::read_file(dir + "/pids.current");
    ASSERT_TRUE(current.ok());
    EXPECT_LE(std::atoi(current->c_str()), 20) << "the parent's limit holds its child's processes too";
    EXPECT_GE(std::atoi(current->c_str()), 15);
    EXPECT_EQ(pnet({"destroy", "rn"}).rc, 0);
    bomb.wait();
}

}  // namespace
}  // namespace pntest
