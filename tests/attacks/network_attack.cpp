// Attacks on the network boundary between a space and its parent (issue 15, items 10 and
// 14): an --admin space's owner holds CAP_NET_ADMIN inside, so whatever the space's own
// tables, addresses and routes say is the user's to change; only the parent's side counts.
#include <string>
#include <vector>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

constexpr const char* kService4 = "169.254.101.1";
constexpr const char* kService6 = "fd50:6e65:7400:1::1";

// "PROBE connect tcp ADDR PORT --timeout-ms 1000", for a shell script.
std::string connect(const std::string& addr, int port) {
    return sh_join({bin("pnprobe"), "connect", "tcp", addr, std::to_string(port), "--timeout-ms", "1000"});
}

// An --admin space gives itself an address the host never gave it and connects from it to
// the host's own listener (not forwarded: the input path), through the service address
// and through the host address routed to the parent, in IPv4 and IPv6.
TEST_F(AttackTest, ForgedSourceFromAnAdminSpaceToTheHost) {
    write_policy("admin = yes\n");
    auto server = A().serve("tcp", "::", 7301, "host-A");
    std::string script =
        connect("10.9.0.1", 7301) + "; ip addr add 198.51.100.7/32 dev up0 && " + "ip route replace " +
        kService4 + "/32 dev up0 scope link src 198.51.100.7 && " + connect(kService4, 7301) +
        "; ip addr del 10.9.0.1/32 dev up0 && ip route replace 10.9.0.1/32 via " + kService4 +
        " dev up0 onlink src 198.51.100.7 && " + connect("10.9.0.1", 7301) +
        "; ip -6 addr add 2001:db8::7/128 dev up0 nodad && ip -6 route replace " + kService6 +
        "/128 via fe80::1 dev up0 src 2001:db8::7 && " + connect(kService6, 7301) + "; true";
    auto r = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--", "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "host-A peer=10.9.0.1:"))
        << "the genuine connection works: " << r.out << r.err;
    std::string evidence;
    if (contains(r.out, "198.51.100.7")) evidence += "the host accepted a connection from 198.51.100.7;";
    if (contains(r.out, "2001:db8::7")) evidence += " the host accepted a connection from 2001:db8::7;";
    if (!evidence.empty()) evidence += " " + r.out;
    verdict("forged-source-from-admin-space-to-host", evidence);
}

// The space hides tcp/7301; connecting to the parent's service address directly (IPv4 and
// IPv6) must not reach the hidden listener, while tcp/7302 still works by every address.
TEST_F(AttackTest, HiddenServiceThroughTheServiceAddress) {
    auto hidden = A().serve("tcp", "::", 7301, "hidden");
    auto open = A().serve("tcp", "::", 7302, "open");
    std::string script;
    for (const char* addr : {kService4, kService6, "10.9.0.1", "fd00:9::1"})
        script += connect(addr, 7301) + "; " + connect(addr, 7302) + "; ";
    script += "true";
    auto r = as(kAlice,
                {mkps(), "-q", "--file-space=none", "--hide-service", "tcp/7301", "--", "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    size_t opened = 0;
    for (size_t at = r.out.find("open peer="); at != std::string::npos; at = r.out.find("open peer=", at + 1))
        ++opened;
    EXPECT_EQ(opened, 4u) << "tcp/7302 is reached by every address:\n" << r.out << r.err;
    verdict("hidden-service-through-service-address",
            contains(r.out, "hidden peer=") ? "the hidden listener was reached: " + r.out : "");
}

// The same with --admin: the owner removes the space's own nft table, takes the host
// address off the uplink and sends to it through the parent from another host address
// (the host's replies come back by conntrack mark). Only the parent can refuse.
TEST_F(AttackTest, HiddenServiceFromAnAdminSpace) {
    write_policy("admin = yes\n");
    ASSERT_EQ(A().run({"ip", "addr", "add", "192.0.2.1/32", "dev", "eth0"}).rc, 0);
    ASSERT_EQ(A().run({"ip", "-6", "addr", "add", "fd00:9::99/128", "dev", "eth0", "nodad"}).rc, 0);
    auto hidden = A().serve("tcp", "::", 7301, "hidden");
    auto open = A().serve("tcp", "::", 7302, "open");
    std::string script =
        "nft delete table inet personalnet_space; ip addr del 10.9.0.1/32 dev up0; "
        "ip route replace 10.9.0.1/32 via " +
        std::string(kService4) +
        " dev up0 onlink src 192.0.2.1; ip -6 addr del fd00:9::1/128 dev up0; "
        "ip -6 route replace fd00:9::1/128 via fe80::1 dev up0 src fd00:9::99; ";
    for (const char* addr : {kService4, kService6, "10.9.0.1", "fd00:9::1"})
        script += connect(addr, 7301) + "; " + connect(addr, 7302) + "; ";
    script += "true";
    auto r = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--hide-service", "tcp/7301", "--",
                         "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    for (const char* peer : {"open peer=192.0.2.1:", "open peer=fd00:9::99"})
        EXPECT_TRUE(contains(r.out, peer)) << "tcp/7302 is still reached (" << peer << "):\n"
                                           << r.out << r.err;
    EXPECT_EQ(A().run({"ip", "addr", "del", "192.0.2.1/32", "dev", "eth0"}).rc, 0);
    EXPECT_EQ(A().run({"ip", "-6", "addr", "del", "fd00:9::99/128", "dev", "eth0"}).rc, 0);
    verdict("hidden-service-from-admin-space",
            contains(r.out, "hidden peer=") ? "the hidden listener was reached: " + r.out : "");
}

// --no-inherit-services: nothing of the parent's is reachable, by any address.
TEST_F(AttackTest, NotInheritedServicesThroughTheServiceAddress) {
    write_policy("admin = yes\n");
    auto server = A().serve("tcp", "::", 7302, "host-A");
    std::string script;
    for (const char* addr : {kService4, kService6, "10.9.0.1", "fd00:9::1"})
        script += connect(addr, 7302) + "; ";
    script += "true";
    auto r =
        as(kAlice, {mkps(), "-q", "--file-space=none", "--no-inherit-services", "--", "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    std::string evidence =
        contains(r.out, "host-A peer=") ? "the parent's listener was reached: " + r.out : "";

    std::string admin = "ip addr del 10.9.0.1/32 dev up0; ip route replace 10.9.0.1/32 via " +
                        std::string(kService4) + " dev up0 onlink; " + connect("10.9.0.1", 7302) + "; " +
                        connect(kService4, 7302) + "; " + connect(kService6, 7302) + "; true";
    auto a = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--no-inherit-services", "--", "sh",
                         "-c", admin});
    EXPECT_EQ(a.rc, 0) << a.out << a.err;
    if (contains(a.out, "host-A peer=")) evidence += " from an --admin space: " + a.out;
    verdict("not-inherited-services-through-service-address", evidence);
}

}  // namespace
}  // namespace pntest
