// The DN map (personalnet.conf: networks.dnmap): the normal form DNs are compared in, the
// file's syntax and its errors, lookups, the refusal of a certificate that maps to
// another user, and trusting the file on disk.
#include "lib/policy/dn_map.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "lib/core/sys.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace policy = personalnet::policy;
namespace sys = personalnet::sys;
using personalnet::Status;

constexpr const char* kMap = R"(# subject DN                           user
"C=CH, O=Example, CN=Alice Smith"       alice
  "C=CH,O=Example,CN=Bob \"the\" Builder"   bob   # a quoted name
"CN=carol\, jr, O=Example"	carol

"cn = Dave + UID=d1 , o=Example" dave.d-1_
)";

bool has(const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
}

policy::DnMap parsed(const std::string& text) {
    auto m = policy::parse_dn_map(text, "dnmap");
    EXPECT_TRUE(m.ok()) << m.error().message();
    return m.ok() ? m.value() : policy::DnMap{};
}

std::string refusal(const std::string& text) {
    auto m = policy::parse_dn_map(text, "dnmap");
    if (m.ok()) return "";
    EXPECT_EQ(m.error().code, EINVAL) << m.error().message();
    return m.error().context;
}

std::string normal(const std::string& dn) { return policy::normalize_dn(dn).value_or("<none>"); }

TEST(DnMapNormalForm, SpacingAndTypeCaseOnly) {
    EXPECT_EQ(normal("CN=a, O=b"), "CN=a,O=b");
    EXPECT_EQ(normal("CN=a,O=b"), "CN=a,O=b");
    EXPECT_EQ(normal("  cn = a , o=b  "), "CN=a,O=b");
    EXPECT_EQ(normal("CN=Alice  Smith, O=b"), "CN=Alice  Smith,O=b") << "blanks inside values stay";
    EXPECT_EQ(normal("CN=alice"), "CN=alice");
    EXPECT_NE(normal("CN=Alice"), normal("CN=alice")) << "values are compared exactly";
    EXPECT_NE(normal("CN=a,O=b"), normal("O=b,CN=a")) << "order matters";
    EXPECT_EQ(normal("CN=a + UID=x, O=b"), "CN=a+UID=x,O=b") << "multi-valued RDNs";
    EXPECT_EQ(normal("CN=a\\, b,O=c"), "CN=a\\, b,O=c") << "an escaped comma is part of the value";
    EXPECT_EQ(normal("CN=a\\ ,O=c"), "CN=a\\ ,O=c") << "an escaped trailing blank stays";
    EXPECT_EQ(normal("CN=a=b"), "CN=a=b");
    EXPECT_EQ(normal("2.5.4.3=a, emailAddress=a@example.com"), "2.5.4.3=a,EMAILADDRESS=a@example.com");
    EXPECT_EQ(normal("CN=J\xc3\xb6rg"), "CN=J\xc3\xb6rg");
    for (const char* bad : {"", " ", "CN", "CN=", "=a", "CN=a,", ",CN=a", "CN=a,,O=b", "CN=a+", "C N=a",
                            "CN=a\\", "CN=a\nO=b", "CN=a\x7f", "CN=a\\\x01"})
        EXPECT_EQ(policy::normalize_dn(bad), std::nullopt) << bad;
    EXPECT_EQ(policy::normalize_dn(std::string("CN=a\0b", 6)), std::nullopt);
}

TEST(DnMapParse, EntriesCommentsAndBlankLines) {
    policy::DnMap m = parsed(kMap);
    EXPECT_EQ(m.entries().size(), 4u);
    EXPECT_EQ(m.path(), "dnmap");
    auto user = [&](const std::string& dn) {
        const std::string* u = m.lookup(dn);
        return u == nullptr ? std::string("<nobody>") : *u;
    };
    EXPECT_EQ(user("C=CH, O=Example, CN=Alice Smith"), "alice");
    EXPECT_EQ(user("C=CH,O=Example,CN=Alice Smith"), "alice");
    EXPECT_EQ(user("c=CH , o=Example ,cn=Alice Smith"), "alice");
    EXPECT_EQ(user("C=CH, O=Example, CN=Bob \\\"the\\\" Builder"), "bob");
    EXPECT_EQ(user("CN=carol\\, jr,O=Example"), "carol");
    EXPECT_EQ(user("CN=Dave+UID=d1,O=Example"), "dave.d-1_");
    EXPECT_EQ(user("C=CH, O=Example, CN=alice smith"), "<nobody>");
    EXPECT_EQ(user("C=CH, O=Example"), "<nobody>");
    EXPECT_EQ(user("not a dn"), "<nobody>");
    EXPECT_EQ(user(""), "<nobody>");

    EXPECT_EQ(parsed("").entries().size(), 0u);
    EXPECT_EQ(parsed("# nothing\n\n   \n").entries().size(), 0u);
    EXPECT_EQ(parsed("\"CN=a\" alice\r\n\"CN=b\" bob").entries().size(), 2u) << "CRLF, no final newline";
}

TEST(DnMapParse, ErrorsNameFileAndLine) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c : {
             Case{"# ok\nCN=a alice\n", "dnmap:2: expected a quoted subject DN"},
             Case{"\"CN=a alice\n\"CN=b\" bob\n", "dnmap:1: unterminated DN (no closing '\"')"},
             Case{"\"CN=a\\\" alice\n", "dnmap:1: unterminated DN"},
             Case{"\"CN=a\"\n", "dnmap:1: expected a user name after the DN"},
             Case{"\"CN=a\"  # alice\n", "dnmap:1: expected a user name after the DN"},
             Case{"\"CN=a\" alice bob\n", "dnmap:1: text after the user name 'alice'"},
             Case{"\"CN=a\" alice,bob\n", "dnmap:1: 'alice,bob' is not a user name (want 1-32 of"},
             Case{"\"CN=a\" -alice\n", "dnmap:1: '-alice' is not a user name"},
             Case{"\n\n\"CN\" alice\n",
                  "dnmap:3: \"CN\" is not a distinguished name (want \"TYPE=value, ...\")"},
             Case{"\"CN=a,,O=b\" alice\n", "dnmap:1: \"CN=a,,O=b\" is not a distinguished name"},
             Case{"\"\" alice\n", "dnmap:1: \"\" is not a distinguished name"},
             Case{"\"CN=a\tb\" alice\n", "dnmap:1: \"CN=a\\x09b\" is not a distinguished name"},
             Case{"\"CN=a, O=b\" alice\n\"cn=a,o=b\" bob\n",
                  "dnmap:2: \"cn=a,o=b\" is already mapped on line 1"},
             Case{"\"CN=a\" alice\n\"CN=a\" alice\n", "dnmap:2: \"CN=a\" is already mapped on line 1"},
         }) {
        std::string m = refusal(c.text);
        EXPECT_TRUE(has(m, c.says)) << c.text << " -> " << m;
    }
}

TEST(DnMapCheck, MapsToTheUserOrIsRefused) {
    policy::DnMap m = parsed(kMap);
    EXPECT_TRUE(policy::check_subject_maps_to(m, "C=CH, O=Example, CN=Alice Smith", "alice").ok());
    Status st = policy::check_subject_maps_to(m, "C=CH, O=Example, CN=Alice Smith", "bob");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EPERM);
    EXPECT_EQ(
        st.error().context,
        "certificate subject \"C=CH, O=Example, CN=Alice Smith\" maps to alice, not bob (DN map dnmap)");
    st = policy::check_subject_maps_to(m, "CN=Mallory", "bob");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EPERM);
    EXPECT_EQ(st.error().context, "certificate subject \"CN=Mallory\" is not in the DN map dnmap");
    st = policy::check_subject_maps_to(m, "CN=x\nforged line", "bob");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().context, "certificate subject \"CN=x\\x0aforged line\" is not in the DN map dnmap")
        << "one line, whatever the certificate says";
}

class DnMapLoadTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned files)";
        char tmpl[] = "/tmp/pndnmap-XXXXXX";
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
        std::string path = dir_ + "/" + name;
        EXPECT_TRUE(sys::write_atomic(path, text).ok());
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }
    std::string dir_;
};

TEST_F(DnMapLoadTest, TrustedFilesOnly) {
    std::string path = put("dnmap", kMap);
    auto m = policy::load_dn_map(path);
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->entries().size(), 4u);
    EXPECT_EQ(m->path(), path);

    put("writable", kMap, 0666);
    auto w = policy::load_dn_map(dir_ + "/writable");
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().code, EPERM) << w.error().message();
    EXPECT_TRUE(has(w.error().message(), "DN map")) << w.error().message();

    auto missing = policy::load_dn_map(dir_ + "/absent");
    ASSERT_FALSE(missing.ok()) << "a missing map is not an empty one";
    EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message();

    path = put("bad", "\"CN=a\" alice\nCN=b bob\n");
    auto bad = policy::load_dn_map(path);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, EINVAL);
    EXPECT_EQ(bad.error().context, "DN map: " + path + ":2: expected a quoted subject DN");
}

}  // namespace
}  // namespace pn_unit
