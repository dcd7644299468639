// Attacks on the paths root follows for a user: working directories, shared directories,
// stored symbolic links, the layer store (docs/SECURITY.md, rule 1).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

class PathAttack : public AttackTest {
protected:
    static std::string swap() { return bin("pnswap"); }
};

// A named space stores a symbolic link where the user's host directory is; running a
// command from that directory must not put it, through root's chdir, in /root.
TEST_F(PathAttack, WorkingDirectoryThroughAStoredSymlink) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    auto made = as(kAlice, {mkps(), "-q", "--name", "cwd", "--", "ln", "-s", "/root", h + "/w"});
    ASSERT_EQ(made.rc, 0) << made.err;
    ASSERT_EQ(as(kAlice, {"mkdir", h + "/w"}).rc, 0);
    auto r = as(kAlice, {"sh", "-c", "cd " + h + "/w && exec " + pnet_bin() + " exec cwd -- pwd -P"});
    std::string evidence;
    if (contains(r.out, "/root")) evidence = "the command ran in " + r.out;
    verdict("working-directory-through-stored-symlink", evidence);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "cwd"}).rc, 0);
}

// Issue 15's root code execution: a stored link in a named space's layer where a shared
// directory goes made root bind the user's directory over the space's /etc (and then run
// fuse-overlayfs there, which loaded the user's /etc/ld.so.preload); an absolute link made
// root create directories in the host's /etc.
TEST_F(PathAttack, SharedDirectoryOverAStoredSymlink) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    std::string evidence;
    for (const char* target : {"../../../etc", "/etc"}) {
        ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "etc", "--", "ln", "-s", target, h + "/e"}).rc, 0);
        ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "--keep-files", "etc"}).rc, 0);
        ASSERT_EQ(as(kAlice, {"sh", "-c",
                              "mkdir -p " + h + "/e/pntest-newdir && echo mine > " + h +
                                  "/e/pntest-marker && echo " + h + "/evil.so > " + h + "/e/ld.so.preload"})
                      .rc,
                  0);
        for (const std::string& share : {h + "/e", h + "/e/pntest-newdir"}) {
            auto r = as(kAlice, {mkps(), "-q", "--name", "etc", "--share", share, "--", "sh", "-c",
                                 "cat /etc/pntest-marker /etc/ld.so.preload 2>/dev/null; " + mkps() +
                                     " -q --fs-backend=fuse -- true"});
            if (contains(r.out, "mine") || contains(r.out, "evil.so"))
                evidence += "share " + share + " (link " + target + ") landed on /etc; ";
            struct stat st {};
            if (::stat("/etc/pntest-newdir", &st) == 0) {
                evidence += "root made /etc/pntest-newdir; ";
                ::rmdir("/etc/pntest-newdir");
            }
            if (r.rc == 0 && !contains(r.out, "mine")) continue;  // refused or harmless
        }
        (void)as(kAlice, {pnet_bin(), "destroy", "etc"});
        (void)as(kAlice, {"rm", "-rf", h + "/e"});
    }
    verdict("shared-directory-over-stored-symlink", evidence);
}

// The layer store is root's: a user cannot reach a layer's directories from the host
// (where they could swap a directory for a link while root removes or lists it).
TEST_F(PathAttack, LayerStoreIsNotReachableFromTheHost) {
    write_policy("");
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "st", "--", "true"}).rc, 0);
    // Her layer, in her own store (RUNDIR/fs/UID).
    std::string layer = A().rundir() + "/fs/" + std::to_string(uid_of(kAlice)) + "/named/st/upper";
    auto r = as(kAlice, {"sh", "-c", "ls " + layer + " && echo REACHED"});
    auto inside = as(kAlice, {pnet_bin(), "exec", "st", "--", "sh", "-c",
                              "ls " + layer + " && echo REACHED; ls " + A().rundir() +
                                  "/base 2>/dev/null | head -3; touch " + A().rundir() +
                                  "/base/tmp/pntest-x && echo WROTE"});
    std::string evidence;
    if (contains(r.out, "REACHED")) evidence += "the host shows the layer to its user; ";
    if (contains(inside.out, "REACHED")) evidence += "the space shows the layer store; ";
    if (contains(inside.out, "WROTE") || !inside.out.empty())
        evidence += "the real root is exposed inside: " + inside.out;
    ::unlink("/tmp/pntest-x");
    verdict("layer-store-from-host", evidence);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "st"}).rc, 0);
}

// Issue 15's pnet destroy deleting root's files: inside a named space, a directory in the
// user's layer is swapped for a link to a root-only directory while root removes the layer.
TEST_F(PathAttack, DestroyRacesASwappedDirectory) {
    write_policy(share_policy());
    std::string h = home(kAlice), d = decoy();
    std::string layer = A().rundir() + "/fs/" + std::to_string(uid_of(kAlice)) + "/named/race/upper" + h;
    long swaps = 0;
    for (int round = 0; round < 12 && decoy_intact(); ++round) {
        // d holds an entry named like the decoy's file, among many: removed by path while
        // d is the link, it is the decoy's that goes. The swap runs where the user can
        // reach the layer: through the space's union, and from the host (issue 15: the
        // store's root was 0755; refused now).
        std::string script = "mkdir -p " + h + "/d/a/b && : > " + h + "/d/" + kSecret +
                             " && for i in $(seq 1500); do : > " + h + "/d/f$i; done && ln -sfn " + d + " " +
                             h + "/l && (" + swap() + " " + layer + "/d " + layer +
                             "/l 400000000 >/dev/null 2>&1 &) ; echo ready; exec " + swap() + " " + h +
                             "/d " + h + "/l 400000000";
        // --share-pids: with a PID namespace of its own, destroy ends the space's processes
        // (its init first) before the layer is removed, and the swappers never race it.
        auto bg = A().spawn(
            as_argv(kAlice, {mkps(), "-q", "--share-pids", "--name", "race", "--", "sh", "-c", script}));
        ASSERT_EQ(bg.read_line(20000), "ready");
        ::usleep(200 * 1000);
        (void)as(kAlice, {pnet_bin(), "destroy", "race"});
        // The swappers run on in the detached union: stopped, they say how far they got.
        (void)A().run({"pkill", "-TERM", "-u", kAlice, "pnswap"});
        swaps += std::atol(bg.read_line(5000).c_str());
        bg.kill(SIGKILL);
        (void)bg.wait();
        (void)A().run({"pkill", "-9", "-u", kAlice, "pnswap"});
    }
    std::printf("(%ld swaps)\n", swaps);
    EXPECT_GE(swaps, 20000) << "the race ran too short to matter";
    verdict("destroy-races-swapped-directory", decoy_intact() ? "" : "root deleted " + d + "/" + kSecret);
    (void)as(kAlice, {pnet_bin(), "destroy", "race"});
}

// Issue 15's pnet diff listing /root: the same swap while root lists the changes.
TEST_F(PathAttack, DiffRacesASwappedDirectory) {
    write_policy("");
    std::string h = home(kAlice), d = decoy();
    std::string script = "mkdir -p " + h + "/d/a && touch " + h + "/d/a/f && ln -sfn " + d + " " + h +
                         "/l && exec " + swap() + " " + h + "/d " + h + "/l 400000";
    auto bg = A().spawn(as_argv(kAlice, {mkps(), "-q", "--name", "dr", "--", "sh", "-c", script}));
    ::usleep(300 * 1000);
    std::string evidence;
    for (int i = 0; i < 60 && evidence.empty(); ++i) {
        auto r = as(kAlice, {pnet_bin(), "diff", "dr"});
        if (contains(r.out, kSecret)) evidence = "pnet diff listed " + d + ": " + r.out.substr(0, 200);
    }
    std::string swaps = bg.read_line(60000);
    (void)bg.wait();
    std::printf("(%s)\n", swaps.c_str());
    EXPECT_GE(std::atol(swaps.c_str()), 20000) << "the race ran too short to matter";
    verdict("diff-races-swapped-directory", evidence);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "dr"}).rc, 0);
}

// Issue 15's --share race: the shared directory is swapped with a link to a root-only
// directory between the helper's check (as the user) and the bind (as root).
TEST_F(PathAttack, ShareRacesASwappedDirectory) {
    write_policy(share_policy());
    std::string h = home(kAlice), d = decoy();
    // A directory the user may read, inside one only root may enter: bound, it would
    // reach past the 0700 directory above it.
    ASSERT_EQ(::mkdir((d + "/inner").c_str(), 0755), 0);
    ASSERT_EQ(as(kAlice, {"sh", "-c", "mkdir " + h + "/s && ln -s " + d + "/inner " + h + "/l"}).rc, 0);
    auto bg = A().spawn(as_argv(kAlice, {swap(), h + "/s", h + "/l", "400000000"}));
    std::string evidence;
    int made = 0;
    for (int i = 0; i < 200 && evidence.empty(); ++i) {
        // What was bound where: the mount table's root of each mount names its source.
        auto r = as(kAlice, {mkps(), "-q", "--share", h + "/s", "--", "cat", "/proc/self/mountinfo"});
        made += r.rc == 0;
        if (contains(r.out, d)) evidence = "a creation bound " + d + "/inner";
    }
    bg.kill(SIGTERM);
    long swaps = std::atol(bg.read_line(5000).c_str());
    (void)bg.wait();
    std::printf("(%d creations against %ld swaps)\n", made, swaps);
    EXPECT_GE(swaps, 20000) << "the race ran too short to matter";
    verdict("share-races-swapped-directory", evidence);
}

// Issue 15's stored layers passing between users: Bob's --name s after Alice's
// `pnet destroy --keep-files s` must not get Alice's files, nor take them away. (Each
// owner has a store of their own: Bob gets an empty layer of his own.)
TEST_F(PathAttack, StoredLayerStaysWithItsOwner) {
    write_policy("");
    ASSERT_EQ(
        as(kAlice, {mkps(), "-q", "--name", "kept", "--", "sh", "-c", "echo alices > /tmp/pntest-kept"}).rc,
        0);
    ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "--keep-files", "kept"}).rc, 0);
    auto bob = as(kBob, {mkps(), "-q", "--name", "kept", "--", "cat", "/tmp/pntest-kept"});
    auto gone = as(kBob, {pnet_bin(), "destroy", "kept"});
    std::string evidence;
    if (contains(bob.out, "alices")) evidence += "bob read alice's stored file; ";
    auto alice = as(kAlice, {mkps(), "-q", "--name", "kept", "--", "cat", "/tmp/pntest-kept"});
    if (!contains(alice.out, "alices")) evidence += "alice lost her stored file (" + alice.err + "); ";
    verdict("stored-layer-stays-with-owner", evidence);
    EXPECT_TRUE(contains(bob.err, "No such file")) << bob.err;
    EXPECT_EQ(gone.rc, 0) << gone.err;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "kept"}).rc, 0);
    ::unlink("/tmp/pntest-kept");
}

}  // namespace
}  // namespace pntest
