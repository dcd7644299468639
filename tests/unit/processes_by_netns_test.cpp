// ProcessesByNetns (lib/space/netns.hpp), which gc asks of every space instead of walking
// /proc once per space: it answers as netns_has_processes does, for a namespace with a
// process, one without, and one whose only process is ignored or has ended since.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "lib/space/netns.hpp"

namespace pn_unit {
namespace {

namespace sp = personalnet::space;

// A child in a network namespace of its own, which it holds until killed.
struct NetnsChild {
    pid_t pid = -1;
    uint64_t netns = 0;
    NetnsChild() {
        int ready[2];
        if (::pipe(ready) != 0) return;
        pid = ::fork();
        if (pid == 0) {
            ::close(ready[0]);
            if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
            (void)!::write(ready[1], "x", 1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char c = 0;
        if (::read(ready[0], &c, 1) == 1) {
            struct stat st {};
            if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0) netns = st.st_ino;
        }
        ::close(ready[0]);
    }
    void end() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~NetnsChild() { end(); }
};

TEST(ProcessesByNetns, AnswersAsAWalkPerNamespaceDoes) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    NetnsChild child;
    ASSERT_NE(child.netns, 0u);
    auto procs = sp::ProcessesByNetns::scan();
    EXPECT_TRUE(procs.has_processes(child.netns));
    EXPECT_TRUE(sp::netns_has_processes(child.netns));
    EXPECT_FALSE(procs.has_processes(child.netns, {child.pid})) << "its only process is ignored";
    EXPECT_FALSE(sp::netns_has_processes(child.netns, {child.pid}));
    EXPECT_FALSE(procs.has_processes(1)) << "no namespace has inode 1";
    // The caller does not count: its own namespace has others here (the host's), or none.
    struct stat self {};
    ASSERT_EQ(::stat("/proc/self/ns/net", &self), 0);
    EXPECT_EQ(procs.has_processes(self.st_ino), sp::netns_has_processes(self.st_ino));
    // Ended since the walk: no longer counted.
    child.end();
    EXPECT_FALSE(procs.has_processes(child.netns));
}

}  // namespace
}  // namespace pn_unit
