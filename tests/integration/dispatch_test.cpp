// SPI dispatch in the parent (issue 4, first part): IKE and ESP that arrive at the host's
// address carrying a space's label reach that space — through every ancestor for a
// nested one — with ports 500/4500 shared and never remapped; unlabelled ones stay with
// the host. Crafted datagrams from host B stand in for a remote IKE peer. Every test runs
// with both dispatchers (issue 7): nftables alone, and the eBPF programs beside it.
#include "lib/bpf/dispatch.hpp"

#include <cstdio>
#include <set>
#include <string>

#include "lib/registry/registry.hpp"
#include "lib/space/spis.hpp"
#include "tests/integration/fixture.hpp"
#include "tests/integration/frames.hpp"

namespace pntest {
namespace {

class DispatchTest : public DispatcherTest {
protected:
    // A named space without a file space; its label as two bytes ("" on failure).
    std::string made(const std::string& name) {
        if (mk({"--name", name, "--file-space=none", "--", "true"}).rc != 0) return "";
        std::string hex = label_of(name);
        return hex.size() == 4 ? frames::from_hex(hex) : "";
    }
    // What a `pnpkt listen` printed until it was done.
    static std::multiset<std::string> heard(Proc& p) {
        std::multiset<std::string> got;
        for (std::string l = p.read_line(8000); !l.empty() && l != "done"; l = p.read_line(8000))
            got.insert(l);
        p.wait();
        return got;
    }
    // Packets the BPF dispatcher delivered into / sent out of the space (pnet show --json);
    // -1 when it reports none (the nft dispatcher).
    long long dispatched(const std::string& name, const std::string& way) {
        auto r = pnet({"show", name, "--json"});
        auto at = r.out.find("\"dispatched_" + way + "\":");
        return at == std::string::npos ? -1 : std::stoll(r.out.substr(at + 14 + way.size()));
    }
    // The space's 16-bit label, from pnet show --json.
    std::string label_of(const std::string& name) {
        auto r = pnet({"show", name, "--json"});
        auto at = r.out.find("\"label\":\"");
        return at == std::string::npos ? "" : r.out.substr(at + 9, 4);
    }
    // What space::sync_spis does with what a space's charon lists, for a space without
    // one: the space owns these IKE and inbound ESP SPIs (hex), exactly, in its parent's
    // and every ancestor's maps. "" on success.
    std::string own(const std::string& name, const std::vector<std::string>& ike,
                    const std::vector<std::string>& esp) {
        namespace pn = personalnet;
        pn::space::OwnSpis spis;
        for (const auto& h : ike) spis.ike.push_back(std::stoull(h, nullptr, 16));
        for (const auto& h : esp) spis.esp.push_back(static_cast<uint32_t>(std::stoul(h, nullptr, 16)));
        auto reg = pn::registry::Registry::open(A().rundir());
        if (!reg.ok()) return reg.error().message();
        auto rec = reg->load(static_cast<uint16_t>(std::stoul(label_of(name), nullptr, 16)));
        if (!rec.ok()) return rec.error().message();
        auto st = pn::space::publish_spis(*reg, *rec, spis);
        return st.ok() ? "" : st.error().message();
    }
    Proc serve_in(const std::string& space, int port, const std::string& reply,
                  const std::string& on = "0.0.0.0") {
        Proc p = A().spawn({bin("pnet"), "exec", space, "--", bin("pnprobe"), "serve", "udp", on,
                            std::to_string(port), "--reply", reply});
        EXPECT_EQ(p.read_line(), "listening") << "server in " << space;
        return p;
    }
    // A datagram from B's port `port` to A's address, answered by whoever got it.
    std::string send_from_b(int port, const std::string& hex, const std::string& to = "10.9.0.1") {
        auto r = B().run({bin("pnprobe"), "connect", "udp", to, std::to_string(port), "--bind-port",
                          std::to_string(port), "--timeout-ms", "2000", "--payload", hex});
        if (r.rc != 0) return "<" + r.err + ">";
        return r.out.substr(0, r.out.find('\n'));
    }
};

std::string esp_in_udp(const std::string& label) { return label + "1234" + "00000001" + "deadbeef"; }

// IKE header: initiator SPI, responder SPI, next payload, version, exchange, flags,
// message id, length.
std::string ike(const std::string& init_label, const std::string& resp_label, bool initiator_flag) {
    return init_label + "aaaaaaaaaaaa" + resp_label + "bbbbbbbbbbbb" + "2e2025" +
           (initiator_flag ? "08" : "20") + "00000001" + "0000001c";
}

TEST_P(DispatchTest, LabelledIkeAndEspReachTheirSpaceUnlabelledStayWithTheHost) {
    ASSERT_EQ(mk({"--name", "corp", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "home", "--file-space=none", "--", "true"}).rc, 0);
    std::string corp = label_of("corp"), home = label_of("home");
    ASSERT_EQ(corp.size(), 4u);
    ASSERT_EQ(home.size(), 4u);
    std::string stranger = "0001";  // reserved: never a space's label
    // The SPIs each space's charon would have chosen (ike(): LLLLaaaa... initiator,
    // LLLLbbbb... responder), all with the space's label on top.
    ASSERT_EQ(own("corp", {corp + "aaaaaaaaaaaa", corp + "bbbbbbbbbbbb"}, {corp + "1234"}), "");
    ASSERT_EQ(own("home", {home + "aaaaaaaaaaaa"}, {home + "1234"}), "");
    Proc host500 = A().serve("udp", "0.0.0.0", 500, "host");
    Proc host4500 = A().serve("udp", "0.0.0.0", 4500, "host");
    Proc corp500 = serve_in("corp", 500, "corp");
    Proc corp4500 = serve_in("corp", 4500, "corp");
    Proc home4500 = serve_in("home", 4500, "home");

    // ESP in UDP: the SPI's top 16 bits; replies leave from 10.9.0.1:4500 (the client's
    // socket is connected to it) and B's source port 4500 is not remapped.
    EXPECT_EQ(send_from_b(4500, esp_in_udp(corp)), "corp peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(home)), "home peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(stranger)), "host peer=10.9.0.2:4500");
    // Issue 17: corp's label on an SPI corp never chose is not corp's (a host-level IKE
    // daemon's SPI may carry any label): ESP and IKE alike stay with the host.
    EXPECT_EQ(send_from_b(4500, corp + "9999" + "00000001" + "deadbeef"), "host peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, "00000000" + ike(stranger, home, true)), "host peer=10.9.0.2:4500")
        << "home never chose responder SPI " << home << "bbbbbbbbbbbb";
    EXPECT_EQ(send_from_b(500, ike(stranger, home, true)), "host peer=10.9.0.2:500");
    // IKE on 4500 after the zero marker, and on 500: with the I flag (sender is the
    // original initiator) the receiver's SPI is the responder SPI, else the initiator's.
    EXPECT_EQ(send_from_b(4500, "00000000" + ike(stranger, corp, true)), "corp peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, "00000000" + ike(home, stranger, false)), "home peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, "00000000" + ike(corp, stranger, true)), "host peer=10.9.0.2:4500")
        << "the initiator SPI is the peer's own when the I flag is set";
    EXPECT_EQ(send_from_b(500, ike(corp, stranger, false)), "corp peer=10.9.0.2:500");
    EXPECT_EQ(send_from_b(500, ike(stranger, corp, true)), "corp peer=10.9.0.2:500");
    EXPECT_EQ(send_from_b(500, ike(stranger, "0000", true)), "host peer=10.9.0.2:500")
        << "an IKE_SA_INIT request to us carries no label: the host's daemon answers";
    // Too short to hold an SPI: stays with the host, nothing breaks.
    EXPECT_EQ(send_from_b(4500, "ff"), "host peer=10.9.0.2:4500") << "a NAT-T keepalive";
    if (dispatch_ == personalnet::Dispatch::bpf) {
        // The programs took the ESP, by its exact SPI, and what corp sent from port 4500
        // (the listener's replies look like ESP in UDP); IKE takes the ordinary path.
        EXPECT_EQ(dispatched("corp", "in"), 1);
        EXPECT_EQ(dispatched("corp", "out"), 2);
        EXPECT_EQ(dispatched("home", "in"), 1);
    } else {
        EXPECT_EQ(dispatched("corp", "in"), -1);
    }

    for (Proc* p : {&host500, &host4500, &corp500, &corp4500, &home4500}) p->kill();
    for (Proc* p : {&host500, &host4500, &corp500, &corp4500, &home4500}) p->wait();
    EXPECT_EQ(pnet({"destroy", "corp"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "home"}).rc, 0);
}

// An IKE_SA_INIT request (exchange 34, I flag, responder SPI zero) from B's port 500.
std::string ike_sa_init(const std::string& init_label) {
    return init_label + "aaaaaaaaaaaa" + "0000000000000000" + "212022" + "08" + "00000000" + "0000001c";
}

// `nft add element inet personalnet_parent MAP { KEY : 0x5000LLLL }` in host A, or in the
// space `in` (its own children's parent table).
std::vector<std::string> add_element(const std::string& map, const std::string& key,
                                     const std::string& label) {
    return {"nft",
            "add",
            "element",
            "inet",
            "personalnet_parent",
            map,
            "{ 0x" + key + " : 0x5000" + label + " }"};
}

// Issue 17: a personal network's label in map netlabels takes IKE_SA_INIT requests whose
// initiator SPI carries it to the space bound to the network, through every ancestor;
// an ordinary space's label does not, nor does any other IKE message.
TEST_P(DispatchTest, IkeSaInitRequestsToANetworkLabelReachTheBoundSpaceOnly) {
    ASSERT_EQ(mk({"--name", "net", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "plain", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "outer", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(pnet({"exec", "outer", "--", bin("mkportspace"), "-q",
                    std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_), "--name", "inner",
                    "--file-space=none", "--", "true"})
                  .rc,
              0);
    std::string net = label_of("net"), plain = label_of("plain"), outer = label_of("outer"),
                inner = label_of("inner");
    ASSERT_EQ(inner.size(), 4u);
    // What lib/space does for a network-bound space (Record::network), by hand.
    auto st = A().run(add_element("netlabels", net, net));
    ASSERT_EQ(st.rc, 0) << st.err;
    st = A().run(add_element("netlabels", inner, outer));
    ASSERT_EQ(st.rc, 0) << st.err;
    std::vector<std::string> in_outer_ns = {"exec", "outer", "--"};
    for (const auto& a : add_element("netlabels", inner, inner)) in_outer_ns.push_back(a);
    auto nested = pnet(in_outer_ns);
    ASSERT_EQ(nested.rc, 0) << nested.err;

    Proc host = A().serve("udp", "0.0.0.0", 500, "host");
    Proc in_net = serve_in("net", 500, "net");
    Proc in_plain = serve_in("plain", 500, "plain");
    Proc in_inner = serve_in("inner", 500, "inner");
    Proc in_outer = serve_in("outer", 500, "outer");
    EXPECT_EQ(send_from_b(500, ike_sa_init(net)), "net peer=10.9.0.2:500");
    EXPECT_EQ(send_from_b(500, ike_sa_init(inner)), "inner peer=10.9.0.2:500") << "through every ancestor";
    EXPECT_EQ(send_from_b(500, ike_sa_init(plain)), "host peer=10.9.0.2:500")
        << "an ordinary space never answers an IKE_SA_INIT request";
    EXPECT_EQ(send_from_b(500, ike_sa_init(outer)), "host peer=10.9.0.2:500");
    EXPECT_EQ(send_from_b(500, ike(net, "0000", true)), "host peer=10.9.0.2:500")
        << "an INFORMATIONAL is no IKE_SA_INIT request";
    for (Proc* p : {&host, &in_net, &in_plain, &in_inner, &in_outer}) p->kill();
    for (Proc* p : {&host, &in_net, &in_plain, &in_inner, &in_outer}) p->wait();
    for (const char* name : {"inner", "net", "plain", "outer"})
        EXPECT_EQ(pnet({"destroy", name}).rc, 0) << name;
}

// Issue 17: the IKE SPIs a space sends are learned on the packet path, with the mark of
// the child on the way at every ancestor (map ikespis), so the replies to exactly those
// SPIs reach it.
TEST_P(DispatchTest, IkeSpisASpaceSendsAreLearnedThroughEveryAncestor) {
    ASSERT_EQ(mk({"--name", "outer", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(pnet({"exec", "outer", "--", bin("mkportspace"), "-q",
                    std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_), "--name", "inner",
                    "--file-space=none", "--", "true"})
                  .rc,
              0);
    std::string outer = label_of("outer"), inner = label_of("inner");
    ASSERT_EQ(inner.size(), 4u);
    // inner starts an IKE SA (I flag, its own initiator SPI) and answers as a responder
    // (no I flag, its own responder SPI); nobody answers on B.
    for (const auto& payload : {ike(inner, "0000", true), ike("0001", inner, false)})
        (void)pnet({"exec", "inner", "--", bin("pnprobe"), "connect", "udp", "10.9.0.2", "500", "--bind-port",
                    "500", "--timeout-ms", "300", "--payload", payload});
    auto spi = [](const std::string& label, const std::string& rest) {
        return std::to_string(std::stoull(label + rest, nullptr, 16));
    };
    auto host = A().run({"nft", "list", "map", "inet", "personalnet_parent", "ikespis"});
    EXPECT_TRUE(contains(host.out, spi(inner, "aaaaaaaaaaaa") + " timeout")) << host.out;
    EXPECT_TRUE(contains(host.out, spi(inner, "bbbbbbbbbbbb") + " timeout")) << host.out;
    EXPECT_TRUE(contains(host.out, ": 0x5000" + outer)) << "the host leads them into outer: " << host.out;
    EXPECT_FALSE(contains(host.out, "0x5000" + inner)) << host.out;
    auto mid = pnet({"exec", "outer", "--", "nft", "list", "map", "inet", "personalnet_parent", "ikespis"});
    EXPECT_TRUE(contains(mid.out, spi(inner, "aaaaaaaaaaaa") + " timeout")) << mid.out;
    EXPECT_TRUE(contains(mid.out, ": 0x5000" + inner)) << "outer leads them into inner: " << mid.out;

    Proc in = serve_in("inner", 500, "inner");
    EXPECT_EQ(send_from_b(500, ike(inner, "0001", false)), "inner peer=10.9.0.2:500");
    EXPECT_EQ(send_from_b(500, ike("0001", inner, true)), "inner peer=10.9.0.2:500");
    in.kill();
    in.wait();
    EXPECT_EQ(pnet({"destroy", "inner"}).rc, 0);
    mid = pnet({"exec", "outer", "--", "nft", "list", "map", "inet", "personalnet_parent", "ikespis"});
    EXPECT_FALSE(contains(mid.out, "0x5000" + inner)) << "inner's parent forgot them: " << mid.out;
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

// The same over IPv6: the space carries the host's IPv6 address too.
TEST_P(DispatchTest, Ipv6IkeAndEspAreDispatchedLikeIpv4) {
    ASSERT_EQ(mk({"--name", "six", "--file-space=none", "--", "true"}).rc, 0);
    std::string six = label_of("six");
    ASSERT_EQ(six.size(), 4u);
    ASSERT_EQ(own("six", {six + "bbbbbbbbbbbb"}, {six + "1234"}), "");
    Proc host = A().serve("udp", "::", 4500, "host");
    Proc in = serve_in("six", 4500, "six", "::");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(six), "fd00:9::1"), "six peer=fd00:9::2:4500");
    EXPECT_EQ(send_from_b(4500, "00000000" + ike("0001", six, true), "fd00:9::1"), "six peer=fd00:9::2:4500");
    EXPECT_EQ(send_from_b(4500, esp_in_udp("0001"), "fd00:9::1"), "host peer=fd00:9::2:4500");
    host.kill();
    in.kill();
    host.wait();
    in.wait();
    EXPECT_EQ(pnet({"destroy", "six"}).rc, 0);
}

// A space nested two deep is reached by its label through both levels.
TEST_P(DispatchTest, NestedSpaceIsDispatchedThroughEveryAncestor) {
    ASSERT_EQ(mk({"--name", "outer", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(pnet({"exec", "outer", "--", bin("mkportspace"), "-q",
                    std::string("--dispatch=") + personalnet::dispatch_word(*dispatch_), "--name", "inner",
                    "--file-space=none", "--", "true"})
                  .rc,
              0);
    std::string outer = label_of("outer"), inner = label_of("inner");
    ASSERT_EQ(inner.size(), 4u);
    ASSERT_EQ(own("inner", {inner + "bbbbbbbbbbbb"}, {inner + "1234"}), "");
    ASSERT_EQ(own("outer", {}, {outer + "1234"}), "");
    Proc in = serve_in("inner", 4500, "inner");
    Proc out = serve_in("outer", 4500, "outer");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(inner)), "inner peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(outer)), "outer peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, "00000000" + ike("0001", inner, true)), "inner peer=10.9.0.2:4500");
    {
        Proc host = A().serve("udp", "0.0.0.0", 4500, "host");
        EXPECT_EQ(send_from_b(4500, inner + "9999" + "00000001" + "deadbeef"), "host peer=10.9.0.2:4500")
            << "an SPI inner never chose stays with the host";
        host.kill();
        host.wait();
    }
    in.kill();
    out.kill();
    in.wait();
    out.wait();
    EXPECT_EQ(pnet({"destroy", "inner"}).rc, 0);
    auto labels = A().run({"nft", "list", "map", "inet", "personalnet_parent", "labels"});
    EXPECT_TRUE(contains(labels.out, "0x5000" + outer)) << labels.out;
    EXPECT_FALSE(contains(labels.out, std::to_string(std::stoi(inner, nullptr, 16)) + " : "))
        << "the host no longer dispatches the destroyed inner space's label: " << labels.out;
    for (const char* map : {"ikespis", "espspis"}) {
        auto spis = A().run({"nft", "list", "map", "inet", "personalnet_parent", map});
        EXPECT_FALSE(contains(spis.out, "pn " + inner))
            << "inner's SPIs are gone from the host: " << spis.out;
        EXPECT_TRUE(map == std::string("ikespis") || contains(spis.out, "pn " + outer)) << spis.out;
    }
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

// Crafted frames from B's wire: each goes where the nftables dispatcher sends it, or stays
// with the host; the eBPF programs take exactly the whole, well-formed ones and leave
// fragments, truncated headers and the rest to the ordinary path.
TEST_P(DispatchTest, CraftedPacketsGoToTheRightPlaceOrStayWithTheHost) {
    namespace f = frames;
    const std::string L = made("corp"), stranger = f::from_hex("0001");
    ASSERT_EQ(L.size(), 2u);
    ASSERT_EQ(own("corp", {f::hex(L) + "aaaaaaaaaaaa", f::hex(L) + "bbbbbbbbbbbb"}, {f::hex(L) + "00ab"}),
              "");
    auto esp = [](const std::string& label, int tag) {
        return label + f::from_hex("00ab00000001") + f::bytes({tag});
    };
    auto ike = [&](const std::string& init, const std::string& resp, bool i_flag) {
        return f::from_hex(pntest::ike(f::hex(init), f::hex(resp), i_flag));
    };
    auto v4 = [](uint8_t proto, const std::string& p, uint16_t frag = 0, const std::string& opt = "",
                 uint16_t id = 1) { return f::ethernet(f::kIpv4, f::ipv4(proto, p, frag, opt, id)); };
    auto v6 = [](uint8_t next, const std::string& chain) {
        return f::ethernet(f::kIpv6, f::ipv6(next, chain));
    };
    const std::string big4 = esp(L, 12) + std::string(23, 'x');  // 32 bytes: fragments of 24 + 16
    const std::string dgram4 = f::udp(4500, 4500, big4);
    const std::string big6 = esp(L, 13) + std::string(23, 'y');
    const std::string dgram6 = f::udp(4500, 4500, big6, true);
    std::string many_ext;  // seven destination-options headers: more than the programs walk
    for (int i = 0; i < 7; ++i) many_ext += f::ext_options(i < 6 ? f::kDestOpts : f::kUdp);

    struct Case {
        const char* what;
        std::string frame;
        bool to_space;     // else the host
        std::string line;  // what the listener there prints ("" : nothing to print)
        bool fast;         // taken by the eBPF programs
    };
    auto line = [](int port, const std::string& data) {
        return "udp " + std::to_string(port) + " " + f::hex(data);
    };
    const std::vector<Case> cases = {
        {"ESP in UDP", v4(f::kUdp, f::udp(4500, 4500, esp(L, 1))), true, line(4500, esp(L, 1)), true},
        {"IKE on 500, I flag", v4(f::kUdp, f::udp(500, 500, ike(stranger, L, true))), true,
         line(500, ike(stranger, L, true)), false},
        {"IKE on 4500, no I flag",
         v4(f::kUdp, f::udp(4500, 4500, f::from_hex("00000000") + ike(L, stranger, false))), true,
         line(4500, f::from_hex("00000000") + ike(L, stranger, false)), false},
        {"NAT-T keepalive", v4(f::kUdp, f::udp(4500, 4500, f::bytes({0xff}))), false,
         line(4500, f::bytes({0xff})), false},
        {"one byte whose Ethernet padding would read as the label",
         v4(f::kUdp, f::udp(4500, 4500, L.substr(0, 1))) + L.substr(1) + f::bytes({0, 1, 0, 0, 0, 0}), false,
         line(4500, L.substr(0, 1)), false},
        {"IKE header cut short", v4(f::kUdp, f::udp(500, 500, L + std::string(8, 'z'))), false,
         line(500, L + std::string(8, 'z')), false},
        {"unknown label", v4(f::kUdp, f::udp(4500, 4500, esp(stranger, 7))), false,
         line(4500, esp(stranger, 7)), false},
        {"the space's label, an SPI it never chose",
         v4(f::kUdp, f::udp(4500, 4500, L + f::from_hex("00ac00000001") + f::bytes({16}))), false,
         line(4500, L + f::from_hex("00ac00000001") + f::bytes({16})), false},
        {"not IKE/ESP (to port 53, from 4500)", v4(f::kUdp, f::udp(4500, 53, esp(L, 8))), false,
         line(53, esp(L, 8)), false},
        {"IPv4 options", v4(f::kUdp, f::udp(4500, 4500, esp(L, 9)), 0, f::bytes({1, 1, 1, 0})), true,
         line(4500, esp(L, 9)), true},
        {"raw ESP", v4(f::kEsp, esp(L, 10)), true, "esp " + f::hex(esp(L, 10)), true},
        {"IPv6 hop-by-hop and destination options",
         v6(f::kHopByHop,
            f::ext_options(f::kDestOpts) + f::ext_options(f::kUdp) + f::udp(4500, 4500, esp(L, 11), true)),
         true, line(4500, esp(L, 11)), true},
        {"IPv4 fragments (first)", v4(f::kUdp, dgram4.substr(0, 24), 0x2000, "", 77), true, line(4500, big4),
         false},
        {"IPv4 fragments (second)", v4(f::kUdp, dgram4.substr(24), 3, "", 77), true, "", false},
        {"IPv6 fragments (first)",
         v6(f::kFragment, f::ext_fragment(f::kUdp, 0, true, 99) + dgram6.substr(0, 24)), true,
         line(4500, big6), false},
        {"IPv6 fragments (second)",
         v6(f::kFragment, f::ext_fragment(f::kUdp, 3, false, 99) + dgram6.substr(24)), true, "", false},
        {"IPv6 atomic fragment",
         v6(f::kFragment, f::ext_fragment(f::kUdp, 0, false, 5) + f::udp(4500, 4500, esp(L, 14), true)), true,
         line(4500, esp(L, 14)), true},
        {"IPv6 with seven extension headers",
         v6(f::kDestOpts, many_ext + f::udp(4500, 4500, esp(L, 15), true)), true, line(4500, esp(L, 15)),
         false},
    };

    Proc host = A().spawn({bin("pnpkt"), "listen", "4000", "500", "4500", "53"});
    ASSERT_EQ(host.read_line(), "ready");
    Proc space =
        A().spawn({bin("pnet"), "exec", "corp", "--", bin("pnpkt"), "listen", "4000", "500", "4500", "53"});
    ASSERT_EQ(space.read_line(), "ready");
    std::vector<std::string> send = {bin("pnpkt"), "frame", "eth0"};
    for (const auto& c : cases) send.push_back(f::hex(c.frame));
    auto sent = B().run(send);
    ASSERT_EQ(sent.rc, 0) << sent.err;
    auto in_host = heard(host), in_space = heard(space);
    int fast = 0;
    for (const auto& c : cases) {
        fast += c.fast;
        if (c.line.empty()) continue;
        EXPECT_EQ((c.to_space ? in_space : in_host).count(c.line), 1u) << c.what << ": not where it belongs";
        EXPECT_EQ((c.to_space ? in_host : in_space).count(c.line), 0u) << c.what << ": misdelivered";
    }
    size_t expected_host = 0, expected_space = 0;
    for (const auto& c : cases) {
        if (!c.line.empty()) ++(c.to_space ? expected_space : expected_host);
    }
    EXPECT_EQ(in_host.size(), expected_host) << "the host got something unexpected";
    EXPECT_EQ(in_space.size(), expected_space) << "the space got something unexpected";
    if (dispatch_ == personalnet::Dispatch::bpf) {
        EXPECT_EQ(dispatched("corp", "in"), fast) << "the programs took the whole ones only";
    }
    EXPECT_EQ(pnet({"destroy", "corp"}).rc, 0);
}

// What a space sends: IKE and ESP from an address it was given leave for the peer with
// that address and port (by the programs' fast path under BPF dispatch, once the space
// has an SA: the program is attached to its veth with the first one); from any other
// address (one an --admin space could add) nothing leaves, whichever dispatcher.
TEST_P(DispatchTest, ASpaceSendsIkeAndEspOnlyFromAddressesItWasGiven) {
    namespace f = frames;
    const std::string L = made("corp");
    ASSERT_EQ(L.size(), 2u);
    // The space's uplink up0 (02:70:6e:81:LL:LL) to its parent side (02:70:6e:01:LL:LL).
    const std::string macs = f::bytes({2, 0x70, 0x6e, 1}) + L + f::bytes({2, 0x70, 0x6e, 0x81}) + L;
    const std::string own = f::kA4, other = f::bytes({10, 9, 0, 77});
    auto esp = [&](int tag) { return L + f::from_hex("00ab00000001") + f::bytes({tag}); };
    auto frame = [&](uint8_t proto, const std::string& payload, const std::string& src) {
        return f::hex(f::ethernet(f::kIpv4, f::ipv4(proto, payload, 0, "", 1, src, f::kB4), macs));
    };
    auto send_all = [&] {
        Proc peer = B().spawn({bin("pnpkt"), "listen", "3000", "4500"});
        EXPECT_EQ(peer.read_line(), "ready");
        auto sent = pnet({"exec", "corp", "--", bin("pnpkt"), "frame", "up0",
                          frame(f::kUdp, f::udp(4500, 4500, esp(1)), own), frame(f::kEsp, esp(2), own),
                          frame(f::kUdp, f::udp(4500, 4500, esp(3)), other), frame(f::kEsp, esp(4), other)});
        EXPECT_EQ(sent.rc, 0) << sent.err;
        EXPECT_EQ(heard(peer),
                  (std::multiset<std::string>{"udp 4500 " + f::hex(esp(1)), "esp " + f::hex(esp(2))}));
    };
    send_all();  // no SA yet: the nft path, with the same answer
    if (dispatch_ == personalnet::Dispatch::bpf) {
        EXPECT_EQ(dispatched("corp", "out"), 0) << "no SA, no fast path";
    }
    ASSERT_EQ(this->own("corp", {}, {"c0de0001"}), "");  // an inbound SA's SPI
    send_all();
    if (dispatch_ == personalnet::Dispatch::bpf) {
        EXPECT_EQ(dispatched("corp", "out"), 2) << "the two from its own address took the fast path";
    }
    EXPECT_EQ(pnet({"destroy", "corp"}).rc, 0);
}

// A dispatcher that does not exist is a usage error naming it, and changes nothing (the
// fixture's leak check).
TEST_F(SpaceTest, UnknownDispatcherIsAUsageErrorNamingIt) {
    auto r = mk({"--dispatch=ebpf", "--", "true"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(r.err,
              "mkportspace: bad dispatcher 'ebpf' (want auto, nft or bpf) (try 'mkportspace --help')\n");
}

INSTANTIATE_TEST_SUITE_P(Dispatchers, DispatchTest, both_dispatchers(), dispatcher_name);

}  // namespace
}  // namespace pntest
