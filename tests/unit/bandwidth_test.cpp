// Bandwidth (issue 22): the rate parser shared by mkportspace, the helper and the policy,
// the policy's resources section, and the shaper's token bucket sizes.
#include <gtest/gtest.h>

#include <string>

#include "lib/policy/policy.hpp"
#include "lib/policy/resources.hpp"
#include "lib/space/shaper.hpp"
#include "personalnet/space.hpp"

namespace pn_unit {
namespace {

namespace pn = personalnet;

TEST(RateTest, ReadsDecimalBitsWithSiSuffixes) {
    struct Case {
        const char* text;
        uint64_t bps;
    };
    for (auto [text, bps] : {Case{"10M", 10'000'000}, Case{"10Mbit", 10'000'000}, Case{"500k", 500'000},
                             Case{"500kbit", 500'000}, Case{"1.5M", 1'500'000}, Case{"8k", 8'000},
                             Case{"8000", 8'000}, Case{"100G", 100'000'000'000}, Case{"2.25G", 2'250'000'000},
                             Case{"0.5M", 500'000}, Case{"12345", 12'345}, Case{"1.000001M", 1'000'001}}) {
        auto r = pn::parse_rate(text);
        ASSERT_TRUE(r.ok()) << text << ": " << r.error().message();
        EXPECT_EQ(r.value(), bps) << text;
        // Printed so that it reads back the same.
        auto back = pn::parse_rate(pn::rate_str(bps));
        ASSERT_TRUE(back.ok()) << pn::rate_str(bps);
        EXPECT_EQ(back.value(), bps) << pn::rate_str(bps);
    }
    EXPECT_EQ(pn::rate_str(10'000'000), "10M");
    EXPECT_EQ(pn::rate_str(1'500'000), "1.5M");
    EXPECT_EQ(pn::rate_str(8'000), "8k");
    EXPECT_EQ(pn::rate_str(12'345), "12.345k");
}

TEST(RateTest, RefusesAnythingElseNamingTheValue) {
    for (const char* bad : {"",
                            "fast",
                            "10Q",
                            "0",
                            "-1",
                            "+1M",
                            "1.",
                            ".5M",
                            "1..5M",
                            "1.5.1M",
                            "M",
                            "bit",
                            "10 M",
                            " 10M",
                            "10m",
                            "10MBit",
                            "10Mbits",
                            "7k",
                            "7999",
                            "101G",
                            "1e6",
                            "0x10M",
                            "1.0000000001G",
                            "99999999999999999999999",
                            "10Mbitbit",
                            "1/2"}) {
        auto r = pn::parse_rate(bad);
        ASSERT_FALSE(r.ok()) << bad << " read as " << r.value();
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_NE(r.error().message().find(std::string("'") + bad + "'"), std::string::npos)
            << r.error().message();
    }
}

TEST(RateTest, BandwidthIsOneRateOrInSlashOut) {
    pn::ResourceLimits l;
    ASSERT_TRUE(pn::parse_bandwidth("10M", l).ok());
    EXPECT_EQ(l.rate_in, 10'000'000u);
    EXPECT_EQ(l.rate_out, 10'000'000u);
    EXPECT_EQ(pn::bandwidth_str(l), "10M");
    ASSERT_TRUE(pn::parse_bandwidth("100M/10Mbit", l).ok());
    EXPECT_EQ(l.rate_in, 100'000'000u);
    EXPECT_EQ(l.rate_out, 10'000'000u);
    EXPECT_EQ(pn::bandwidth_str(l), "100M/10M");
    EXPECT_FALSE(l.needs_cgroup());
    for (const char* bad : {"1/2/3", "10M/", "/10M", "/", "", "fast", "10M/fast", "10M//1M"}) {
        pn::ResourceLimits before = l;
        auto st = pn::parse_bandwidth(bad, l);
        ASSERT_FALSE(st.ok()) << bad;
        EXPECT_NE(st.error().message().find(std::string("'") + bad + "'"), std::string::npos)
            << st.error().message();
        EXPECT_EQ(l, before) << "unchanged after " << bad;
    }
    EXPECT_TRUE(pn::validate_bandwidth(pn::ResourceLimits{}).ok());
    pn::ResourceLimits half;
    half.rate_in = 10'000'000;
    EXPECT_FALSE(pn::validate_bandwidth(half).ok());
    half.rate_out = 1;
    EXPECT_FALSE(pn::validate_bandwidth(half).ok());
}

TEST(RateTest, TokenBucketHoldsAFewFramesAtLeast) {
    auto small = pn::space::tbf_for(8'000);
    EXPECT_EQ(small.rate_bytes, 1'000u);
    EXPECT_GE(small.burst_bytes, 16u * 1514);
    EXPECT_GE(small.limit_bytes, 4 * small.burst_bytes);
    auto ten = pn::space::tbf_for(10'000'000);
    EXPECT_EQ(ten.rate_bytes, 1'250'000u);
    EXPECT_EQ(ten.limit_bytes, 125'000u);
    auto huge = pn::space::tbf_for(pn::kMaxRate);
    EXPECT_EQ(huge.rate_bytes, 12'500'000'000u);
    EXPECT_EQ(huge.burst_bytes, 125'000'000u);
}

pn::policy::Caller user() {
    pn::policy::Caller c;
    c.uid = 1000;
    c.user = "bob";
    return c;
}

TEST(BandwidthPolicyTest, ResourcesSectionReadsMaximumAndDefault) {
    auto p = pn::policy::parse_policy("resources {\n max_bandwidth = 100M/20M\n bandwidth = 10M\n}\n", "t");
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(p->max_resources.rate_in, 100'000'000u);
    EXPECT_EQ(p->max_resources.rate_out, 20'000'000u);
    EXPECT_EQ(p->default_resources.rate_in, 10'000'000u);
    EXPECT_EQ(p->default_resources.rate_out, 10'000'000u);
    auto none = pn::policy::parse_policy("", "t");
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->max_resources, pn::ResourceLimits{});

    for (const char* bad :
         {"resources {\n max_bandwidth = fast\n}\n", "resources {\n bandwidth = 1/2/3\n}\n",
          "resources {\n max_bandwith = 10M\n}\n", "resources {\n bandwidth = 1M\n bandwidth = 2M\n}\n"}) {
        auto r = pn::policy::parse_policy(bad, "t");
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_NE(r.error().message().find("resources."), std::string::npos) << r.error().message();
    }
}

TEST(BandwidthPolicyTest, AboveTheMaximumIsRefusedRootPassesDefaultsApply) {
    auto p = pn::policy::parse_policy("resources {\n max_bandwidth = 100M/20M\n bandwidth = 10M\n}\n", "t");
    ASSERT_TRUE(p.ok());
    pn::ResourceLimits asked;
    ASSERT_TRUE(pn::parse_bandwidth("100M/30M", asked).ok());
    auto st = pn::policy::within_bandwidth(*p, user(), asked);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EPERM);
    EXPECT_EQ(st.error().context,
              "user 'bob' may not have bandwidth 100M/30M, above 100M/20M (personalnet.conf: "
              "resources.max_bandwidth)");
    pn::policy::Caller root;
    EXPECT_TRUE(pn::policy::within_bandwidth(*p, root, asked).ok());
    ASSERT_TRUE(pn::parse_bandwidth("100M/20M", asked).ok());
    EXPECT_TRUE(pn::policy::within_bandwidth(*p, user(), asked).ok());

    // Nothing asked: the default, or the maximum without one; root's stays unlimited.
    pn::ResourceLimits nothing;
    pn::policy::apply_bandwidth_policy(*p, user(), nothing);
    EXPECT_EQ(pn::bandwidth_str(nothing), "10M");
    pn::ResourceLimits mine = asked;
    pn::policy::apply_bandwidth_policy(*p, user(), mine);
    EXPECT_EQ(mine, asked);
    pn::ResourceLimits roots;
    pn::policy::apply_bandwidth_policy(*p, root, roots);
    EXPECT_EQ(roots, pn::ResourceLimits{});
    auto max_only = pn::policy::parse_policy("resources {\n max_bandwidth = 50M\n}\n", "t");
    ASSERT_TRUE(max_only.ok());
    pn::ResourceLimits capped;
    pn::policy::apply_bandwidth_policy(*max_only, user(), capped);
    EXPECT_EQ(pn::bandwidth_str(capped), "50M");
}

}  // namespace
}  // namespace pn_unit
