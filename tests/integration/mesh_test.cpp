// A personal network as a mesh (issue 17, "A mesh"): three simulated hosts A, B and C on
// a LAN of their own (tests/sim/lan.hpp: 10.10.0.1-3 on a bridge, beside the A-B wire
// every other test uses), each with a space on network "m1" (label 0x4e11, overlay
// addresses 10.81.0.1-3) and, where a test needs it, on "m2" (0x4e12, 10.82.0.1-3).
// Each host's definition has one connection per peer: strongSwan picks the connection an
// IKE_SA_INIT request belongs to by the addresses it arrives on, so every space both
// initiates to and answers each of the other two. One secret names all three identities.
//
// Every test counts on the wire, in each host's prerouting at priority -400 before
// anything else sees the packet, what arrives in plaintext from or to a network address
// (ESP-decapsulated packets are skipped: `meta secpath exists`), and expects none.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/sys.hpp"
#include "lib/space/netns.hpp"
#include "tests/integration/fixture.hpp"
#include "tests/sim/lan.hpp"

namespace pntest {
namespace {

using namespace std::chrono_literals;
namespace sys = personalnet::sys;

struct Network {
    const char* name;   // the definition's and the space's name
    const char* label;  // personalnet.label, the same on every host
    const char* net;    // overlay addresses: net + host number
};
constexpr Network kM1{"m1", "0x4e11", "10.81.0."};
constexpr Network kM2{"m2", "0x4e12", "10.82.0."};
constexpr int kHosts = 3;

std::string lan(int host) { return "10.10.0." + std::to_string(host); }
std::string addr(const Network& n, int host) { return n.net + std::to_string(host); }

// Host `self`'s definition of network n: one connection per peer.
std::string mesh_conf(const Network& n, int self) {
    const std::string name = n.name, s = std::to_string(self);
    std::string conf = "connections {\n";
    for (int peer = 1; peer <= kHosts; ++peer) {
        if (peer == self) continue;
        const std::string p = std::to_string(peer);
        conf += "    to-" + p +
                " {\n"
                "        version = 2\n"
                "        local_addrs = " +
                lan(self) +
                "\n"
                "        remote_addrs = " +
                lan(peer) +
                "\n"
                "        proposals = aes128-sha256-x25519\n"
                "        local {\n            auth = psk\n            id = " +
                name + "-" + s +
                "\n        }\n"
                "        remote {\n            auth = psk\n            id = " +
                name + "-" + p +
                "\n        }\n"
                "        children {\n"
                "            " +
                name + "-" + p +
                " {\n"
                "                local_ts = " +
                addr(n, self) +
                "/32\n"
                "                remote_ts = " +
                addr(n, peer) +
                "/32\n"
                "                esp_proposals = aes128gcm16\n"
                "            }\n"
                "        }\n"
                "    }\n";
    }
    conf +=
        "}\n"
        "secrets {\n"
        "    ike-" +
        name + " {\n";
    for (int h = 1; h <= kHosts; ++h)
        conf += "        id-" + std::to_string(h) + " = " + name + "-" + std::to_string(h) + "\n";
    conf += "        secret = \"pntest mesh secret " + name +
            "\"\n"
            "    }\n"
            "}\n"
            "personalnet {\n"
            "    label = " +
            std::string(n.label) +
            "\n"
            "    addresses = " +
            addr(n, self) +
            "/32\n"
            "}\n";
    return conf;
}

// The wire counter: plaintext from or to either network's addresses arriving on a wire
// (the LAN, and on A and B their own A-B link too), before anything else sees it.
std::string leak_counter(const std::string& wires) {
    return "table inet pnmeshleak {\n"
           "    counter plain { }\n"
           "    chain pre {\n"
           "        type filter hook prerouting priority -400;\n"
           "        iifname { " +
           wires +
           " } meta secpath exists return\n"
           "        iifname { " +
           wires +
           " } ip daddr { 10.81.0.0/24, 10.82.0.0/24 } counter name \"plain\"\n"
           "        iifname { " +
           wires +
           " } ip saddr { 10.81.0.0/24, 10.82.0.0/24 } counter name \"plain\"\n"
           "    }\n"
           "}\n";
}

class MeshTest : public DispatcherTest {
protected:
    void SetUp() override {
        DispatcherTest::SetUp();
        if (IsSkipped()) return;
        c_ = std::make_unique<Host>("C");
        baseline_b_ = B().snapshot();
        baseline_c_ = C().snapshot();
        auto lan_ns = personalnet::space::new_netns();
        ASSERT_TRUE(lan_ns.ok()) << lan_ns.error().message();
        lan_ns_ = std::move(lan_ns).value();
        auto wired = pnsim::wire_lan(lan_ns_.get(), lan_hosts());
        ASSERT_TRUE(wired.ok()) << wired.error().message();
        wired_ = true;
        // The bridge forwards once its ports are up: wait until every host reaches the others.
        for (int from = 1; from <= kHosts; ++from)
            for (int to = 1; to <= kHosts; ++to) {
                if (from == to) continue;
                bool reached = false;
                for (int i = 0; i < 20 && !reached; ++i)
                    reached = host(from).run({"ping", "-n", "-q", "-c", "1", "-W", "1", lan(to)}).rc == 0;
                ASSERT_TRUE(reached) << "host " << from << " does not reach " << lan(to) << " on the LAN";
            }
        for (int h = 1; h <= kHosts; ++h) {
            overlays_[h] = host(h).rundir().substr(0, host(h).rundir().rfind('/')) + "/overlays.d";
            ASSERT_TRUE(sys::make_dirs(overlays_[h], 0755).ok());
            for (const Network* n : {&kM1, &kM2})
                ASSERT_TRUE(sys::write_atomic(overlays_[h] + "/" + n->name + ".conf", mesh_conf(*n, h)).ok());
            const std::string rules = overlays_[h] + "/../pnmeshleak.nft";
            ASSERT_TRUE(
                sys::write_atomic(rules, leak_counter(h == 3 ? "\"eth0\"" : "\"eth0\", \"eth1\"")).ok());
            auto loaded = host(h).run({"nft", "-f", rules});
            ASSERT_EQ(loaded.rc, 0) << loaded.err;
        }
    }

    void TearDown() override {
        if (!topo_) return;
        if (c_) {
            for (int h = 1; h <= kHosts; ++h) {
                for (const char* name : {"m1", "m2", "u"}) (void)on(h, {bin("pnet"), "destroy", name});
                auto gc = on(h, {bin("pnet"), "gc"});
                EXPECT_EQ(gc.rc, 0) << gc.err;
                (void)host(h).run({"nft", "delete", "table", "inet", "pnmeshleak"});
            }
            if (wired_) {
                auto unwired = pnsim::unwire_lan(lan_hosts());
                EXPECT_TRUE(unwired.ok()) << unwired.error().message();
            }
            lan_ns_.reset();
            // Detached BPF programs are freed after an RCU grace period, as in SpaceTest.
            for (int h = 2; h <= kHosts; ++h) {
                const std::string& baseline = h == 2 ? baseline_b_ : baseline_c_;
                std::string now = host(h).snapshot();
                for (int i = 0; i < 20 && now != baseline; ++i) {
                    std::this_thread::sleep_for(100ms);
                    now = host(h).snapshot();
                }
                EXPECT_EQ(now, baseline) << "host "
                                         << "ABC"[h - 1] << "'s state leaked";
            }
        }
        SpaceTest::TearDown();
        c_.reset();
    }

    Host& C() { return *c_; }
    Host& host(int h) { return h == 1 ? A() : h == 2 ? B() : C(); }
    std::vector<pnsim::LanHost> lan_hosts() {
        return {{A().ns(), "eth1", lan(1) + "/24"},
                {B().ns(), "eth1", lan(2) + "/24"},
                {C().ns(), "eth0", lan(3) + "/24"}};
    }
    std::vector<std::string> with_overlays(int h, std::vector<std::string> argv) {
        argv.insert(argv.begin(), {"env", "PERSONALNET_OVERLAYDIR=" + overlays_[h]});
        return argv;
    }
    RunResult on(int h, std::vector<std::string> argv, int timeout_ms = 30000) {
        return host(h).run(with_overlays(h, std::move(argv)), timeout_ms);
    }
    Proc spawn_on(int h, std::vector<std::string> argv) {
        return host(h).spawn(with_overlays(h, std::move(argv)));
    }
    std::string dispatch_arg() const {
        return std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_);
    }

    // Host h's space on network n, named after it.
    RunResult make(int h, const Network& n) {
        return on(h, {bin("mkportspace"), "-q", dispatch_arg(), "--name", n.name, "--overlay", n.name,
                      "--file-space=none", "--", "true"});
    }
    // Whether every host's space on n lists both its peers up.
    bool all_pairs_up(const Network& n) {
        for (int h = 1; h <= kHosts; ++h) {
            auto shown = on(h, {bin("pnet"), "show", n.name, "--json"}).out;
            for (int peer = 1; peer <= kHosts; ++peer)
                if (peer != h && !contains(shown, "{\"address\":\"" + lan(peer) + "\",\"state\":\"up\"}"))
                    return false;
        }
        return true;
    }
    // Makes n's space on A, B and C in turn; whether all pairs are up within 30 s of the
    // first mkportspace. (How long that takes is bench/network-bench's mesh line: figures
    // come from benchmarks, not tests.)
    bool bring_up(const Network& n) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int h = 1; h <= kHosts; ++h) {
            auto r = make(h, n);
            EXPECT_EQ(r.rc, 0) << "host " << h << ": " << r.err;
            if (r.rc != 0) return false;
        }
        while (!all_pairs_up(n)) {
            if (std::chrono::steady_clock::now() - t0 > 30s) return false;
            std::this_thread::sleep_for(50ms);
        }
        return true;
    }

    // Every space's view of n and the end of its charon's log, for a failure message.
    std::string diagnosis(const Network& n) {
        std::string out;
        for (int h = 1; h <= kHosts; ++h) {
            out += std::string("== host ") + "ABC"[h - 1] + "\n" + on(h, {bin("pnet"), "show", n.name}).out;
            auto log = sys::read_file(host(h).rundir() + "/charon/" + std::string(n.label).substr(2) +
                                      "/charon.log");
            if (log.ok()) out += log->substr(log->size() > 3000 ? log->size() - 3000 : 0);
        }
        return out;
    }

    // From host h's space on `from` (or the host itself, or an unbound space), to `to`.
    std::vector<std::string> ping_argv(const std::string& src, const std::string& dst) {
        std::vector<std::string> argv{"ping", "-n", "-q", "-c", "1", "-W", "2"};
        if (!src.empty()) argv.insert(argv.end(), {"-I", src});
        argv.push_back(dst);
        return argv;
    }
    std::vector<std::string> in_space(const Network& n, std::vector<std::string> argv) {
        argv.insert(argv.begin(), {bin("pnet"), "exec", n.name, "--"});
        return argv;
    }
    std::vector<std::string> connect_argv(const std::string& dst, int timeout_ms) {
        return {bin("pnprobe"), "connect", "tcp", dst, "7100", "--timeout-ms", std::to_string(timeout_ms)};
    }

    // A server in each host's space on n, answering "n-HOST".
    std::vector<Proc> serve(const Network& n) {
        std::vector<Proc> servers;
        for (int h = 1; h <= kHosts; ++h) {
            servers.push_back(
                spawn_on(h, in_space(n, {bin("pnprobe"), "serve", "tcp", addr(n, h), "7100", "--reply",
                                         std::string(n.name) + "-" + std::to_string(h)})));
            EXPECT_EQ(servers.back().read_line(10000), "listening")
                << "host " << h << "'s server on " << n.name;
        }
        return servers;
    }

    // Each argv run in its host at once; how many succeeded (exit 0).
    int succeeded(std::vector<std::pair<int, std::vector<std::string>>> runs) {
        std::vector<Proc> procs;
        for (auto& [h, argv] : runs) procs.push_back(spawn_on(h, argv));
        int ok = 0;
        for (auto& p : procs) ok += p.wait() == 0;
        return ok;
    }

    // The plaintext packets host h counted on its wires.
    long plaintext(int h) {
        auto shown = host(h).run({"nft", "list", "counter", "inet", "pnmeshleak", "plain"}).out;
        auto at = shown.find("packets ");
        return at == std::string::npos ? -1 : std::stol(shown.substr(at + 8));
    }
    void expect_no_plaintext() {
        for (int h = 1; h <= kHosts; ++h)
            EXPECT_EQ(plaintext(h), 0) << "host "
                                       << "ABC"[h - 1] << " saw plaintext for a network on its wire";
    }

    std::unique_ptr<Host> c_;
    personalnet::UniqueFd lan_ns_;
    bool wired_ = false;
    std::string overlays_[kHosts + 1];
    std::string baseline_b_, baseline_c_;
};

// Every pair of m1's spaces reaches each other in both directions, over ICMP and TCP, and
// the server sees the client's overlay address.
TEST_P(MeshTest, EveryPairReachesEachOtherOverTcpAndIcmp) {
    ASSERT_TRUE(bring_up(kM1)) << "not all pairs up within 30 s\n" << diagnosis(kM1);
    for (int from = 1; from <= kHosts; ++from)
        for (int to = 1; to <= kHosts; ++to) {
            if (from == to) continue;
            auto p = on(from, in_space(kM1, ping_argv(addr(kM1, from), addr(kM1, to))));
            EXPECT_EQ(p.rc, 0) << addr(kM1, from) << " -> " << addr(kM1, to) << ": " << p.out << p.err;
        }
    auto servers = serve(kM1);
    for (int from = 1; from <= kHosts; ++from)
        for (int to = 1; to <= kHosts; ++to) {
            if (from == to) continue;
            auto c = on(from, in_space(kM1, connect_argv(addr(kM1, to), 3000)));
            EXPECT_TRUE(contains(c.out, "m1-" + std::to_string(to) + " peer=" + addr(kM1, from) + ":"))
                << addr(kM1, from) << " -> " << addr(kM1, to) << ": " << c.out << c.err;
        }
    if (HasFailure()) ADD_FAILURE() << diagnosis(kM1);
    expect_no_plaintext();
}

// A second network on the same three hosts is disjoint from the first: each reaches
// itself, and no space of one reaches any address of the other, on any host (its own
// included), over ICMP or TCP.
TEST_P(MeshTest, TwoNetworksOnTheSameHostsAreDisjoint) {
    ASSERT_TRUE(bring_up(kM1)) << diagnosis(kM1);
    ASSERT_TRUE(bring_up(kM2)) << diagnosis(kM2);
    auto servers1 = serve(kM1);
    auto servers2 = serve(kM2);
    for (const Network* n : {&kM1, &kM2}) {
        const Network& other = n == &kM1 ? kM2 : kM1;
        // Within the network: all six directions (control).
        std::vector<std::pair<int, std::vector<std::string>>> within, across;
        for (int from = 1; from <= kHosts; ++from)
            for (int to = 1; to <= kHosts; ++to) {
                if (from != to)
                    within.push_back({from, in_space(*n, ping_argv(addr(*n, from), addr(*n, to)))});
                across.push_back({from, in_space(*n, ping_argv(addr(*n, from), addr(other, to)))});
                across.push_back({from, in_space(*n, ping_argv("", addr(other, to)))});
                across.push_back({from, in_space(*n, connect_argv(addr(other, to), 2000))});
            }
        EXPECT_EQ(succeeded(within), 6) << n->name << " within itself";
        EXPECT_EQ(succeeded(across), 0) << n->name << "'s spaces reached " << other.name << "'s addresses";
    }
    expect_no_plaintext();
}

// The hosts themselves and unbound spaces are on neither network: with the hosts as they
// are, and with host A routing both networks to B over the LAN in plaintext. B counts
// A's plaintext on its wire (the counter sees what would leak) and answers none of it.
TEST_P(MeshTest, HostsAndUnboundSpacesReachNeitherNetwork) {
    ASSERT_TRUE(bring_up(kM1)) << diagnosis(kM1);
    ASSERT_TRUE(bring_up(kM2)) << diagnosis(kM2);
    auto servers1 = serve(kM1);
    auto servers2 = serve(kM2);
    // An unbound space on each host ("u"), beside its spaces on both networks.
    for (int h = 1; h <= kHosts; ++h)
        ASSERT_EQ(on(h, {bin("mkportspace"), "-q", dispatch_arg(), "--name", "u", "--file-space=none", "--",
                         "true"})
                      .rc,
                  0);
    const Network unbound{"u", "", ""};
    auto attempts = [&](int from) {
        std::vector<std::pair<int, std::vector<std::string>>> runs;
        for (const Network* n : {&kM1, &kM2})
            for (int to = 1; to <= kHosts; ++to) {
                runs.push_back({from, ping_argv("", addr(*n, to))});
                runs.push_back({from, connect_argv(addr(*n, to), 2000)});
                runs.push_back({from, in_space(unbound, ping_argv("", addr(*n, to)))});
                runs.push_back({from, in_space(unbound, connect_argv(addr(*n, to), 2000))});
            }
        return runs;
    };
    for (int from = 1; from <= kHosts; ++from)
        EXPECT_EQ(succeeded(attempts(from)), 0)
            << "host "
            << "ABC"[from - 1] << " or an unbound space reached a network";
    expect_no_plaintext();

    // Host A sends to both networks in plaintext, via B.
    for (const char* net : {"10.81.0.0/24", "10.82.0.0/24"})
        ASSERT_EQ(A().run({"ip", "route", "add", net, "via", lan(2), "dev", "eth1"}).rc, 0);
    EXPECT_EQ(succeeded(attempts(1)), 0)
        << "host A or an unbound space reached a network through B in plaintext";
    for (const char* net : {"10.81.0.0/24", "10.82.0.0/24"})
        EXPECT_EQ(A().run({"ip", "route", "del", net, "via", lan(2), "dev", "eth1"}).rc, 0);
    EXPECT_GT(plaintext(2), 0) << "B's wire counter did not see A's plaintext";
    EXPECT_EQ(plaintext(1), 0);
    EXPECT_EQ(plaintext(3), 0);
}

// Nothing addressed to a network address leaves in plaintext, on hosts with a default
// route: traffic on both networks in every direction, and on, while B's space on m1 is
// destroyed and made again (A's and C's spaces keep sending to it meanwhile), and after
// the mesh is whole again.
TEST_P(MeshTest, NothingForTheNetworksLeavesInPlaintext) {
    // As real hosts have: a default route, to a gateway that exists on the LAN, so that a
    // packet for a network address that is not sent through the network goes out on the
    // wire (without one it fails with ENETUNREACH before it leaves, proving nothing).
    const std::string gateway[kHosts + 1] = {"", lan(3), lan(3), lan(1)};
    for (int h = 1; h <= kHosts; ++h)
        ASSERT_EQ(host(h).run({"ip", "route", "add", "default", "via", gateway[h]}).rc, 0);
    ASSERT_TRUE(bring_up(kM1)) << diagnosis(kM1);
    ASSERT_TRUE(bring_up(kM2)) << diagnosis(kM2);
    auto all_pings = [&]() {
        std::vector<std::pair<int, std::vector<std::string>>> runs;
        for (const Network* n : {&kM1, &kM2})
            for (int from = 1; from <= kHosts; ++from)
                for (int to = 1; to <= kHosts; ++to)
                    if (from != to)
                        runs.push_back({from, in_space(*n, ping_argv(addr(*n, from), addr(*n, to)))});
        return runs;
    };
    EXPECT_EQ(succeeded(all_pings()), 12);
    ASSERT_EQ(on(2, {bin("pnet"), "destroy", kM1.name}).rc, 0);
    for (int i = 0; i < 3; ++i)
        (void)succeeded({{1, in_space(kM1, ping_argv(addr(kM1, 1), addr(kM1, 2)))},
                         {3, in_space(kM1, ping_argv(addr(kM1, 3), addr(kM1, 2)))},
                         {1, in_space(kM1, connect_argv(addr(kM1, 2), 1000))},
                         {3, in_space(kM1, connect_argv(addr(kM1, 2), 1000))}});
    ASSERT_EQ(make(2, kM1).rc, 0);
    bool whole = false;
    for (int i = 0; i < 150 && !whole; ++i) {
        whole = all_pairs_up(kM1);
        if (!whole) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(whole) << diagnosis(kM1);
    EXPECT_EQ(succeeded(all_pings()), 12) << diagnosis(kM1);
    expect_no_plaintext();
    for (int h = 1; h <= kHosts; ++h)
        EXPECT_EQ(host(h).run({"ip", "route", "del", "default", "via", gateway[h]}).rc, 0);
}

INSTANTIATE_TEST_SUITE_P(Dispatchers, MeshTest, both_dispatchers(), dispatcher_name);

}  // namespace
}  // namespace pntest
