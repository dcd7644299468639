// Spaces follow their parent's network (issue 20, part 2): an address renewed the way DHCP
// does it, a default route that moves, routes and hidden routes added and removed reach
// a named space and a space nested in it within 1 s; a killed watcher is reported and
// restarted by gc; no watcher outlives the last child (the fixture's leak check).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/netns.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

namespace nl = personalnet::netlink;
using Clock = std::chrono::steady_clock;

class FollowTest : public SpaceTest {
protected:
    void TearDown() override {
        // Host A as it was, whatever the test got to.
        for (const auto& cmd : undo_) (void)A().run(cmd);
        if (!promote_.empty())
            (void)A().run({"sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=" + promote_});
        SpaceTest::TearDown();
    }
    void on_a(const std::vector<std::string>& cmd, const std::vector<std::string>& undo = {}) {
        auto r = A().run(cmd);
        ASSERT_EQ(r.rc, 0) << sh_join(cmd) << ": " << r.err;
        if (!undo.empty()) undo_.insert(undo_.begin(), undo);
    }
    // A DHCP renewal: the new address first, then the old one goes (the new one is promoted).
    void renew(const std::string& from, const std::string& to) {
        if (promote_.empty()) {
            auto was = A().run({"sysctl", "-n", "net.ipv4.conf.eth0.promote_secondaries"});
            promote_ = was.rc == 0 && !was.out.empty() ? was.out.substr(0, was.out.find('\n')) : "0";
        }
        on_a({"sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"});
        on_a({"ip", "addr", "add", to + "/24", "dev", "eth0"});
        on_a({"ip", "addr", "del", from + "/24", "dev", "eth0"});
    }

    // What the kernel shows inside the named space (through its pin).
    template <typename T>
    T inside(const std::string& space, const std::function<T(nl::Socket&)>& look) {
        personalnet::UniqueFd pin(::open((A().rundir() + "/ns/" + space).c_str(), O_RDONLY | O_CLOEXEC));
        if (!pin.valid()) return T{};
        auto sw = personalnet::space::NetnsSwitch::enter(pin.get());
        if (!sw.ok()) return T{};
        auto s = nl::Socket::open();
        if (!s.ok()) return T{};
        return look(*s);
    }
    std::vector<std::string> addresses_in(const std::string& space) {
        return inside<std::vector<std::string>>(space, [](nl::Socket& s) {
            std::vector<std::string> out;
            auto up = nl::link_index(s, "up0");
            auto addrs = nl::list_addresses(s, AF_UNSPEC);
            if (up.ok() && addrs.ok())
                for (const auto& a : addrs.value())
                    if (a.ifindex == up.value() && a.scope == 0) out.push_back(a.prefix.addr.str());
            return out;
        });
    }
    // "DST src SRC" of each route personalnet inherited into the space (protocol 200, an
    // inherited metric: not the route to the parent's service address).
    std::vector<std::string> routes_in(const std::string& space) {
        return inside<std::vector<std::string>>(space, [](nl::Socket& s) {
            std::vector<std::string> out;
            for (int fam : {AF_INET, AF_INET6}) {
                auto routes = nl::list_routes(s, fam, 254);
                if (!routes.ok()) continue;
                for (const auto& r : routes.value())
                    if (r.protocol == 200 && r.gateway && (r.metric == 4096 || r.metric == 4095))
                        out.push_back(r.dst.str() + " src " + (r.prefsrc ? r.prefsrc->str() : "-"));
            }
            return out;
        });
    }
    static bool has(const std::vector<std::string>& v, const std::string& x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    }
    // Milliseconds until ok() holds, polled every 5 ms; -1 after 3 s.
    static long wait_ms(const std::function<bool()>& ok) {
        auto start = Clock::now();
        while (Clock::now() - start < std::chrono::seconds(3)) {
            if (ok())
                return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return -1;
    }
    // The source host B sees for a new connection from the named space.
    std::string seen_by_b(const std::string& space, const std::string& addr, int port) {
        auto r = pnet({"exec", space, "--", bin("pnprobe"), "connect", "tcp", addr, std::to_string(port),
                       "--timeout-ms", "1500"});
        auto at = r.out.find("peer=");
        if (at == std::string::npos) return "(" + r.out + r.err + ")";
        auto colon = r.out.find(':', at);
        return r.out.substr(at + 5, colon - at - 5);
    }
    // The watcher of host A's namespace, by the lock file's pid; 0 if none holds it.
    pid_t watcher_pid() {
        auto parents = personalnet::sys::list_dir(A().rundir() + "/parents");
        if (!parents.ok()) return 0;
        for (const auto& p : parents.value()) {
            auto text = personalnet::sys::read_file(A().rundir() + "/parents/" + p + "/watch");
            if (!text.ok()) continue;
            pid_t pid = std::atoi(text->c_str());
            auto cmd = personalnet::sys::read_file("/proc/" + std::to_string(pid) + "/cmdline");
            if (pid > 0 && cmd.ok() && cmd->rfind("pnwatch", 0) == 0 &&
                cmd->find(A().rundir()) != std::string::npos)
                return pid;
        }
        return 0;
    }

    std::vector<std::vector<std::string>> undo_;
    std::string promote_;  // eth0's promote_secondaries before the test changed it
};

// Host A's address renewed (add the new, delete the old): the space carries the new one
// and not the old within 1 s, its new connections leave with it (host B sees it), and
// pnet show lists it.
TEST_F(FollowTest, ARenewedAddressReachesTheSpace) {
    ASSERT_EQ(mk({"--name", "roam", "--", "true"}).rc, 0);
    auto b = B().serve("tcp", "0.0.0.0", 9100, "b");
    EXPECT_EQ(seen_by_b("roam", "10.9.0.2", 9100), "10.9.0.1");
    ASSERT_NE(watcher_pid(), 0) << "one watcher for host A's namespace";

    renew("10.9.0.1", "10.9.0.5");
    undo_.insert(undo_.begin(), {"ip", "addr", "del", "10.9.0.5/24", "dev", "eth0"});
    undo_.insert(undo_.begin(), {"ip", "addr", "add", "10.9.0.1/24", "dev", "eth0"});
    long ms = wait_ms([&] {
        auto a = addresses_in("roam");
        return has(a, "10.9.0.5") && !has(a, "10.9.0.1");
    });
    std::printf("[ timing ] host address renewal reached the space in %ld ms\n", ms);
    ASSERT_GE(ms, 0) << "never followed";
    EXPECT_LE(ms, 1000);
    EXPECT_TRUE(has(addresses_in("roam"), "fd00:9::1")) << "the other family is untouched";
    EXPECT_EQ(seen_by_b("roam", "10.9.0.2", 9100), "10.9.0.5");
    EXPECT_TRUE(contains(pnet({"show", "roam"}).out, "addresses:   10.9.0.5 fd00:9::1\n"))
        << pnet({"show", "roam"}).out;
    EXPECT_TRUE(has(routes_in("roam"), "10.7.0.0/16 src 10.9.0.5")) << "routes are sent from the new one";

    // And back, as a later renewal would.
    renew("10.9.0.5", "10.9.0.1");
    undo_.clear();
    EXPECT_GE(wait_ms([&] {
                  auto a = addresses_in("roam");
                  return has(a, "10.9.0.1") && !has(a, "10.9.0.5");
              }),
              0);
    EXPECT_EQ(seen_by_b("roam", "10.9.0.2", 9100), "10.9.0.1");
    b.kill(9);
    EXPECT_EQ(pnet({"destroy", "roam"}).rc, 0);
    EXPECT_EQ(watcher_pid(), 0) << "the watcher goes with the last child";
}

// Routes added and removed in the parent reach the space; a hidden one never does; a
// space without inherited routes gets none; the default route moving to another source
// address moves with it.
TEST_F(FollowTest, RoutesFollowAndHiddenOnesStayHidden) {
    ASSERT_EQ(mk({"--name", "r1", "--hide-route", "10.8.0.0/16", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "r2", "--no-inherit-routes", "--", "true"}).rc, 0);
    on_a({"ip", "route", "add", "10.8.0.0/16", "via", "10.9.0.2"}, {"ip", "route", "del", "10.8.0.0/16"});
    on_a({"ip", "route", "add", "10.6.0.0/16", "via", "10.9.0.2"}, {"ip", "route", "del", "10.6.0.0/16"});
    on_a({"ip", "-6", "route", "add", "fd00:6::/64", "via", "fd00:9::2"},
         {"ip", "-6", "route", "del", "fd00:6::/64"});
    long ms = wait_ms([&] {
        auto r = routes_in("r1");
        return has(r, "10.6.0.0/16 src 10.9.0.1") && has(r, "fd00:6::/64 src fd00:9::1");
    });
    std::printf("[ timing ] a new host route reached the space in %ld ms\n", ms);
    ASSERT_GE(ms, 0) << sh_join(routes_in("r1"));
    EXPECT_LE(ms, 1000);
    usleep(300 * 1000);  // the hidden one was added first: it would be there by now
    EXPECT_FALSE(has(routes_in("r1"), "10.8.0.0/16 src 10.9.0.1")) << sh_join(routes_in("r1"));
    EXPECT_TRUE(routes_in("r2").empty()) << sh_join(routes_in("r2"));

    on_a({"ip", "route", "del", "10.6.0.0/16"});
    on_a({"ip", "-6", "route", "del", "fd00:6::/64"});
    EXPECT_GE(wait_ms([&] {
                  auto r = routes_in("r1");
                  return !has(r, "10.6.0.0/16 src 10.9.0.1") && !has(r, "fd00:6::/64 src fd00:9::1");
              }),
              0)
        << sh_join(routes_in("r1"));
    EXPECT_TRUE(has(routes_in("r1"), "10.7.0.0/16 src 10.9.0.1")) << "the others stay";

    // The default route appears, then moves to another source address (a second uplink).
    B().run({"ip", "addr", "add", "10.5.0.1/32", "dev", "lo"});
    auto b = B().serve("tcp", "10.5.0.1", 9101, "b");
    on_a({"ip", "route", "add", "default", "via", "10.9.0.2"}, {"ip", "route", "del", "default"});
    EXPECT_GE(wait_ms([&] { return has(routes_in("r1"), "0.0.0.0/0 src 10.9.0.1"); }), 0);
    EXPECT_EQ(seen_by_b("r1", "10.5.0.1", 9101), "10.9.0.1");
    on_a({"ip", "addr", "add", "10.9.0.6/24", "dev", "eth0"},
         {"ip", "addr", "del", "10.9.0.6/24", "dev", "eth0"});
    on_a({"ip", "route", "replace", "default", "via", "10.9.0.2", "src", "10.9.0.6"});
    ms = wait_ms([&] { return has(routes_in("r1"), "0.0.0.0/0 src 10.9.0.6"); });
    std::printf("[ timing ] the moved default route reached the space in %ld ms\n", ms);
    ASSERT_GE(ms, 0) << sh_join(routes_in("r1"));
    EXPECT_LE(ms, 1000);
    EXPECT_EQ(seen_by_b("r1", "10.5.0.1", 9101), "10.9.0.6");
    on_a({"ip", "route", "del", "default"});
    EXPECT_GE(wait_ms([&] {
                  auto r = routes_in("r1");
                  return std::none_of(r.begin(), r.end(),
                                      [](const auto& x) { return x.rfind("0.0.0.0/0", 0) == 0; });
              }),
              0)
        << sh_join(routes_in("r1"));
    b.kill(9);
    B().run({"ip", "addr", "del", "10.5.0.1/32", "dev", "lo"});
    for (const auto& cmd : undo_) (void)A().run(cmd);
    undo_.clear();
    EXPECT_EQ(pnet({"destroy", "r1"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "r2"}).rc, 0);
}

// A space nested in a named space follows too: the named space's own watcher sees its
// uplink's addresses change and passes them on.
TEST_F(FollowTest, NestedSpacesFollow) {
    ASSERT_EQ(mk({"--name", "outer", "--file-space=none", "--", "true"}).rc, 0);
    auto inner = pnet({"exec", "outer", "--", bin("mkportspace"), "-q", "--name", "inner",
                       "--file-space=none", "--", "true"});
    ASSERT_EQ(inner.rc, 0) << inner.err;
    ASSERT_TRUE(has(addresses_in("inner"), "10.9.0.1")) << sh_join(addresses_in("inner"));
    auto b = B().serve("tcp", "0.0.0.0", 9102, "b");

    renew("10.9.0.1", "10.9.0.5");
    undo_.insert(undo_.begin(), {"ip", "addr", "del", "10.9.0.5/24", "dev", "eth0"});
    undo_.insert(undo_.begin(), {"ip", "addr", "add", "10.9.0.1/24", "dev", "eth0"});
    auto followed = [&](const std::string& space) {
        auto a = addresses_in(space);
        return has(a, "10.9.0.5") && !has(a, "10.9.0.1");
    };
    long ms = wait_ms([&] { return followed("inner"); });
    std::printf("[ timing ] host address renewal reached the nested space in %ld ms\n", ms);
    ASSERT_GE(ms, 0) << sh_join(addresses_in("inner"));
    EXPECT_LE(ms, 1000);
    EXPECT_TRUE(followed("outer"));
    EXPECT_EQ(seen_by_b("inner", "10.9.0.2", 9102), "10.9.0.5");
    renew("10.9.0.5", "10.9.0.1");
    undo_.clear();
    EXPECT_GE(wait_ms([&] { return has(addresses_in("inner"), "10.9.0.1"); }), 0);
    b.kill(9);
    EXPECT_EQ(pnet({"destroy", "inner"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

// An unnamed space (no pin: reached where its inode shows, with its recorded cookie)
// follows too, and its watcher goes with it when its command ends.
TEST_F(FollowTest, AnUnnamedSpaceFollows) {
    Proc p = A().spawn({bin("mkportspace"), "-q", "--file-space=none", "--", "sh", "-c",
                        "echo ready; read x; ip -o addr show dev up0"});
    ASSERT_EQ(p.read_line(), "ready");
    renew("10.9.0.1", "10.9.0.5");
    undo_.insert(undo_.begin(), {"ip", "addr", "del", "10.9.0.5/24", "dev", "eth0"});
    undo_.insert(undo_.begin(), {"ip", "addr", "add", "10.9.0.1/24", "dev", "eth0"});
    usleep(1000 * 1000);  // the window
    p.close_stdin();
    std::string out;
    for (std::string line = p.read_line(); !line.empty(); line = p.read_line()) out += line + "\n";
    EXPECT_EQ(p.wait(), 0);
    EXPECT_TRUE(contains(out, "inet 10.9.0.5/32")) << out;
    EXPECT_FALSE(contains(out, "inet 10.9.0.1/32")) << out;
    renew("10.9.0.5", "10.9.0.1");
    undo_.clear();
}

// A killed watcher: pnet show and list say the space's addresses are stale, gc starts a
// new one, which follows again.
TEST_F(FollowTest, AKilledWatcherIsReportedAndRestartedByGc) {
    ASSERT_EQ(mk({"--name", "w1", "--", "true"}).rc, 0);
    EXPECT_FALSE(contains(pnet({"show", "w1"}).out, "stale"));
    EXPECT_TRUE(contains(pnet({"show", "w1", "--json"}).out, "\"addresses_stale\":false"));
    pid_t pid = watcher_pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_GE(wait_ms([&] {
                  return !personalnet::sys::pid_alive(pid) || contains(pnet({"show", "w1"}).out, "stale");
              }),
              0);
    auto show = pnet({"show", "w1"});
    EXPECT_TRUE(
        contains(show.out, "addresses:   10.9.0.1 fd00:9::1 (stale: no watcher; pnet gc restarts it)\n"))
        << show.out;
    EXPECT_TRUE(contains(pnet({"show", "w1", "--json"}).out, "\"addresses_stale\":true"));
    EXPECT_TRUE(contains(pnet({"list"}).out, "(addresses stale: no watcher)")) << pnet({"list"}).out;

    ASSERT_EQ(pnet({"gc"}).rc, 0);
    pid_t again = watcher_pid();
    EXPECT_GT(again, 0);
    EXPECT_NE(again, pid);
    EXPECT_FALSE(contains(pnet({"show", "w1"}).out, "stale")) << pnet({"show", "w1"}).out;
    on_a({"ip", "addr", "add", "10.9.0.7/24", "dev", "eth0"},
         {"ip", "addr", "del", "10.9.0.7/24", "dev", "eth0"});
    EXPECT_GE(wait_ms([&] { return has(addresses_in("w1"), "10.9.0.7"); }), 0) << sh_join(addresses_in("w1"));
    for (const auto& cmd : undo_) (void)A().run(cmd);
    undo_.clear();
    EXPECT_GE(wait_ms([&] { return !has(addresses_in("w1"), "10.9.0.7"); }), 0);
    EXPECT_EQ(pnet({"destroy", "w1"}).rc, 0);
    EXPECT_EQ(watcher_pid(), 0);
}

// The pid in a watcher's lock file may name another process (written in the numbers of
// a creator's PID namespace, or reused): the last child's release kills only the process
// that holds that very lock file, never the one the number names here. The watcher,
// left alone, ends by itself at the next change in its parent.
TEST_F(FollowTest, AWatcherPidNamingAnotherProcessKillsNothing) {
    ASSERT_EQ(mk({"--name", "w2", "--", "true"}).rc, 0);
    pid_t watcher = watcher_pid();
    ASSERT_GT(watcher, 0) << "the lock file names the watcher";
    auto bystander = A().spawn({"sleep", "30"});
    std::string lock;
    auto parents = personalnet::sys::list_dir(A().rundir() + "/parents");
    ASSERT_TRUE(parents.ok());
    for (const auto& p : parents.value())
        if (::access((A().rundir() + "/parents/" + p + "/watch").c_str(), F_OK) == 0)
            lock = A().rundir() + "/parents/" + p + "/watch";
    ASSERT_FALSE(lock.empty());
    {
        // In place: the watcher's lock is on this inode.
        const std::string text = std::to_string(bystander.pid()) + "\n";
        personalnet::UniqueFd fd(::open(lock.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
    }
    EXPECT_EQ(pnet({"destroy", "w2"}).rc, 0);
    EXPECT_TRUE(personalnet::sys::pid_alive(bystander.pid())) << "the process the number named was killed";
    bystander.kill(SIGKILL);
    (void)bystander.wait();
    // A change in A: the watcher finds its parent state gone and ends.
    on_a({"ip", "addr", "add", "10.9.0.8/24", "dev", "eth0"},
         {"ip", "addr", "del", "10.9.0.8/24", "dev", "eth0"});
    EXPECT_GE(wait_ms([&] { return !personalnet::sys::pid_alive(watcher); }), 0) << "the watcher did not end";
    for (const auto& cmd : undo_) (void)A().run(cmd);
    undo_.clear();
}

// pnwatch checks every argument and refuses anything it was not started with by the
// library (exit 2), before it touches the registry.
TEST_F(FollowTest, TheWatcherRefusesBadArguments) {
    const std::string w = build_dir() + "/libexec/pnwatch";
    const std::string run = A().rundir();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {run, "/var/lib/personalnet", "4026531840", "3"},
             {"run", "/var/lib/personalnet", "4026531840", "3", "4"},
             {run + "/../x", "/var/lib/personalnet", "4026531840", "3", "4"},
             {run, "/var/lib/personalnet", "0", "3", "4"},
             {run, "/var/lib/personalnet", "04026531840", "3", "4"},
             {run, "/var/lib/personalnet", "-1", "3", "4"},
             {run, "/var/lib/personalnet", "4026531840", "1", "4"},
             {run, "/var/lib/personalnet", "4026531840", "3", "4"},  // neither is open
             {run, "/var/lib/personalnet", "4026531840", "3", "-", "fresh"},
             {run, "/var/lib/personalnet", "4026531840", "3", "4", "fresh"},
             {run, "/var/lib/personalnet", "4026531840", "3", "4", "again"},
         }) {
        std::vector<std::string> argv{w};
        argv.insert(argv.end(), args.begin(), args.end());
        EXPECT_EQ(A().run(argv).rc, 2) << sh_join(argv);
    }
}

}  // namespace
}  // namespace pntest
