// The ESP probe against the real kernel, checked against what `ip xfrm` says, and the
// flush of a namespace's XFRM databases.
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

// flush_xfrm empties this namespace's policies (any kernel) and, where the kernel has
// ESP, its states. What a restarted overlay daemon starts from.
TEST(XfrmFlush, EmptiesTheNamespacesPoliciesAndStates) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    auto esp = personalnet::netlink::kernel_has_esp();
    ASSERT_TRUE(esp.ok()) << esp.error().message();
    const bool with_state = esp.value();
    EXPECT_EQ(in_netns([with_state] {
                  for (const char* dir : {"out", "in", "fwd"})
                      CHECK_RUN(kIp, "xfrm", "policy", "add", "src", "10.61.0.2/32", "dst", "10.60.0.0/24",
                                "dir", dir, "tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp",
                                "mode", "tunnel");
                  if (with_state)
                      CHECK_RUN(kIp, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto",
                                "esp", "spi", "0x4b260001", "mode", "tunnel", "aead", "rfc4106(gcm(aes))",
                                "0x00112233445566778899aabbccddeeff00112233", "128");
                  CHECK_OK(personalnet::netlink::flush_xfrm());
                  std::string policies, states;
                  CHECK_THAT(run({kIp, "xfrm", "policy"}, &policies).empty() && policies.empty(), policies);
                  CHECK_THAT(run({kIp, "xfrm", "state"}, &states).empty() && states.empty(), states);
                  return std::string();
              }),
              "");
}

}  // namespace
}  // namespace pn_unit
