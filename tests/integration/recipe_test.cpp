// Recipes (issue 20, part 4): personalnet with the host's other tools, each the way the
// README's "Recipes" section writes it. A named space's pin (`pnet show --json`'s "pin")
// is what they join: systemd's NetworkNamespacePath=, podman's --network ns:PATH,
// nsenter --net=PATH; `ip netns exec` gives a space a parent of its own.
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <regex>

#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

// The value of "key":"..." or "key":N in one line of JSON (no escapes in what we read).
std::string json_field(const std::string& json, const std::string& key) {
    auto at = json.find("\"" + key + "\":");
    if (at == std::string::npos) return "";
    at += key.size() + 3;
    if (json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
    return json.substr(at, json.find_first_of(",}", at) - at);
}

// Where the tools find pnassemble and the other programs of the build (gtest_main sets it).
std::string libexecdir() {
    const char* d = ::getenv("PERSONALNET_LIBEXECDIR");
    return d != nullptr ? d : "";
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

class RecipeTest : public SpaceTest {
protected:
    void TearDown() override {
        if (imported_) {
            EXPECT_EQ(podman({"rmi", image_}).rc, 0);
        }
        if (!rootfs_.empty()) (void)A().run({"rm", "-rf", rootfs_});
        if (imported_) {
            EXPECT_EQ(podman({"ps", "-a", "-q", "--no-trunc"}).out, containers_) << "a container leaked";
            EXPECT_EQ(podman({"images", "-q", "--no-trunc"}).out, images_) << "an image leaked";
        }
        if (netns_added_) {
            (void)A().run({"ip", "link", "del", "pnxa0"});
            EXPECT_EQ(A().run({"ip", "netns", "del", ns_}).rc, 0);
        }
        SpaceTest::TearDown();
    }

    // Creates named space `name` in host A and reads its pin and namespace inode.
    void make_named(const std::string& name) {
        auto made = mk({"--name", name, "--", "true"});
        ASSERT_EQ(made.rc, 0) << made.err;
        auto show = pnet({"show", name, "--json"});
        ASSERT_EQ(show.rc, 0) << show.err;
        pin_ = json_field(show.out, "pin");
        netns_ = json_field(show.out, "netns_inode");
        ASSERT_FALSE(pin_.empty()) << show.out;
        ASSERT_FALSE(netns_.empty()) << show.out;
    }
    std::string pin_, netns_;

    // podman: a tiny image of busybox-static made here (there is no registry), removed by
    // TearDown, which also checks that no container or image is left.
    void start_podman() {
        if (::access("/usr/bin/podman", X_OK) != 0) GTEST_SKIP() << "podman is not installed (make deps)";
        // crun (podman's default runtime in Debian 12) refuses a hybrid cgroup hierarchy
        // ("cgroups in hybrid mode not supported"): where /sys/fs/cgroup is not cgroup2, runc.
        struct statfs fs {};
        if (::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */)
            global_ = {"--runtime", "runc"};
        // podman's default limits (nofile 1048576, nproc 4194304) are above the hard limits
        // where podman lacks CAP_SYS_RESOURCE (in a container, as here: runc then fails with
        // "error setting rlimits ... operation not permitted"); this container needs little.
        limits_ = {"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"};
        containers_ = podman({"ps", "-a", "-q", "--no-trunc"}).out;
        images_ = podman({"images", "-q", "--no-trunc"}).out;
        char dir[] = "/tmp/pntest-rootfs-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        rootfs_ = dir;
        auto made =
            A().run({"sh", "-c",
                     "mkdir " + rootfs_ + "/bin && cp /bin/busybox " + rootfs_ +
                         "/bin/ && for c in sh ip nc readlink cat timeout; do ln -s busybox " + rootfs_ +
                         "/bin/$c; done && tar -C " + rootfs_ + " -c . | podman import -q - " + image_});
        ASSERT_EQ(made.rc, 0) << made.err;
        imported_ = true;
    }
    RunResult podman(std::vector<std::string> args) {
        args.insert(args.begin(), global_.begin(), global_.end());
        args.insert(args.begin(), "podman");
        return A().run(args, 60000);
    }
    // podman run --rm NETWORK_ARGS IMAGE sh -c SCRIPT
    RunResult podman_run(const std::vector<std::string>& network, const std::string& script) {
        std::vector<std::string> args{"run", "--rm"};
        args.insert(args.end(), limits_.begin(), limits_.end());
        args.insert(args.end(), network.begin(), network.end());
        args.insert(args.end(), {image_, "sh", "-c", script});
        return podman(args);
    }
    std::vector<std::string> global_, limits_;
    std::string containers_, images_, rootfs_;
    std::string image_ = "localhost/pntest-busybox:" + std::to_string(::getpid());
    bool imported_ = false;

    // `ip netns add NS`, wired to host A by a veth: 10.9.8.2 in NS, 10.9.8.1 in A.
    void make_netns() {
        auto added = A().run({"ip", "netns", "add", ns_});
        ASSERT_EQ(added.rc, 0) << added.err;
        netns_added_ = true;
        for (const auto& cmd : std::vector<std::vector<std::string>>{
                 {"ip", "link", "add", "pnxa0", "type", "veth", "peer", "name", "pnxb0", "netns", ns_},
                 {"ip", "addr", "add", "10.9.8.1/24", "dev", "pnxa0"},
                 {"ip", "link", "set", "pnxa0", "up"},
                 {"ip", "-n", ns_, "addr", "add", "10.9.8.2/24", "dev", "pnxb0"},
                 {"ip", "-n", ns_, "link", "set", "pnxb0", "up"},
                 {"ip", "-n", ns_, "link", "set", "lo", "up"}}) {
            auto r = A().run(cmd);
            ASSERT_EQ(r.rc, 0) << sh_join(cmd) << ": " << r.err;
        }
        ns_baseline_ = ns_state();
    }
    // What personalnet could leave in NS: links, rules, routes, nft.
    std::string ns_state() {
        std::string s;
        for (const auto& cmd :
             std::vector<std::vector<std::string>>{{"ip", "-o", "link"},
                                                   {"ip", "rule"},
                                                   {"ip", "route", "show", "table", "all"},
                                                   {"ip", "-6", "rule"},
                                                   {"ip", "-6", "route", "show", "table", "all"},
                                                   {"nft", "list", "ruleset"}}) {
            s += "## " + sh_join(cmd) + "\n" + A().run(in_ns(cmd)).out;
        }
        // Link state changes with traffic; names and order do not.
        return std::regex_replace(s, std::regex(R"(state \S+|qdisc \S+|\\.*)"), "");
    }
    std::vector<std::string> in_ns(std::vector<std::string> argv) {
        argv.insert(argv.begin(), {"ip", "netns", "exec", ns_});
        return argv;
    }
    std::string ns_ = "pntest-x" + std::to_string(::getpid());
    bool netns_added_ = false;
    std::string ns_baseline_;
};

// The pin show names is the space's namespace: its inode is netns_inode, and a program
// that joins it by path (nsenter --net=, as systemd's NetworkNamespacePath= and podman's
// ns:PATH do with setns) is in the space. Unnamed spaces have none.
TEST_F(RecipeTest, ShowNamesThePinThatJoinsTheSpace) {
    make_named("r");
    EXPECT_EQ(pin_, A().rundir() + "/ns/r");
    struct stat st {};
    ASSERT_EQ(::stat(pin_.c_str(), &st), 0) << pin_;
    EXPECT_EQ(std::to_string(st.st_ino), netns_);
    auto joined = A().run({"nsenter", "--net=" + pin_, "readlink", "/proc/self/ns/net"});
    EXPECT_EQ(joined.rc, 0) << joined.err;
    EXPECT_EQ(joined.out, "net:[" + netns_ + "]\n");
    auto text = pnet({"show", "r"});
    EXPECT_TRUE(contains(text.out, "pin:         " + pin_)) << text.out;
    // An unnamed space: "pin" is there, and empty (the existing fields unchanged).
    auto unnamed = mk({"--", "sh", "-c", sh_join({bin("pnet"), "list", "--json"})});
    EXPECT_EQ(unnamed.rc, 0) << unnamed.err;
    EXPECT_TRUE(contains(unnamed.out, "\"pin\":\"\"")) << unnamed.out;
    EXPECT_TRUE(contains(unnamed.out, "\"pin\":\"" + pin_ + "\"")) << unnamed.out;
    EXPECT_EQ(pnet({"destroy", "r"}).rc, 0);
}

// systemd: a service in a named space, either way the README's unit snippets write it.
// Needs a running systemd (PID 1) to start the transient units; the ExecStart= form is
// also run without systemd below, the way a unit runs it (outside host A's namespace,
// with only the registry's variables).
TEST_F(RecipeTest, SystemdServiceRunsInTheSpace) {
    if (!exists("/run/systemd/system"))
        GTEST_SKIP() << "systemd is not running as PID 1 here (no /run/systemd/system), so "
                        "systemd-run cannot start a unit";
    make_named("svc");
    const std::string want = "net:[" + netns_ + "]\n";
    // NetworkNamespacePath= on the space's pin.
    auto by_path = A().run({"systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-p",
                            "NetworkNamespacePath=" + pin_, "readlink", "/proc/self/ns/net"});
    EXPECT_EQ(by_path.rc, 0) << by_path.err;
    EXPECT_EQ(by_path.out, want);
    // ExecStart=pnet exec NAME -- CMD (the test's variables stand in for the installed paths).
    auto by_exec =
        A().run({"systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-E",
                 "PERSONALNET_RUNDIR=" + A().rundir(), "-E",
                 "PERSONALNET_STATEDIR=" + A().rundir().substr(0, A().rundir().rfind('/')) + "/state", "-E",
                 "PERSONALNET_LIBEXECDIR=" + libexecdir(), bin("pnet"), "exec", "svc", "--", "readlink",
                 "/proc/self/ns/net"});
    EXPECT_EQ(by_exec.rc, 0) << by_exec.err;
    EXPECT_EQ(by_exec.out, want);
    EXPECT_EQ(pnet({"destroy", "svc"}).rc, 0);
}

// What a unit's ExecStart=pnet exec NAME -- CMD runs, without systemd: from the machine's
// own network namespace and a mount namespace of its own (as a unit with PrivateTmp= has),
// with an environment of the registry's variables alone.
TEST_F(RecipeTest, ExecStartCommandRunsInTheSpaceFromOutside) {
    make_named("svc");
    auto srv = B().serve("tcp", "0.0.0.0", 7000, "B");
    const std::string statedir = A().rundir().substr(0, A().rundir().rfind('/')) + "/state";
    auto r =
        A().run({"nsenter", "--net=/proc/" + std::to_string(::getpid()) + "/ns/net", "unshare", "-m",
                 "--propagation=slave", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                 "PERSONALNET_RUNDIR=" + A().rundir(), "PERSONALNET_STATEDIR=" + statedir,
                 "PERSONALNET_LIBEXECDIR=" + libexecdir(), bin("pnet"), "exec", "svc", "--", "sh", "-c",
                 "readlink /proc/self/ns/net; " + sh_join(probe({"connect", "tcp", "10.9.0.2", "7000"}))});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "net:[" + netns_ + "]")) << r.out;
    EXPECT_TRUE(contains(r.out, "B peer=10.9.0.1:")) << "leaves with host A's address: " << r.out;
    EXPECT_EQ(pnet({"destroy", "svc"}).rc, 0);
}

// podman: a container joins a named space's network namespace by its pin.
TEST_F(RecipeTest, PodmanContainerJoinsTheSpaceByItsPin) {
    start_podman();
    if (IsSkipped() || HasFatalFailure()) return;
    auto none = podman_run({"--network", "none"}, "true");
    if (none.rc != 0) GTEST_SKIP() << "podman cannot run a container here: " << none.err;
    make_named("pod");
    auto srv = B().serve("tcp", "0.0.0.0", 7000, "B");
    auto r = podman_run(
        {"--network", "ns:" + pin_},
        "readlink /proc/self/ns/net; ip -o addr show dev up0; timeout 5 nc 10.9.0.2 7000 </dev/null");
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "net:[" + netns_ + "]")) << r.out;
    EXPECT_TRUE(contains(r.out, "inet 10.9.0.1/32"))
        << "the space's uplink, with host A's address: " << r.out;
    EXPECT_TRUE(contains(r.out, "B peer=10.9.0.1:")) << "leaves with host A's address: " << r.out;
    EXPECT_EQ(pnet({"destroy", "pod"}).rc, 0);
}

// `ip netns exec NS mkportspace ...`: the space's parent is NS. It reaches what NS
// reaches, with NS's address; a named space made so ends with the command (ip netns exec
// gives each command a mount namespace of its own, which holds the pin), and destroy
// removes what it left in NS; `nsenter --net=/run/netns/NS` instead keeps a named space
// until it is destroyed.
TEST_F(RecipeTest, UnnamedSpaceUnderIpNetnsExecReachesWhatItsParentReaches) {
    make_netns();
    if (HasFatalFailure()) return;
    auto srv = A().serve("tcp", "10.9.8.1", 7000, "A");
    auto r = A().run(
        in_ns({bin("mkportspace"), "-q", "--", "sh", "-c",
               "ip -o addr show dev up0; " + sh_join(probe({"connect", "tcp", "10.9.8.1", "7000"}))}));
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "inet 10.9.8.2/32")) << "the parent's (NS's) address on up0: " << r.out;
    EXPECT_TRUE(contains(r.out, "A peer=10.9.8.2:")) << "leaves with NS's address: " << r.out;
    EXPECT_EQ(pnet({"gc"}).rc, 0);
    EXPECT_EQ(ns_state(), ns_baseline_);
    EXPECT_EQ(pnet({"list"}).out.find("anon-"), std::string::npos);
}

TEST_F(RecipeTest, NamedSpaceUnderIpNetnsExecIsDestroyedWithNothingLeft) {
    make_netns();
    if (HasFatalFailure()) return;
    auto srv = A().serve("tcp", "10.9.8.1", 7000, "A");
    // The space's uplink is in NS while the command runs.
    auto held =
        A().spawn(in_ns({bin("mkportspace"), "-q", "--name", "s", "--", "sh", "-c",
                         sh_join(probe({"connect", "tcp", "10.9.8.1", "7000"})) + "; read x; exit 0"}));
    EXPECT_TRUE(contains(held.read_line(10000), "A peer=10.9.8.2:"));
    auto links = A().run(in_ns({"ip", "-o", "link"}));
    EXPECT_TRUE(std::regex_search(links.out, std::regex("pn[0-9a-f]{4}h@"))) << links.out;
    held.close_stdin();
    EXPECT_EQ(held.wait(), 0);
    // The space ended with the command's mount namespace; destroy removes what it left
    // in NS and in the registry.
    auto destroyed = A().run(in_ns({bin("pnet"), "destroy", "s"}));
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    wait_for_reapers();  // the uplink goes with the namespace's teardown
    EXPECT_EQ(ns_state(), ns_baseline_);
    EXPECT_FALSE(contains(pnet({"list", "--json"}).out, "\"name\":\"s\"")) << pnet({"list"}).out;
}

TEST_F(RecipeTest, NamedSpaceUnderNsenterInAnIpNetnsStaysUntilDestroyed) {
    make_netns();
    if (HasFatalFailure()) return;
    auto srv = A().serve("tcp", "10.9.8.1", 7000, "A");
    auto made = A().run(
        {"nsenter", "--net=/run/netns/" + ns_, bin("mkportspace"), "-q", "--name", "kept", "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    // Joined later from anywhere (here host A's namespace), through its pin.
    auto r = pnet({"exec", "kept", "--", bin("pnprobe"), "connect", "tcp", "10.9.8.1", "7000"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "A peer=10.9.8.2:")) << r.out;
    auto destroyed = pnet({"destroy", "kept"});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
    wait_for_reapers();  // the uplink goes with the namespace's teardown
    EXPECT_EQ(ns_state(), ns_baseline_);
    EXPECT_FALSE(contains(pnet({"list", "--json"}).out, "\"name\":\"kept\"")) << pnet({"list"}).out;
}

}  // namespace
}  // namespace pntest
