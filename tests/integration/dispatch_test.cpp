// SPI dispatch in the parent (issue 4, first part): IKE and ESP that arrive at the host's
// address carrying a space's label reach that space — through every ancestor for a
// nested one — with ports 500/4500 shared and never remapped; unlabelled ones stay with
// the host. Crafted datagrams from host B stand in for a remote IKE peer.
#include <cstdio>
#include <string>

#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

class DispatchTest : public SpaceTest {
protected:
    // The space's 16-bit label, from pnet show --json.
    std::string label_of(const std::string& name) {
        auto r = pnet({"show", name, "--json"});
        auto at = r.out.find("\"label\":\"");
        return at == std::string::npos ? "" : r.out.substr(at + 9, 4);
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

TEST_F(DispatchTest, LabelledIkeAndEspReachTheirSpaceUnlabelledStayWithTheHost) {
    ASSERT_EQ(mk({"--name", "corp", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "home", "--file-space=none", "--", "true"}).rc, 0);
    std::string corp = label_of("corp"), home = label_of("home");
    ASSERT_EQ(corp.size(), 4u);
    ASSERT_EQ(home.size(), 4u);
    std::string stranger = "0001";  // reserved: never a space's label
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

    for (Proc* p : {&host500, &host4500, &corp500, &corp4500, &home4500}) p->kill();
    for (Proc* p : {&host500, &host4500, &corp500, &corp4500, &home4500}) p->wait();
    EXPECT_EQ(pnet({"destroy", "corp"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "home"}).rc, 0);
}

// The same over IPv6: the space carries the host's IPv6 address too.
TEST_F(DispatchTest, Ipv6IkeAndEspAreDispatchedLikeIpv4) {
    ASSERT_EQ(mk({"--name", "six", "--file-space=none", "--", "true"}).rc, 0);
    std::string six = label_of("six");
    ASSERT_EQ(six.size(), 4u);
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
TEST_F(DispatchTest, NestedSpaceIsDispatchedThroughEveryAncestor) {
    ASSERT_EQ(mk({"--name", "outer", "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(pnet({"exec", "outer", "--", bin("mkportspace"), "-q", "--name", "inner", "--file-space=none",
                    "--", "true"})
                  .rc,
              0);
    std::string outer = label_of("outer"), inner = label_of("inner");
    ASSERT_EQ(inner.size(), 4u);
    Proc in = serve_in("inner", 4500, "inner");
    Proc out = serve_in("outer", 4500, "outer");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(inner)), "inner peer=10.9.0.2:4500");
    EXPECT_EQ(send_from_b(4500, esp_in_udp(outer)), "outer peer=10.9.0.2:4500");
    in.kill();
    out.kill();
    in.wait();
    out.wait();
    EXPECT_EQ(pnet({"destroy", "inner"}).rc, 0);
    auto labels = A().run({"nft", "list", "map", "inet", "personalnet_parent", "labels"});
    EXPECT_TRUE(contains(labels.out, "0x5000" + outer)) << labels.out;
    EXPECT_FALSE(contains(labels.out, std::to_string(std::stoi(inner, nullptr, 16)) + " : "))
        << "the host no longer dispatches the destroyed inner space's label: " << labels.out;
    EXPECT_EQ(pnet({"destroy", "outer"}).rc, 0);
}

}  // namespace
}  // namespace pntest
