// A user's own network definitions: the allow-list of swanctl keys (each forbidden class
// refused with its exact one-line message) and what a checked definition holds for the
// administrator's constraints.
#include "lib/ike/user_definition.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;
using personalnet::IpAddr;

const ike::HostFacts& host() {
    static const ike::HostFacts facts{{*IpAddr::parse("192.0.2.10"), *IpAddr::parse("2001:db8::10")}};
    return facts;
}

constexpr const char* kPath = "/home/alice/.config/personalnet/networks/home.conf";

// Two hosts of alice's: this one (192.0.2.10) and her server, with a PSK.
constexpr const char* kPsk = R"(# alice's laptop and server
connections {
    home {
        local_addrs = 192.0.2.10
        remote_addrs = 198.51.100.7
        proposals = aes256gcm16-prfsha384-ecp384, default
        dpd_delay = 30s
        local { auth = psk
                id = laptop@alice }
        remote { auth = psk
                 id = server@alice }
        children {
            net {
                local_ts = 10.80.0.2/32
                remote_ts = 10.80.0.3/32, 10.81.0.0/24[tcp/22]
                esp_proposals = aes128gcm16-x25519
                start_action = start
            }
        }
    }
}
secrets {
    ike-home { id-1 = laptop@alice
               id-2 = server@alice
               secret = "s3cret#not a comment" }
}
personalnet {
    addresses = 10.80.0.2
    label = 0x4e21
}
)";

// The same two hosts with certificates: the user's own, their key, and a CA the
// administrator trusts.
constexpr const char* kPubkey = R"(connections {
    home {
        remote_addrs = 198.51.100.7, 2001:db8:1::7
        local {
            auth = pubkey
            certs = laptop.pem, /home/alice/certs/laptop-ecdsa.der
            id = "CN=alice laptop, O=Example"
        }
        remote {
            auth = pubkey
            cacerts = example-ca.pem
        }
        children { net { remote_ts = 10.80.0.0/24 } }
    }
}
personalnet {
    keys = laptop.key
    keys = /home/alice/certs/laptop-ecdsa.key
    addresses = 10.80.0.2/32
}
)";

ike::UserDefinition accepted(const std::string& text) {
    auto d = ike::parse_user_definition("home", text, kPath, host());
    EXPECT_TRUE(d.ok()) << d.error().message();
    return d.ok() ? d.value() : ike::UserDefinition{};
}

// The refusal's whole text, errno aside.
std::string refusal(const std::string& text, const ike::HostFacts& facts = host()) {
    auto d = ike::parse_user_definition("home", text, kPath, facts);
    if (d.ok()) return "(accepted)";
    EXPECT_EQ(d.error().code, EINVAL) << d.error().message();
    return d.error().context;
}

std::string at(int line, const std::string& what) {
    return std::string(kPath) + ":" + std::to_string(line) + ": " + what;
}

std::string not_allowed(int line, const std::string& key, const std::string& reason = "") {
    return at(line, "'" + key + "' is not allowed in a user's network definition" +
                        (reason.empty() ? "" : " (" + reason + ")"));
}

// A connection around some lines of its body (line 4 on), to refuse one key at a time;
// its authentication rounds (psk) come after the body unless the body has its own.
// (User definitions need both, each with auth.)
std::string conn(const std::string& body) {
    const bool rounds = body.find("local") != std::string::npos ||
                        body.find("remote ") != std::string::npos ||
                        body.find("remote{") != std::string::npos;
    // On the connection's closing line, so that the lines after the body keep their numbers.
    return "connections {\n  home {\n    remote_addrs = 198.51.100.7\n" + body + "\n  " +
           (rounds ? "" : "local { auth = \"psk\" } remote { auth = \"psk\" } ") + "}\n}\n";
}
std::string child(const std::string& body) { return conn("    children { net {\n" + body + "\n    } }"); }

TEST(UserDefinition, APskNetworkIsAcceptedAndSummarised) {
    ike::UserDefinition d = accepted(kPsk);
    EXPECT_EQ(d.overlay.name, "home");
    EXPECT_EQ(d.overlay.path, kPath);
    ASSERT_TRUE(d.overlay.label.has_value());
    EXPECT_EQ(*d.overlay.label, 0x4e21);
    EXPECT_EQ(d.peers, (std::vector<IpAddr>{*IpAddr::parse("198.51.100.7")}));
    EXPECT_EQ(d.claims, (std::vector<std::string>{"10.80.0.2", "10.80.0.2/32"}))
        << "personalnet.addresses, then every local_ts";
    EXPECT_EQ(d.reaches, (std::vector<std::string>{"10.80.0.3/32", "10.81.0.0/24[tcp/22]"}));
    EXPECT_EQ(d.proposals,
              (std::vector<std::string>{"aes256gcm16-prfsha384-ecp384", "default", "aes128gcm16-x25519"}));
    EXPECT_EQ(d.auths, (std::vector<std::string>{"psk", "psk"}));
    EXPECT_TRUE(d.certs.empty());
    EXPECT_TRUE(d.keys.empty());
    EXPECT_TRUE(d.cacerts.empty());
    // What charon gets is what was written: the checker takes nothing out of it.
    const ike::Settings* secret = d.overlay.swanctl.section("secrets")->section("ike-home");
    ASSERT_NE(secret, nullptr);
    EXPECT_EQ(*secret->find("secret"), "s3cret#not a comment");
    EXPECT_EQ(d.overlay.swanctl.section("personalnet"), nullptr);
}

TEST(UserDefinition, APubkeyNetworkNamesItsFilesAndCas) {
    ike::UserDefinition d = accepted(kPubkey);
    EXPECT_EQ(d.peers,
              (std::vector<IpAddr>{*IpAddr::parse("198.51.100.7"), *IpAddr::parse("2001:db8:1::7")}));
    EXPECT_EQ(d.auths, (std::vector<std::string>{"pubkey", "pubkey"}));
    EXPECT_EQ(d.certs,
              (std::vector<ike::Reference>{{"laptop.pem", 6}, {"/home/alice/certs/laptop-ecdsa.der", 6}}));
    EXPECT_EQ(d.keys,
              (std::vector<ike::Reference>{{"laptop.key", 17}, {"/home/alice/certs/laptop-ecdsa.key", 18}}));
    EXPECT_EQ(d.cacerts, (std::vector<ike::Reference>{{"example-ca.pem", 11}}));
    EXPECT_EQ(d.claims, (std::vector<std::string>{"10.80.0.2/32"}));
    EXPECT_EQ(d.reaches, (std::vector<std::string>{"10.80.0.0/24"}));
    EXPECT_FALSE(d.overlay.label.has_value());
    EXPECT_EQ(d.overlay.addresses, (std::vector<std::string>{"10.80.0.2/32"}));
    // The certificate still names its file: the library replaces it with the bytes it reads.
    EXPECT_EQ(*d.overlay.swanctl.section("connections")->section("home")->section("local")->find("certs"),
              "laptop.pem, /home/alice/certs/laptop-ecdsa.der");
}

TEST(UserDefinition, EveryAllowedKeyIsAccepted) {
    accepted(conn(R"(    version = 2
    local_addrs = 2001:db8::10, 192.0.2.10
    local_port = 4500
    remote_port = 4500
    proposals = aes128-sha256-x25519
    dpd_delay = 10s
    dpd_timeout = 60s
    rekey_time = 4h
    reauth_time = 0
    over_time = 10m
    rand_time = 5m
    keyingtries = 0
    unique = replace
    encap = yes
    mobike = no
    fragmentation = yes
    send_cert = always
    send_certreq = no
    aggressive = no
    local-1 { auth = psk
              id = a }
    remote-1 { auth = psk
               id = b }
    children { net {
        local_ts = dynamic
        remote_ts = dynamic
        esp_proposals = aes128gcm16
        mode = tunnel
        rekey_time = 1h
        life_time = 2h
        rand_time = 10m
        start_action = trap
        dpd_action = restart
        close_action = none
    } })") + "secrets {\n  eap-a { id = a\n secret = x }\n  xauth-b { id-x = b\n secret = y }\n}\n");
}

TEST(UserDefinition, EachForbiddenKeyIsRefusedWithItsLine) {
    const std::string host_list =
        "local_addrs must be one of this host's addresses: 192.0.2.10, 2001:db8::10";
    struct Case {
        std::string text;
        std::string says;
    };
    const std::vector<Case> cases = {
        // Paths charon would open.
        {child("      updown = /usr/lib/ipsec/_updown iptables"),
         not_allowed(5, "connections.home.children.net.updown", "runs a command")},
        {"secrets {\n  private-1 {\n    file = /etc/shadow\n  }\n}\n",
         not_allowed(2, "secrets.private-1", "private keys come only through personalnet.keys")},
        {"secrets {\n  ike-1 {\n    secret = x\n    file = /etc/shadow\n  }\n}\n",
         not_allowed(4, "secrets.ike-1.file", "charon would read or write a path")},
        {conn("    local {\n      file = /etc/shadow\n    }"),
         not_allowed(5, "connections.home.local.file", "charon would read or write a path")},
        {"connections {\n}\ninclude /etc/swanctl/conf.d/*.conf\n",
         at(3,
            "'include' is not allowed in a user's network definition (charon would read or write a path)")},
        {"connections : other {\n}\n", at(1, "section references ('connections : ...') are not allowed")},
        {conn("    local {\n      cert1 { file = /etc/ssl/private/host.pem }\n    }"),
         not_allowed(5, "connections.home.local.cert1", "charon would read or write a path")},
        {conn("    local {\n      pubkeys = /etc/ssh/ssh_host_rsa_key.pub\n    }"),
         not_allowed(5, "connections.home.local.pubkeys", "charon would read or write a path")},
        {conn("    remote { cacerts = /etc/ssl/certs/evil.pem }"),
         not_allowed(4, "connections.home.remote.cacerts = /etc/ssl/certs/evil.pem",
                     "charon would read or write a path")},
        {conn("    remote { cacerts = ../ca.pem }"),
         not_allowed(4, "connections.home.remote.cacerts = ../ca.pem", "charon would read or write a path")},
        {conn("    remote { cacerts = .hidden }"),
         not_allowed(4, "connections.home.remote.cacerts = .hidden",
                     "cacerts names certificates in the administrator's trust directory")},
        {conn("    remote { certs = peer.pem }"),
         not_allowed(4, "connections.home.remote.certs", "peers are trusted through cacerts")},
        {conn("    local { cacerts = ca.pem }"),
         not_allowed(4, "connections.home.local.cacerts", "cacerts belongs in a remote section")},
        {conn("    remote { revocation = strict }"),
         not_allowed(4, "connections.home.remote.revocation", "charon would fetch revocation lists")},
        // Host addresses, marks and interfaces.
        {conn("    local_addrs = 192.0.2.10, 203.0.113.5"),
         not_allowed(4, "connections.home.local_addrs = 203.0.113.5", host_list)},
        {conn("    local_addrs = %any"), not_allowed(4, "connections.home.local_addrs = %any", host_list)},
        {conn("    local_addrs = 192.0.2.0/24"),
         not_allowed(4, "connections.home.local_addrs = 192.0.2.0/24", host_list)},
        {conn("    if_id_in = 42"),
         not_allowed(4, "connections.home.if_id_in", "claims a host mark or interface")},
        {conn("    if_id_out = %unique"),
         not_allowed(4, "connections.home.if_id_out", "claims a host mark or interface")},
        {child("      mark_in = 0x1"),
         not_allowed(5, "connections.home.children.net.mark_in", "claims a host mark or interface")},
        {child("      mark_out = 0x1"),
         not_allowed(5, "connections.home.children.net.mark_out", "claims a host mark or interface")},
        {child("      mark_in_sa = yes"),
         not_allowed(5, "connections.home.children.net.mark_in_sa", "claims a host mark or interface")},
        {child("      set_mark_in = 0x2"),
         not_allowed(5, "connections.home.children.net.set_mark_in", "claims a host mark or interface")},
        {child("      set_mark_out = 0x2"),
         not_allowed(5, "connections.home.children.net.set_mark_out", "claims a host mark or interface")},
        {child("      interface = eth0"),
         not_allowed(5, "connections.home.children.net.interface", "claims a host mark or interface")},
        // Addresses handed out or asked for.
        {conn("    pools = office"), not_allowed(4, "connections.home.pools", "hands out addresses")},
        {conn("") + "pools {\n  office { addrs = 10.9.0.0/24 }\n}\n",
         not_allowed(7, "pools", "hands out addresses")},
        {conn("    vips = 0.0.0.0"),
         not_allowed(4, "connections.home.vips", "claims a virtual address from the peer")},
        // Peers only by literal address.
        {conn("    remote_addrs = server.example.org"),
         not_allowed(4, "connections.home.remote_addrs = server.example.org",
                     "a user's peers are literal IP addresses")},
        {"connections {\n  home {\n    local { auth = psk }\n  }\n}\n",
         at(2, "connection 'home' has no remote_addrs (a user's network names each peer by its IP address)")},
        {conn("    aggressive = yes"),
         not_allowed(4, "connections.home.aggressive = yes", "aggressive mode exposes the PSK")},
        // Unknown keys and sections, anywhere.
        {conn("    ppk_required = no"), not_allowed(4, "connections.home.ppk_required")},
        {child("      hw_offload = yes"), not_allowed(5, "connections.home.children.net.hw_offload")},
        {child("      ipcomp = yes"), not_allowed(5, "connections.home.children.net.ipcomp")},
        {child("      sub { }"), not_allowed(5, "connections.home.children.net.sub")},
        {conn("    children { x = 1 }"), not_allowed(4, "connections.home.children.x")},
        {conn("    routes { }"), not_allowed(4, "connections.home.routes")},
        {conn("    local { groups = admins }"), not_allowed(4, "connections.home.local.groups")},
        {conn("") + "authorities {\n  ca { cacert = /etc/ca.pem }\n}\n", not_allowed(7, "authorities")},
        {"charon = 1\n" + conn(""), not_allowed(1, "charon")},
        {"connections {\n  x = 1\n  home { remote_addrs = 198.51.100.7 }\n}\n",
         not_allowed(2, "connections.x")},
        {conn("") + "secrets {\n  ntlm-a { secret = x }\n}\n", not_allowed(8, "secrets.ntlm-a")},
        {conn("") + "secrets {\n  ike-a { secret = x\n owner = y }\n}\n",
         not_allowed(9, "secrets.ike-a.owner")},
        {conn("") + "secrets {\n  ike-a { id = y }\n}\n", at(8, "'secrets.ike-a' has no secret")},
        {conn("") + "secrets {\n  secret = x\n}\n", not_allowed(8, "secrets.secret")},
        {conn("") + "personalnet {\n  routes = 10.0.0.0/8\n}\n", not_allowed(8, "personalnet.routes")},
        {conn("") + "personalnet {\n  sub { }\n}\n", not_allowed(8, "personalnet.sub")},
        {conn("") + "secrets {\n}\n" + conn(""),
         at(9, "'connections' is given twice (the first is on line 1)")},
        {"secrets {\n}\n" + conn("") + "secrets {\n}\n",
         at(9, "'secrets' is given twice (the first is on line 1)")},
    };
    for (const auto& c : cases) EXPECT_EQ(refusal(c.text), c.says) << c.text;
}

// charon's defaults would get past the administrator's auth and peer_ca rules (a round
// without auth is pubkey; without a remote round any peer authentication is accepted), so
// a user's connection has both rounds and each says its auth. A refused key still comes
// first: it names the mistake.
TEST(UserDefinition, EveryConnectionHasRoundsThatSayTheirAuth) {
    EXPECT_EQ(refusal(conn("    local { id = a }\n    remote { auth = psk }")),
              at(4, "'connections.home.local' names no auth (a user's rounds say psk or pubkey)"));
    EXPECT_EQ(refusal(conn("    local { auth = psk }")),
              at(2, "connection 'home' needs a local and a remote section (with auth)"));
    EXPECT_EQ(refusal(conn("    local { auth = psk }\n    updown = /bin/sh")),
              not_allowed(5, "connections.home.updown", "runs a command"));
}

// What peer_ca is checked against: the cacerts of each remote round that authenticates by
// public key, whatever the key type or case.
TEST(UserDefinition, PeerCasAreTheCacertsOfPublicKeyRemotes) {
    EXPECT_EQ(accepted(kPubkey).peer_cas, (std::vector<std::string>{"example-ca.pem"}));
    EXPECT_TRUE(accepted(kPsk).peer_cas.empty());
    EXPECT_EQ(accepted(conn("    local { auth = psk }\n    remote { auth = ED25519 }")).peer_cas,
              (std::vector<std::string>{""}));
    for (const char* a : {"pubkey", "rsa-4096", "ecdsa-256", "ed25519", "ed448", "PUBKEY"})
        EXPECT_TRUE(ike::public_key_auth(a)) << a;
    for (const char* a : {"psk", "eap-md5", "xauth", ""}) EXPECT_FALSE(ike::public_key_auth(a)) << a;
}

TEST(UserDefinition, TheEarliestRefusalIsReported) {
    // The child's updown (line 5) comes before the connection's if_id_in (line 7), though
    // the connection's own keys are looked at first.
    std::string text =
        "connections {\n  home {\n    remote_addrs = 198.51.100.7\n    children { net {\n"
        "      updown = /bin/sh\n    } }\n    if_id_in = 1\n  }\n}\n";
    EXPECT_EQ(refusal(text), not_allowed(5, "connections.home.children.net.updown", "runs a command"));
}

TEST(UserDefinition, ARefusalIsOneLine) {
    auto r = refusal(conn("    local_addrs = \"192.0.2.10,\n203.0.113.5\""));
    EXPECT_EQ(r, not_allowed(4, "connections.home.local_addrs = \\n203.0.113.5",
                             "local_addrs must be one of this host's addresses: 192.0.2.10, 2001:db8::10"));
    r = refusal(conn("    aggressive = \"no\nyes\""));
    EXPECT_EQ(r, not_allowed(4, "connections.home.aggressive = no\\nyes", "aggressive mode exposes the PSK"));
    r = refusal(conn("") + "personalnet {\n  label = \"0x\n12\"\n}\n");
    EXPECT_EQ(r.find('\n'), std::string::npos) << r;
    EXPECT_EQ(r.rfind(kPath, 0), 0u) << r;
    r = refusal(conn("    aggressive = " + std::string(300, 'y')));
    EXPECT_LT(r.size(), 400u) << "a long value is cut short";
}

TEST(UserDefinition, AHostWithoutAddressesAllowsNoLocalAddrs) {
    EXPECT_EQ(refusal(conn("    local_addrs = 192.0.2.10"), ike::HostFacts{}),
              not_allowed(4, "connections.home.local_addrs = 192.0.2.10",
                          "local_addrs must be one of this host's addresses: none"));
}

// Past the allow-list, parse_overlay's own checks, starting with the path alone.
TEST(UserDefinition, OverlayChecksStillApply) {
    EXPECT_EQ(refusal("connections {\n}\n"), std::string(kPath) + " defines no connection");
    EXPECT_EQ(
        refusal(conn("") + "personalnet {\n  label = 0x0\n}\n").rfind(at(8, "personalnet.label: '0x0'"), 0),
        0u);
    EXPECT_EQ(refusal(conn("") + "personalnet {\n  addresses = 10.80.0.0/24\n}\n"),
              std::string(kPath) + ": personalnet.addresses: '10.80.0.0/24' is not an IP address");
    auto bad = ike::parse_user_definition("../x", kPsk, kPath, host());
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, EINVAL);
}

// Admin definitions keep the wider syntax: the allow-list is a user's alone.
TEST(UserDefinition, AdminDefinitionsKeepTheirWiderSyntax) {
    const std::string admin =
        conn("    pools = office\n    if_id_in = 42\n    children { net { updown = /x } }");
    EXPECT_TRUE(ike::parse_overlay("corp", admin, "/etc/personalnet/overlays.d/corp.conf").ok());
    EXPECT_NE(refusal(admin), "(accepted)");
    auto inc = ike::parse_overlay("corp", "include /x\n", "corp.conf");
    ASSERT_FALSE(inc.ok());
    EXPECT_EQ(inc.error().context,
              "overlay 'corp': corp.conf:1: 'include' is not allowed in an overlay definition");
}

}  // namespace
}  // namespace pn_unit
