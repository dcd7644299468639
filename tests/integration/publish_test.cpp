// mkportspace --publish (issue 20): a space's listener reached from host B at host A's
// own address and port, with B's own address; what refuses a port; nothing left behind.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

class PublishTest : public SpaceTest {
protected:
    // A server in the named space (pnet exec), listening once this returns.
    Proc serve_in(const std::string& space, const std::string& proto, const std::string& addr, int port,
                  const std::string& reply) {
        Proc p = A().spawn({bin("pnet"), "exec", space, "--", bin("pnprobe"), "serve", proto, addr,
                            std::to_string(port), "--reply", reply});
        EXPECT_EQ(p.read_line(), "listening") << space << " " << proto << "/" << port;
        return p;
    }
    // pnprobe connect from host B.
    RunResult from_b(const std::string& proto, const std::string& addr, int port) {
        return B().run(probe({"connect", proto, addr, std::to_string(port), "--timeout-ms", "1500"}));
    }
    // What host A's parent table publishes (empty when there is no table).
    std::string published_in_a() {
        return A().run({"nft", "list", "map", "inet", "personalnet_parent", "published"}).out;
    }
    static size_t lines(const std::string& s) {
        return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
    }
};

// Host B reaches the space's servers through A's address, TCP and UDP, IPv4 and IPv6, and
// each server sees B's own address; a port published under another number reaches the
// space's listener on that one. pnet show lists the ports; destroy removes them.
TEST_F(PublishTest, HostBReachesTheSpaceWithItsOwnAddress) {
    auto made = mk({"--name", "web", "--publish", "tcp/8080", "--publish", "udp/5353", "--publish",
                    "tcp/8081:80", "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    auto tcp = serve_in("web", "tcp", "::", 8080, "web-tcp");
    auto udp = serve_in("web", "udp", "::", 5353, "web-udp");
    auto inner = serve_in("web", "tcp", "0.0.0.0", 80, "web-80");

    auto r = from_b("tcp", "10.9.0.1", 8080);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "web-tcp peer=10.9.0.2:")) << r.out << r.err;
    auto r6 = from_b("tcp", "fd00:9::1", 8080);
    EXPECT_EQ(r6.rc, 0) << r6.err;
    EXPECT_TRUE(contains(r6.out, "web-tcp peer=fd00:9::2:")) << r6.out << r6.err;
    auto ru = from_b("udp", "10.9.0.1", 5353);
    EXPECT_EQ(ru.rc, 0) << ru.err;
    EXPECT_TRUE(contains(ru.out, "web-udp peer=10.9.0.2:")) << ru.out << ru.err;
    auto ru6 = from_b("udp", "fd00:9::1", 5353);
    EXPECT_TRUE(contains(ru6.out, "web-udp peer=fd00:9::2:")) << ru6.out << ru6.err;
    auto rm = from_b("tcp", "10.9.0.1", 8081);
    EXPECT_EQ(rm.rc, 0) << rm.err;
    EXPECT_TRUE(contains(rm.out, "web-80 peer=10.9.0.2:")) << rm.out << rm.err;
    // Only what is published: the space's listener on 80 is not reached on A's port 80.
    auto unpublished = from_b("tcp", "10.9.0.1", 80);
    EXPECT_NE(unpublished.rc, 0) << unpublished.out;
    EXPECT_FALSE(contains(unpublished.out, "web-80")) << unpublished.out;

    auto show = pnet({"show", "web"});
    EXPECT_TRUE(contains(show.out, "published:   tcp/8080 udp/5353 tcp/8081:80")) << show.out;
    auto json = pnet({"show", "web", "--json"});
    EXPECT_TRUE(contains(json.out, "\"published\":[\"tcp/8080\",\"udp/5353\",\"tcp/8081:80\"]")) << json.out;
    auto list = pnet({"list", "--json"});
    EXPECT_TRUE(contains(list.out, "\"published\":[\"tcp/8080\"")) << list.out;

    tcp.kill(9);
    udp.kill(9);
    inner.kill(9);
    ASSERT_EQ(pnet({"destroy", "web"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_) << "destroy leaves nothing";
    auto after = from_b("tcp", "10.9.0.1", 8080);
    EXPECT_NE(after.rc, 0) << after.out;
    EXPECT_TRUE(contains(after.err, "Connection refused")) << after.err;
}

// A published port without a listener in the space is refused there at once (it is not
// handed back to the host), and a space without publishes is reached by nobody.
TEST_F(PublishTest, NoListenerInTheSpaceIsRefused) {
    auto made = A().run({bin("mkportspace"), "--name", "quiet", "--publish", "tcp/8082", "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    EXPECT_TRUE(contains(made.err, "addresses: 10.9.0.1 fd00:9::1; publishes tcp/8082\n")) << made.err;
    auto host = A().serve("tcp", "0.0.0.0", 8083, "host-A");  // after the publish: not a conflict
    auto r = from_b("tcp", "10.9.0.1", 8082);
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_TRUE(contains(r.err, "Connection refused")) << r.err;
    auto other = from_b("tcp", "10.9.0.1", 8083);
    EXPECT_TRUE(contains(other.out, "host-A peer=10.9.0.2:"))
        << "unpublished ports stay the host's: " << other.out;
    EXPECT_EQ(pnet({"destroy", "quiet"}).rc, 0);
}

// A port the host listens on (TCP) or has a socket bound to (UDP), or that another space
// publishes, is refused in one line naming the holder, exit 2, and nothing is made.
// A listener on a loopback address only is not in the way: other hosts never reach it.
TEST_F(PublishTest, HeldPortsAreRefusedNamingTheHolder) {
    auto tcp = A().serve("tcp", "0.0.0.0", 8090, "host-tcp");
    auto udp = A().serve("udp", "::", 8091, "host-udp");
    auto local = A().serve("tcp", "127.0.0.1", 8092, "host-local");
    ASSERT_EQ(mk({"--name", "first", "--publish", "tcp/8093", "--", "true"}).rc, 0);
    const std::string before = A().snapshot();

    struct Case {
        std::vector<std::string> args;
        std::string needle;
    };
    for (const Case& c : std::vector<Case>{
             {{"--publish", "tcp/8090"},
              "cannot publish tcp/8090: tcp/8090 is in use in the host: a socket on "
              "0.0.0.0:8090 (uid 0) listens on it"},
             {{"--publish", "udp/8091:53"},
              "cannot publish udp/8091:53: udp/8091 is in use in the host: a socket "
              "on [::]:8091 (uid 0) is bound to it"},
             {{"--publish", "tcp/8093"},
              "cannot publish tcp/8093: tcp/8093 is already published by space 'first'"},
             {{"--name", "second", "--publish", "tcp/9000", "--publish", "tcp/8093:80"},
              "tcp/8093 is already published by space 'first'"},
         }) {
        std::vector<std::string> args = c.args;
        args.insert(args.end(), {"--", "true"});
        auto r = mk(args);
        EXPECT_EQ(r.rc, 2) << c.needle << ": " << r.err;
        EXPECT_TRUE(contains(r.err, c.needle)) << "want '" << c.needle << "' in: " << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
        EXPECT_EQ(A().snapshot(), before) << c.needle << ": the refusal left something";
    }
    EXPECT_NE(pnet({"show", "second"}).rc, 0);
    // Loopback only, and the same number for the other protocol: free.
    auto ok = mk({"--name", "third", "--publish", "tcp/8092", "--publish", "udp/8093", "--", "true"});
    EXPECT_EQ(ok.rc, 0) << ok.err;
    EXPECT_EQ(pnet({"destroy", "third"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "first"}).rc, 0);
    EXPECT_EQ(published_in_a(), "") << "the parent table goes with the last child";
}

// A nested space publishes in its parent space, which publishes the same port on the host:
// B reaches the inner space's server through both, with its own address. Whose port it
// is in the parent space is checked there: the parent's own listener refuses it.
TEST_F(PublishTest, NestedSpacesPublishThroughTheirParent) {
    ASSERT_EQ(mk({"--name", "outer", "--publish", "tcp/8084", "--publish", "udp/8085:85", "--", "true"}).rc,
              0);
    auto inner = pnet({"exec", "outer", "--", bin("mkportspace"), "-q", "--name", "inner", "--publish",
                       "tcp/8084", "--publish", "udp/85", "--", "true"});
    ASSERT_EQ(inner.rc, 0) << inner.err;
    auto tcp = serve_in("inner", "tcp", "::", 8084, "inner-tcp");
    auto udp = serve_in("inner", "udp", "0.0.0.0", 85, "inner-udp");
    auto r = from_b("tcp", "10.9.0.1", 8084);
    EXPECT_TRUE(contains(r.out, "inner-tcp peer=10.9.0.2:")) << r.out << r.err;
    auto r6 = from_b("tcp", "fd00:9::1", 8084);
    EXPECT_TRUE(contains(r6.out, "inner-tcp peer=fd00:9::2:")) << r6.out << r6.err;
    auto ru = from_b("udp", "10.9.0.1", 8085);
    EXPECT_TRUE(contains(ru.out, "inner-udp peer=10.9.0.2:")) << ru.out << ru.err;
    EXPECT_TRUE(contains(pnet({"show", "inner"}).out, "published:   tcp/8084 udp/85"))
        << pnet({"show", "inner"}).out;

    auto held = A().spawn({bin("pnet"), "exec", "outer", "--", bin("pnprobe"), "serve", "tcp", "0.0.0.0",
                           "8086", "--reply", "outer"});
    ASSERT_EQ(held.read_line(), "listening");
    auto refused =
        pnet({"exec", "outer", "--", bin("mkportspace"), "-q", "--publish", "tcp/8086", "--", "true"});
    EXPECT_EQ(refused.rc, 2) << refused.err;
    EXPECT_TRUE(contains(refused.err, "tcp/8086 is in use in space 'outer': a socket on 0.0.0.0:8086"))
        << refused.err;
    held.kill(9);
    tcp.kill(9);
    udp.kill(9);
    EXPECT_EQ(pnet({"destroy", "inner"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

// Creations that publish one port at once: the registry lock lets exactly one have it.
TEST_F(PublishTest, ParallelCreationsOfOnePortHaveOneWinner) {
    constexpr int kRacers = 8;
    std::vector<Proc> racers;
    for (int i = 0; i < kRacers; ++i)
        racers.push_back(A().spawn({bin("mkportspace"), "-q", "--name", "racer" + std::to_string(i),
                                    "--publish", "tcp/7200", "--", "true"}));
    int won = 0;
    for (auto& p : racers) won += p.wait() == 0;
    EXPECT_EQ(won, 1);
    std::string winners;
    for (int i = 0; i < kRacers; ++i) {
        const std::string name = "racer" + std::to_string(i);
        if (pnet({"show", name}).rc == 0) {
            winners += name + " ";
            EXPECT_EQ(pnet({"destroy", name}).rc, 0);
        }
    }
    EXPECT_EQ(std::count(winners.begin(), winners.end(), ' '), 1) << winners;
}

// Bad specifications: exit 2, one line naming the value, nothing created.
TEST_F(PublishTest, BadSpecificationsExitTwoNamingTheValue) {
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--publish", "tcp/0"}, "'tcp/0'"},
             {{"--publish", "tcp/70000"}, "'tcp/70000'"},
             {{"--publish", "sctp/80"}, "'sctp/80'"},
             {{"--publish", "tcp/8080:"}, "'tcp/8080:'"},
             {{"--publish", "tcp/8080:0"}, "'tcp/8080:0'"},
             {{"--publish", "8080"}, "'8080'"},
             {{"--publish", "tcp/80x"}, "'tcp/80x'"},
             {{"--publish", ""}, "''"},
             {{"--publish", "udp/4500"}, "'udp/4500'"},
             {{"--publish", "tcp/8080", "--publish", "tcp/8080:80"},
              "'tcp/8080:80': tcp/8080 is already published as 'tcp/8080'"},
             {{"--publish", "udp/53", "--publish", "udp/53"}, "'udp/53'"},
         }) {
        std::vector<std::string> argv = args;
        argv.insert(argv.end(), {"--", "true"});
        auto r = mk(argv);
        EXPECT_EQ(r.rc, 2) << needle << ": " << r.err;
        EXPECT_TRUE(contains(r.err, needle)) << "want " << needle << " in: " << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
    }
    EXPECT_EQ(A().snapshot(), baseline_);
}

// Two spaces under one parent: destroying the publisher takes its ports and leaves the
// other's; gc removes the ports of a space whose supervisor was killed, and of a creation
// killed half-way.
TEST_F(PublishTest, DestroyAndGcRemoveWhatASpacePublished) {
    ASSERT_EQ(mk({"--name", "keeper", "--publish", "udp/7100", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "pub", "--publish", "tcp/7101:81", "--", "true"}).rc, 0);
    EXPECT_TRUE(contains(published_in_a(), "tcp . 7101")) << published_in_a();
    ASSERT_EQ(pnet({"destroy", "pub"}).rc, 0);
    std::string left = published_in_a();
    EXPECT_FALSE(contains(left, "7101")) << left;
    EXPECT_TRUE(contains(left, "udp . 7100")) << left;
    auto portmap = A().run({"nft", "list", "map", "inet", "personalnet_parent", "portmap"});
    EXPECT_FALSE(contains(portmap.out, "7101")) << portmap.out;

    // An unnamed space whose supervisor and command are killed: gc finds it dead.
    Proc sup = A().spawn(
        {bin("mkportspace"), "-q", "--publish", "tcp/7102", "--", "sh", "-c", "echo $$; exec sleep 60"});
    const std::string command = sup.read_line();  // the pid of the space's command (sleep, after exec)
    ASSERT_FALSE(command.empty());
    EXPECT_TRUE(contains(published_in_a(), "tcp . 7102")) << published_in_a();
    ::kill(sup.pid(), SIGKILL);  // the supervisor only; its command lives on, then is killed
    sup.wait();
    // $$ is the command's pid in the space's own PID namespace: the host's is found by it.
    ::kill(host_pid_of("sleep", static_cast<pid_t>(std::stoi(command))), SIGKILL);
    // Creations killed at random points, each publishing the same port: whichever got far
    // enough held it, and gc frees it.
    for (int i = 0; i < 12; ++i) {
        Proc p = A().spawn({bin("mkportspace"), "-q", "--name", "k" + std::to_string(i), "--publish",
                            "tcp/7103", "--", "true"});
        std::this_thread::sleep_for(std::chrono::microseconds(1000 * i));
        ::kill(p.pid(), SIGKILL);
        p.wait();
    }
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    for (int i = 0; i < 12; ++i) {
        const std::string name = "k" + std::to_string(i);
        if (pnet({"show", name}).rc == 0) {
            EXPECT_EQ(pnet({"destroy", name}).rc, 0) << name;
        }
    }
    left = published_in_a();
    EXPECT_FALSE(contains(left, "7102")) << left;
    EXPECT_FALSE(contains(left, "7103")) << left;
    auto again = mk({"--name", "again", "--publish", "tcp/7102", "--publish", "tcp/7103", "--", "true"});
    EXPECT_EQ(again.rc, 0) << "the ports are free again: " << again.err;
    EXPECT_EQ(pnet({"destroy", "again"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "keeper"}).rc, 0);
}

}  // namespace
}  // namespace pntest
