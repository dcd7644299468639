// The ESP probe against the real kernel, checked against what `ip xfrm` says.
#include "lib/netlink/xfrm_probe.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

TEST(XfrmProbe, AgreesWithIpXfrmAndLeavesNothing) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    auto ours = personalnet::netlink::kernel_has_esp();
    ASSERT_TRUE(ours.ok()) << ours.error().message();
    std::string err = in_netns([] {
        return run({kIp,
                    "xfrm",
                    "state",
                    "add",
                    "src",
                    "192.0.2.1",
                    "dst",
                    "192.0.2.2",
                    "proto",
                    "esp",
                    "spi",
                    "0x1000",
                    "mode",
                    "tunnel",
                    "enc",
                    "cbc(aes)",
                    "0x00112233445566778899aabbccddeeff",
                    "auth",
                    "hmac(sha256)",
                    "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"});
    });
    EXPECT_EQ(ours.value(), err.empty()) << "ip xfrm says: " << (err.empty() ? "ESP state added" : err);
    std::string states;
    EXPECT_EQ(run({kIp, "xfrm", "state"}, &states), "");
    EXPECT_EQ(states, "") << "the probe ran in a namespace of its own";
}

}  // namespace
}  // namespace pn_unit
