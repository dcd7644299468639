// Attacks on the mount namespaces root works in (docs/SECURITY.md, rule 2) and on what a
// user's own mounts can make root do.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

using NamespaceAttack = AttackTest;

// Issue 15's mount-option injection: a user's FUSE mount point named "~/p:/root" (or
// "~/q,lowerdir=/root") made root mount the root-only directory as a lower layer of a
// file space's union, which the user then read.
TEST_F(NamespaceAttack, FuseMountPointInjectsALowerLayer) {
    write_policy("");
    std::string h = home(kAlice), d = decoy();
    std::string evidence;
    for (const std::string& point : {h + "/p:" + d, h + "/q,lowerdir=" + d}) {
        auto m = as(kAlice, {"sh", "-c",
                             "mkdir -p '" + point + "' " + h + "/p " + h + "/q " + h + "/lo " + h + "/up " +
                                 h + "/wk && fuse-overlayfs -o lowerdir=" + h + "/lo,upperdir=" + h +
                                 "/up,workdir=" + h + "/wk '" + point + "'"});
        if (m.rc != 0) {
            GTEST_SKIP() << "a user cannot mount fuse-overlayfs here: " << m.err;
        }
        auto r = as(kAlice,
                    {mkps(), "-q", "--", "sh", "-c", "ls -a '" + point + "' " + h + "/p " + h + "/q 2>&1"});
        if (contains(r.out, "pntest-decoy-secret"))
            evidence += "the space listed " + d + " through '" + point + "'; ";
        (void)as(kAlice, {"fusermount3", "-u", point});
    }
    verdict("fuse-mount-point-injects-lower-layer", evidence);
}

// Root's processes for a user's space (the helper serving a nested request through the
// broker, fuse-overlayfs) run in the host's mount namespace, never in the user's file
// space, whose /etc and /usr the user might have changed.
TEST_F(NamespaceAttack, RootProcessesStayOutOfFileSpaces) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    std::string marker = h + "/pntest-ready";  // shared: the host sees it
    auto bg = A().spawn(
        as_argv(kAlice, {mkps(), "-q", "--share", h, "--", "sh", "-c",
                         mkps() + " -q --fs-backend=fuse -- sh -c 'touch " + marker + "; sleep 4'"}));
    std::string evidence;
    struct stat host {};
    ASSERT_EQ(::stat("/proc/self/ns/mnt", &host), 0);
    int seen = 0;
    for (int i = 0; i < 100 && seen == 0; ++i) {
        ::usleep(50 * 1000);
        struct stat st {};
        if (::stat(marker.c_str(), &st) != 0) continue;
        DIR* proc = ::opendir("/proc");
        while (struct dirent* e = ::readdir(proc)) {
            std::string p = std::string("/proc/") + e->d_name;
            auto comm = personalnet::sys::read_file(p + "/comm");
            if (!comm.ok() || (comm.value() != "fuse-overlayfs\n" && comm.value() != "pnhelper\n")) continue;
            struct stat status {
            }, ns{};
            if (::stat(p.c_str(), &status) != 0 || status.st_uid != 0 ||
                ::stat((p + "/ns/mnt").c_str(), &ns) != 0)
                continue;
            ++seen;
            if (ns.st_ino != host.st_ino)
                evidence += comm.value().substr(0, comm.value().size() - 1) + " " + e->d_name +
                            " runs in another mount namespace; ";
        }
        ::closedir(proc);
    }
    (void)bg.wait();
    EXPECT_GT(seen, 0) << "no root process of the nested creation was seen";
    verdict("root-processes-stay-out-of-file-spaces", evidence);
}

// The set-uid helper started from inside a file space by a process without no_new_privs
// (a login's shell: pam_personalnet joins the session to its space) leaves that file space
// for the host's mount namespace before it acts, and its daemons are started there.
TEST_F(NamespaceAttack, HelperStartedInsideAFileSpaceLeavesIt) {
    write_policy("");
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "login", "--", "true"}).rc, 0);
    // As a login would: root moves into the space, the user's shell runs there.
    auto bg = A().spawn({bin("pnet"), "exec", "login", "--", "setpriv", std::string("--reuid=") + kAlice,
                         std::string("--regid=") + kAlice, "--init-groups", "env", "-i", "PATH=/usr/bin:/bin",
                         "PERSONALNET_HELPER=" + staged_helper(), mkps(), "-q", "--fs-backend=fuse", "--",
                         "sh", "-c", "echo ready; sleep 3"});
    std::string ready = bg.read_line(20000);
    struct stat host {};
    ASSERT_EQ(::stat("/proc/self/ns/mnt", &host), 0);
    std::string evidence;
    int seen = 0;
    auto procs = personalnet::sys::list_dir("/proc");
    for (const auto& p : procs.ok() ? procs.value() : std::vector<std::string>{}) {
        auto comm = personalnet::sys::read_file("/proc/" + p + "/comm");
        auto status = personalnet::sys::read_file("/proc/" + p + "/status");
        struct stat ns {};
        if (!comm.ok() || !status.ok() ||
            (comm.value() != "pnhelper\n" && comm.value() != "fuse-overlayfs\n") ||
            !contains(status.value(), "Uid:\t0\t0\t0\t0") ||
            ::stat(("/proc/" + p + "/ns/mnt").c_str(), &ns) != 0)
            continue;
        ++seen;
        if (ns.st_ino != host.st_ino)
            evidence += comm.value().substr(0, comm.value().size() - 1) + " " + p + " ran in a file space; ";
    }
    int rc = bg.wait();
    EXPECT_EQ(ready, "ready") << "exit " << rc;
    EXPECT_GT(seen, 0) << "no root process of the creation was seen";
    verdict("helper-started-inside-a-file-space-leaves-it", evidence);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "login"}).rc, 0);
}

// Issue 15's broker race: a process in a space asks the broker for a space and moves into
// a user and mount namespace it owns while the broker's helper checks it; a helper that
// then joined the peer's mount namespace ran the user's fuse-overlayfs as root.
TEST_F(NamespaceAttack, BrokerRaceIntoTheUsersNamespace) {
    // Room for the spaces of rounds whose release is still under way.
    write_policy(share_policy(), 64, 64);
    std::string h = home(kAlice);
    std::string fake = h + "/fake-fuse-overlayfs", pwned = h + "/pntest-pwned";
    ASSERT_EQ(as(kAlice, {"sh", "-c",
                          "printf '#!/bin/sh\\nid -u > " + pwned + "\\nexit 1\\n' > " + fake +
                              " && chmod 755 " + fake})
                  .rc,
              0);
    auto r = as(kAlice, {mkps(), "-q", "--share", h, "--", bin("pnbrokerrace"), fake, "160"}, {}, 240000);
    EXPECT_TRUE(contains(r.out, "160 rounds")) << r.out << r.err;
    auto who = personalnet::sys::read_file(pwned);
    std::string evidence;
    if (who.ok()) evidence = "the user's fuse-overlayfs ran as uid " + who.value();
    verdict("broker-race-into-users-namespace", evidence);
}

}  // namespace
}  // namespace pntest
