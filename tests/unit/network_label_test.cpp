// Personal networks' labels (issue 17): personalnet { label = 0xNNNN } in an overlay
// definition, every refusal naming file, line and value; the settings' line numbers they
// rely on; and the registry's side: a network's label claimed exactly, and local
// allocation keeping clear of every label a definition names.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/ike/overlay_config.hpp"
#include "lib/ike/settings.hpp"
#include "lib/registry/registry.hpp"

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;
namespace reg = personalnet::registry;
namespace sys = personalnet::sys;

// A personal network's definition with the given personalnet section body (from line 7).
std::string network_conf(const std::string& personalnet_body, const std::string& remote = "192.0.2.7") {
    return "connections {\n"  // 1
           "    net {\n"      // 2
           "        remote_addrs = " +
           remote +
           "\n"                                                     // 3
           "        children { c { remote_ts = 10.70.0.0/24 } }\n"  // 4
           "    }\n"                                                // 5
           "}\n"                                                    // 6
           "personalnet {\n" +                                      // 7
           personalnet_body +                                       // 8...
           "}\n";
}

TEST(SettingsSyntax, ValuesKeepTheirLine) {
    auto s = ike::parse_settings("a = 1\n\n# c\nsec {\n  b = \"two\n lines\"\n  c = 3 }\nd = 4\n", "x.conf");
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(s->line_of(0), 1);
    EXPECT_EQ(s->line_of(1), 8);
    const ike::Settings* sec = s->section("sec");
    ASSERT_NE(sec, nullptr);
    EXPECT_EQ(sec->line_of(0), 5);
    EXPECT_EQ(sec->line_of(1), 7) << "after a quoted value spanning lines";
    EXPECT_EQ(sec->line_of(9), 0) << "no such value";
}

TEST(NetworkLabel, GoodValuesInEitherCase) {
    for (auto [text, want] :
         {std::pair{"0x1", 0x0001}, std::pair{"0x4a21", 0x4a21}, std::pair{"0X4A21", 0x4a21},
          std::pair{"0xbfff", 0xbfff}, std::pair{"0xd000", 0xd000}, std::pair{"0xFFFF", 0xffff},
          std::pair{"0x00ff", 0x00ff}}) {
        auto def =
            ike::parse_overlay("corp", network_conf(std::string("    label = ") + text + "\n"), "corp.conf");
        ASSERT_TRUE(def.ok()) << text << ": " << def.error().message();
        ASSERT_TRUE(def->label.has_value()) << text;
        EXPECT_EQ(*def->label, want) << text;
    }
    auto plain = ike::parse_overlay("corp", network_conf("    dns = 10.70.0.53\n", "%any"), "corp.conf");
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    EXPECT_FALSE(plain->label.has_value()) << "no label: an ordinary overlay (and %any stays allowed)";
}

TEST(NetworkLabel, BadValuesAreRefusedNamingFileLineAndValue) {
    struct Case {
        const char* value;
        const char* why;
    };
    for (const Case& c :
         {Case{"0x0", "is reserved (0)"}, Case{"0x0000", "is reserved (0)"},
          Case{"0xc000", "is reserved (0xc000-0xcfff)"}, Case{"0xc001", "is reserved (0xc000-0xcfff)"},
          Case{"0xCFFF", "is reserved (0xc000-0xcfff)"}, Case{"19001", "is not a label"},
          Case{"0", "is not a label"}, Case{"0x", "is not a label"}, Case{"0x12345", "is not a label"},
          Case{"0x4g21", "is not a label"}, Case{"0x4a21 x", "is not a label"},
          Case{"x4a21", "is not a label"}, Case{"0x+4a2", "is not a label"}, Case{"-0x1", "is not a label"},
          Case{"\"\"", "is not a label"}}) {
        auto def = ike::parse_overlay("corp", network_conf("\n    label = " + std::string(c.value) + "\n"),
                                      "/etc/personalnet/overlays.d/corp.conf");
        ASSERT_FALSE(def.ok()) << c.value;
        EXPECT_EQ(def.error().code, EINVAL);
        std::string shown = std::string(c.value) == "\"\"" ? "" : c.value;
        EXPECT_EQ(def.error().context,
                  "overlay 'corp': /etc/personalnet/overlays.d/corp.conf:9: personalnet.label: '" + shown +
                      "' " + c.why +
                      (std::string(c.why) == "is not a label" ? " (want 0x and 1-4 hex digits)" : ""));
    }
}

TEST(NetworkLabel, ASecondLabelIsRefusedAtItsLine) {
    auto def =
        ike::parse_overlay("corp", network_conf("    label = 0x4a21\n    label = 0x4a22\n"), "corp.conf");
    ASSERT_FALSE(def.ok());
    EXPECT_EQ(
        def.error().context,
        "overlay 'corp': corp.conf:9: personalnet.label: '0x4a22': a second label (the first is 0x4a21)");
    // Also in a second personalnet section.
    def = ike::parse_overlay(
        "corp", network_conf("    label = 0x4a21\n") + "personalnet {\n  label = 0x4a21\n}\n", "corp.conf");
    ASSERT_FALSE(def.ok());
    EXPECT_NE(def.error().message().find("corp.conf:11: personalnet.label: '0x4a21': a second label"),
              std::string::npos)
        << def.error().message();
}

TEST(NetworkLabel, EveryConnectionNeedsALiteralPeerAddress) {
    for (const char* remote : {"%any", "peer.example.net", "192.0.2.1-192.0.2.9", "%any, peer.example.net"}) {
        auto def = ike::parse_overlay("corp", network_conf("    label = 0x4a21\n", remote), "corp.conf");
        ASSERT_FALSE(def.ok()) << remote;
        EXPECT_EQ(def.error().code, EINVAL);
        EXPECT_NE(def.error().message().find("connection 'net': remote_addrs '" + std::string(remote) +
                                             "' names no literal address"),
                  std::string::npos)
            << def.error().message();
    }
    // One connection without remote_addrs among good ones: named.
    std::string text = network_conf("    label = 0x4a21\n");
    text.insert(text.find("}\npersonalnet"), "    lonely { local { auth = psk } }\n");
    auto def = ike::parse_overlay("corp", text, "corp.conf");
    ASSERT_FALSE(def.ok());
    EXPECT_NE(def.error().message().find("connection 'lonely' has no remote_addrs"), std::string::npos)
        << def.error().message();
    // A literal address among names is enough: that is the peer the space initiates to.
    def = ike::parse_overlay("corp", network_conf("    label = 0x4a21\n", "peer.example.net, 2001:db8::7"),
                             "corp.conf");
    EXPECT_TRUE(def.ok()) << def.error().message();
}

class NetworkLabelDirTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pnnetlabel-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((dir_ + "/overlays.d").c_str(), 0755), 0);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void put(const std::string& file, const std::string& text, mode_t mode = 0644) {
        std::string path = dir_ + "/overlays.d/" + file;
        ASSERT_TRUE(sys::write_atomic(path, text).ok());
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    }
    std::string dir_;
};

TEST_F(NetworkLabelDirTest, DefinitionsLabelsAreListedAndBrokenFilesSkipped) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned definitions)";
    put("corp.conf", network_conf("    label = 0x4a21\n"));
    put("home.conf", network_conf("    label = 0x0101\n"));
    put("plain.conf", network_conf("    dns = 10.1.1.1\n"));
    put("open.conf", network_conf("    label = 0x0202\n"), 0666);    // untrusted: not loaded
    put("broken.conf", network_conf("    label = 0x0303\n") + "}");  // syntax error
    put("notes.txt", network_conf("    label = 0x0404\n"));          // not a definition
    auto labels = ike::network_labels(dir_ + "/overlays.d");
    std::sort(labels.begin(), labels.end());
    EXPECT_EQ(labels, (std::vector<std::pair<uint16_t, std::string>>{{0x0101, "home"}, {0x4a21, "corp"}}));
    EXPECT_TRUE(ike::network_labels(dir_ + "/absent").empty());
}

// What Space::create does for a space not bound to a network: the definitions' labels are
// avoided. Every other label is taken but the network's and one more, so an allocation that
// did not avoid it could return it.
TEST_F(NetworkLabelDirTest, AllocationSkipsEveryDefinitionsLabel) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned definitions)";
    put("corp.conf", network_conf("    label = 0x4a21\n"));
    auto r = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(r.ok()) << r.error().message();
    constexpr uint16_t kFree = 0x4a22;
    for (uint32_t l = 1; l <= 0xffff; ++l) {
        if (l == 0x4a21 || l == kFree || reg::label_reserved(static_cast<uint16_t>(l))) continue;
        std::string lp = r->path("locks/" + reg::label_hex(static_cast<uint16_t>(l)));
        int fd = ::open(lp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0) << lp;
        ::close(fd);
    }
    std::vector<uint16_t> avoid;
    for (const auto& [label, name] : ike::network_labels(dir_ + "/overlays.d")) avoid.push_back(label);
    ASSERT_EQ(avoid, std::vector<uint16_t>{0x4a21});
    auto got = r->allocate_label(avoid);
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(got->first, kFree);
    auto none = r->allocate_label(avoid);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ENOSPC);
    // The network's own space claims it exactly.
    auto claimed = r->claim_label(0x4a21);
    ASSERT_TRUE(claimed.ok()) << claimed.error().message();
}

TEST_F(NetworkLabelDirTest, AClaimedLabelIsRefusedWhileHeldOrRecorded) {
    auto r = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(r.ok()) << r.error().message();
    auto first = r->claim_label(0x4a21);
    ASSERT_TRUE(first.ok()) << first.error().message();
    auto again = r->claim_label(0x4a21);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, EEXIST) << "its lock is held";
    // A lock nobody holds (a dead creator's) is taken over.
    first.value().reset();
    auto after = r->claim_label(0x4a21);
    ASSERT_TRUE(after.ok()) << after.error().message();
    after.value().reset();
    // A record with the label (a named space's lock file is gone once it is ready).
    r->remove_label_lock(0x4a21);
    reg::Record rec;
    rec.label = 0x4a21;
    rec.name = "holder";
    ASSERT_TRUE(r->save(rec).ok());
    auto recorded = r->claim_label(0x4a21);
    ASSERT_FALSE(recorded.ok());
    EXPECT_EQ(recorded.error().code, EEXIST) << "its record exists";
    // And an allocation around it still works.
    auto other = r->allocate_label({0x4a21});
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->first, 0x4a21);
}

// What an unprivileged caller's pnet show learns through the helper's answer.
TEST(NetworkLabel, TheHelpersAnswerCarriesTheNetwork) {
    personalnet::SpaceInfo i;
    i.name = "n1";
    i.label = 0x4a21;
    i.overlay = "corpnet";
    i.network = true;
    personalnet::SpaceInfo plain;
    plain.name = "p";
    plain.overlay = "corp";
    auto m = personalnet::helper::ok_answer();
    personalnet::helper::add_space(m, i);
    personalnet::helper::add_space(m, plain);
    auto back = personalnet::helper::spaces_of(m);
    ASSERT_TRUE(back.ok()) << back.error().message();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_TRUE((*back)[0].network);
    EXPECT_EQ((*back)[0].label, 0x4a21);
    EXPECT_FALSE((*back)[1].network);
}

}  // namespace
}  // namespace pn_unit
