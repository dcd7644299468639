// Overlay definitions: strongSwan's settings syntax, and the trust and content checks
// on /etc/personalnet/overlays.d/NAME.conf (here in a temporary directory).
#include "lib/ike/overlay_config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "lib/core/sys.hpp"
#include "lib/ike/settings.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;
namespace sys = personalnet::sys;

constexpr const char* kCorp = R"(# the corporate network
connections {
    corp {
        remote_addrs = 192.0.2.1, 192.0.2.2   # two gateways
        local { auth = psk }
        remote { auth = psk }
        children {
            net { remote_ts = 10.50.0.0/16 }
        }
    }
}
secrets {
    ike-corp { secret = "a \"quoted\" # secret" }
}
personalnet {
    dns = 10.50.0.53, 10.50.0.54
}
)";

TEST(SettingsSyntax, SectionsValuesCommentsAndQuotes) {
    auto s = ike::parse_settings(kCorp, "corp.conf");
    ASSERT_TRUE(s.ok()) << s.error().message();
    const ike::Settings* corp = s->section("connections")->section("corp");
    ASSERT_NE(corp, nullptr);
    EXPECT_EQ(*corp->find("remote_addrs"), "192.0.2.1, 192.0.2.2");
    EXPECT_EQ(*corp->section("local")->find("auth"), "psk");
    EXPECT_EQ(*corp->section("children")->section("net")->find("remote_ts"), "10.50.0.0/16");
    EXPECT_EQ(*s->section("secrets")->section("ike-corp")->find("secret"), "a \"quoted\" # secret");
    EXPECT_EQ(s->sections.size(), 3u);
    EXPECT_EQ(s->sections[0].name, "connections") << "order is kept";
}

// How pnkeeper is handed a definition: rendered, then parsed again to the same settings.
TEST(SettingsSyntax, RenderedSettingsParseBackToTheSame) {
    auto s = ike::parse_settings(kCorp, "corp.conf");
    ASSERT_TRUE(s.ok()) << s.error().message();
    ike::Settings odd;
    odd.values = {
        {"a", "back\\slash \"quote\" # not a comment } brace"}, {"b", "two\nlines\tand tab"}, {"c", ""}};
    s->sections.push_back({"odd", odd});
    auto again = ike::parse_settings(ike::render_settings(s.value()), "rendered");
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(ike::render_settings(again.value()), ike::render_settings(s.value()));
    EXPECT_EQ(*again->section("secrets")->section("ike-corp")->find("secret"), "a \"quoted\" # secret");
    const ike::Settings* back = again->section("odd");
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->values, odd.values);
}

TEST(SettingsSyntax, MalformedTextIsRefusedWithItsLine) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c :
         {Case{"a {\n b = 1\n", "x.conf:3: missing '}'"}, Case{"}\n", "x.conf:1: '}' without a section"},
          Case{"a {\n\n b 1\n}\n", "x.conf:3: expected '=' or '{' after 'b'"},
          Case{"include /etc/other.conf\n", "'include' is not allowed"},
          Case{"a : b { }\n", "section references"}, Case{"a = \"open\n", "unterminated string"},
          Case{"a = \"x\" y\n", "text after a quoted value"}, Case{"= 1\n", "x.conf:1: unexpected '='"}}) {
        auto s = ike::parse_settings(c.text, "x.conf");
        ASSERT_FALSE(s.ok()) << c.text;
        EXPECT_EQ(s.error().code, EINVAL);
        EXPECT_NE(s.error().message().find(c.says), std::string::npos) << s.error().message();
    }
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += "a {";
    EXPECT_FALSE(ike::parse_settings(deep, "x.conf").ok()) << "nesting is bounded";
}

TEST(SwanctlConvert, GatewaysAndRemoteNetworksAreTheLiteralOnes) {
    auto s = ike::parse_settings(R"(connections {
    a {
        remote_addrs = 192.0.2.1, gw.example.net, 2001:db8::1
        children {
            x { remote_ts = 10.50.0.0/16, 10.51.0.7[tcp/22], dynamic, 10.52.0.1-10.52.0.9 }
            y { remote_ts = 2001:db8:5::/48, 10.50.0.0/16 }
            z { local_ts = 10.1.0.0/24 }
        }
    }
    b { remote_addrs = %any }
})",
                                 "x.conf");
    ASSERT_TRUE(s.ok()) << s.error().message();
    std::vector<std::string> gws, nets;
    for (const auto& g : ike::gateways_of(*s)) gws.push_back(g.str());
    for (const auto& n : ike::remote_networks_of(*s)) nets.push_back(n.str());
    EXPECT_EQ(gws, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
    EXPECT_EQ(nets, (std::vector<std::string>{"10.50.0.0/16", "10.51.0.7/32", "2001:db8:5::/48"}))
        << "ports dropped, dynamic and ranges left out, duplicates once";
}

class OverlayDefinitionTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned definitions)";
        char tmpl[] = "/tmp/pnoverlay-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    }
    void TearDown() override {
        if (!dir_.empty()) {
            EXPECT_TRUE(run({"/bin/rm", "-rf", dir_}).empty());
        }
    }
    std::string put(const std::string& name, const std::string& text, mode_t mode = 0644) {
        std::string path = dir_ + "/" + name + ".conf";
        EXPECT_TRUE(sys::write_atomic(path, text).ok());
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }
    std::string dir_;
};

TEST_F(OverlayDefinitionTest, LoadsConnectionsSecretsAndDns) {
    put("corp", kCorp);
    auto def = ike::load_overlay("corp", dir_);
    ASSERT_TRUE(def.ok()) << def.error().message();
    EXPECT_EQ(def->path, dir_ + "/corp.conf");
    EXPECT_EQ(def->dns, (std::vector<std::string>{"10.50.0.53", "10.50.0.54"}));
    EXPECT_NE(def->swanctl.section("connections"), nullptr);
    EXPECT_NE(def->swanctl.section("secrets"), nullptr);
    EXPECT_EQ(def->swanctl.section("personalnet"), nullptr) << "personalnet's own section is not for charon";
}

TEST_F(OverlayDefinitionTest, UntrustedOrBadDefinitionsAreRefused) {
    std::string path = put("open", kCorp, 0666);
    auto r = ike::load_overlay("open", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EPERM);
    EXPECT_NE(r.error().message().find(path), std::string::npos) << r.error().message();

    ASSERT_EQ(::symlink((dir_ + "/open.conf").c_str(), (dir_ + "/link.conf").c_str()), 0);
    r = ike::load_overlay("link", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ELOOP) << r.error().message();

    r = ike::load_overlay("absent", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_NE(r.error().message().find(dir_ + "/absent.conf"), std::string::npos);

    for (const char* bad : {"", "..", "../etc/passwd", "-x", "a/b", "a b"}) {
        r = ike::load_overlay(bad, dir_);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, EINVAL) << bad;
    }
    put("empty", "secrets { }\n");
    r = ike::load_overlay("empty", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("defines no connection"), std::string::npos);
    put("odd", "connections { c { } }\nroutes { }\n");
    r = ike::load_overlay("odd", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("unknown section 'routes'"), std::string::npos);
    put("typo", "connections { c { } }\npersonalnet { dsn = 1.2.3.4 }\n");
    r = ike::load_overlay("typo", dir_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("personalnet.dsn"), std::string::npos);
    for (const char* bad : {"dns = 10.50.0.300", "addresses = 10.61.0.2/24", "addresses = corp.example"}) {
        put("badvalue", std::string("connections { c { } }\npersonalnet { ") + bad + " }\n");
        r = ike::load_overlay("badvalue", dir_);
        ASSERT_FALSE(r.ok()) << bad;
        std::string value = std::string(bad).substr(std::string(bad).find("= ") + 2);
        EXPECT_NE(r.error().message().find("'" + value + "' is not an IP address"), std::string::npos)
            << r.error().message();
    }
}

}  // namespace
}  // namespace pn_unit
