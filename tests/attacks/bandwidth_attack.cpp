// Attacks on bandwidth limits (mkportspace --bandwidth, issue 22): a user must not get
// more than personalnet.conf's resources.max_bandwidth (by asking, by asking nothing, or
// by a request crafted for the helper by hand), nor remove the shaper of a space of
// theirs, from inside an --admin space (CAP_NET_ADMIN there) or from the host.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "lib/helper/request.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

// What iperf3's summary says the receiver got, in Mbit/s (-f m); -1 without one.
double received_mbits(const std::string& out) {
    static const std::regex line(R"(([0-9.]+) Mbits/sec[^\n]*receiver)");
    std::smatch m;
    return std::regex_search(out, m, line) ? std::stod(m[1].str()) : -1;
}

class BandwidthAttack : public AttackTest {
protected:
    // An iperf3 server on host B for one test.
    Proc iperf_server() {
        Proc p = B().spawn({"iperf3", "-s", "-1", "--forceflush", "-p", "5201"});
        for (int i = 0; i < 5; ++i)
            if (p.read_line(3000).find("listening") != std::string::npos) break;
        return p;
    }
    // Host A as before the attack, once the spaces' reapers are done and their namespaces
    // gone (an iperf3's sockets may hold one while their data drains at the shaped rate).
    bool settled() {
        for (int i = 0; i < 60; ++i) {
            if (settled_snapshot() == baseline_) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        return settled_snapshot() == baseline_;
    }
    std::string crafted_create(const char* user, const std::string& bandwidth) {
        personalnet::helper::Message m;
        m.add("op", "create").add("file_space", "0").add("bandwidth", bandwidth);
        return ask_helper_raw(user, personalnet::helper::encode(m));
    }
    // iperf3 to host B from a space alice makes with args, upload or download: Mbit/s.
    double measured(const std::vector<std::string>& args, bool reverse, std::string& out) {
        Proc server = iperf_server();
        std::vector<std::string> argv = {mkps(), "-q", "--file-space=none"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--", "iperf3", "-c", "10.9.0.2", "-p", "5201", "-t", "3", "-f", "m"});
        if (reverse) argv.push_back("-R");
        auto r = as(kAlice, argv);
        server.kill(9);
        server.wait();
        out = r.out + r.err;
        return received_mbits(r.out);
    }
};

// max_bandwidth = 20M/5M: more is refused in one line naming the value and the setting,
// through the tools and by hand; a space asked for without --bandwidth gets the maximum.
TEST_F(BandwidthAttack, UserExceedsTheMaximumBandwidth) {
    write_policy("resources {\n    max_bandwidth = 20M/5M\n}\n");
    std::string evidence;
    for (const char* asked : {"30M", "20M/6M", "100G", "21M/1M"}) {
        auto r = as(kAlice, {mkps(), "-q", "--file-space=none", "--bandwidth", asked, "--", "true"});
        if (r.rc == 0) evidence += std::string(" --bandwidth ") + asked + " was made;";
        EXPECT_EQ(r.rc, 2) << asked << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "above 20M/5M (personalnet.conf: resources.max_bandwidth)")) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        std::string answer = crafted_create(kAlice, asked);
        if (!contains(answer, "resources.max_bandwidth"))
            evidence += std::string(" crafted ") + asked + ": " + answer + ";";
    }
    for (const char* bad : {"0", "0/0", "1", "fast", "10M/0", "200G"}) {
        std::string answer = crafted_create(kAlice, bad);
        if (!contains(answer, "bad request: bandwidth="))
            evidence += std::string(" crafted ") + bad + ": " + answer + ";";
    }
    // Nothing asked: the maximum, each way.
    std::string out;
    double up = measured({}, false, out);
    EXPECT_GT(up, 0) << out;
    if (up > 5.3) evidence += " upload without --bandwidth at " + std::to_string(up) + " Mbit/s;";
    double down = measured({}, true, out);
    EXPECT_GT(down, 0) << out;
    if (down > 21.0) evidence += " download without --bandwidth at " + std::to_string(down) + " Mbit/s;";
    EXPECT_TRUE(settled()) << "nothing left behind";
    verdict("user-exceeds-max-bandwidth", evidence);
}

// The owner of an --admin space (CAP_NET_ADMIN inside) deletes every qdisc it can see,
// inside and from the host: the limit holds and the shaper stays.
TEST_F(BandwidthAttack, UserRemovesTheShaper) {
    write_policy("admin = yes\n");
    std::string evidence;
    const std::string script =
        "for d in $(ls /sys/class/net); do tc qdisc del dev $d root; tc qdisc del dev $d clsact;"
        " tc qdisc del dev $d ingress; done 2>/dev/null;"
        " for d in pn0001h pn0001s ifb0 ifb1; do ip link del $d; done 2>/dev/null;"
        " iperf3 -c 10.9.0.2 -p 5201 -t 3 -f m";
    Proc server = iperf_server();
    auto r = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--bandwidth", "5M", "--", "sh", "-c",
                         script});
    server.kill(9);
    server.wait();
    double up = received_mbits(r.out);
    EXPECT_GT(up, 0) << r.out << r.err;
    if (up > 5.3) evidence += " after deleting the qdiscs inside: " + std::to_string(up) + " Mbit/s;";

    // From the host, while a space of hers lives: she holds no capability there. Its
    // links are the ones not there before (the first space's may still be going: its
    // reaper releases them once its namespace is gone).
    const std::regex shaped(R"((pn[0-9a-f]{4})s:)");
    const std::string before = A().run({"ip", "-o", "link", "show"}).out;
    Proc held = A().spawn(
        as_argv(kAlice, {mkps(), "-q", "--file-space=none", "--bandwidth", "5M", "--", "sleep", "5"}));
    std::string base, links;
    for (int i = 0; i < 50 && base.empty(); ++i) {
        links = A().run({"ip", "-o", "link", "show"}).out;
        for (auto it = std::sregex_iterator(links.begin(), links.end(), shaped); it != std::sregex_iterator();
             ++it)
            if (!contains(before, (*it)[1].str() + "s:")) base = (*it)[1].str();
        if (base.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(base.empty()) << links;
    for (const std::vector<std::string>& attempt :
         {std::vector<std::string>{"tc", "qdisc", "del", "dev", base + "h", "root"},
          {"tc", "qdisc", "del", "dev", base + "h", "clsact"},
          {"tc", "qdisc", "del", "dev", base + "s", "root"},
          {"ip", "link", "del", base + "s"}}) {
        auto a = as(kAlice, attempt);
        if (a.rc == 0) evidence += " '" + sh_join(attempt) + "' succeeded;";
    }
    auto qd = A().run({"tc", "qdisc", "show"}).out;
    if (!contains(qd, "qdisc tbf 1: dev " + base + "h root")) evidence += " the download bucket is gone;";
    if (!contains(qd, "qdisc tbf 1: dev " + base + "s root")) evidence += " the upload bucket is gone;";
    held.wait();
    EXPECT_TRUE(settled()) << "nothing left behind";
    verdict("user-removes-bandwidth-shaper", evidence);
}

}  // namespace
}  // namespace pntest
