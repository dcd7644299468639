// Unprivileged users (issue 5): real users made by the suite run the tools of an install
// staged by `make test` (DESTDIR=build/stage, helper set-uid root, its policy under
// /run/personalnet-test). Every refusal is checked for its message and for an unchanged
// host.
#include "tests/integration/unprivileged.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/helper/channel.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;
namespace helper = personalnet::helper;

// The policy decides: a user it does not name, an overlay or a directory it does not
// grant, and the per-user, global and depth limits are refused in one line before
// anything is made.
TEST_F(UnprivilegedTest, PolicyRefusalsAreClearAndChangeNothing) {
    auto carol = as(kCarol, {mkps(), "--", "true"});
    EXPECT_EQ(carol.rc, 2) << carol.err;
    EXPECT_TRUE(contains(carol.err, "may not create spaces")) << carol.err;
    auto overlay = as(kAlice, {mkps(), "--overlay", "corp", "--", "true"});
    EXPECT_EQ(overlay.rc, 2) << overlay.err;
    EXPECT_TRUE(contains(overlay.err, "corp")) << overlay.err;
    auto share = as(kAlice, {mkps(), "--share", "/usr", "--", "true"});
    EXPECT_EQ(share.rc, 2) << share.err;
    EXPECT_TRUE(contains(share.err, "/usr")) << share.err;
    EXPECT_EQ(A().snapshot(), baseline_) << "a refusal changed the host";

    for (const char* n : {"l1", "l2", "l3", "l4"})
        ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", n, "--file-space=none", "--", "true"}).rc, 0);
    auto fifth = as(kAlice, {mkps(), "--name", "l5", "--", "true"});
    EXPECT_NE(fifth.rc, 0);
    EXPECT_TRUE(contains(fifth.err, "max_spaces_per_user")) << fifth.err;
    for (const char* n : {"m1", "m2"})
        ASSERT_EQ(as(kBob, {mkps(), "-q", "--name", n, "--file-space=none", "--", "true"}).rc, 0);
    auto global = as(kBob, {mkps(), "--", "true"});  // 6 spaces on the host: the global limit
    EXPECT_NE(global.rc, 0);
    EXPECT_TRUE(contains(global.err, "max_spaces =")) << global.err;
    for (const char* n : {"l1", "l2", "l3", "l4"}) EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", n}).rc, 0);
    for (const char* n : {"m1", "m2"}) EXPECT_EQ(as(kBob, {pnet_bin(), "destroy", n}).rc, 0);

    // max_depth = 2: a space in a space is fine, a third level is not.
    auto deep = as(kAlice, {mkps(), "-q", "--file-space=none", "--", mkps(), "-q", "--file-space=none", "--",
                            "sh", "-c", "echo depth2; " + mkps() + " --file-space=none -- true"});
    EXPECT_TRUE(contains(deep.out, "depth2")) << deep.out << deep.err;
    EXPECT_TRUE(contains(deep.err, "max_depth")) << deep.err;
}

// A personal network through the set-uid helper (issue 17): the helper's creation binds
// the user to the network's label, so a label another space holds is refused in one line
// (without the name of another user's space), exit 2, and the user's attempt leaves nothing. (Root's own
// space holds it here: its label is only known once it exists, so the definition comes after.)
TEST_F(UnprivilegedTest, PersonalNetworkWhoseLabelIsHeldIsRefusedThroughTheHelper) {
    ASSERT_EQ(A().run({bin("mkportspace"), "-q", "--name", "plain", "--file-space=none", "--", "true"}).rc,
              0);
    auto show = A().run({bin("pnet"), "show", "plain", "--json"});
    auto at = show.out.find("\"label\":\"");
    ASSERT_NE(at, std::string::npos) << show.out;
    const std::string label = show.out.substr(at + 9, 4);
    const std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
    ASSERT_TRUE(sys::make_dirs(top + "/overlays.d", 0755).ok());
    ASSERT_TRUE(sys::write_atomic(top + "/overlays.d/corpnet.conf",
                                  "connections {\n  corp {\n    remote_addrs = 10.9.0.2\n"
                                  "    local { auth = psk }\n    remote { auth = psk }\n  }\n}\n"
                                  "personalnet {\n  label = 0x" +
                                      label + "\n}\n")
                    .ok());
    write_policy("overlays {\n    corpnet = *\n}\n");
    const std::string before = A().snapshot();
    auto r = as(kAlice, {mkps(), "--overlay", "corpnet", "--", "true"});
    EXPECT_EQ(r.rc, 2) << r.err;
    // Root's space is not named to the user (pnet list would not show it to her).
    EXPECT_TRUE(
        contains(r.err, "network 'corpnet' (label 0x" + label + ") is held by a space of another user"))
        << r.err;
    EXPECT_FALSE(contains(r.err, "plain")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(A().snapshot(), before);
    EXPECT_EQ(A().run({bin("pnet"), "destroy", "plain"}).rc, 0);
}

// Fifty users' creations of one name at once: exactly one wins, the others are told the
// name exists.
TEST_F(UnprivilegedTest, FiftyParallelCreationsOfOneNameHaveOneWinner) {
    std::string script = "for i in $(seq 1 50); do ( " + mkps() +
                         " -q --name race --file-space=none -- true; echo rc=$? ) & done; wait";
    auto r = as(kAlice, {"sh", "-c", script}, {}, 120000);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 50) << r.out << r.err;
    size_t won = 0;
    for (size_t at = r.out.find("rc=0"); at != std::string::npos; at = r.out.find("rc=0", at + 1)) ++won;
    EXPECT_EQ(won, 1u) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "exists")) << r.err;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "race"}).rc, 0);
}

// Spaces in a space, through the session's broker: a user makes and lists a named space
// from inside their space, and it is theirs.
TEST_F(UnprivilegedTest, UserCreatesAndManagesSpacesFromInsideASpace) {
    auto r = as(kAlice, {mkps(), "-q", "--", "sh", "-c",
                         mkps() + " -q --name inner -- true && " + pnet_bin() + " list && " + pnet_bin() +
                             " exec inner -- sh -c 'echo in-$PERSONALNET_SPACE' && " + pnet_bin() +
                             " destroy inner"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "inner")) << r.out;
    EXPECT_TRUE(contains(r.out, "in-inner")) << r.out;
    auto parent = pnet({"list"});
    EXPECT_FALSE(contains(parent.out, "inner")) << "destroyed from inside";
}

// A user's space made from inside their space (through the broker, whose helper assembles
// it in the host's mount namespace) stacks on the parent's files and sees its private
// /tmp; its command starts in the directory the caller was in.
TEST_F(UnprivilegedTest, NestedSpaceStacksOnTheParentsFiles) {
    // The build tree (the staged install) is shared: it may lie under /tmp, which the
    // private one hides.
    char real[PATH_MAX];
    ASSERT_NE(::realpath(build_dir().c_str(), real), nullptr);
    write_policy(std::string("share {\n    paths = ") + real + "\n}\n");
    auto r = as(kAlice, {mkps(), "-q", "--private-tmp", "--share", real, "--", "sh", "-c",
                         "echo mine > /tmp/pn-nested && mkdir -p /tmp/pn-dir && cd /tmp/pn-dir && " + mkps() +
                             " -q -- sh -c 'cat /tmp/pn-nested; pwd'"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "mine\n/tmp/pn-dir\n") << r.err;
    struct stat st {};
    EXPECT_NE(::stat("/tmp/pn-nested", &st), 0) << "the private /tmp stays inside";
}

// A space without a file space made from inside a user's file space (through the broker,
// whose helper works in the host's mount namespace) shares the caller's files: its command
// sees what the caller wrote in the union, and its own writes stay there.
TEST_F(UnprivilegedTest, NestedSpaceWithoutFileSpaceSharesTheCallersFiles) {
    const std::string f = "/var/tmp/pntest-nested-none";
    ::unlink(f.c_str());
    auto r = as(kAlice, {mkps(), "-q", "--", "sh", "-c",
                         "echo callers > " + f + " && " + mkps() + " -q --file-space=none -- sh -c 'cat " +
                             f + " && echo nested >> " + f + "' && cat " + f});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "callers\ncallers\nnested\n") << r.err;
    struct stat st {};
    EXPECT_NE(::stat(f.c_str(), &st), 0) << "the nested command wrote on the host";
    ::unlink(f.c_str());
}

// Each owner's layers are in a store of their own: root's space nested in Alice's stacks
// root's layer (root's image) on hers (Alice's image), with either backend; each sees
// what it should, and Alice's limit is her image's size.
TEST_F(UnprivilegedTest, RootNestsInAUsersSpaceAcrossStores) {
    write_policy("", 4, 6, "    max_layer_size = 48M\n");
    std::string state = A().rundir().substr(0, A().rundir().rfind('/')) + "/state";
    std::string image = state + "/layers-" + std::to_string(uid_of(kAlice)) + ".ext4";
    for (const char* backend : {"--fs-backend=kernel", "--fs-backend=fuse"}) {
        SCOPED_TRACE(backend);
        auto outer = as(kAlice, {mkps(), "-q", "--name", "outer", backend, "--", "sh", "-c",
                                 "echo alices > /tmp/pntest-outer"});
        ASSERT_EQ(outer.rc, 0) << outer.err;
        struct stat st {};
        ASSERT_EQ(::stat(image.c_str(), &st), 0) << image;
        EXPECT_EQ(st.st_size, 48 << 20);
        auto inner =
            pnet({"exec", "outer", "--", bin("mkportspace"), "-q", backend, "--", "sh", "-c",
                  "cat /tmp/pntest-outer && echo roots > /tmp/pntest-outer && cat /tmp/pntest-outer"});
        EXPECT_EQ(inner.rc, 0) << inner.err;
        EXPECT_EQ(inner.out, "alices\nroots\n") << inner.err;
        auto again = as(kAlice, {pnet_bin(), "exec", "outer", "--", "cat", "/tmp/pntest-outer"});
        EXPECT_EQ(again.out, "alices\n") << "root's child wrote in its own layer: " << again.err;
        EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "outer"}).rc, 0);
        // Root's child (unnamed, its command done) is released by its reaper in the
        // background; its record names Alice's layer as its parent's until then, and a
        // release inside her file space leaves her store to the next one outside. A full
        // collection waits for releases in progress and then lets unused stores go; the
        // kernel may still hold the store for a moment as the child's mount namespace is
        // torn down (its unmount is then refused, EBUSY, and the next collection does it).
        bool removed = false;
        for (int i = 0; i < 30 && !removed; ++i) {
            EXPECT_EQ(pnet({"gc"}).rc, 0);
            removed = ::stat(image.c_str(), &st) != 0;
            if (!removed) ::usleep(100000);
        }
        EXPECT_TRUE(removed) << "an image that holds no layer is removed\n"
                             << pnet({"list"}).out
                             << A().run({"sh", "-c",
                                         "grep -e /fs/ -e layers /proc/self/mountinfo; ls -R " +
                                             A().rundir() + "/fs | head -40"})
                                    .out;
        EXPECT_EQ(::stat((state + "/layers.ext4").c_str(), &st), 0)
            << "root's stays (its size is fixed; making it again would cost root a mkfs)";
    }
}

// --admin: refused unless the policy allows it; then the user's command holds
// CAP_NET_ADMIN and CAP_NET_BIND_SERVICE in the space's own user namespace only: it
// changes the space's routes and firewall and binds port 80 there, and cannot touch the
// host's network.
TEST_F(UnprivilegedTest, AdminSpaceGivesNetworkRightsInsideOnly) {
    auto refused = as(kAlice, {mkps(), "--admin", "--", "true"});
    EXPECT_EQ(refused.rc, 2) << refused.err;
    EXPECT_TRUE(contains(refused.err, "admin")) << refused.err;
    write_policy("admin = yes\n");
    std::string script =
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; id -u; "
        "ip route add 10.99.0.0/16 dev up0 && ip route show 10.99.0.0/16; "
        "nft add table inet mine && nft list tables; " +
        sh_join(probe({"serve", "tcp", "0.0.0.0", "80", "--reply", "admin-80"})) +
        " >/dev/null & sleep 0.3; " + sh_join(probe({"connect", "tcp", "127.0.0.1", "80"})) + "; kill $!; " +
        "nsenter --net=/proc/1/ns/net ip route add 10.98.0.0/16 dev lo 2>/dev/null || echo host-refused";
    auto r = as(kAlice, {mkps(), "-q", "--admin", "--", "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_TRUE(contains(r.out, std::string(set) + ":\t0000000000001400")) << set << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "\n" + std::to_string(uid_of(kAlice)) + "\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "10.99.0.0/16 dev up0")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "table inet mine")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "admin-80 peer=127.0.0.1:")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "host-refused")) << r.out;
    EXPECT_FALSE(contains(A().run({"ip", "route"}).out, "10.98.0.0")) << "the host's routes are untouched";

    // With CAP_NET_ADMIN inside, a user can give the space any address; the host does not
    // forward what is sent from one it did not give (B counts what arrives from it).
    ASSERT_EQ(B().run({"nft", "add", "table", "inet", "pnspoof"}).rc, 0);
    ASSERT_EQ(B().run({"nft", "add", "chain", "inet", "pnspoof", "pre",
                       "{ type filter hook prerouting priority -400; }"})
                  .rc,
              0);
    ASSERT_EQ(
        B().run({"nft", "add", "rule", "inet", "pnspoof", "pre", "ip", "saddr", "10.9.0.77", "counter"}).rc,
        0);
    auto server = B().serve("tcp", "0.0.0.0", 7100, "on-b");
    std::string spoof = sh_join(probe({"connect", "tcp", "10.9.0.2", "7100", "--timeout-ms", "1000"})) +
                        " && echo genuine-ok; ip addr add 10.9.0.77/32 dev up0 && "
                        "ip route replace 10.9.0.2/32 via 169.254.101.1 dev up0 onlink src 10.9.0.77 && " +
                        sh_join(probe({"connect", "tcp", "10.9.0.2", "7100", "--timeout-ms", "1000"})) +
                        " || echo spoof-dropped";
    auto sp = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--", "sh", "-c", spoof});
    EXPECT_TRUE(contains(sp.out, "genuine-ok")) << sp.out << sp.err;
    EXPECT_TRUE(contains(sp.out, "spoof-dropped")) << sp.out << sp.err;
    auto counted = B().run({"nft", "list", "table", "inet", "pnspoof"}).out;
    EXPECT_TRUE(contains(counted, "counter packets 0 ")) << "a spoofed packet left host A:\n" << counted;
    EXPECT_EQ(B().run({"nft", "delete", "table", "inet", "pnspoof"}).rc, 0);
}

}  // namespace
}  // namespace pntest
