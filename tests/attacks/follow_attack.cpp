// Attacks on following the parent's network (issue 20, part 2): the parent's watcher runs
// as root for every user's spaces of that parent. A user must not be able to stop it,
// neither by signalling it nor by breaking what it updates in her own --admin space, and
// so leave another user's space with a stale address.
#include <signal.h>

#include <string>
#include <thread>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

class FollowAttack : public AttackTest {
protected:
    // The watcher of host A's namespace, by its lock file; 0 if none.
    pid_t watcher_pid() {
        auto parents = personalnet::sys::list_dir(A().rundir() + "/parents");
        if (!parents.ok()) return 0;
        for (const auto& p : parents.value()) {
            auto text = personalnet::sys::read_file(A().rundir() + "/parents/" + p + "/watch");
            if (text.ok() && std::atoi(text->c_str()) > 0) return std::atoi(text->c_str());
        }
        return 0;
    }
};

// Alice's --admin space removes its service table and the addresses it was given, and
// Alice signals the watcher: Bob's space still gets host A's new address within 1 s.
TEST_F(FollowAttack, AdminSpaceBreaksWhatTheWatcherUpdates) {
    write_policy("admin = yes\n");
    auto alice = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--name", "alices", "--", "true"});
    ASSERT_EQ(alice.rc, 0) << alice.err;
    auto bob = as(kBob, {mkps(), "-q", "--file-space=none", "--name", "bobs", "--", "true"});
    ASSERT_EQ(bob.rc, 0) << bob.err;
    pid_t watcher = watcher_pid();
    ASSERT_GT(watcher, 0);
    std::string evidence;
    auto broke = as(kAlice, {pnet_bin(), "exec", "alices", "--", "sh", "-c",
                             "nft delete table inet personalnet_space; ip addr flush dev up0 scope global; "
                             "ip route flush proto 200"});
    EXPECT_EQ(broke.rc, 0) << broke.err;
    for (int sig : {SIGKILL, SIGTERM, SIGSTOP}) {
        auto k = as(kAlice, {"kill", "-" + std::to_string(sig), std::to_string(watcher)});
        if (k.rc == 0) evidence += " alice signalled the watcher (" + std::to_string(sig) + ");";
    }
    auto added = A().run({"ip", "addr", "add", "10.9.0.8/24", "dev", "eth0"});
    ASSERT_EQ(added.rc, 0) << added.err;
    bool followed = false;
    for (int i = 0; i < 20 && !followed; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto inside = as(kBob, {pnet_bin(), "exec", "bobs", "--", "ip", "-o", "addr", "show", "dev", "up0"});
        followed = contains(inside.out, "inet 10.9.0.8/32");
    }
    if (!followed) evidence += " bob's space did not get the new address within 1 s;";
    if (!personalnet::sys::pid_alive(watcher)) evidence += " the watcher died;";
    (void)A().run({"ip", "addr", "del", "10.9.0.8/24", "dev", "eth0"});
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "alices"}).rc, 0);
    EXPECT_EQ(as(kBob, {pnet_bin(), "destroy", "bobs"}).rc, 0);
    verdict("admin-space-stops-the-parents-watcher", evidence);
}

}  // namespace
}  // namespace pntest
