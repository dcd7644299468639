// Pure parsers and validators: prefixes, services, space names, registry records.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "lib/registry/registry.hpp"
#include "personalnet/ip.hpp"
#include "personalnet/space.hpp"

namespace pn_unit {
namespace {

using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::Service;

TEST(IpPrefix, ParsesV4AndV6) {
    auto p = IpPrefix::parse("10.0.0.0/8");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->addr.family, AF_INET);
    EXPECT_EQ(p->len, 8);
    EXPECT_EQ(p->str(), "10.0.0.0/8");
    auto q = IpPrefix::parse("fd00:9::/64");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->addr.family, AF_INET6);
    EXPECT_EQ(q->str(), "fd00:9::/64");
    EXPECT_EQ(IpPrefix::parse("10.1.2.3")->len, 32);
    EXPECT_EQ(IpPrefix::parse("::1")->len, 128);
}

TEST(IpPrefix, RejectsBadInput) {
    for (const char* bad : {"", "/", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x",
                            "300.0.0.0/8", "fd00::/129", "abc", "10.0.0.0/08x", "1.2.3.4/ 8"})
        EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
}

TEST(IpPrefix, NonStrictMasksHostBits) {
    auto p = IpPrefix::parse("10.9.0.1/24", false);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->str(), "10.9.0.0/24");
}

TEST(IpAddr, RoundTrips) {
    EXPECT_EQ(IpAddr::parse("169.254.101.1")->str(), "169.254.101.1");
    EXPECT_EQ(IpAddr::v4(10, 9, 0, 1).str(), "10.9.0.1");
    EXPECT_FALSE(IpAddr::parse("10.9.0"));
    EXPECT_FALSE(IpAddr::parse("fe80::1%eth0"));
}

TEST(Service, ParsesTcpAndUdp) {
    auto s = Service::parse("tcp/80");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->proto, IPPROTO_TCP);
    EXPECT_EQ(s->port, 80);
    EXPECT_EQ(Service::parse("udp/65535")->str(), "udp/65535");
    for (const char* bad : {"tcp/0", "tcp/65536", "tcp/-1", "tcp/12abc", "tcp/", "sctp/1", "80",
                            "tcp/18446744073709551616", "TCP/80"})
        EXPECT_FALSE(Service::parse(bad)) << bad;
}

TEST(PublishedPort, ParsesPortAndInnerPort) {
    using personalnet::PublishedPort;
    auto p = PublishedPort::parse("tcp/8080");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->proto, IPPROTO_TCP);
    EXPECT_EQ(p->port, 8080);
    EXPECT_EQ(p->inner, 8080);
    EXPECT_FALSE(p->mapped());
    EXPECT_EQ(p->str(), "tcp/8080");
    auto m = PublishedPort::parse("udp/5353:53");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->proto, IPPROTO_UDP);
    EXPECT_EQ(m->port, 5353);
    EXPECT_EQ(m->inner, 53);
    EXPECT_EQ(m->str(), "udp/5353:53");
    EXPECT_EQ(PublishedPort::parse("tcp/8080:8080")->str(), "tcp/8080")
        << "the same inner port is no mapping";
    EXPECT_EQ(PublishedPort::parse("tcp/1:65535")->str(), "tcp/1:65535");
    for (const char* bad : {"tcp/0", "tcp/70000", "tcp/65536", "sctp/80", "tcp/8080:", "8080", "tcp/8080:0",
                            "tcp/8080:65536", "tcp/8080:80:81", "tcp/8080:+80", "tcp/8080:-1", "tcp/8080: 80",
                            "tcp/:80", ":80", "", "tcp/8080:080000", "udp/53:ab", "TCP/80"})
        EXPECT_FALSE(PublishedPort::parse(bad)) << bad;
}

TEST(PublishedPort, ValidationRefusesRepeatsAndIkeNamingTheValue) {
    using personalnet::PublishedPort;
    auto ports = [](std::initializer_list<const char*> texts) {
        std::vector<PublishedPort> out;
        for (const char* t : texts) out.push_back(*PublishedPort::parse(t));
        return out;
    };
    EXPECT_TRUE(personalnet::validate_published({}).ok());
    EXPECT_TRUE(
        personalnet::validate_published(ports({"tcp/8080", "udp/8080", "tcp/8081:80", "tcp/8082:80"})).ok())
        << "a port per protocol; two published ports may lead to one inside";
    for (const auto& [list, needle] : std::vector<std::pair<std::vector<PublishedPort>, std::string>>{
             {ports({"tcp/8080", "tcp/8080:80"}),
              "cannot publish 'tcp/8080:80': tcp/8080 is already published as 'tcp/8080'"},
             {ports({"udp/53", "tcp/9", "udp/53"}),
              "cannot publish 'udp/53': udp/53 is already published as 'udp/53'"},
             {ports({"udp/4500"}), "cannot publish 'udp/4500': UDP ports 500 and 4500 carry IKE and ESP"},
             {ports({"udp/500:5000"}), "cannot publish 'udp/500:5000'"},
         }) {
        auto st = personalnet::validate_published(list);
        ASSERT_FALSE(st.ok()) << needle;
        EXPECT_EQ(st.error().code, EINVAL);
        EXPECT_NE(st.error().context.find(needle), std::string::npos) << st.error().context;
    }
    EXPECT_TRUE(personalnet::validate_published(ports({"tcp/4500", "tcp/500"})).ok()) << "IKE is UDP only";
}

TEST(SpaceName, AcceptsOrdinaryNames) {
    for (const char* ok : {"corp", "home-1", "a.b_c", "X", "login-alice"})
        EXPECT_TRUE(personalnet::validate_name(ok).ok()) << ok;
}

TEST(SpaceName, RejectsBadNamesNamingTheValue) {
    for (const std::string& bad :
         {std::string(""), std::string("/"), std::string(".."), std::string("."), std::string("a/b"),
          std::string("a\nb"), std::string("a\0b", 3), std::string("-x"), std::string(33, 'n'),
          std::string("anon-12"), std::string("a b"), std::string("é")}) {
        auto st = personalnet::validate_name(bad);
        ASSERT_FALSE(st.ok()) << bad;
        EXPECT_EQ(st.error().code, EINVAL);
        EXPECT_NE(st.error().context.find("bad space name '"), std::string::npos) << st.error().context;
        EXPECT_EQ(st.error().context.find('\n'), std::string::npos) << "control characters are escaped";
    }
}

TEST(Record, SerializesAndParses) {
    personalnet::registry::Record r;
    r.label = 0x1a2b;
    r.name = "corp";
    r.named = true;
    r.owner = 1000;
    r.parent_label = 0x0042;
    r.parent_netns = 4026531840ULL;
    r.netns = 4026532000ULL;
    r.depth = 2;
    r.host_ifname = "pn1a2bh";
    r.state = personalnet::SpaceState::ready;
    r.hidden_routes = {"10.0.0.0/8", "fd00::/8"};
    r.hidden_services = {"tcp/22"};
    r.addresses = {"10.9.0.1", "fd00:9::1"};
    r.host_ifindex = 17;
    r.overlay = "corp";
    r.overlay_addresses = {"10.61.0.2/32"};
    r.overlay_networks = {"10.60.0.0/24", "fd60::/64"};
    auto back = personalnet::registry::Record::parse(r.serialize());
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->serialize(), r.serialize());
    EXPECT_EQ(back->label, 0x1a2b);
    EXPECT_EQ(back->hidden_routes.size(), 2u);
    EXPECT_EQ(back->overlay_networks, r.overlay_networks);
}

TEST(Record, RejectsGarbage) {
    EXPECT_FALSE(personalnet::registry::Record::parse("name=x\n").ok());
    EXPECT_FALSE(personalnet::registry::Record::parse("label=zz\n").ok());
    EXPECT_FALSE(personalnet::registry::Record::parse("label=0001\nnoequals\n").ok());
    EXPECT_FALSE(personalnet::registry::Record::parse("label=0001\ndepth=1x\n").ok());
}

TEST(Label, ReservedRanges) {
    using personalnet::registry::label_reserved;
    EXPECT_TRUE(label_reserved(0));
    EXPECT_TRUE(label_reserved(0xc000));
    EXPECT_TRUE(label_reserved(0xcfff));
    EXPECT_FALSE(label_reserved(0xbfff));
    EXPECT_FALSE(label_reserved(0xd000));
    EXPECT_EQ(personalnet::registry::label_hex(0xab), "00ab");
}

TEST(ErrorWrap, PrependsContext) {
    auto e = personalnet::make_error(EEXIST, "add veth 'pn0011h'").wrap("create space 'a'");
    EXPECT_EQ(e.message(), "create space 'a': add veth 'pn0011h': File exists");
}

}  // namespace
}  // namespace pn_unit
