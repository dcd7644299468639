// Personal networks across hosts (issue 17): a space on host A and a space on host B bound
// to one network by its label (personalnet.label in each host's definition) reach each
// other at their overlay addresses, whichever comes up first, and come back by themselves
// when either side is made again or its charon is killed. Each side's charon both
// initiates and answers: its parent hands it IKE_SA_INIT requests whose initiator SPI
// carries the network's label. PSK, tunnel mode (kernel-libipsec here, the kernel's XFRM
// under `make test-kernel`).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/sys.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

using namespace std::chrono_literals;
namespace sys = personalnet::sys;

constexpr const char* kLabel = "0x4e01";

// Host `self` (10.9.0.x, overlay address 10.80.0.x) and its peer, one side's definition.
std::string network_conf(int self, int peer) {
    const std::string s = std::to_string(self), p = std::to_string(peer);
    return "connections {\n"
           "    net {\n"
           "        version = 2\n"
           "        local_addrs = 10.9.0." + s + "\n"
           "        remote_addrs = 10.9.0." + p + "\n"
           "        proposals = aes128-sha256-x25519\n"
           "        local {\n            auth = psk\n            id = alice-" + s + "\n        }\n"
           "        remote {\n            auth = psk\n            id = alice-" + p + "\n        }\n"
           "        children {\n"
           "            net {\n"
           "                local_ts = 10.80.0." + s + "/32\n"
           "                remote_ts = 10.80.0." + p + "/32\n"
           "                esp_proposals = aes128gcm16\n"
           "            }\n"
           "        }\n"
           "    }\n"
           "}\n"
           "secrets {\n"
           "    ike-net {\n        id-1 = alice-1\n        id-2 = alice-2\n"
           "        secret = \"pntest network secret\"\n    }\n"
           "}\n"
           "personalnet {\n"
           "    label = " + std::string(kLabel) + "\n"
           "    addresses = 10.80.0." + s + "/32\n"
           "}\n";
}

class NetworkTest : public SpaceTest, public ::testing::WithParamInterface<personalnet::Dispatch> {
protected:
    void SetUp() override {
        dispatch_ = GetParam();
        if (dispatch_ == personalnet::Dispatch::bpf && !personalnet::bpf::unsupported_reason().empty())
            GTEST_SKIP() << "no BPF dispatch here: " << personalnet::bpf::unsupported_reason();
        SpaceTest::SetUp();
        baseline_b_ = B().snapshot();
        for (int side : {1, 2}) {
            Host& h = side == 1 ? A() : B();
            overlays_[side] = h.rundir().substr(0, h.rundir().rfind('/')) + "/overlays.d";
            ASSERT_TRUE(sys::make_dirs(overlays_[side], 0755).ok());
            ASSERT_TRUE(sys::write_atomic(overlays_[side] + "/net.conf", network_conf(side, 3 - side)).ok());
        }
    }
    void TearDown() override {
        if (!topo_) return;
        (void)on(2, {bin("pnet"), "destroy", "n"});
        auto gc = on(2, {bin("pnet"), "gc"});
        EXPECT_EQ(gc.rc, 0) << gc.err;
        EXPECT_EQ(B().snapshot(), baseline_b_) << "host B's state leaked";
        SpaceTest::TearDown();
    }
    Host& host(int side) { return side == 1 ? A() : B(); }
    RunResult on(int side, std::vector<std::string> argv, int timeout_ms = 30000) {
        argv.insert(argv.begin(), {"env", "PERSONALNET_OVERLAYDIR=" + overlays_[side]});
        return host(side).run(argv, timeout_ms);
    }
    // The named space "n" bound to the network on one side.
    RunResult make(int side) {
        return on(side, {bin("mkportspace"), "-q", std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_),
                         "--name", "n", "--overlay", "net", "--file-space=none", "--", "true"});
    }
    // Whether side's space lists its peer as up (pnet show --json), within wait.
    bool peer_up(int side, std::chrono::seconds wait) {
        auto t0 = std::chrono::steady_clock::now();
        const std::string want =
            "{\"address\":\"10.9.0." + std::to_string(3 - side) + "\",\"state\":\"up\"}";
        do {
            if (contains(on(side, {bin("pnet"), "show", "n", "--json"}).out, want)) return true;
            std::this_thread::sleep_for(200ms);
        } while (std::chrono::steady_clock::now() - t0 < wait);
        return false;
    }
    // One ping from side's space to the other side's overlay address.
    RunResult ping(int side) {
        return on(side, {bin("pnet"), "exec", "n", "--", "ping", "-n", "-q", "-c", "1", "-W", "2", "-I",
                         "10.80.0." + std::to_string(side), "10.80.0." + std::to_string(3 - side)});
    }
    void expect_reach_both_ways() {
        for (int side : {1, 2}) {
            auto p = ping(side);
            EXPECT_EQ(p.rc, 0) << "from side " << side << ": " << p.out << p.err;
        }
    }
    pid_t charon_of(int side) {
        auto show = on(side, {bin("pnet"), "show", "n", "--json"});
        auto at = show.out.find("\"netns_inode\":");
        if (at == std::string::npos) return 0;
        const unsigned long long netns = std::stoull(show.out.substr(at + 14));
        auto procs = sys::list_dir("/proc");
        for (const auto& p : procs.value()) {
            if (p[0] < '1' || p[0] > '9') continue;
            auto comm = sys::read_file("/proc/" + p + "/comm");
            struct stat st {};
            if (comm.ok() && comm.value() == "charon\n" && ::stat(("/proc/" + p + "/ns/net").c_str(), &st) == 0 &&
                st.st_ino == netns)
                return static_cast<pid_t>(std::stoi(p));
        }
        return 0;
    }

    std::string overlays_[3];
    std::string baseline_b_;
};

// A's space is made while B has none: creation neither fails nor waits for the peer, and
// shows it down. B's space then comes up and the network with it, from B's initiation
// answered by A's space. Then either side is made again, and its charon killed: each time
// the network comes back by itself.
TEST_P(NetworkTest, EitherSideFirstAndEitherSideRestarted) {
    auto first = make(1);
    ASSERT_EQ(first.rc, 0) << first.err;
    auto shown = on(1, {bin("pnet"), "show", "n", "--json"});
    EXPECT_TRUE(contains(shown.out, "{\"address\":\"10.9.0.2\",\"state\":\"down\"}")) << shown.out;
    EXPECT_TRUE(contains(on(1, {bin("pnet"), "show", "n"}).out, "peer:        10.9.0.2 down"));

    auto second = make(2);
    ASSERT_EQ(second.rc, 0) << second.err;
    ASSERT_TRUE(peer_up(1, 15s)) << on(1, {bin("pnet"), "show", "n"}).out;
    ASSERT_TRUE(peer_up(2, 15s)) << on(2, {bin("pnet"), "show", "n"}).out;
    expect_reach_both_ways();

    // A's space made again: it initiates, B's answers.
    ASSERT_EQ(on(1, {bin("pnet"), "destroy", "n"}).rc, 0);
    ASSERT_EQ(make(1).rc, 0);
    EXPECT_TRUE(peer_up(1, 15s)) << on(1, {bin("pnet"), "show", "n"}).out;
    EXPECT_TRUE(peer_up(2, 15s)) << on(2, {bin("pnet"), "show", "n"}).out;
    expect_reach_both_ways();

    // B's charon killed: its keeper starts a new one, which initiates again.
    pid_t charon = charon_of(2);
    ASSERT_GT(charon, 0);
    ASSERT_EQ(::kill(charon, SIGKILL), 0);
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(peer_up(2, 15s)) << on(2, {bin("pnet"), "show", "n"}).out;
    EXPECT_TRUE(peer_up(1, 15s)) << on(1, {bin("pnet"), "show", "n"}).out;
    expect_reach_both_ways();
    EXPECT_EQ(on(1, {bin("pnet"), "destroy", "n"}).rc, 0);
}

// With kernel-libipsec (tunnel mode only), a transport-mode definition is refused in one
// line saying why, exit 2, before anything is made.
TEST_P(NetworkTest, TransportModeNeedsTheKernelsEsp) {
    auto esp = personalnet::netlink::kernel_has_esp();
    ASSERT_TRUE(esp.ok()) << esp.error().message();
    if (esp.value()) GTEST_SKIP() << "this kernel has ESP: transport mode is allowed (make test-kernel)";
    std::string conf = network_conf(1, 2);
    conf.insert(conf.find("                esp_proposals"), "                mode = transport\n");
    ASSERT_TRUE(sys::write_atomic(overlays_[1] + "/net.conf", conf).ok());
    const std::string before = A().snapshot();
    auto r = make(1);
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "overlay 'net': net.net: mode = transport needs the kernel's ESP")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(A().snapshot(), before);
}

INSTANTIATE_TEST_SUITE_P(Dispatchers, NetworkTest,
                         ::testing::Values(personalnet::Dispatch::nft, personalnet::Dispatch::bpf),
                         [](const auto& info) { return std::string(personalnet::dispatch_word(info.param)); });

}  // namespace
}  // namespace pntest
