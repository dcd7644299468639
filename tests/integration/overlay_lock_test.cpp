// An overlay comes up outside the global registry lock (issue 16): a creation whose IKE
// peer never answers (charon retransmits until initiate's 10 s timeout) does not delay
// other creations, a destroy of it waits for its creator instead of pulling the space
// away under it, and its failure leaves nothing behind.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;
using Clock = std::chrono::steady_clock;

// A peer behind host B that nobody holds: B drops what it cannot forward, so IKE_SA_INIT
// is never answered.
constexpr const char* kDeadConf = R"(connections {
    dead {
        version = 2
        remote_addrs = 10.7.0.99
        proposals = aes128-sha256-x25519
        local {
            auth = psk
            id = dead-user
        }
        remote {
            auth = psk
            id = nobody
        }
        children {
            net {
                local_ts = 10.81.0.2/32
                remote_ts = 10.80.0.0/24
                esp_proposals = aes128gcm16
            }
        }
    }
}
secrets {
    ike-dead {
        id-1 = dead-user
        id-2 = nobody
        secret = "pntest dead secret"
    }
}
personalnet {
    addresses = 10.81.0.2/32
}
)";

class OverlayLockTest : public SpaceTest {
protected:
    void SetUp() override {
        SpaceTest::SetUp();
        std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
        overlays_ = top + "/overlays.d";
        ASSERT_TRUE(sys::make_dirs(overlays_, 0755).ok());
        ASSERT_TRUE(sys::write_atomic(overlays_ + "/dead.conf", kDeadConf).ok());
    }
    // Milliseconds one plain creation takes, start to end of mkportspace.
    double plain_creation_ms() {
        auto t = Clock::now();
        auto r = mk({"--file-space=none", "--", "true"});
        EXPECT_EQ(r.rc, 0) << r.err;
        return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    }
    // Whether the overlay step has started: its daemon's directory exists.
    bool overlay_coming_up() {
        auto entries = sys::list_dir(A().rundir() + "/charon");
        return entries.ok() && !entries->empty();
    }
    std::string overlays_;
};

TEST_F(OverlayLockTest, AnUnansweredPeerDelaysNoOtherCreationAndLeavesNothing) {
    std::vector<double> base;
    for (int i = 0; i < 5; ++i) base.push_back(plain_creation_ms());
    std::sort(base.begin(), base.end());
    const double baseline = base[base.size() / 2];

    std::atomic<bool> stuck_done{false};
    RunResult stuck;
    std::thread creator([&] {
        stuck = A().run({"env", "PERSONALNET_OVERLAYDIR=" + overlays_, bin("mkportspace"), "-q", "--name",
                         "stuck", "--overlay", "dead", "--file-space=none", "--", "true"},
                        60000);
        stuck_done = true;
    });
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!overlay_coming_up() && !stuck_done && Clock::now() < deadline) ::usleep(5000);
    ASSERT_TRUE(overlay_coming_up()) << "the stuck creation never reached its overlay step";
    std::vector<double> during;
    for (int i = 0; i < 3; ++i) during.push_back(plain_creation_ms());
    std::sort(during.begin(), during.end());
    EXPECT_FALSE(stuck_done) << "the stuck creation was still waiting for its peer meanwhile";
    std::printf("[ overlay-lock ] plain creation %.1f ms alone, %.1f ms while an overlay comes up\n",
                baseline, during[1]);
    EXPECT_LT(during[1], baseline + 100) << "a creation waited for another's overlay";

    // A space still coming up: not yet usable, and a destroy waits for its creator.
    auto exec = pnet({"exec", "stuck", "--", "true"});
    EXPECT_NE(exec.rc, 0);
    EXPECT_NE(exec.err.find("still being created"), std::string::npos) << exec.err;
    auto t = Clock::now();
    auto destroy = pnet({"destroy", "stuck"});
    double waited = std::chrono::duration<double>(Clock::now() - t).count();
    // The peer is given 10 s: the destroy, started well within them, waited for the end
    // (as it waited for the global lock before) and found the failed creation undone.
    EXPECT_EQ(destroy.rc, 2) << destroy.err;
    EXPECT_NE(destroy.err.find("destroy space 'stuck': no such space"), std::string::npos) << destroy.err;
    EXPECT_GT(waited, 2.0) << "the destroy did not wait for the creation to end";

    creator.join();
    std::printf("[ overlay-lock ] the stuck creation: %s", stuck.err.c_str());
    EXPECT_NE(stuck.rc, 0);
    EXPECT_NE(stuck.err.find("create space 'stuck': overlay 'dead'"), std::string::npos) << stuck.err;
    auto list = pnet({"list"});
    EXPECT_EQ(list.out.find("stuck"), std::string::npos) << list.out;
    EXPECT_FALSE(overlay_coming_up()) << "the overlay daemon's files are left";
}

}  // namespace
}  // namespace pntest
