// pam_personalnet's configuration: parsing pam.conf strictly, matching users to rules,
// expanding space names, and trusting (or not) the file on disk.
#include "lib/pam/pam_config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace pn_unit {
namespace {

namespace pam = personalnet::pam;

constexpr const char* kFull = R"(session {
    login {
        users = alice, bob
        name = login-%u
        overlay = corp
        inherit_routes = no
        inherit_services = false
        file_space = 0
        destroy_on_last_close = yes
    }
    staff {
        groups = staff, wheel
        name = staff_%u
    }
    rest {
        users = *
        name = shared
    }
}
rundir = /run/pn
statedir = /var/lib/pn
overlaydir = /etc/pn/overlays.d
libexecdir = /usr/lib
)";

std::string refusal(const std::string& text) {
    auto c = pam::parse_pam_config(text, "pam.conf");
    if (c.ok()) return "";
    EXPECT_EQ(c.error().code, EINVAL);
    return c.error().message();
}

TEST(PamConfig, ParsesEverySetting) {
    auto c = pam::parse_pam_config(kFull, "pam.conf");
    ASSERT_TRUE(c.ok()) << c.error().message();
    ASSERT_EQ(c->rules.size(), 3U);
    const auto& r = c->rules[0];
    EXPECT_EQ(r.label, "login");
    EXPECT_EQ(r.users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(r.name_template, "login-%u");
    EXPECT_EQ(r.overlay, "corp");
    EXPECT_FALSE(r.inherit_routes);
    EXPECT_FALSE(r.inherit_services);
    EXPECT_FALSE(r.file_space);
    EXPECT_TRUE(r.destroy_on_last_close);
    EXPECT_EQ(c->rules[1].groups, (std::vector<std::string>{"staff", "wheel"}));
    EXPECT_TRUE(c->rules[1].inherit_routes);
    EXPECT_TRUE(c->rules[1].file_space);
    EXPECT_FALSE(c->rules[1].destroy_on_last_close);
    EXPECT_EQ(c->rundir, "/run/pn");
    EXPECT_EQ(c->statedir, "/var/lib/pn");
    EXPECT_EQ(c->overlaydir, "/etc/pn/overlays.d");
    EXPECT_EQ(c->libexecdir, "/usr/lib");
}

TEST(PamConfig, DefaultsWhenEmpty) {
    auto c = pam::parse_pam_config("", "pam.conf");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->rules.empty());
    EXPECT_EQ(c->rundir, "/run/personalnet");
    EXPECT_EQ(c->libexecdir, "");  // the library's built-in one
}

TEST(PamConfig, FirstMatchWins) {
    auto c = pam::parse_pam_config(kFull, "pam.conf");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(pam::match_rule(c.value(), "bob", {"staff"})->label, "login");
    EXPECT_EQ(pam::match_rule(c.value(), "carol", {"users", "wheel"})->label, "staff");
    EXPECT_EQ(pam::match_rule(c.value(), "dave", {"users"})->label, "rest");
    c->rules.pop_back();
    EXPECT_FALSE(pam::match_rule(c.value(), "dave", {"users"}).has_value());
}

TEST(PamConfig, ExpandsNames) {
    auto c = pam::parse_pam_config(kFull, "pam.conf");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(pam::space_name(c->rules[0], "alice").value(), "login-alice");
    EXPECT_EQ(pam::space_name(c->rules[1], "carol").value(), "staff_carol");
    auto too_long = pam::space_name(c->rules[0], std::string(30, 'x'));
    ASSERT_FALSE(too_long.ok());
    EXPECT_NE(too_long.error().message().find("session.login.name"), std::string::npos);
}

TEST(PamConfig, RefusesWithKeyNamed) {
    const std::string rule = "session { r { users = a\n name = n\n";
    EXPECT_NE(refusal(rule + " user = x } }").find("unknown setting 'session.r.user'"), std::string::npos);
    EXPECT_NE(refusal(rule + " inherit_routes = maybe } }").find("session.r.inherit_routes: 'maybe'"),
              std::string::npos);
    EXPECT_NE(refusal(rule + " name = x } }").find("'session.r.name' given twice"), std::string::npos);
    EXPECT_NE(refusal(rule + " overlay = .hidden } }").find("session.r.overlay"), std::string::npos);
    EXPECT_NE(refusal(rule + " sub { } } }").find("unknown section 'session.r.sub'"), std::string::npos);
    EXPECT_NE(refusal("session { r { name = n } }").find("neither users nor groups"), std::string::npos);
    EXPECT_NE(refusal("session { r { users = a } }").find("no name given"), std::string::npos);
    EXPECT_NE(refusal("session { r { users = a\n name = x%d } }").find("session.r.name"), std::string::npos);
    EXPECT_NE(refusal("session { r { users = a\n name = anon-%u } }").find("valid space name"),
              std::string::npos);
    EXPECT_NE(refusal("session { r { users = a, *\n name = n } }").find("mixes"), std::string::npos);
    EXPECT_NE(refusal("session { r { groups = -x\n name = n } }").find("session.r.groups: '-x'"),
              std::string::npos);
    EXPECT_NE(refusal("session { x = 1 }").find("unknown setting 'session.x'"), std::string::npos);
    EXPECT_NE(refusal("sessions { }").find("unknown section 'sessions'"), std::string::npos);
    EXPECT_NE(refusal("rundir = run").find("rundir: 'run'"), std::string::npos);
    EXPECT_NE(refusal("libexecdir = lib/pn").find("libexecdir: 'lib/pn'"), std::string::npos);
    EXPECT_NE(refusal("rundir = /a\nrundir = /b").find("given twice"), std::string::npos);
    EXPECT_NE(refusal("colour = red").find("pam.conf: unknown setting 'colour'"), std::string::npos);
    EXPECT_NE(refusal("session {").find("pam.conf:"), std::string::npos);
}

class PamConfigFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pn-pamconf-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        path_ = dir_ + "/pam.conf";
        std::ofstream(path_) << kFull;
        ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
    }
    void TearDown() override {
        (void)::unlink(path_.c_str());
        (void)::rmdir(dir_.c_str());
    }
    std::string dir_, path_;
};

TEST_F(PamConfigFile, LoadsTrustedFile) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root-owned files";
    auto c = pam::load_pam_config(path_);
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ(c->rules.size(), 3U);
    EXPECT_EQ(c->libexecdir, "/usr/lib");
}

TEST_F(PamConfigFile, RefusesALibexecdirOthersCanChange) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root-owned files";
    std::ofstream(path_) << "libexecdir = /tmp\n";  // world-writable: not what root may run from
    auto c = pam::load_pam_config(path_);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message().find("pam.conf: libexecdir"), std::string::npos) << c.error().message();
}

TEST_F(PamConfigFile, RefusesWritableOrMissingFile) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root-owned files";
    ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);
    auto c = pam::load_pam_config(path_);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, EPERM);
    EXPECT_EQ(c.error().message().rfind("pam.conf: ", 0), 0U) << c.error().message();
    auto missing = pam::load_pam_config(dir_ + "/nothing.conf");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_FALSE(pam::load_pam_config("relative.conf").ok());
}

}  // namespace
}  // namespace pn_unit
