// The per-space strongswan.conf: SPI ranges carry the label, plugins follow the datapath.
#include "lib/ike/charon_conf.hpp"

#include <gtest/gtest.h>

#include "lib/ike/settings.hpp"

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;

TEST(CharonConf, SpiRangesCarryTheLabelAndPluginsFollowTheDatapath) {
    std::string text = ike::render_strongswan_conf({0xbeef, false, "/run/personalnet/charon/beef.vici", ""});
    auto parsed = ike::parse_settings(text, "strongswan.conf");  // our own parser reads it back
    ASSERT_TRUE(parsed.ok()) << parsed.error().message() << "\n" << text;
    const ike::Settings* charon = parsed->section("charon");
    ASSERT_NE(charon, nullptr);
    EXPECT_EQ(*charon->find("spi_min"), "0xbeef0000");
    EXPECT_EQ(*charon->find("spi_max"), "0xbeefffff");
    EXPECT_EQ(*charon->find("spi_mask"), "0xffff000000000000");
    EXPECT_EQ(*charon->find("spi_label"), "0xbeef000000000000");
    EXPECT_NE(charon->find("load")->find("kernel-libipsec"), std::string::npos);
    EXPECT_EQ(*charon->section("plugins")->section("vici")->find("socket"),
              "unix:///run/personalnet/charon/beef.vici");
    std::string load = *charon->find("load");
    EXPECT_EQ(load.find(" aes"), std::string::npos) << "openssl, not strongSwan's own aes";
    EXPECT_LT(load.find("openssl"), load.find("kernel")) << load;

    std::string kernel = ike::render_strongswan_conf({0x0102, true, "/x.vici", "/x.log"});
    EXPECT_EQ(kernel.find("kernel-libipsec"), std::string::npos);
    EXPECT_NE(kernel.find("spi_min = 0x01020000"), std::string::npos) << "leading zeros kept";
    auto logged = ike::parse_settings(kernel, "strongswan.conf");
    ASSERT_TRUE(logged.ok()) << logged.error().message();
    EXPECT_EQ(*logged->section("charon")->section("filelog")->section("personalnet")->find("path"), "/x.log");
    EXPECT_EQ(parsed->section("charon")->section("filelog"), nullptr) << "no log file unless asked";
}

}  // namespace
}  // namespace pn_unit
