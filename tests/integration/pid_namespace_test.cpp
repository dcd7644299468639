// A PID namespace, /proc and hostname per space (issue 20, part 1), for root's spaces:
// what `ps` shows inside, what cannot reach another space's processes, what the host
// still sees, nesting, the unnamed space's exit status and lifetime, --share-pids and
// --hostname. The same for a user's spaces through the helper: tests/attacks.
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "lib/registry/registry.hpp"
#include "lib/space/pidns.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

class PidNamespaceTest : public SpaceTest {
protected:
    // A process `sleep 300` started in the named space, as the host numbers it.
    pid_t sleeper_in(const std::string& space, Proc& holder) {
        holder = A().spawn({bin("pnet"), "exec", space, "--", "sh", "-c", "echo started; exec sleep 300"});
        EXPECT_EQ(holder.read_line(), "started");
        struct stat st {};  // the space's network namespace, by its pin
        EXPECT_EQ(::stat((A().rundir() + "/ns/" + space).c_str(), &st), 0);
        for (int i = 0; i < 50; ++i) {
            if (pid_t p = process_in_netns("sleep", st.st_ino); p > 0) return p;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "no sleep in space " << space;
        return 0;
    }
    static std::string host_pidns() {
        struct stat st {};
        ::stat("/proc/self/ns/pid", &st);
        return std::to_string(st.st_ino);
    }
    static std::string hostname() {
        struct utsname u {};
        ::uname(&u);
        return u.nodename;
    }
};

// Two named spaces of root's: each one's ps shows its own processes only (pid 1 its
// init); the other's processes cannot be signalled, traced or reached through /proc
// (they have no number there); the host sees and signals both; pnet exec sees the space's.
TEST_F(PidNamespaceTest, TwoSpacesSeeOnlyTheirOwnProcesses) {
    ASSERT_EQ(mk({"--name", "pa", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "pb", "--", "true"}).rc, 0);
    Proc ha, hb;
    pid_t in_a = sleeper_in("pa", ha);
    pid_t in_b = sleeper_in("pb", hb);
    ASSERT_GT(in_a, 0);
    ASSERT_GT(in_b, 0);
    for (auto [self, other, other_pid] : {std::tuple{"pa", "pb", in_b}, std::tuple{"pb", "pa", in_a}}) {
        auto ps = pnet({"exec", self, "--", "ps", "-e", "-o", "pid=,comm="});
        EXPECT_EQ(ps.rc, 0) << ps.err;
        EXPECT_TRUE(contains(ps.out, "pninit")) << self << ": " << ps.out;
        EXPECT_TRUE(contains(ps.out, "sleep")) << self << " sees its own sleep: " << ps.out;
        // Its init, its own sleep and ps: nothing of the host's or the other space's.
        EXPECT_LE(std::count(ps.out.begin(), ps.out.end(), '\n'), 3) << self << ": " << ps.out;
        const std::string p = std::to_string(other_pid);
        auto kill = pnet({"exec", self, "--", "kill", "-0", p});
        EXPECT_NE(kill.rc, 0) << self << " signals " << other;
        auto trace = pnet({"exec", self, "--", "strace", "-p", p, "-o", "/dev/null"});
        EXPECT_NE(trace.rc, 0) << self << " traces " << other;
        auto root = pnet({"exec", self, "--", "ls", "/proc/" + p + "/root/"});
        EXPECT_NE(root.rc, 0) << self << " reaches " << other << "'s files: " << root.out;
        auto fd = pnet({"exec", self, "--", "ls", "/proc/" + p + "/fd/"});
        EXPECT_NE(fd.rc, 0) << self << " reaches " << other << "'s descriptors: " << fd.out;
        auto pidns = pnet({"exec", self, "--", "readlink", "/proc/self/ns/pid"});
        EXPECT_FALSE(contains(pidns.out, host_pidns())) << pidns.out;
    }
    // The host sees and signals both.
    EXPECT_EQ(::kill(in_a, 0), 0);
    EXPECT_EQ(::kill(in_b, 0), 0);
    EXPECT_EQ(::kill(in_a, SIGKILL), 0);
    EXPECT_EQ(::kill(in_b, SIGKILL), 0);
    ha.wait();
    hb.wait();
    auto show = pnet({"show", "pa"});
    EXPECT_TRUE(contains(show.out, "pids:        own")) << show.out;
    EXPECT_TRUE(contains(pnet({"show", "--json", "pa"}).out, "\"pids\":\"own\""));
    EXPECT_EQ(pnet({"destroy", "pa"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "pb"}).rc, 0);
}

// Destroying a named space ends its init and every process in it.
TEST_F(PidNamespaceTest, DestroyEndsEveryProcessOfTheSpace) {
    ASSERT_EQ(mk({"--name", "pd", "--", "true"}).rc, 0);
    Proc h;
    pid_t sleeper = sleeper_in("pd", h);
    ASSERT_GT(sleeper, 0);
    EXPECT_EQ(pnet({"destroy", "pd"}).rc, 0);
    EXPECT_EQ(h.wait(), 128 + SIGKILL);
    EXPECT_NE(::kill(sleeper, 0), 0);
}

// Root kills a named space's init: the space cannot be entered any more, and says so in
// one line; destroy removes it.
TEST_F(PidNamespaceTest, ASpaceWhoseInitWasKilledIsRefused) {
    ASSERT_EQ(mk({"--name", "pk", "--", "true"}).rc, 0);
    auto ps = pnet({"exec", "pk", "--", "cat", "/proc/1/comm"});
    EXPECT_EQ(ps.out, "pninit\n");
    Proc h;
    pid_t sleeper = sleeper_in("pk", h);
    ASSERT_GT(sleeper, 0);
    // Its init, as the host numbers it: the parent of nothing we started, found by name in
    // the space's network namespace.
    struct stat st {};
    ASSERT_EQ(::stat((A().rundir() + "/ns/pk").c_str(), &st), 0);
    pid_t init = process_in_netns("pninit", st.st_ino);
    ASSERT_GT(init, 0);
    ASSERT_EQ(::kill(init, SIGKILL), 0);
    EXPECT_EQ(h.wait(), 128 + SIGKILL);
    auto exec = pnet({"exec", "pk", "--", "true"});
    EXPECT_EQ(exec.rc, 1) << exec.err;
    EXPECT_TRUE(contains(exec.err, "has ended")) << exec.err;
    EXPECT_EQ(std::count(exec.err.begin(), exec.err.end(), '\n'), 1) << exec.err;
    EXPECT_EQ(pnet({"destroy", "pk"}).rc, 0);
}

// The kernel gives a gone PID namespace's inode number to the next namespace it makes,
// and pid numbers come round too: a record whose init has ended must never take another
// space's init for its own (a reaper's release killed a sibling's init that way in CI:
// that space's command died without a word). pa's record, as if its PID namespace had
// ended and pb's had got its inode and its init pa's pid: pb's init is not found for it
// and survives its kill, even when pb's network namespace has pa's inode as well (its
// cookie, never reused, tells them apart).
TEST_F(PidNamespaceTest, AnotherSpacesInitIsNeverTakenForAnEndedOne) {
    namespace pn = personalnet;
    ASSERT_EQ(mk({"--name", "pa", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "pb", "--", "true"}).rc, 0);
    auto reg = pn::registry::Registry::open(A().rundir());
    ASSERT_TRUE(reg.ok()) << reg.error().message();
    auto a = reg->load(*reg->find_name("pa"));
    auto b = reg->load(*reg->find_name("pb"));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_NE(b->pidns, 0u);
    ASSERT_GT(pn::space::init_pid_here(*b), 0) << "pb's own record finds its init";
    pn::registry::Record ended = *a;
    ended.pidns = b->pidns;
    ended.init_pid = b->init_pid;
    for (bool same_netns_inode : {false, true}) {
        if (same_netns_inode) ended.netns = b->netns;
        EXPECT_EQ(pn::space::init_pid_here(ended), 0) << same_netns_inode;
        auto killed = pn::space::kill_init(ended);
        ASSERT_TRUE(killed.ok()) << killed.error().message();
        EXPECT_FALSE(killed.value()) << same_netns_inode;
    }
    auto alive = pnet({"exec", "pb", "--", "cat", "/proc/1/comm"});
    EXPECT_EQ(alive.rc, 0) << alive.err;
    EXPECT_EQ(alive.out, "pninit\n") << "pb's init still runs";
    EXPECT_EQ(pnet({"destroy", "pa"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "pb"}).rc, 0);
}

// An unnamed space: its command's status (exit 3, killed by a signal), ps inside, and a
// background process that keeps it alive after the command, in its PID namespace.
TEST_F(PidNamespaceTest, UnnamedSpaceStatusAndLifetime) {
    EXPECT_EQ(mk({"--", "sh", "-c", "exit 3"}).rc, 3);
    EXPECT_EQ(mk({"--", "sh", "-c", "kill -TERM $$"}).rc, 128 + SIGTERM);
    auto ps = mk({"--", "ps", "-e", "-o", "comm="});
    EXPECT_EQ(ps.rc, 0) << ps.err;
    EXPECT_EQ(ps.out, "pninit\nps\n");
    auto fs_none = mk({"--file-space=none", "--", "ps", "-e", "-o", "comm="});
    EXPECT_EQ(fs_none.out, "pninit\nps\n") << fs_none.err;
    // The host's /proc is untouched by the space's own.
    EXPECT_EQ(::access(("/proc/" + std::to_string(::getpid())).c_str(), F_OK), 0);

    auto r = mk({"--", "sh", "-c", "sleep 1.5 > /dev/null 2>&1 & exit 4"});
    EXPECT_EQ(r.rc, 4) << r.err;
    EXPECT_TRUE(contains(pnet({"list"}).out, "anon-")) << "its background process keeps it";
    std::string now;
    for (int i = 0; i < 60; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = pnet({"list"}).out;
        if (!contains(now, "anon-")) break;
    }
    EXPECT_FALSE(contains(now, "anon-")) << now;
}

// A child space's processes show in its parent space's ps, not the other way round.
TEST_F(PidNamespaceTest, NestedSpacesNestTheirPidNamespaces) {
    ASSERT_EQ(mk({"--name", "outer", "--", "true"}).rc, 0);
    // The inner space prints its ps at once and lives 6 s; the outer looks after 3 s.
    auto r = pnet(
        {"exec", "outer", "--", "sh", "-c",
         "sleep 30 & S=$!; " + bin("mkportspace") +
             " -q -- sh -c 'ps -e -o args=; sleep 6' & sleep 3; echo ==; ps -e -o args=; kill $S; wait"});
    EXPECT_EQ(r.rc, 0) << r.err;
    auto split = r.out.find("==\n");
    ASSERT_NE(split, std::string::npos) << r.out;
    const std::string inner = r.out.substr(0, split), outer = r.out.substr(split + 3);
    EXPECT_FALSE(contains(inner, "sleep 30")) << inner;
    EXPECT_FALSE(contains(inner, "mkportspace")) << "its supervisor is the outer space's: " << inner;
    EXPECT_EQ(inner.find("pninit"), 0U) << "pid 1 first: " << inner;
    EXPECT_TRUE(contains(outer, "sleep 30")) << outer;
    EXPECT_TRUE(contains(outer, "sleep 6")) << "the inner space's processes show outside: " << outer;
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

// --share-pids: the parent's processes and /proc; --hostname: the space's own name, the
// host's unchanged; bad values are refused in one line naming them, exit 2.
TEST_F(PidNamespaceTest, SharePidsAndHostname) {
    auto shared = mk({"--share-pids", "--", "ps", "-e", "-o", "pid="});
    EXPECT_EQ(shared.rc, 0) << shared.err;
    EXPECT_TRUE(contains(shared.out, std::to_string(::getpid()))) << "sees the host's processes";
    const std::string host = hostname();
    auto named = mk({"--hostname", "inner-1", "--", "hostname"});
    EXPECT_EQ(named.rc, 0) << named.err;
    EXPECT_EQ(named.out, "inner-1\n");
    EXPECT_EQ(hostname(), host);
    EXPECT_EQ(mk({"--", "hostname"}).out, host + "\n");
    ASSERT_EQ(mk({"--name", "ph", "--hostname", "box", "--", "true"}).rc, 0);
    EXPECT_EQ(pnet({"exec", "ph", "--", "hostname"}).out, "box\n");
    EXPECT_TRUE(contains(pnet({"show", "ph"}).out, "hostname:    box"));
    EXPECT_EQ(pnet({"destroy", "ph"}).rc, 0);
    for (const std::string& bad : std::vector<std::string>{"bad_name", "-x", std::string(65, 'a'), ""}) {
        auto r = mk({"--hostname", bad, "--", "true"});
        EXPECT_EQ(r.rc, 2) << bad;
        EXPECT_TRUE(contains(r.err, "'" + bad + "'")) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    auto both = mk({"--share-pids", "--hostname", "x", "--", "true"});
    EXPECT_EQ(both.rc, 2);
    EXPECT_EQ(std::count(both.err.begin(), both.err.end(), '\n'), 1) << both.err;
}

}  // namespace
}  // namespace pntest
