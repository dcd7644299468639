// Destroy and gc never claim success falsely (issue 16, item 7): in every arrangement of
// mount and network namespaces that share a run directory, they remove everything or
// exit non-zero naming what they could not remove. What is left is read from the kernel
// (the fixture's snapshot: links, rules, routes, nft, sysctls, mounts, registry).
//
// `unshare -m --propagation slave` is what `ip netns exec` does to every command: a mount
// namespace of its own, which ends with the command (and with it the pins it made).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

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
    // A space made from here first: host A's watcher starts in this mount namespace (a
    // watcher keeps the one it was started in, as an init does).
    ASSERT_EQ(mk({"--name", "anchor", "--file-space=none", "--", "true"}).rc, 0);
    const std::string with_anchor = settled_snapshot();
    auto created = A().run(
        in_own_mount_namespace({bin("mkportspace"), "-q", "--share-pids", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto shown = A().run(in_own_mount_namespace({bin("pnet"), "show", "t"}));
    EXPECT_NE(shown.rc, 0);
    EXPECT_TRUE(contains(shown.err, "has ended")) << shown.err;
    auto destroyed = A().run(in_own_mount_namespace({bin("pnet"), "destroy", "t"}));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(settled_snapshot(), with_anchor);
    // Its own PID namespace (the default): it stays, and is destroyed from anywhere.
    created = A().run(in_own_mount_namespace({bin("mkportspace"), "-q", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto exec = A().run(in_own_mount_namespace({bin("pnet"), "exec", "t", "--", "true"}));
    EXPECT_EQ(exec.rc, 0) << exec.err;
    destroyed = A().run(in_own_mount_namespace({bin("pnet"), "destroy", "t"}));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(pnet({"destroy", "anchor"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// The same, destroyed from the machine's network namespace: the parent (host A) is
// reached where the kernel shows it, not only by a pin this mount namespace sees.
TEST_F(SpaceTest, CreatedInAMountNamespaceOfItsOwnDestroyedFromTheHostNetwork) {
    auto created = A().run(in_own_mount_namespace({bin("mkportspace"), "-q", "--name", "t", "--", "true"}));
    ASSERT_EQ(created.rc, 0) << created.err;
    auto destroyed = run_outside(A(), {bin("pnet"), "destroy", "t"});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// A live named space made in host A, destroyed from the machine's network namespace and
// from another mount namespace (whose copy of the pin is not the one that holds it).
TEST_F(SpaceTest, LiveNamedSpaceIsDestroyedFromElsewhere) {
    ASSERT_EQ(mk({"--name", "x", "--", "true"}).rc, 0);
    auto destroyed = run_outside(A(), {bin("pnet"), "destroy", "x"});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    EXPECT_EQ(settled_snapshot(), baseline_);

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

// The watchers (pnwatch) working for a run directory, with the parent namespace each
// watches (their first and third arguments).
std::vector<std::pair<pid_t, std::string>> watchers_of(const std::string& rundir) {
    std::vector<std::pair<pid_t, std::string>> out;
    auto pids = personalnet::sys::list_dir("/proc");
    if (!pids.ok()) return out;
    for (const auto& p : pids.value()) {
        if (p.find_first_not_of("0123456789") != std::string::npos) continue;
        auto cmd = personalnet::sys::read_file("/proc/" + p + "/cmdline");
        if (!cmd.ok()) continue;
        std::vector<std::string> args;
        for (size_t at = 0; at < cmd->size();) {
            size_t end = cmd->find('\0', at);
            if (end == std::string::npos) end = cmd->size();
            args.push_back(cmd->substr(at, end - at));
            at = end + 1;
        }
        if (args.size() >= 4 && args[0] == "pnwatch" && args[1] == rundir)
            out.emplace_back(static_cast<pid_t>(std::stoi(p)), args[3]);
    }
    return out;
}

// Records left by spaces whose parent namespace is gone (a run directory shared with
// network namespaces that ended): a fresh creation works, also in a namespace that now
// has a gone one's inode, and gc removes the stale records. A parent's watcher keeps its
// namespace (and the mount namespace it was started in) while the parent has children,
// as each space's own init keeps its creator's mount namespace: such spaces live until
// destroyed. Here their watchers die (as a crash would), with --share-pids, so the
// namespaces end with their last holder.
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
    struct stat host_a {};
    ASSERT_EQ(::fstat(A().ns(), &host_a), 0);
    int killed = 0;
    for (const auto& [pid, parent] : watchers_of(A().rundir()))
        if (parent != std::to_string(host_a.st_ino)) killed += ::kill(pid, SIGKILL) == 0;
    EXPECT_EQ(killed, 3) << "one watcher per gone namespace";
    auto fresh = mk({"--name", "fresh", "--", "true"});
    EXPECT_EQ(fresh.rc, 0) << fresh.err;
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    auto list = pnet({"list"});
    EXPECT_FALSE(contains(list.out, "s1")) << list.out;
    EXPECT_TRUE(contains(list.out, "fresh")) << list.out;
    EXPECT_EQ(pnet({"destroy", "fresh"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
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
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// gc after a creator killed in a mount namespace of its own: its pins went with it
// (--share-pids: a space's own init would keep that mount namespace, see above). Host A's
// watcher is started from here first: started by that creation, it would keep the mount
// namespace, and with it the pin, as an init does. (The killed creation's store
// directory stays until the registry empties: its mount was in that mount namespace.)
TEST_F(SpaceTest, GcAfterACreatorKilledInAMountNamespaceOfItsOwn) {
    ASSERT_EQ(mk({"--name", "anchor", "--file-space=none", "--", "true"}).rc, 0);
    Proc p = A().spawn(in_own_mount_namespace(
        {bin("mkportspace"), "-q", "--share-pids", "--name", "k", "--", "sleep", "30"}));
    for (int i = 0; i < 100 && !contains(pnet({"list"}).out, "k "); ++i) usleep(50 * 1000);
    p.kill(9);
    p.wait();
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_FALSE(contains(pnet({"list"}).out, "k ")) << "gc collects a space whose pin is gone";
    EXPECT_EQ(pnet({"destroy", "anchor"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// The host-side veth of a space, from `pnet list` (its last column).
std::string uplink_of(const std::string& list, const std::string& name) {
    std::istringstream lines(list);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(name + " ", 0) == 0) return line.substr(line.rfind(' ') + 1);
    return "";
}

// The reapers working for a run directory (their first argument).
std::vector<pid_t> reapers_of(const std::string& rundir) {
    std::vector<pid_t> out;
    auto pids = personalnet::sys::list_dir("/proc");
    if (!pids.ok()) return out;
    for (const auto& p : pids.value()) {
        if (p.find_first_not_of("0123456789") != std::string::npos) continue;
        auto cmd = personalnet::sys::read_file("/proc/" + p + "/cmdline");
        if (cmd.ok() && cmd->rfind(std::string("pnreaper") + '\0' + rundir + '\0', 0) == 0)
            out.push_back(static_cast<pid_t>(std::stoi(p)));
    }
    return out;
}

// `pnet destroy` leaves the uplink to the kernel's teardown of the namespace (issue 21):
// the name is free again at once, with none of the old space's files, a destroyed space
// is listed nowhere, and once its reaper is done nothing is left.
TEST_F(SpaceTest, DestroyedNameIsFreeAtOnceWithoutItsFiles) {
    ASSERT_EQ(mk({"--name", "again", "--", "sh", "-c", "echo old > /etc/pn-destroy-marker"}).rc, 0);
    ASSERT_EQ(pnet({"destroy", "again"}).rc, 0);
    EXPECT_FALSE(contains(pnet({"list"}).out, "again ")) << "a destroyed space is listed nowhere";
    EXPECT_EQ(pnet({"show", "again"}).rc, 2);
    auto fresh =
        mk({"--name", "again", "--", "sh", "-c", "cat /etc/pn-destroy-marker 2>/dev/null || echo none"});
    EXPECT_EQ(fresh.rc, 0) << fresh.err;
    EXPECT_TRUE(contains(fresh.out, "none")) << "the old space's files came back: " << fresh.out;
    ASSERT_EQ(pnet({"destroy", "again"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// A process still in the space would keep its namespace, and so the uplink, alive: destroy
// cuts it off at once instead, the uplink deleted before destroy returns. (In a space's
// own PID namespace, the default, destroy ends every process instead.)
TEST_F(SpaceTest, DestroyCutsOffAProcessStillInTheSpace) {
    ASSERT_EQ(mk({"--name", "busy", "--share-pids", "--file-space=none", "--", "true"}).rc, 0);
    const std::string uplink = uplink_of(pnet({"list"}).out, "busy");
    ASSERT_FALSE(uplink.empty());
    Proc inside = A().spawn({bin("pnet"), "exec", "busy", "--", "sh", "-c", "echo up; exec sleep 30"});
    ASSERT_EQ(inside.read_line(), "up");
    ASSERT_EQ(pnet({"destroy", "busy"}).rc, 0);
    EXPECT_NE(A().run({"ip", "link", "show", uplink}).rc, 0) << uplink << " outlived destroy";
    inside.kill(9);
    inside.wait();
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// A destroyed space whose namespace something still holds (a descriptor, not a process)
// keeps its uplink until the kernel tears the namespace down; its reaper waits for that.
// Killed meanwhile, gc releases what the reaper would have.
TEST_F(SpaceTest, GcReleasesADestroyedSpaceWhoseReaperWasKilled) {
    ASSERT_EQ(mk({"--name", "held", "--file-space=none", "--", "true"}).rc, 0);
    const std::string uplink = uplink_of(pnet({"list"}).out, "held");
    ASSERT_FALSE(uplink.empty());
    Proc holder = A().spawn({"sh", "-c", "exec 3< " + A().rundir() + "/ns/held; echo held; exec sleep 30"});
    ASSERT_EQ(holder.read_line(), "held");
    ASSERT_EQ(pnet({"destroy", "held"}).rc, 0);
    EXPECT_EQ(A().run({"ip", "link", "show", uplink}).rc, 0) << "the held namespace keeps its uplink";
    auto reapers = reapers_of(A().rundir());
    EXPECT_EQ(reapers.size(), 1u);
    for (pid_t r : reapers) ::kill(r, SIGKILL);
    holder.kill(9);
    holder.wait();
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_NE(A().run({"ip", "link", "show", uplink}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

}  // namespace
}  // namespace pntest
