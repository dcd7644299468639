// The VICI codec without a daemon: golden bytes, round trips, and malformed input that
// must be refused cleanly (run these under `make asan` too: they exist to find reads
// past the end).
#include "lib/ike/vici_message.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "lib/ike/vici_commands.hpp"
#include "lib/ike/vici_packet.hpp"

namespace pn_unit {
namespace {

using personalnet::ike::decode_packet;
using personalnet::ike::encode_packet;
using personalnet::ike::kMaxSegment;
using personalnet::ike::Packet;
using personalnet::ike::PacketType;
using personalnet::ike::parse_sas;
using personalnet::ike::segment_length;
using personalnet::ike::ViciMessage;

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s += static_cast<char>(c);
    return s;
}

// The README's example: key1 = value1, section1 { sub-section { key2 = value2 },
// list1 = [item1, item2] }.
ViciMessage example() {
    ViciMessage m;
    m.set("key1", "value1");
    auto& s1 = m.section("section1");
    s1.section("sub-section").set("key2", "value2");
    s1.set_list("list1", {"item1", "item2"});
    return m;
}

const std::string kExampleBytes = bytes({
    3, 4,  'k', 'e', 'y', '1', 0,   6,   'v', 'a', 'l', 'u', 'e', '1',               //
    1, 8,  's', 'e', 'c', 't', 'i', 'o', 'n', '1',                                   //
    1, 11, 's', 'u', 'b', '-', 's', 'e', 'c', 't', 'i', 'o', 'n',                    //
    3, 4,  'k', 'e', 'y', '2', 0,   6,   'v', 'a', 'l', 'u', 'e', '2',               //
    2,                                                                               //
    4, 5,  'l', 'i', 's', 't', '1',                                                  //
    5, 0,  5,   'i', 't', 'e', 'm', '1', 5,   0,   5,   'i', 't', 'e', 'm', '2', 6,  //
    2,                                                                               //
});

TEST(ViciMessage, EncodesTheReadmeExampleToItsGoldenBytes) {
    auto enc = example().encode();
    ASSERT_TRUE(enc.ok()) << enc.error().message();
    EXPECT_EQ(enc.value(), kExampleBytes);
}

TEST(ViciMessage, DecodesTheGoldenBytesBack) {
    auto dec = ViciMessage::decode(kExampleBytes);
    ASSERT_TRUE(dec.ok()) << dec.error().message();
    EXPECT_EQ(dec.value(), example()) << dec->dump();
    EXPECT_EQ(dec->get({"section1", "sub-section", "key2"}), "value2");
    EXPECT_EQ(dec->find_section("section1")->list("list1"), (std::vector<std::string>{"item1", "item2"}));
}

TEST(ViciMessage, ValuesAreBinarySafeWithSixteenBitLengths) {
    std::string blob("\0\xff\x01zz", 5);
    std::string big(300, 'x');
    ViciMessage m;
    m.set("bin", blob).set("big", big).set_list("empty", {}).section("empty-section");
    auto enc = m.encode();
    ASSERT_TRUE(enc.ok());
    // "big": type, name, then length 300 = 0x01 0x2c.
    EXPECT_NE(enc->find(bytes({3, 3, 'b', 'i', 'g', 1, 0x2c})), std::string::npos);
    auto dec = ViciMessage::decode(enc.value());
    ASSERT_TRUE(dec.ok()) << dec.error().message();
    EXPECT_EQ(dec->get("bin"), blob);
    EXPECT_EQ(dec->get("big"), big);
    ASSERT_NE(dec->find_list("empty"), nullptr);
    EXPECT_TRUE(dec->find_list("empty")->empty());
    ASSERT_NE(dec->find_section("empty-section"), nullptr);
    EXPECT_EQ(dec->dump().find("bin = \\x00\\xff\\x01zz"), 0U) << dec->dump();
}

TEST(ViciMessage, EmptyInputIsTheEmptyMessage) {
    auto dec = ViciMessage::decode("");
    ASSERT_TRUE(dec.ok());
    EXPECT_TRUE(dec->empty());
    EXPECT_EQ(ViciMessage().encode().value(), "");
}

TEST(ViciMessage, BuildersReplaceKeysAndKeepSectionReferencesValid) {
    ViciMessage m;
    ViciMessage& first = m.section("a");
    for (int i = 0; i < 100; ++i) m.section("s" + std::to_string(i));  // grows the entry vector
    first.set("k", "1").set("k", "2");
    m.append("l", "x").append("l", "y");
    EXPECT_EQ(m.get({"a", "k"}), "2");
    EXPECT_EQ(m.find_section("a")->entries().size(), 1U);
    EXPECT_EQ(m.list("l"), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(&m.section("a"), &first);
    EXPECT_EQ(m.find({"a", "missing"}), nullptr);
    EXPECT_EQ(m.find({"missing", "k"}), nullptr);
    EXPECT_EQ(m.get("nothing", "fallback"), "fallback");
    m.set("yes", "yes").set("no", "no");
    EXPECT_TRUE(m.is_yes("yes"));
    EXPECT_FALSE(m.is_yes("no"));
    EXPECT_FALSE(m.is_yes("absent"));
}

TEST(ViciMessage, CopiesAreDeep) {
    ViciMessage a = example();
    ViciMessage b = a;
    b.section("section1").section("sub-section").set("key2", "changed");
    EXPECT_EQ(a.get({"section1", "sub-section", "key2"}), "value2");
    EXPECT_EQ(b.get({"section1", "sub-section", "key2"}), "changed");
    a = b;
    EXPECT_EQ(a, b);
}

TEST(ViciMessage, EncodeRefusesWhatTheWireCannotCarry) {
    ViciMessage long_name;
    long_name.set(std::string(256, 'n'), "v");
    auto e1 = long_name.encode();
    ASSERT_FALSE(e1.ok());
    EXPECT_EQ(e1.error().code, EMSGSIZE);

    ViciMessage long_value;
    long_value.section("s").set_list("l", {std::string(65536, 'v')});
    auto e2 = long_value.encode();
    ASSERT_FALSE(e2.ok());
    EXPECT_EQ(e2.error().code, EMSGSIZE);
    EXPECT_NE(e2.error().message().find("'l'"), std::string::npos) << e2.error().message();

    ViciMessage ok_255;
    ok_255.set(std::string(255, 'n'), std::string(65535, 'v'));
    EXPECT_TRUE(ok_255.encode().ok());

    ViciMessage deep;
    ViciMessage* cur = &deep;
    for (int i = 0; i < ViciMessage::kMaxDepth; ++i) cur = &cur->section("d");
    EXPECT_TRUE(deep.encode().ok());
    cur->section("one-too-many");
    auto e3 = deep.encode();
    ASSERT_FALSE(e3.ok());
    EXPECT_EQ(e3.error().code, ELOOP);
}

struct Malformed {
    const char* what;
    std::string input;
    const char* expect;  // part of the error message
};

TEST(ViciMessage, MalformedInputIsRefusedWithEbadmsg) {
    std::string deep;
    for (int i = 0; i <= ViciMessage::kMaxDepth; ++i) deep += bytes({1, 1, 'd'});
    for (int i = 0; i <= ViciMessage::kMaxDepth; ++i) deep += bytes({2});
    std::string just_deep_enough;
    for (int i = 0; i < ViciMessage::kMaxDepth; ++i) just_deep_enough += bytes({1, 0});
    just_deep_enough += std::string(ViciMessage::kMaxDepth, '\2');
    ASSERT_TRUE(ViciMessage::decode(just_deep_enough).ok());

    const std::vector<Malformed> cases = {
        {"type byte only", bytes({3}), "truncated key name"},
        {"name runs past the end", bytes({3, 5, 'a'}), "truncated key name"},
        {"value length cut", bytes({3, 1, 'k', 0}), "truncated value of key 'k'"},
        {"value runs past the end", bytes({3, 1, 'k', 0, 5, 'a'}), "truncated value of key 'k'"},
        {"value length 0xffff on 2 bytes", bytes({3, 1, 'k', 0xff, 0xff, 'a', 'b'}), "truncated value"},
        {"section name past the end", bytes({1, 200}), "truncated section name"},
        {"list name past the end", bytes({4, 2, 'l'}), "truncated list name"},
        {"item past the end", bytes({4, 1, 'l', 5, 0, 9, 'x', 6}), "truncated item of list 'l'"},
        {"unknown type 0", bytes({0}), "unknown element type 0"},
        {"unknown type 7", bytes({3, 1, 'k', 0, 0, 7}), "offset 5: unknown element type 7"},
        {"unknown type 255", bytes({255, 1, 2, 3}), "unknown element type 255"},
        {"section end at the root", bytes({2}), "section end without an open section"},
        {"unclosed section", bytes({1, 1, 's', 3, 1, 'k', 0, 0}), "section 's' not closed"},
        {"unclosed list", bytes({4, 1, 'l', 5, 0, 0}), "list 'l' not closed"},
        {"list end without list", bytes({6}), "list end without an open list"},
        {"item outside a list", bytes({5, 0, 0}), "list item outside a list"},
        {"nested list", bytes({4, 1, 'a', 4, 1, 'b', 6, 6}), "inside list 'a'"},
        {"key in a list", bytes({4, 1, 'a', 3, 1, 'k', 0, 0, 6}), "inside list 'a'"},
        {"section in a list", bytes({4, 1, 'a', 1, 1, 's', 2, 6}), "inside list 'a'"},
        {"section end in a list", bytes({1, 1, 's', 4, 1, 'l', 2}), "inside list 'l'"},
        {"too deep", deep, "nested deeper than 32"},
        {"a million section starts", std::string(1000000, '\1'), "nested deeper than 32"},
        {"trailing section end", kExampleBytes + bytes({2}), "section end without an open section"},
        {"trailing zero byte", kExampleBytes + bytes({0}), "unknown element type 0"},
        {"trailing half element", kExampleBytes + bytes({3, 4, 'k'}), "truncated key name"},
    };
    for (const auto& c : cases) {
        auto r = ViciMessage::decode(c.input);
        ASSERT_FALSE(r.ok()) << c.what << " was accepted: " << r->dump();
        EXPECT_EQ(r.error().code, EBADMSG) << c.what;
        EXPECT_NE(r.error().message().find(c.expect), std::string::npos)
            << c.what << ": " << r.error().message();
        EXPECT_EQ(r.error().message().rfind("vici message: offset ", 0), 0U) << r.error().message();
    }
}

TEST(ViciMessage, EveryTruncationOfTheExampleIsRefusedUnlessAtTopLevel) {
    // Only cuts between two root-level elements leave a valid message.
    for (size_t len = 0; len < kExampleBytes.size(); ++len) {
        auto r = ViciMessage::decode(kExampleBytes.substr(0, len));
        bool boundary = len == 0 || len == 14;
        EXPECT_EQ(r.ok(), boundary) << "prefix of " << len << " bytes";
        if (!r.ok()) {
            EXPECT_EQ(r.error().code, EBADMSG);
        }
    }
}

// A deterministic message tree of every element kind, for round trips.
ViciMessage random_message(std::mt19937& rng, int depth) {
    ViciMessage m;
    auto text = [&](size_t max) {
        std::string s(rng() % (max + 1), '\0');
        for (auto& c : s) c = static_cast<char>(rng() & 0xff);
        return s;
    };
    int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
        std::string name = "e" + std::to_string(i) + text(8);
        switch (rng() % 3) {
            case 0:
                m.set(name, text(300));
                break;
            case 1: {
                std::vector<std::string> items(rng() % 4);
                for (auto& it : items) it = text(20);
                m.set_list(name, items);
                break;
            }
            default:
                if (depth < 6) m.set_section(name, random_message(rng, depth + 1));
        }
    }
    return m;
}

TEST(ViciMessage, RandomTreesRoundTrip) {
    std::mt19937 rng(4242);
    for (int i = 0; i < 300; ++i) {
        ViciMessage m = random_message(rng, 0);
        auto enc = m.encode();
        ASSERT_TRUE(enc.ok()) << enc.error().message();
        auto dec = ViciMessage::decode(enc.value());
        ASSERT_TRUE(dec.ok()) << dec.error().message();
        ASSERT_EQ(dec.value(), m) << "round " << i << "\n" << m.dump() << "---\n" << dec->dump();
        ASSERT_EQ(dec->encode().value(), enc.value());
    }
}

TEST(ViciMessage, MutatedInputNeverCrashes) {
    std::mt19937 rng(7);
    const std::string base = example().encode().value();
    int refused = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string in = base;
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            size_t pos = rng() % in.size();
            switch (rng() % 3) {
                case 0:
                    in[pos] = static_cast<char>(rng() & 0xff);
                    break;
                case 1:
                    in.erase(pos, 1 + rng() % 3);
                    break;
                default:
                    in.insert(pos, 1, static_cast<char>(rng() % 8));
            }
            if (in.empty()) in = "\1";
        }
        auto r = ViciMessage::decode(in);
        if (!r.ok()) {
            ++refused;
            EXPECT_EQ(r.error().code, EBADMSG);
        } else {
            // Whatever was accepted must encode back to the very same bytes.
            EXPECT_EQ(r->encode().value(), in);
        }
    }
    EXPECT_GT(refused, 10000);
}

TEST(ViciPacket, EncodesNamedAndUnnamedPacketsWithTheLengthHeader) {
    auto req = encode_packet(Packet{PacketType::kCmdRequest, "version", {}});
    ASSERT_TRUE(req.ok());
    EXPECT_EQ(req.value(), bytes({0, 0, 0, 9, 0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n'}));

    ViciMessage m;
    m.set("k", "v");
    auto ev = encode_packet(Packet{PacketType::kEvent, "log", m});
    ASSERT_TRUE(ev.ok());
    EXPECT_EQ(ev.value(), bytes({0, 0, 0, 11, 7, 3, 'l', 'o', 'g', 3, 1, 'k', 0, 1, 'v'}));

    // Unnamed types without a message are a single type byte whatever the struct holds.
    auto confirm = encode_packet(Packet{PacketType::kEventConfirm, "ignored", m});
    ASSERT_TRUE(confirm.ok());
    EXPECT_EQ(confirm.value(), bytes({0, 0, 0, 1, 5}));

    auto back = decode_packet(std::string_view(ev.value()).substr(4));
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->type, PacketType::kEvent);
    EXPECT_EQ(back->name, "log");
    EXPECT_EQ(back->message, m);
}

TEST(ViciPacket, RefusesOversizeAndMalformedPackets) {
    ViciMessage huge;
    for (int i = 0; i < 9; ++i) huge.set("k" + std::to_string(i), std::string(65535, 'x'));
    auto big = encode_packet(Packet{PacketType::kCmdRequest, "load-conn", huge});
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().code, EMSGSIZE);
    auto long_name = encode_packet(Packet{PacketType::kEvent, std::string(256, 'e'), {}});
    ASSERT_FALSE(long_name.ok());
    EXPECT_EQ(long_name.error().code, EMSGSIZE);

    EXPECT_EQ(segment_length(bytes({0, 0, 0, 1})).value(), 1U);
    EXPECT_EQ(segment_length(bytes({0, 8, 0, 0})).value(), kMaxSegment);
    for (const auto& h :
         {bytes({0, 0, 0, 0}), bytes({0, 8, 0, 1}), bytes({0xff, 0xff, 0xff, 0xff}), bytes({0, 0})}) {
        auto r = segment_length(h);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, EBADMSG);
    }

    const std::vector<Malformed> cases = {
        {"empty", "", "empty segment"},
        {"unknown type", bytes({8}), "unknown packet type 8"},
        {"named without name", bytes({7}), "EVENT: missing name"},
        {"name past the end", bytes({0, 4, 'v', 'e'}), "CMD_REQUEST: truncated name"},
        {"confirm with bytes", bytes({5, 0}), "EVENT_CONFIRM: unexpected bytes"},
        {"unregister with bytes", bytes({4, 1, 'x', 3}), "EVENT_UNREGISTER: unexpected bytes"},
        {"bad message", bytes({7, 3, 'l', 'o', 'g', 2}), "EVENT 'log': vici message: offset 0"},
        {"bad response", bytes({1, 4, 1}), "CMD_RESPONSE: vici message"},
    };
    for (const auto& c : cases) {
        auto r = decode_packet(c.input);
        ASSERT_FALSE(r.ok()) << c.what;
        EXPECT_EQ(r.error().code, EBADMSG) << c.what;
        EXPECT_NE(r.error().message().find(c.expect), std::string::npos)
            << c.what << ": " << r.error().message();
    }
}

// The layout of charon 5.9's list-sa event (abridged to the keys parse_sas reads).
ViciMessage list_sa_event() {
    ViciMessage ev;
    auto& ike = ev.section("corp");
    ike.set("uniqueid", "3").set("version", "2").set("state", "ESTABLISHED");
    ike.set("local-host", "10.77.0.1").set("remote-host", "10.77.0.2");
    ike.set("local-id", "a").set("remote-id", "b").set("initiator", "yes");
    ike.set("initiator-spi", "2a712cf0ea1005a1").set("responder-spi", "a1637b810a1b29b8");
    ike.set("established", "7");
    auto& child = ike.section("child-sas").section("net-5");
    child.set("name", "net").set("uniqueid", "5").set("reqid", "1").set("state", "INSTALLED");
    child.set("mode", "TUNNEL").set("protocol", "ESP").set("encap", "yes");
    child.set("spi-in", "c1a8fc16").set("spi-out", "80937bd1").set("encr-alg", "AES_GCM_16");
    child.set("bytes-in", "168").set("packets-in", "2").set("bytes-out", "18446744073709551615");
    child.set("packets-out", "2");
    child.set_list("local-ts", {"10.88.0.1/32"}).set_list("remote-ts", {"10.88.0.2/32"});
    return ev;
}

TEST(ViciSaParse, ReadsIkeAndChildSas) {
    auto sas = parse_sas(list_sa_event());
    ASSERT_TRUE(sas.ok()) << sas.error().message();
    ASSERT_EQ(sas->size(), 1U);
    const auto& s = sas->front();
    EXPECT_EQ(s.name, "corp");
    EXPECT_EQ(s.uniqueid, 3U);
    EXPECT_EQ(s.version, 2);
    EXPECT_EQ(s.state, "ESTABLISHED");
    EXPECT_EQ(s.remote_host, "10.77.0.2");
    EXPECT_TRUE(s.initiator);
    EXPECT_EQ(s.local_spi(), 0x2a712cf0ea1005a1ULL);
    EXPECT_EQ(s.remote_spi(), 0xa1637b810a1b29b8ULL);
    EXPECT_EQ(s.established_s, 7U);
    ASSERT_EQ(s.children.size(), 1U);
    const auto& c = s.children.front();
    EXPECT_EQ(c.name, "net");
    EXPECT_EQ(c.state, "INSTALLED");
    EXPECT_TRUE(c.encap);
    EXPECT_EQ(c.spi_in, 0xc1a8fc16U);
    EXPECT_EQ(c.spi_out, 0x80937bd1U);
    EXPECT_EQ(c.bytes_in, 168U);
    EXPECT_EQ(c.bytes_out, 18446744073709551615ULL);
    EXPECT_EQ(c.packets_out, 2U);
    EXPECT_EQ(c.local_ts, std::vector<std::string>{"10.88.0.1/32"});
}

TEST(ViciSaParse, UpdownEventsParseAndBadNumbersAreRefused) {
    ViciMessage updown = list_sa_event();
    updown.set("up", "yes");
    auto sas = parse_sas(updown);
    ASSERT_TRUE(sas.ok());
    EXPECT_EQ(sas->size(), 1U);

    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"spi-in", "xyz"}, {"spi-out", "123456789"}, {"bytes-in", "-1"}, {"packets-out", ""}}) {
        ViciMessage bad = list_sa_event();
        bad.section("corp").section("child-sas").section("net-5").set(key, value);
        auto r = parse_sas(bad);
        ASSERT_FALSE(r.ok()) << key << "=" << value;
        EXPECT_EQ(r.error().code, EBADMSG);
        EXPECT_NE(r.error().message().find("IKE_SA 'corp': CHILD_SA 'net': " + key), std::string::npos)
            << r.error().message();
    }
}

}  // namespace
}  // namespace pn_unit
