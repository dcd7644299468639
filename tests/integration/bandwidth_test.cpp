// mkportspace --bandwidth (issue 22): a space's traffic shaped on its uplink, each way,
// with both SPI dispatchers, measured with iperf3 against host B while an unlimited
// sibling runs beside it; the shaper lives in the parent (host A) where the space's owner
// cannot reach it, and goes with the space; bad rates change nothing; the uplink's
// counters (SpaceInfo::usage) grow by what iperf3 moved.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <thread>

#include "personalnet/space.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

namespace pn = personalnet;

// What iperf3's summary says the receiver got, in Mbit/s; -1 when it has no such line.
double received_mbits(const std::string& out) {
    static const std::regex line(R"(([0-9.]+) ([KMG])bits/sec[^\n]*receiver)");
    std::smatch m;
    if (!std::regex_search(out, m, line)) return -1;
    double v = std::stod(m[1].str());
    char unit = m[2].str()[0];
    return unit == 'G' ? v * 1000 : unit == 'K' ? v / 1000 : v;
}

class BandwidthBase {
protected:
    // An iperf3 server on host B (one test, then it ends), listening once this returns.
    static Proc iperf_server(Host& b, int port) {
        Proc p = b.spawn({"iperf3", "-s", "-1", "--forceflush", "-p", std::to_string(port)});
        for (int i = 0; i < 5; ++i)
            if (p.read_line(3000).find("listening") != std::string::npos) break;
        return p;
    }
    // One iperf3 run (argv as client() makes it) against a fresh server on b's port 5201.
    static RunResult iperf_once(Host& a, Host& b, const std::vector<std::string>& argv) {
        Proc s = iperf_server(b, 5201);
        auto r = a.run(argv, 30000);
        s.kill(9);
        s.wait();
        return r;
    }
    // iperf3 from the named space to host B: upload, or download with reverse.
    static std::vector<std::string> client(const std::string& space, int port, bool reverse,
                                           const std::string& addr = "10.9.0.2") {
        std::vector<std::string> argv = {
            bin("pnet"),          "exec", space, "--", "iperf3", "-c", addr, "-p",
            std::to_string(port), "-t",   "5",   "-O", "1",      "-f", "m"};
        if (reverse) argv.push_back("-R");
        return argv;
    }
    // The named space's SpaceInfo as show_space gives it in host A ("" error = ok).
    static std::string show(Host& a, const std::string& name, pn::SpaceInfo& out) {
        const std::string rundir = a.rundir();
        std::string r = run_in_host(a, [&]() -> std::string {
            pn::Context ctx;
            ctx.rundir = rundir;
            ctx.statedir = rundir.substr(0, rundir.rfind('/')) + "/state";
            auto i = pn::show_space(name, ctx);
            if (!i.ok()) return "!" + i.error().message();
            const auto& u = i->usage;
            return std::to_string(i->limits.rate_in) + " " + std::to_string(i->limits.rate_out) + " " +
                   std::to_string(u.rx_bytes) + " " + std::to_string(u.rx_packets) + " " +
                   std::to_string(u.tx_bytes) + " " + std::to_string(u.tx_packets);
        });
        if (r.empty() || r[0] == '!') return r.empty() ? "no answer" : r.substr(1);
        std::istringstream in(r);
        in >> out.limits.rate_in >> out.limits.rate_out >> out.usage.rx_bytes >> out.usage.rx_packets >>
            out.usage.tx_bytes >> out.usage.tx_packets;
        return "";
    }
};

// Host A's state once a destroyed space's namespace is gone: its sockets may hold it
// for a few seconds (those of an iperf3 whose unsent data drains at the shaped rate),
// and the reaper releases the rest after that (within 30 s).
#define EXPECT_SETTLED(test)                                             \
    do {                                                                 \
        std::string now = (test)->settled_snapshot();                    \
        for (int i = 0; i < 60 && now != (test)->baseline_; ++i) {       \
            std::this_thread::sleep_for(std::chrono::milliseconds(500)); \
            now = (test)->settled_snapshot();                            \
        }                                                                \
        EXPECT_EQ(now, (test)->baseline_) << "destroy leaves nothing";   \
    } while (0)

class BandwidthTest : public SpaceTest, protected BandwidthBase {};
class BandwidthDispatchTest : public DispatcherTest, protected BandwidthBase {};

// 10 Mbit/s each way holds (9-10.5 Mbit/s at the receiver) while an unlimited sibling,
// at the same time, gets clearly more; upload, then download (iperf3 -R).
TEST_P(BandwidthDispatchTest, LimitHoldsEachWayBesideAnUnlimitedSibling) {
    ASSERT_EQ(mk({"--name", "slow", "--bandwidth", "10M", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "free", "--", "true"}).rc, 0);
    for (bool reverse : {false, true}) {
        SCOPED_TRACE(reverse ? "download (-R)" : "upload");
        Proc s1 = iperf_server(B(), 5201);
        Proc s2 = iperf_server(B(), 5202);
        Proc fast = A().spawn(client("free", 5202, reverse));
        auto slow = A().run(client("slow", 5201, reverse), 30000);
        std::string fast_out;
        for (int i = 0; i < 40; ++i) {
            std::string l = fast.read_line(10000);
            fast_out += l + "\n";
            if (l.find("receiver") != std::string::npos) break;
        }
        fast.wait();
        ASSERT_EQ(slow.rc, 0) << slow.out << slow.err;
        double limited = received_mbits(slow.out), free = received_mbits(fast_out);
        EXPECT_GE(limited, 9.0) << slow.out;
        EXPECT_LE(limited, 10.5) << slow.out;
        EXPECT_GT(free, 30.0) << fast_out;
        std::printf("measured %s: limited space %.2f Mbit/s, unlimited sibling %.1f Mbit/s\n",
                    reverse ? "download" : "upload", limited, free);
        s1.kill(9);
        s2.kill(9);
        s1.wait();
        s2.wait();
    }
    ASSERT_EQ(pnet({"destroy", "slow"}).rc, 0);
    ASSERT_EQ(pnet({"destroy", "free"}).rc, 0);
    EXPECT_SETTLED(this);
}

INSTANTIATE_TEST_SUITE_P(Dispatchers, BandwidthDispatchTest, both_dispatchers(), dispatcher_name);

// IN/OUT: different rates each way; the shaper is in host A (a tbf on the parent-side
// veth, an ifb of the space's own) and SpaceInfo::limits says what was asked; destroy
// removes the ifb too.
TEST_F(BandwidthTest, ShaperSitsOnTheParentSideAndGoesWithTheSpace) {
    auto made = mk({"--name", "isp", "--bandwidth", "20M/4M", "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    pn::SpaceInfo info;
    ASSERT_EQ(show(A(), "isp", info), "");
    EXPECT_EQ(info.limits.rate_in, 20'000'000u);
    EXPECT_EQ(info.limits.rate_out, 4'000'000u);
    auto links = A().run({"ip", "-o", "link", "show"});
    EXPECT_TRUE(std::regex_search(links.out, std::regex(R"(pn[0-9a-f]{4}s: .*UP)"))) << links.out;
    auto qd = A().run({"tc", "qdisc", "show"});
    EXPECT_TRUE(
        std::regex_search(qd.out, std::regex(R"(qdisc tbf 1: dev pn[0-9a-f]{4}h root .*rate 20Mbit)")))
        << qd.out;
    EXPECT_TRUE(std::regex_search(qd.out, std::regex(R"(qdisc tbf 1: dev pn[0-9a-f]{4}s root .*rate 4Mbit)")))
        << qd.out;
    EXPECT_TRUE(std::regex_search(qd.out, std::regex(R"(qdisc clsact ffff: dev pn[0-9a-f]{4}h)"))) << qd.out;
    // Download, then upload, at about their rates.
    {
        auto down = iperf_once(A(), B(), client("isp", 5201, true));
        double m = received_mbits(down.out);
        EXPECT_GE(m, 18.0) << down.out;
        EXPECT_LE(m, 21.0) << down.out;
    }
    {
        auto up = iperf_once(A(), B(), client("isp", 5201, false));
        double m = received_mbits(up.out);
        EXPECT_GE(m, 3.6) << up.out;
        EXPECT_LE(m, 4.2) << up.out;
    }
    ASSERT_EQ(pnet({"destroy", "isp"}).rc, 0);
    EXPECT_SETTLED(this);
}

// Without --bandwidth nothing is made: no qdisc on the uplink, no ifb.
TEST_F(BandwidthTest, NoLimitMakesNoShaper) {
    ASSERT_EQ(mk({"--name", "plain", "--", "true"}).rc, 0);
    auto qd = A().run({"tc", "qdisc", "show"});
    EXPECT_FALSE(std::regex_search(qd.out, std::regex(R"(qdisc (tbf|clsact) .*dev pn[0-9a-f]{4}[hs] )")))
        << qd.out;
    pn::SpaceInfo info;
    ASSERT_EQ(show(A(), "plain", info), "");
    EXPECT_EQ(info.limits.rate_in, 0u);
    EXPECT_EQ(info.limits.rate_out, 0u);
    ASSERT_EQ(pnet({"destroy", "plain"}).rc, 0);
}

// The owner of an --admin space holds CAP_NET_ADMIN in it: whatever it does to its own
// side (a qdisc of its own on up0, deleting it again), the limit holds, and the
// parent-side devices are not in its reach.
TEST_F(BandwidthTest, AdminOwnerCannotLiftTheLimit) {
    ASSERT_EQ(mk({"--name", "adm", "--admin", "--bandwidth", "10M", "--", "true"}).rc, 0);
    auto replace = pnet({"exec", "adm", "--", "tc", "qdisc", "replace", "dev", "up0", "root", "pfifo"});
    EXPECT_EQ(replace.rc, 0) << replace.err;  // its own side is its own
    auto del = pnet({"exec", "adm", "--", "tc", "qdisc", "del", "dev", "up0", "root"});
    EXPECT_EQ(del.rc, 0) << del.err;
    auto links = pnet({"exec", "adm", "--", "ip", "-o", "link", "show"});
    EXPECT_FALSE(std::regex_search(links.out, std::regex(R"(pn[0-9a-f]{4}[hs])"))) << links.out;
    auto reach = pnet({"exec", "adm", "--", "tc", "qdisc", "del", "dev", "ifb0", "root"});
    EXPECT_NE(reach.rc, 0);
    for (bool reverse : {false, true}) {
        auto r = iperf_once(A(), B(), client("adm", 5201, reverse));
        double m = received_mbits(r.out);
        EXPECT_GE(m, 9.0) << r.out;
        EXPECT_LE(m, 10.5) << r.out;
    }
    ASSERT_EQ(pnet({"destroy", "adm"}).rc, 0);
    EXPECT_SETTLED(this);
}

// The counters of the uplink (SpaceInfo::usage) grow by at least what iperf3 moved each
// way: 4 MiB out of the space, then 4 MiB into it.
TEST_F(BandwidthTest, CountersGrowByWhatWasMoved) {
    ASSERT_EQ(mk({"--name", "cnt", "--bandwidth", "50M", "--", "true"}).rc, 0);
    pn::SpaceInfo before, middle, after;
    ASSERT_EQ(show(A(), "cnt", before), "");
    EXPECT_GE(before.usage.rx_bytes, 0);
    EXPECT_GE(before.usage.tx_bytes, 0);
    const int64_t kMoved = 4 << 20;
    auto with_bytes = [](std::vector<std::string> argv) {
        // -n instead of -t: a fixed amount.
        for (size_t i = 0; i + 1 < argv.size(); ++i)
            if (argv[i] == "-t") {
                argv[i] = "-n";
                argv[i + 1] = "4M";
            }
        return argv;
    };
    {
        auto up = iperf_once(A(), B(), with_bytes(client("cnt", 5201, false)));
        EXPECT_EQ(up.rc, 0) << up.out << up.err;
    }
    ASSERT_EQ(show(A(), "cnt", middle), "");
    EXPECT_GE(middle.usage.tx_bytes - before.usage.tx_bytes, kMoved);
    EXPECT_GE(middle.usage.tx_packets - before.usage.tx_packets, kMoved / 65536);
    {
        auto down = iperf_once(A(), B(), with_bytes(client("cnt", 5201, true)));
        EXPECT_EQ(down.rc, 0) << down.out << down.err;
    }
    ASSERT_EQ(show(A(), "cnt", after), "");
    EXPECT_GE(after.usage.rx_bytes - middle.usage.rx_bytes, kMoved);
    EXPECT_GE(after.usage.rx_packets - middle.usage.rx_packets, kMoved / 65536);
    ASSERT_EQ(pnet({"destroy", "cnt"}).rc, 0);
}

// Bad rates: exit 2, one line naming the value, nothing made.
TEST_F(BandwidthTest, BadRatesExitTwoAndChangeNothing) {
    for (const std::string bad :
         {"fast", "10Q", "0", "-1", "1/2/3", "10M/", "/10M", "", "7k", "101G", "1.5.1M"}) {
        auto r = mk({"--name", "bad", "--bandwidth", bad, "--", "true"});
        EXPECT_EQ(r.rc, 2) << bad << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_TRUE(contains(r.err, "'" + bad + "'")) << r.err;
    }
    EXPECT_EQ(A().snapshot(), baseline_);
}

// SIGKILL at points of a shaped creation: gc removes everything (the ifb included).
TEST_F(BandwidthTest, KilledCreationsLeaveNoShaperAfterGc) {
    for (int i = 0; i < 12; ++i) {
        std::vector<std::string> argv = {bin("mkportspace"), "-q", "--bandwidth", "10M/5M"};
        if (i % 2 == 0) argv.insert(argv.end(), {"--name", "k" + std::to_string(i)});
        argv.insert(argv.end(), {"--file-space=none", "--", "sleep", "0.2"});
        Proc p = A().spawn(argv);
        std::this_thread::sleep_for(std::chrono::microseconds(2000 * i));
        ::kill(p.pid(), SIGKILL);
        p.wait();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    for (int i = 0; i < 12; i += 2) {
        std::string name = "k" + std::to_string(i);
        if (pnet({"show", name}).rc == 0) {
            EXPECT_EQ(pnet({"destroy", name}).rc, 0) << name;
        }
    }
    EXPECT_SETTLED(this);
}

}  // namespace
}  // namespace pntest
