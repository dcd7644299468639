// mkportspace's command line (tools/mkportspace_options.cpp): --publish, whose bad values
// are refused with exit 2 in one line naming the value (the fuzz corpus covers the rest).
#include "tools/mkportspace_options.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <variant>
#include <vector>

namespace pn_unit {
namespace {

namespace opt = personalnet::mkportspace;

std::variant<opt::Options, opt::OptionsError> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "mkportspace");
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return opt::parse_options(static_cast<int>(args.size()), argv.data());
}

TEST(MkportspaceOptions, PublishIsRepeatableAndCreationOnly) {
    auto parsed = parse({"--name", "web", "--publish", "tcp/8080", "--publish=udp/5353:53", "--", "true"});
    ASSERT_TRUE(std::holds_alternative<opt::Options>(parsed)) << std::get<opt::OptionsError>(parsed).line;
    const auto& o = std::get<opt::Options>(parsed);
    ASSERT_EQ(o.spec.published.size(), 2u);
    EXPECT_EQ(o.spec.published[0].proto, IPPROTO_TCP);
    EXPECT_EQ(o.spec.published[0].port, 8080);
    EXPECT_EQ(o.spec.published[0].inner, 8080);
    EXPECT_EQ(o.spec.published[1].str(), "udp/5353:53");
    EXPECT_EQ(o.creation_option, "--publish") << "joining an existing space refuses it";
    EXPECT_EQ(o.command, std::vector<std::string>{"true"});
}

TEST(MkportspaceOptions, BadPortsExitTwoInOneLineNamingTheValue) {
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--publish", "tcp/0"}, "bad port to publish 'tcp/0'"},
             {{"--publish", "tcp/70000"}, "bad port to publish 'tcp/70000'"},
             {{"--publish", "sctp/80"}, "bad port to publish 'sctp/80'"},
             {{"--publish", "tcp/8080:"}, "bad port to publish 'tcp/8080:'"},
             {{"--publish", "8080"}, "bad port to publish '8080'"},
             {{"--publish", "udp/500"}, "cannot publish 'udp/500': UDP ports 500 and 4500 carry IKE and ESP"},
             {{"--publish", "tcp/8080", "--publish", "tcp/8080:80"},
              "mkportspace: cannot publish 'tcp/8080:80': tcp/8080 is already published as 'tcp/8080'"},
             {{"--publish"}, "'--publish'"},  // as for every long option without its value
         }) {
        auto parsed = parse(args);
        ASSERT_TRUE(std::holds_alternative<opt::OptionsError>(parsed)) << needle;
        const auto& e = std::get<opt::OptionsError>(parsed);
        EXPECT_EQ(e.exit_code, 2) << e.line;
        EXPECT_NE(e.line.find(needle), std::string::npos) << "want '" << needle << "' in: " << e.line;
        EXPECT_EQ(e.line.find('\n'), std::string::npos) << e.line;
    }
}

TEST(MkportspaceOptions, SharePidsAndHostname) {
    auto parsed = parse({"--share-pids", "--", "true"});
    ASSERT_TRUE(std::holds_alternative<opt::Options>(parsed));
    EXPECT_TRUE(std::get<opt::Options>(parsed).spec.share_pids);
    EXPECT_EQ(std::get<opt::Options>(parsed).creation_option, "--share-pids");
    parsed = parse({"--hostname", "box-1", "--", "true"});
    ASSERT_TRUE(std::holds_alternative<opt::Options>(parsed));
    EXPECT_EQ(std::get<opt::Options>(parsed).spec.hostname, "box-1");
    EXPECT_FALSE(std::get<opt::Options>(parsed).spec.share_pids) << "a PID namespace by default";
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--hostname", "a_b"}, "bad hostname 'a_b'"},
             {{"--hostname", "-ab"}, "bad hostname '-ab'"},
             {{"--hostname", ""}, "bad hostname ''"},
             {{"--hostname", std::string(65, 'x')}, "bad hostname 'xxx"},
             {{"--share-pids", "--hostname", "box"}, "--hostname needs the space's own PID namespace"},
         }) {
        auto bad = parse(args);
        ASSERT_TRUE(std::holds_alternative<opt::OptionsError>(bad)) << needle;
        const auto& e = std::get<opt::OptionsError>(bad);
        EXPECT_EQ(e.exit_code, 2) << e.line;
        EXPECT_NE(e.line.find(needle), std::string::npos) << e.line;
        EXPECT_EQ(e.line.find('\n'), std::string::npos) << e.line;
    }
}

}  // namespace
}  // namespace pn_unit
