// Destroy and gc never claim success falsely (issue 16, item 7): in every arrangement of
// mount and network namespaces that share a run directory, they remove everything or
// exit non-zero naming what they could not remove. What is left is read from the kernel
// (the fixture's snapshot: links, rules, routes, nft, sysctls, mounts, registry).
//
// `unshare -m --propagation slave` is what `ip netns exec` does to every command: a mount
// namespace of its own, which ends with the command (and with it the pins it made).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

std::vector<std::string> in_own_mount_namespace(std::vector<std::string> argv,
                                                const char* propagation = "slave") {
    argv.insert(argv.begin(), {"unshare", "-m", std::string("--propagation=") + propagation});
    return argv;
}

// Runs argv in the test's own network namespace (the machine's), with host A's run
// directory: a caller outside the namespace the space was made in.
RunResult run_outside(const Host& host, const std::vector<std::string>& argv) {
    int err[2];
    if (::pipe2(err, O_CLOEXEC) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(err[1], 2);
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::setenv("PERSONALNET_RUNDIR", host.rundir().c_str(), 1);
        ::setenv("PERSONALNET_STATEDIR",
                 (host.rundir().substr(0, host.rundir().rfind('/')) + "/state").c_str(), 1);
        exec_argv(argv);
    }
    ::close(err[1]);
    RunResult r;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err[0], buf, sizeof buf)) > 0) r.err.append(buf, static_cast<size_t>(n));
    ::close(err[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

// `ip netns exec NS mkportspace --name t -- true`, then `ip netns exec NS pnet destroy t`:
// the space ended with the first command's mount namespace (its pin did); what it left in
// its parent is removed by the second, and show says it has ended meanwhile.
// With --share-pids: a space with its own PID namespace keeps its creator's mount
// namespace (its init holds it), and with it the pin, until destroyed (below).
TEST_F(SpaceTest, CreatedAndDestroyedInMountNamespacesOfTheirOwn) {
    auto created = A().run(
        in_own_mount_namespace({bin("mkportspace"), "-q", "--share-pids", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto shown = A().run(in_own_mount_namespace({bin("pnet"), "show", "t"}));
    EXPECT_NE(shown.rc, 0);
    EXPECT_TRUE(contains(shown.err, "has ended")) << shown.err;
    auto destroyed = A().run(in_own_mount_namespace({bin("pnet"), "destroy", "t"}));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(A().snapshot(), baseline_);
    // Its own PID namespace (the default): it stays, and is destroyed from anywhere.
    created = A().run(in_own_mount_namespace({bin("mkportspace"), "-q", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto exec = A().run(in_own_mount_namespace({bin("pnet"), "exec", "t", "--", "true"}));
    EXPECT_EQ(exec.rc, 0) << exec.err;
    destroyed = A().run(in_own_mount_namespace({bin("pnet"), "destroy", "t"}));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// The same, destroyed from the machine's network namespace: the parent (host A) is
// reached where the kernel shows it, not only by a pin this mount namespace sees.
TEST_F(SpaceTest, CreatedInAMountNamespaceOfItsOwnDestroyedFromTheHostNetwork) {
    auto created = A().run(in_own_mount_namespace({bin("mkportspace"), "-q", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto destroyed = run_outside(A(), {bin("pnet"), "destroy", "t"});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// A live named space made in host A, destroyed from the machine's network namespace and
// from another mount namespace (whose copy of the pin is not the one that holds it).
TEST_F(SpaceTest, LiveNamedSpaceIsDestroyedFromElsewhere) {
    ASSERT_EQ(mk({"--name", "x", "--", "true"}).rc, 0);
    auto destroyed = run_outside(A(), {bin("pnet"), "destroy", "x"});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(A().snapshot(), baseline_);

    ASSERT_EQ(mk({"--name", "y", "--", "true"}).rc, 0);
    auto shown = A().run(in_own_mount_namespace({bin("pnet"), "show", "y"}, "private"));
    EXPECT_EQ(shown.rc, 0) << shown.err;
    destroyed = A().run(in_own_mount_namespace({bin("pnet"), "destroy", "y"}, "private"));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    // The pin went everywhere; the run directory's bind on itself is each mount
    // namespace's own, released by the next call from it that finds no space left.
    EXPECT_EQ(pnet({"gc"}).rc, 0);
    EXPECT_EQ(A().snapshot(), baseline_);
}

// Records left by spaces whose parent namespace is gone (a run directory shared with
// network namespaces that ended): a fresh creation works, also in a namespace that now
// has a gone one's inode, and gc removes the stale records.
TEST_F(SpaceTest, StaleRecordsOfAGoneNamespaceDoNotHinderNewSpaces) {
    auto in_gone_namespace = [&](const std::string& name) {
        return A().run(
            {"unshare", "-n", "-m", "--propagation=slave", "sh", "-c",
             "ip link set lo up && " + bin("mkportspace") + " -q --share-pids --name " + name + " -- true"});
    };
    for (const char* name : {"s1", "s2", "s3"}) {
        auto r = in_gone_namespace(name);
        EXPECT_EQ(r.rc, 0) << name << ": " << r.err;
    }
    auto fresh = mk({"--name", "fresh", "--", "true"});
    EXPECT_EQ(fresh.rc, 0) << fresh.err;
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    auto list = pnet({"list"});
    EXPECT_FALSE(contains(list.out, "s1")) << list.out;
    EXPECT_TRUE(contains(list.out, "fresh")) << list.out;
    EXPECT_EQ(pnet({"destroy", "fresh"}).rc, 0);
    EXPECT_EQ(A().snapshot(), baseline_);
}

// What cannot be removed is named, with a non-zero exit, and the space stays for a retry:
// here the parent's settings cannot be restored from a mount namespace whose /proc/sys
// is read-only.
TEST_F(SpaceTest, UnremovablePieceIsNamedAndTheSpaceKeptForARetry) {
    ASSERT_EQ(mk({"--name", "u", "--", "true"}).rc, 0);
    auto failed = A().run({"unshare", "-m", "--propagation=private", "sh", "-c",
                           "mount -o bind,ro /proc/sys /proc/sys && exec " + bin("pnet") + " destroy u"});
    EXPECT_NE(failed.rc, 0);
    EXPECT_TRUE(contains(failed.err, "restore parent setting net.ipv4.ip_forward")) << failed.err;
    EXPECT_TRUE(contains(pnet({"list"}).out, "u ")) << "the record stays for a retry";
    auto retried = pnet({"destroy", "u"});
    EXPECT_EQ(retried.rc, 0) << retried.err;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// gc after a creator killed in a mount namespace of its own: its pins went with it
// (--share-pids: a space's own init would keep that mount namespace, see above).
TEST_F(SpaceTest, GcAfterACreatorKilledInAMountNamespaceOfItsOwn) {
    Proc p = A().spawn(in_own_mount_namespace(
        {bin("mkportspace"), "-q", "--share-pids", "--name", "k", "--", "sleep", "30"}));
    for (int i = 0; i < 100 && !contains(pnet({"list"}).out, "k "); ++i) usleep(50 * 1000);
    p.kill(9);
    p.wait();
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_FALSE(contains(pnet({"list"}).out, "k ")) << "gc collects a space whose pin is gone";
    EXPECT_EQ(A().snapshot(), baseline_);
}

}  // namespace
}  // namespace pntest
