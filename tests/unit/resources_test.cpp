// Resource limits (issue 22): the values' parsers (mkportspace, the helper's wire, the
// policy), mkportspace's options, the request's wire, and personalnet.conf's resources
// section with its defaults and maxima.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "lib/helper/request.hpp"
#include "lib/policy/policy.hpp"
#include "personalnet/space.hpp"
#include "tools/mkportspace_options.hpp"
#include "tools/resource_text.hpp"

namespace pn_unit {
namespace {

namespace pn = personalnet;
namespace opt = personalnet::mkportspace;
namespace policy = personalnet::policy;

TEST(ResourceParse, CpuQuotasInThousandths) {
    EXPECT_EQ(pn::parse_cpu("1.5").value(), 1500u);
    EXPECT_EQ(pn::parse_cpu("0.5").value(), 500u);
    EXPECT_EQ(pn::parse_cpu("2").value(), 2000u);
    EXPECT_EQ(pn::parse_cpu("0.001").value(), 1u);
    EXPECT_EQ(pn::parse_cpu("1024").value(), 1024000u);
    for (const char* bad :
         {"", "0", "0.0", "-1", "1.", ".5", "1.2345", "abc", "1,5", "1025", "99999999", "+1", " 1", "1e3"}) {
        auto r = pn::parse_cpu(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_NE(r.error().message().find(std::string("--cpu '") + bad + "'"), std::string::npos)
            << r.error().message();
    }
    EXPECT_EQ(pn::cpu_text(1500), "1.5");
    EXPECT_EQ(pn::cpu_text(2000), "2");
    EXPECT_EQ(pn::cpu_text(5), "0.005");
}

TEST(ResourceParse, SizesWithBinarySuffixes) {
    EXPECT_EQ(pn::parse_size("512M").value(), uint64_t{512} << 20);
    EXPECT_EQ(pn::parse_size("4G").value(), uint64_t{4} << 30);
    EXPECT_EQ(pn::parse_size("1T").value(), uint64_t{1} << 40);
    EXPECT_EQ(pn::parse_size("64k").value(), uint64_t{64} << 10);
    EXPECT_EQ(pn::parse_size("1048576").value(), uint64_t{1} << 20);
    for (const char* bad : {"", "12Q", "M", "-1G", "1.5G", "0", "4095", "1K", "99999999999999999999",
                            "4194305T", "18446744073709551616"}) {
        auto r = pn::parse_size(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.error().message().find(std::string("--memory '") + bad + "'"), std::string::npos)
            << r.error().message();
    }
    EXPECT_EQ(pn::size_text(uint64_t{512} << 20), "512M");
    EXPECT_EQ(pn::size_text(uint64_t{3} << 30), "3G");
    EXPECT_EQ(pn::size_text(5000), "5000");
}

TEST(ResourceParse, PidsAndIoWeightRanges) {
    EXPECT_EQ(pn::parse_pids("1").value(), 1u);
    EXPECT_EQ(pn::parse_pids("4194304").value(), 4194304u);
    EXPECT_EQ(pn::parse_io_weight("1").value(), 1u);
    EXPECT_EQ(pn::parse_io_weight("10000").value(), 10000u);
    for (const char* bad : {"0", "-5", "4194305", "99999999999", "1x", ""})
        EXPECT_FALSE(pn::parse_pids(bad).ok()) << bad;
    for (const char* bad : {"0", "10001", "abc"}) {
        auto r = pn::parse_io_weight(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.error().message().find(std::string("--io-weight '") + bad + "'"), std::string::npos);
    }
    pn::ResourceLimits l;
    EXPECT_TRUE(pn::validate_limits(l).ok());
    l.io_weight = 10001;
    EXPECT_FALSE(pn::validate_limits(l).ok());
}

std::variant<opt::Options, opt::OptionsError> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "mkportspace");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return opt::parse_options(static_cast<int>(args.size()), argv.data());
}

TEST(ResourceParse, MkportspaceOptions) {
    auto parsed =
        parse({"--cpu", "0.5", "--memory", "256M", "--pids", "64", "--io-weight", "50", "--", "true"});
    ASSERT_TRUE(std::holds_alternative<opt::Options>(parsed)) << std::get<opt::OptionsError>(parsed).line;
    const auto& o = std::get<opt::Options>(parsed);
    EXPECT_EQ(o.spec.limits.cpu_milli, 500u);
    EXPECT_EQ(o.spec.limits.memory_bytes, uint64_t{256} << 20);
    EXPECT_EQ(o.spec.limits.pids, 64u);
    EXPECT_EQ(o.spec.limits.io_weight, 50u);
    EXPECT_FALSE(o.creation_option.empty()) << "joining an existing space refuses them";
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--memory", "12Q"}, "mkportspace: --memory '12Q': "},
             {{"--cpu", "-1"}, "mkportspace: --cpu '-1': "},
             {{"--cpu", "0"}, "mkportspace: --cpu '0': "},
             {{"--pids", "0"}, "mkportspace: --pids '0': "},
             {{"--io-weight", "0"}, "mkportspace: --io-weight '0': "},
             {{"--io-weight", "10001"}, "mkportspace: --io-weight '10001': "},
             {{"--memory", "99999999999999999999G"}, "mkportspace: --memory '99999999999999999999G': "},
         }) {
        auto bad = parse(args);
        ASSERT_TRUE(std::holds_alternative<opt::OptionsError>(bad)) << needle;
        const auto& e = std::get<opt::OptionsError>(bad);
        EXPECT_EQ(e.exit_code, 2) << e.line;
        EXPECT_EQ(e.line.rfind(needle, 0), 0u) << e.line;
        EXPECT_EQ(e.line.find('\n'), std::string::npos) << e.line;
    }
}

TEST(ResourceParse, HelperWireCarriesAndRechecksLimits) {
    namespace helper = personalnet::helper;
    helper::Request r;
    r.op = helper::Op::create;
    r.spec.limits.cpu_milli = 1500;
    r.spec.limits.memory_bytes = uint64_t{1} << 30;
    r.spec.limits.pids = 100;
    r.spec.limits.io_weight = 200;
    auto back = helper::parse_request(helper::to_message(r));
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->spec.limits, r.spec.limits);
    // Unset limits are not written.
    helper::Request none;
    none.op = helper::Op::create;
    for (const auto& [k, v] : helper::to_message(none).fields)
        EXPECT_TRUE(k != "cpu_milli" && k != "memory" && k != "pids" && k != "io_weight") << k;
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"cpu_milli", "0"},
                                                          {"cpu_milli", "1024001"},
                                                          {"memory", "12Q"},
                                                          {"pids", "0"},
                                                          {"io_weight", "10001"}}) {
        helper::Message m = helper::to_message(none);
        m.add(key, value);
        auto refused = helper::parse_request(m);
        ASSERT_FALSE(refused.ok()) << key << "=" << value;
        EXPECT_NE(refused.error().message().find(key + "='" + value + "'"), std::string::npos)
            << refused.error().message();
    }
}

policy::Caller user(const std::string& name = "bob") {
    policy::Caller c;
    c.uid = 1000;
    c.gid = 1000;
    c.user = name;
    return c;
}

TEST(ResourcePolicy, SectionSettingsAndBadValues) {
    auto p = policy::parse_policy(R"(resources {
    max_cpu = 2
    max_memory = 4G
    max_pids = 1024
    cpu = 0.5
    memory = 1G
    pids = 256
    io_weight = 50
})",
                                  "test.conf");
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(p->max_resources.cpu_milli, 2000u);
    EXPECT_EQ(p->max_resources.memory_bytes, uint64_t{4} << 30);
    EXPECT_EQ(p->max_resources.pids, 1024u);
    EXPECT_EQ(p->default_resources.cpu_milli, 500u);
    EXPECT_EQ(p->default_resources.memory_bytes, uint64_t{1} << 30);
    EXPECT_EQ(p->default_resources.pids, 256u);
    EXPECT_EQ(p->default_resources.io_weight, 50u);
    EXPECT_EQ(policy::Policy{}.max_resources, pn::ResourceLimits{}) << "no maximum by default";
    for (const auto& [text, needle] : std::vector<std::pair<std::string, std::string>>{
             {"resources {\n max_memory = 12Q\n}", "test.conf: resources.max_memory '12Q': "},
             {"resources {\n cpu = -1\n}", "test.conf: resources.cpu '-1': "},
             {"resources {\n pids = 0\n}", "test.conf: resources.pids '0': "},
             {"resources {\n io_weight = 10001\n}", "test.conf: resources.io_weight '10001': "},
             {"resources {\n max_cpus = 1\n}", "unknown setting 'resources.max_cpus'"},
             {"resources {\n max_pids = 10\n pids = 20\n}", "resources.pids is above resources.max_pids"},
             {"resources {\n cpu = 1\n cpu = 2\n}", "given twice"},
         }) {
        auto bad = policy::parse_policy(text, "test.conf");
        ASSERT_FALSE(bad.ok()) << text;
        EXPECT_EQ(bad.error().code, EINVAL);
        EXPECT_NE(bad.error().message().find(needle), std::string::npos) << bad.error().message();
    }
}

TEST(ResourcePolicy, DefaultsMaximaAndRoot) {
    policy::Policy p;
    p.max_resources.cpu_milli = 2000;
    p.max_resources.memory_bytes = uint64_t{4} << 30;
    p.default_resources.pids = 100;
    p.default_resources.io_weight = 50;
    pn::ResourceLimits asked;
    asked.memory_bytes = uint64_t{1} << 30;
    policy::ResourceSources from;
    auto got = policy::resources_for(p, user(), asked, &from);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(got->memory_bytes, uint64_t{1} << 30) << "what the user asked, within the maximum";
    EXPECT_EQ(got->cpu_milli, 2000u) << "nothing asked and no default: the maximum";
    EXPECT_EQ(got->pids, 100u) << "the default";
    EXPECT_EQ(got->io_weight, 50u);
    EXPECT_STREQ(from.from[0], "personalnet.conf's resources.max_cpu");
    EXPECT_STREQ(from.from[1], "--memory");
    EXPECT_STREQ(from.from[2], "personalnet.conf's resources.pids");

    asked.memory_bytes = uint64_t{8} << 30;
    auto refused = policy::resources_for(p, user(), asked);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, EPERM);
    EXPECT_EQ(refused.error().context,
              "user 'bob' may not ask for --memory 8G (personalnet.conf: resources.max_memory = 4G)");
    asked = {};
    asked.cpu_milli = 2500;
    refused = policy::resources_for(p, user(), asked);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message().find("--cpu 2.5 (personalnet.conf: resources.max_cpu = 2)"),
              std::string::npos)
        << refused.error().message();

    // Root gets what it asked, no default and no maximum.
    policy::Caller root;
    auto rooted = policy::resources_for(p, root, asked);
    ASSERT_TRUE(rooted.ok());
    EXPECT_EQ(rooted.value(), asked);
}

// How pnet prints sizes and rates (show, top): each unit up to its last, then that unit.
TEST(ResourceText, SizesAndRatesScaleUpToTheirLargestUnit) {
    EXPECT_EQ(pn::cli::iec_bytes(512), "512");
    EXPECT_EQ(pn::cli::iec_bytes(1536), "1.5K");
    EXPECT_EQ(pn::cli::iec_bytes(3.0 * 1024 * 1024 * 1024), "3.0G");
    EXPECT_EQ(pn::cli::iec_bytes(2.0 * 1024 * 1024 * 1024 * 1024 * 1024), "2.0P");
    EXPECT_EQ(pn::cli::iec_bytes(4096.0 * 1024 * 1024 * 1024 * 1024 * 1024), "4096.0P");
    EXPECT_EQ(pn::cli::si_rate(800), "800");
    EXPECT_EQ(pn::cli::si_rate(10e6), "10M");
    EXPECT_EQ(pn::cli::si_rate(2e12), "2T");
}

}  // namespace
}  // namespace pn_unit
