// Common fixture: a fresh topology per test, and a leak check at the end that
// compares host A (links, addresses, rules, routes, nft, sysctls, mounts, registry)
// with its state before the test.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/sys.hpp"
#include "personalnet/space_enums.hpp"
#include "tests/integration/harness.hpp"

namespace pntest {

class SpaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        topo_ = std::make_unique<Topology>();
        baseline_ = A().snapshot();
    }
    void TearDown() override {
        if (!topo_) return;  // skipped before SetUp made anything
        auto gc = A().run({bin("pnet"), "gc"});
        EXPECT_EQ(gc.rc, 0) << gc.err;
        // The kernel frees a detached BPF program after an RCU grace period: give it a moment.
        std::string now = A().snapshot();
        for (int i = 0; i < 20 && now != baseline_; ++i) {
            usleep(100 * 1000);
            now = A().snapshot();
        }
        EXPECT_EQ(now, baseline_) << "host state leaked";
        // A test that failed half-way may have left named spaces: destroy them now, so that
        // their daemons (charon, fuse-overlayfs) do not outlive the test and disturb the next.
        auto names = A().run({bin("pnet"), "list"});
        std::istringstream lines(names.out);
        std::string line;
        std::getline(lines, line);  // the header
        while (std::getline(lines, line)) {
            std::string name = line.substr(0, line.find(' '));
            if (!name.empty() && name.rfind("anon-", 0) != 0) (void)A().run({bin("pnet"), "destroy", name});
        }
        topo_.reset();
    }
    Host& A() { return topo_->a; }
    Host& B() { return topo_->b; }

    // mkportspace -q ARGS... in host A (with --dispatch=dispatch_ when set).
    RunResult mk(std::vector<std::string> args, int timeout_ms = 30000) {
        args.insert(args.begin(), {bin("mkportspace"), "-q"});
        if (dispatch_)
            args.insert(args.begin() + 2,
                        std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_));
        return A().run(args, timeout_ms);
    }
    // Host A's state once every release handed to a reaper is done (its label lock file
    // gone, within 5 s): `pnet destroy` leaves a space's uplink to the kernel's teardown
    // of its namespace, and the rest to a reaper. Nothing is collected meanwhile, so what
    // destroy and its reaper left is seen as they left it.
    std::string settled_snapshot() {
        wait_for_reapers();
        return A().snapshot();
    }
    void wait_for_reapers() {
        const std::string locks = A().rundir() + "/locks";
        for (int i = 0; i < 100; ++i) {
            auto left = personalnet::sys::list_dir(locks);
            if (!left.ok() || left->empty()) break;
            usleep(50 * 1000);
        }
    }
    RunResult pnet(std::vector<std::string> args) {
        args.insert(args.begin(), bin("pnet"));
        return A().run(args);
    }
    static std::vector<std::string> probe(std::vector<std::string> args) {
        args.insert(args.begin(), bin("pnprobe"));
        return args;
    }

    std::unique_ptr<Topology> topo_;
    std::string baseline_;
    std::optional<personalnet::Dispatch> dispatch_;  // nft or bpf in tests run with both dispatchers
};

// Suites run with both SPI dispatchers (issue 7), named after them:
//   INSTANTIATE_TEST_SUITE_P(Dispatchers, X, both_dispatchers(), dispatcher_name);
inline auto both_dispatchers() {
    return ::testing::Values(personalnet::Dispatch::nft, personalnet::Dispatch::bpf);
}
inline std::string dispatcher_name(const ::testing::TestParamInfo<personalnet::Dispatch>& info) {
    return personalnet::dispatch_word(info.param);
}

// A SpaceTest run with both SPI dispatchers; the eBPF variant skips where BPF dispatch
// cannot run. A subclass's SetUp calls this one first and returns if IsSkipped().
class DispatcherTest : public SpaceTest, public ::testing::WithParamInterface<personalnet::Dispatch> {
protected:
    void SetUp() override {
        dispatch_ = GetParam();
        if (dispatch_ == personalnet::Dispatch::bpf && !personalnet::bpf::unsupported_reason().empty())
            GTEST_SKIP() << "no BPF dispatch here: " << personalnet::bpf::unsupported_reason();
        SpaceTest::SetUp();
    }
};

// A process named comm (as /proc/PID/comm shows it) in the network namespace of inode
// netns (as /proc/PID/ns/net shows it): its pid, or 0 if there is none.
inline pid_t process_in_netns(const std::string& comm, unsigned long long netns) {
    auto procs = personalnet::sys::list_dir("/proc");
    if (!procs.ok()) return 0;
    for (const auto& p : procs.value()) {
        if (p[0] < '1' || p[0] > '9') continue;
        auto name = personalnet::sys::read_file("/proc/" + p + "/comm");
        struct stat st {};
        if (name.ok() && name.value() == comm + "\n" &&
            ::stat(("/proc/" + p + "/ns/net").c_str(), &st) == 0 && st.st_ino == netns)
            return static_cast<pid_t>(std::stoi(p));
    }
    return 0;
}

// The pid (as the test's /proc numbers it) of a process named comm whose pid in its own
// PID namespace is inner (a space's `echo $$`), or 0.
inline pid_t host_pid_of(const std::string& comm, pid_t inner) {
    auto procs = personalnet::sys::list_dir("/proc");
    if (!procs.ok()) return 0;
    const std::string tail = "\t" + std::to_string(inner) + "\n";
    for (const auto& p : procs.value()) {
        if (p[0] < '1' || p[0] > '9') continue;
        auto name = personalnet::sys::read_file("/proc/" + p + "/comm");
        auto status = personalnet::sys::read_file("/proc/" + p + "/status");
        if (!name.ok() || name.value() != comm + "\n" || !status.ok()) continue;
        auto at = status->find("NSpid:");
        auto end = at == std::string::npos ? at : status->find('\n', at);
        if (end != std::string::npos && status->substr(0, end + 1).rfind(tail) + tail.size() == end + 1)
            return static_cast<pid_t>(std::stoi(p));
    }
    return 0;
}

// Joins a command line for `sh -c` in tests.
inline std::string sh_join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
}

}  // namespace pntest
