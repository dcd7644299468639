// Attacks across spaces' processes (issue 20, part 1): two spaces of one real user, made
// through the helper, must not see, signal, trace or reach through /proc each other's
// processes; the user cannot trace their own space's init to get root (it is theirs, not
// root's, and not dumpable); --share-pids is refused when the policy says no.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

class PidNamespaceAttack : public AttackTest {
protected:
    // `sleep 300` started by user in the named space; its pid as the host numbers it.
    pid_t sleeper(const char* user, const std::string& space, Proc& holder) {
        holder = A().spawn(
            as_argv(user, {pnet_bin(), "exec", space, "--", "sh", "-c", "echo started; exec sleep 300"}));
        EXPECT_EQ(holder.read_line(15000), "started") << space;
        struct stat st {};
        EXPECT_EQ(::stat((A().rundir() + "/ns/" + space).c_str(), &st), 0);
        for (int i = 0; i < 100; ++i) {
            if (pid_t p = process_in_netns("sleep", st.st_ino); p > 0) return p;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "no sleep in " << space;
        return 0;
    }
    RunResult in(const char* user, const std::string& space, std::vector<std::string> argv) {
        argv.insert(argv.begin(), {pnet_bin(), "exec", space, "--"});
        return as(user, std::move(argv));
    }
};

TEST_F(PidNamespaceAttack, TwoSpacesOfOneUserReachEachOthersProcesses) {
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "pa", "--", "true"}).rc, 0);
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "pb", "--", "true"}).rc, 0);
    Proc ha, hb;
    const pid_t in_a = sleeper(kAlice, "pa", ha), in_b = sleeper(kAlice, "pb", hb);
    ASSERT_GT(in_a, 0);
    ASSERT_GT(in_b, 0);
    std::string evidence;
    for (auto [self, other, pid] : {std::tuple{"pa", "pb", in_b}, std::tuple{"pb", "pa", in_a}}) {
        const std::string p = std::to_string(pid), what = std::string(self) + " -> " + other + ": ";
        auto ps = in(kAlice, self, {"ps", "-e", "-o", "pid=,comm="});
        EXPECT_EQ(ps.rc, 0) << ps.err;
        if (std::count(ps.out.begin(), ps.out.end(), '\n') > 3 || !contains(ps.out, "pninit"))
            evidence += " " + what + "ps shows " + ps.out + ";";
        if (in(kAlice, self, {"kill", "-0", p}).rc == 0) evidence += " " + what + "kill;";
        if (in(kAlice, self, {"strace", "-p", p, "-o", "/dev/null"}).rc == 0)
            evidence += " " + what + "strace;";
        if (in(kAlice, self, {"ls", "/proc/" + p + "/root/"}).rc == 0)
            evidence += " " + what + "/proc/PID/root;";
        if (in(kAlice, self, {"ls", "/proc/" + p + "/fd/"}).rc == 0) evidence += " " + what + "/proc/PID/fd;";
        // Its own init: pid 1, the user's but not dumpable; never root.
        if (in(kAlice, self, {"strace", "-p", "1", "-o", "/dev/null"}).rc == 0)
            evidence += " " + what + "traced its init;";
        if (in(kAlice, self, {"ls", "/proc/1/root/"}).rc == 0) evidence += " " + what + "its init's root;";
    }
    // The init, seen from the host: the user's uid, no capability; the user cannot trace
    // it from outside either.
    struct stat st {};
    ASSERT_EQ(::stat((A().rundir() + "/ns/pa").c_str(), &st), 0);
    const pid_t init = process_in_netns("pninit", st.st_ino);
    ASSERT_GT(init, 0);
    auto status = personalnet::sys::read_file("/proc/" + std::to_string(init) + "/status");
    ASSERT_TRUE(status.ok());
    const std::string uid = std::to_string(uid_of(kAlice));
    if (!contains(status.value(), "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid))
        evidence += " the init is not the user's: " + status.value();
    if (!contains(status.value(), "CapEff:\t0000000000000000")) evidence += " the init has capabilities;";
    if (as(kAlice, {"strace", "-p", std::to_string(init), "-o", "/dev/null"}).rc == 0)
        evidence += " the user traced the init from the host;";
    // The host sees and signals both.
    EXPECT_EQ(::kill(in_a, SIGKILL), 0);
    EXPECT_EQ(::kill(in_b, SIGKILL), 0);
    ha.wait();
    hb.wait();
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "pa"}).rc, 0);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "pb"}).rc, 0);
    verdict("user-reaches-another-spaces-processes", evidence);
}

TEST_F(PidNamespaceAttack, SharePidsRefusedByThePolicy) {
    write_policy("", 4, 6, "", "    share_pids = no\n");
    auto r = as(kAlice, {mkps(), "-q", "--share-pids", "--file-space=none", "--", "true"});
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "create.share_pids = no")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    std::string evidence = r.rc == 0 ? " --share-pids was granted" : "";
    auto ok = as(kAlice, {mkps(), "-q", "--file-space=none", "--", "ps", "-e", "-o", "comm="});
    EXPECT_EQ(ok.rc, 0) << ok.err;
    EXPECT_EQ(ok.out, "pninit\nps\n");
    verdict("user-shares-pids-against-policy", evidence);
}

}  // namespace
}  // namespace pntest
