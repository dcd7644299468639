// Users' own networks in the policy: personalnet.conf's networks section, whose rules
// apply to whom, and the check of one network's summary against them, refusal by
// refusal with its exact one-line message.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lib/policy/networks.hpp"
#include "lib/policy/policy.hpp"

namespace pn_unit {
namespace {

namespace policy = personalnet::policy;
using personalnet::IpPrefix;
using personalnet::Status;

constexpr const char* kNetworks = R"(create { users = alice, bob, carol, dave }
networks {
    users {
        alice {
            peers = 192.0.2.0/24, 2001:db8::/32
            reach = 10.80.0.0/16
            claim = 10.80.0.0/16
            labels = 0x4e00-0x4eff
            algorithms = aes256gcm16, prfsha384, x25519, AES256, sha256
            auth = psk
            overlay_only = yes
            max_networks = 2
            require_dn_map = yes
            peer_ca = corp-ca
        }
        bob {
        }
    }
    groups {
        staff {
            peers = 198.51.100.0/24
            labels = 0x5000
            max_networks = 3
        }
        lab {
            max_networks = 4
        }
    }
    dnmap = /etc/personalnet/dnmap
    trustdir = /etc/pn/cacerts.d
}
)";

policy::Policy parsed(const std::string& text) {
    auto p = policy::parse_policy(text, "pn.conf");
    EXPECT_TRUE(p.ok()) << p.error().message();
    return p.ok() ? p.value() : policy::Policy{};
}

std::string refusal(const std::string& text) {
    auto p = policy::parse_policy(text, "pn.conf");
    if (p.ok()) return "";
    EXPECT_EQ(p.error().code, EINVAL) << p.error().message();
    return p.error().message();
}

bool has(const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
}

policy::Caller caller(const std::string& user, std::vector<std::string> groups, uid_t uid = 1000) {
    policy::Caller c;
    c.uid = uid;
    c.gid = uid;
    c.user = user;
    c.group_names = std::move(groups);
    return c;
}

IpPrefix prefix(const std::string& text) { return IpPrefix::parse(text).value(); }

// The rules most checks below run under.
policy::NetworkConstraints alices() {
    policy::NetworkConstraints c;
    c.peers = {prefix("192.0.2.0/24")};
    c.reach = {prefix("10.80.0.0/16")};
    c.claim = {prefix("10.80.0.0/16")};
    c.labels = policy::LabelRange{0x4e00, 0x4eff};
    return c;
}

// A network alice may have under alices().
policy::NetworkSummary good() {
    policy::NetworkSummary s;
    s.peers = {"192.0.2.2"};
    s.claims = {"10.80.0.1/32", "10.80.0.1/32"};
    s.reaches = {"10.80.0.2/32"};
    s.label = 0x4e01;
    s.proposals = {"aes256gcm16-prfsha384-x25519", "aes256gcm16"};
    s.auths = {"psk", "psk"};
    return s;
}

// The one line a refused summary gets ("" when it passes), and its errno in code.
std::string refused(const policy::NetworkConstraints& rules, const policy::NetworkSummary& s, int live = 0,
                    int code = EPERM) {
    Status st = policy::check_network_constraints(rules, "alice", s, live);
    if (st.ok()) return "";
    EXPECT_EQ(st.error().code, code) << st.error().context;
    return st.error().context;
}

TEST(NetworksParse, EverySetting) {
    policy::Policy p = parsed(kNetworks);
    const policy::Networks& n = p.networks;
    EXPECT_EQ(n.dnmap, "/etc/personalnet/dnmap");
    EXPECT_EQ(n.trustdir, "/etc/pn/cacerts.d");
    ASSERT_EQ(n.users.size(), 2u);
    EXPECT_EQ(n.users[0].first, "alice");
    const policy::NetworkConstraints& a = n.users[0].second;
    EXPECT_EQ(a.peers, (std::vector<IpPrefix>{prefix("192.0.2.0/24"), prefix("2001:db8::/32")}));
    EXPECT_EQ(a.reach, (std::vector<IpPrefix>{prefix("10.80.0.0/16")}));
    EXPECT_EQ(a.claim, (std::vector<IpPrefix>{prefix("10.80.0.0/16")}));
    EXPECT_EQ(a.labels, (policy::LabelRange{0x4e00, 0x4eff}));
    EXPECT_EQ(a.algorithms,
              (std::vector<std::string>{"aes256gcm16", "prfsha384", "x25519", "aes256", "sha256"}))
        << "tokens are kept in lowercase";
    EXPECT_EQ(a.auth, (std::vector<std::string>{"psk"}));
    EXPECT_TRUE(a.overlay_only);
    EXPECT_EQ(a.max_networks, 2);
    EXPECT_TRUE(a.require_dn_map);
    EXPECT_EQ(a.peer_ca, "corp-ca");

    EXPECT_EQ(n.users[1].first, "bob");
    EXPECT_EQ(n.users[1].second, policy::NetworkConstraints{}) << "an empty section keeps every default";
    ASSERT_EQ(n.groups.size(), 2u);
    EXPECT_EQ(n.groups[0].first, "staff");
    EXPECT_EQ(n.groups[0].second.labels, (policy::LabelRange{0x5000, 0x5000})) << "one label is a range";
    EXPECT_EQ(n.groups[1].first, "lab");
}

TEST(NetworksParse, DefaultsAllowNoUserNetworks) {
    for (const char* text : {"", "create { users = alice }\n", "networks {\n}\n"}) {
        policy::Policy p = parsed(text);
        EXPECT_TRUE(p.networks.users.empty()) << text;
        EXPECT_TRUE(p.networks.groups.empty()) << text;
        EXPECT_EQ(p.networks.dnmap, "");
        EXPECT_EQ(p.networks.trustdir, "/etc/personalnet/cacerts.d");
        EXPECT_EQ(policy::network_constraints_for(p, caller("alice", {"alice", "personalnet"})), nullptr);
    }
    policy::NetworkConstraints d;
    EXPECT_TRUE(d.peers.empty() && d.reach.empty() && d.claim.empty() && !d.labels) << "nothing to reach";
    EXPECT_EQ(d.auth, (std::vector<std::string>{"psk", "pubkey"}));
    EXPECT_EQ(d.algorithms, policy::default_algorithms());
    EXPECT_FALSE(d.overlay_only);
    EXPECT_EQ(d.max_networks, 1);
    EXPECT_FALSE(d.require_dn_map);
    EXPECT_EQ(d.peer_ca, "");
    for (const char* weak : {"null", "sha1", "md5", "3des", "modp1024", "modp2048", "des"})
        EXPECT_EQ(std::count(d.algorithms.begin(), d.algorithms.end(), weak), 0) << weak;
}

TEST(NetworksParse, EmptyListsAllowNothing) {
    policy::Policy p = parsed("networks { users { alice {\n peers =\n algorithms =\n auth =\n} } }\n");
    const auto& a = p.networks.users.at(0).second;
    EXPECT_TRUE(a.peers.empty());
    EXPECT_TRUE(a.algorithms.empty());
    EXPECT_TRUE(a.auth.empty());
}

TEST(NetworksParse, UnknownRepeatedAndMisplacedAreRefused) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c : {
             Case{"networks { dnmp = /x }",
                  "pn.conf: unknown setting 'networks.dnmp' (want dnmap, trustdir)"},
             Case{"networks { user { alice { } } }", "unknown section 'networks.user' (want users, groups)"},
             Case{"networks { users { alice = x } }",
                  "unknown setting 'networks.users.alice' (want a section per user name)"},
             Case{"networks { groups { staff = x } }",
                  "unknown setting 'networks.groups.staff' (want a section per group name)"},
             Case{
                 "networks { users { alice { peer = 192.0.2.1 } } }",
                 "unknown setting 'networks.users.alice.peer' (want peers, reach, claim, labels, algorithms, "
                 "auth, overlay_only, max_networks, require_dn_map, peer_ca)"},
             Case{"networks { users { alice { x { } } } }", "unknown section 'networks.users.alice.x'"},
             Case{"networks { users { alice { } }\n users { bob { } } }",
                  "section 'networks.users' given twice"},
             Case{"networks { users { alice { }\n alice { } } }",
                  "section 'networks.users.alice' given twice"},
             Case{"networks { groups { staff { max_networks = 1\n max_networks = 2 } } }",
                  "setting 'networks.groups.staff.max_networks' given twice"},
             Case{"networks { dnmap = /a\n dnmap = /b }", "setting 'networks.dnmap' given twice"},
             Case{"networks { }\nnetworks { }", "section 'networks' given twice"},
             Case{"network { }",
                  "unknown section 'network' (want create, limits, overlays, share, resources, networks)"},
             Case{"networks = yes", "unknown setting 'networks'"},
         }) {
        std::string m = refusal(c.text);
        EXPECT_TRUE(has(m, c.says)) << c.text << " -> " << m;
    }
}

TEST(NetworksParse, BadValuesNameKeyAndValue) {
    struct Case {
        const char* text;
        const char* says;
    };
    const std::string u = "networks { users { alice { ";
    for (const Case& c : {
             Case{"peers = 192.0.2.1/24",
                  "networks.users.alice.peers: '192.0.2.1/24' is not an address or a prefix ADDR/LEN without "
                  "host bits"},
             Case{"peers = 192.0.2.0/33", "peers: '192.0.2.0/33' is not an address"},
             Case{"reach = corp.example.com", "reach: 'corp.example.com' is not an address"},
             Case{"claim = 10.0.0.0/8,, 10.1.0.0/16", "claim: '10.0.0.0/8,, 10.1.0.0/16' has an empty entry"},
             Case{"claim = %any", "claim: '%any' is not an address"},
             Case{"labels = 0x4eff-0x4e00",
                  "labels: '0x4eff-0x4e00' is not a label range 0xFIRST-0xLAST (each 0x and 1-4 hex digits, "
                  "FIRST <= LAST)"},
             Case{"labels = 4e00-4eff", "labels: '4e00-4eff' is not a label range"},
             Case{"labels = 0x4e00-", "labels: '0x4e00-' is not a label range"},
             Case{"labels = 0x10000", "labels: '0x10000' is not a label range"},
             Case{"labels = 0x0-0xff", "labels: '0x0-0xff' includes reserved labels (0 and 0xc000-0xcfff)"},
             Case{"labels = 0xbf00-0xc000", "includes reserved labels"},
             Case{"labels = 0xcfff-0xd000", "includes reserved labels"},
             Case{"labels =", "labels: '' is not a label range"},
             Case{"algorithms = aes256, aes-256", "algorithms: 'aes-256' is not a proposal token"},
             Case{"auth = psk, eap-tls",
                  "auth: 'eap-tls' is not an auth method (want psk, pubkey, rsa, ecdsa, ed25519, ed448, eap, "
                  "xauth)"},
             Case{"auth = PSK", "auth: 'PSK' is not an auth method"},
             Case{"overlay_only = maybe", "overlay_only: 'maybe' is not yes, no"},
             Case{"require_dn_map = 2", "require_dn_map: '2' is not yes, no"},
             Case{"max_networks = 65536", "max_networks: '65536' is not a decimal number from 0 to 65535"},
             Case{"max_networks = -1", "max_networks: '-1'"},
             Case{"peer_ca = ../etc/shadow", "peer_ca: '../etc/shadow' is not a CA name in trustdir"},
             Case{"peer_ca = .hidden", "peer_ca: '.hidden' is not a CA name"},
             Case{"require_dn_map = yes",
                  "networks.users.alice.require_dn_map needs networks.dnmap (the DN map's path)"},
         }) {
        std::string m = refusal(u + c.text + " } } }");
        EXPECT_TRUE(has(m, c.says)) << c.text << " -> " << m;
    }
    EXPECT_TRUE(has(refusal("networks { users { -alice { } } }"),
                    "networks.users: '-alice' is not a user name (want 1-32 of"));
    EXPECT_TRUE(
        has(refusal("networks { groups { a/b { } } }"), "networks.groups: 'a/b' is not a group name"));
    EXPECT_TRUE(has(refusal("networks { dnmap = etc/dnmap }"),
                    "networks.dnmap: 'etc/dnmap' is not an absolute path"));
    EXPECT_TRUE(
        has(refusal("networks { trustdir = / }"), "networks.trustdir: '/' may not be the root directory"));
    EXPECT_TRUE(has(refusal("networks { groups { g { require_dn_map = true } } }"),
                    "networks.groups.g.require_dn_map needs networks.dnmap"));
    // dnmap may come after the sections that need it.
    EXPECT_TRUE(parsed("networks { users { alice { require_dn_map = yes } }\n dnmap = /etc/dnmap }")
                    .networks.users.at(0)
                    .second.require_dn_map);
}

TEST(NetworksRules, UserSectionFirstThenTheFirstGroupInFileOrder) {
    policy::Policy p = parsed(kNetworks);
    const auto* a = policy::network_constraints_for(p, caller("alice", {"alice", "staff"}));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->max_networks, 2) << "alice's own section, though she is in staff";
    const auto* c = policy::network_constraints_for(p, caller("carol", {"carol", "lab", "staff"}));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->max_networks, 3) << "staff comes first in the file, not in carol's groups";
    const auto* d = policy::network_constraints_for(p, caller("dave", {"dave", "lab"}));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->max_networks, 4);
    EXPECT_EQ(policy::network_constraints_for(p, caller("erin", {"erin", "personalnet"})), nullptr);
    EXPECT_EQ(policy::network_constraints_for(p, caller("", {""})), nullptr) << "empty names match nothing";
}

TEST(NetworksCheck, AGoodNetworkPasses) {
    EXPECT_EQ(refused(alices(), good()), "");
    policy::NetworkSummary s = good();
    s.peers = {"192.0.2.7, 192.0.2.8", "192.0.2.0/25", "192.0.2.10-192.0.2.20"};
    s.claims = {"10.80.1.0/24[tcp/80]", "10.80.0.9"};
    s.reaches = {"10.80.0.0/16", "10.80.3.4-10.80.9.9"};
    s.label.reset();
    s.proposals = {"default", "AES128-SHA256-X25519-ESN", "aes256gcm16-noesn, default",
                   "aes128gcm16-prfsha256-ecp256"};
    EXPECT_EQ(refused(alices(), s), "") << "lists, prefixes, ranges, ports, case, default and esn";
    EXPECT_EQ(refused(alices(), policy::NetworkSummary{}), "") << "nothing claimed, nothing refused";
}

TEST(NetworksCheck, TooManyLiveNetworks) {
    policy::NetworkConstraints rules = alices();
    EXPECT_EQ(refused(rules, good(), 1, EUSERS),
              "alice has 1 live network, the most allowed (max_networks = 1)");
    rules.max_networks = 3;
    EXPECT_EQ(refused(rules, good(), 2), "");
    EXPECT_EQ(refused(rules, good(), 3, EUSERS),
              "alice has 3 live networks, the most allowed (max_networks = 3)");
    rules.max_networks = 0;
    EXPECT_EQ(refused(rules, good(), 0, EUSERS),
              "alice has 0 live networks, the most allowed (max_networks = 0)");
    EXPECT_EQ(refused(rules, good(), -1, EINVAL), "check_network_constraints: bad count -1");
}

TEST(NetworksCheck, OverlayOnly) {
    policy::NetworkConstraints rules = alices();
    rules.overlay_only = true;
    EXPECT_EQ(refused(rules, good()), "alice's networks must be overlay-only (overlay_only = yes)");
    policy::NetworkSummary s = good();
    s.overlay_only = true;
    EXPECT_EQ(refused(rules, s), "");
}

TEST(NetworksCheck, LabelOutsideTheRange) {
    policy::NetworkSummary s = good();
    s.label = 0x4f00;
    EXPECT_EQ(refused(alices(), s), "label 0x4f00 is outside alice's range 0x4e00-0x4eff");
    s.label = 0x4dff;
    EXPECT_EQ(refused(alices(), s), "label 0x4dff is outside alice's range 0x4e00-0x4eff");
    for (uint16_t edge : {0x4e00, 0x4eff}) {
        s.label = edge;
        EXPECT_EQ(refused(alices(), s), "") << edge;
    }
    policy::NetworkConstraints none = alices();
    none.labels.reset();
    EXPECT_EQ(refused(none, good()), "label 0x4e01 is outside alice's range (none)");
}

TEST(NetworksCheck, AuthMethods) {
    policy::NetworkSummary s = good();
    s.auths = {"psk", "eap"};
    EXPECT_EQ(refused(alices(), s), "auth eap is not allowed");
    s.auths = {"eap-md5"};
    EXPECT_EQ(refused(alices(), s), "auth eap-md5 is not allowed");
    s.auths = {"xauth-pam"};
    EXPECT_EQ(refused(alices(), s), "auth xauth-pam is not allowed");
    s.auths = {"pubkey", "rsa", "ecdsa-sha256", "rsa/pss", "ed25519", "PSK"};
    EXPECT_EQ(refused(alices(), s), "") << "pubkey covers the key types";

    policy::NetworkConstraints rules = alices();
    rules.auth = {"rsa", "eap"};
    s.auths = {"rsa", "eap-md5", "eap"};
    EXPECT_EQ(refused(rules, s), "") << "eap covers its variants";
    s.auths = {"ecdsa"};
    EXPECT_EQ(refused(rules, s), "auth ecdsa is not allowed");
    s.auths = {"pubkey"};
    EXPECT_EQ(refused(rules, s), "auth pubkey is not allowed") << "rsa does not cover every key type";
    rules.auth = {"psk"};
    s.auths = {"pubkey"};
    EXPECT_EQ(refused(rules, s), "auth pubkey is not allowed");
}

TEST(NetworksCheck, WeakProposals) {
    policy::NetworkSummary s = good();
    s.proposals = {"aes256gcm16", "aes128-sha1-modp1024"};
    EXPECT_EQ(refused(alices(), s), "proposal aes128-sha1-modp1024: sha1 is not an allowed algorithm");
    s.proposals = {"aes256-sha256-x25519, null-sha256"};
    EXPECT_EQ(refused(alices(), s), "proposal null-sha256: null is not an allowed algorithm");
    s.proposals = {"AES128-MD5"};
    EXPECT_EQ(refused(alices(), s), "proposal AES128-MD5: md5 is not an allowed algorithm");
    s.proposals = {"aes128--sha256"};
    EXPECT_EQ(refused(alices(), s), "proposal aes128--sha256: an empty algorithm is not allowed");
    s.proposals = {"aes128-default"};
    EXPECT_EQ(refused(alices(), s), "proposal aes128-default: default is not an allowed algorithm")
        << "default only as a whole proposal";

    policy::NetworkConstraints rules = alices();
    rules.algorithms.push_back("null");
    s.proposals = {"null-sha256"};
    EXPECT_EQ(refused(rules, s), "") << "null when the administrator lists it";
    rules.algorithms = {"aes256gcm16"};
    s.proposals = {"aes128gcm16"};
    EXPECT_EQ(refused(rules, s), "proposal aes128gcm16: aes128gcm16 is not an allowed algorithm");
}

TEST(NetworksCheck, PeersOutsideTheAllowedAddresses) {
    policy::NetworkSummary s = good();
    s.peers = {"192.0.2.1", "203.0.113.9"};
    EXPECT_EQ(refused(alices(), s), "peer 203.0.113.9 is outside the peers alice may reach (192.0.2.0/24)");
    for (const char* peer : {"192.0.2.0/23", "192.0.2.250-192.0.3.1", "%any", "peer.example.com", "0.0.0.0/0",
                             "2001:db8::1", "192.0.2.9-192.0.2.1", "192.0.2.1-2001:db8::1", ""}) {
        s.peers = {std::string("192.0.2.1, ") + peer};
        std::string m = refused(alices(), s);
        if (std::string(peer).empty()) {
            EXPECT_EQ(m, "") << "empty items are skipped";
            continue;
        }
        EXPECT_EQ(m, "peer " + std::string(peer) + " is outside the peers alice may reach (192.0.2.0/24)");
    }
    policy::NetworkConstraints rules = alices();
    rules.peers.push_back(prefix("2001:db8::/32"));
    s.peers = {"2001:db8::1", "192.0.2.4"};
    EXPECT_EQ(refused(rules, s), "");
    s.peers = {"2001:db9::1"};
    EXPECT_EQ(refused(rules, s),
              "peer 2001:db9::1 is outside the peers alice may reach (192.0.2.0/24, 2001:db8::/32)");
    rules.peers.clear();
    s.peers = {"192.0.2.1"};
    EXPECT_EQ(refused(rules, s), "peer 192.0.2.1 is outside the peers alice may reach (none)");
}

TEST(NetworksCheck, ClaimsOutsideTheAllowedRange) {
    policy::NetworkSummary s = good();
    s.claims = {"10.80.0.1/32", "10.9.0.5/32"};
    EXPECT_EQ(refused(alices(), s), "address 10.9.0.5/32 is outside what alice may claim (10.80.0.0/16)");
    s.claims = {"10.80.0.1/8"};
    EXPECT_EQ(refused(alices(), s), "address 10.80.0.1/8 is outside what alice may claim (10.80.0.0/16)")
        << "an address with a wider prefix claims the whole prefix";
    s.claims = {"dynamic"};
    EXPECT_EQ(refused(alices(), s), "address dynamic is outside what alice may claim (10.80.0.0/16)");
    s.claims = {"0.0.0.0/0[udp/53]"};
    EXPECT_EQ(refused(alices(), s),
              "address 0.0.0.0/0[udp/53] is outside what alice may claim (10.80.0.0/16)");
}

TEST(NetworksCheck, ReachOutsideTheAllowedNetworks) {
    policy::NetworkSummary s = good();
    s.reaches = {"10.80.0.2/32", "10.99.0.0/16"};
    EXPECT_EQ(refused(alices(), s),
              "network 10.99.0.0/16 is outside the networks alice may reach (10.80.0.0/16)");
    s.reaches = {"0.0.0.0/0"};
    EXPECT_EQ(refused(alices(), s),
              "network 0.0.0.0/0 is outside the networks alice may reach (10.80.0.0/16)");
}

TEST(NetworksCheck, PeerCa) {
    policy::NetworkConstraints rules = alices();
    rules.peer_ca = "corp-ca";
    policy::NetworkSummary s = good();
    EXPECT_EQ(refused(rules, s), "") << "no remote authenticates by certificate";
    s.peer_cas = {"corp-ca", "other-ca"};
    EXPECT_EQ(refused(rules, s), "peers must present certificates from corp-ca (peer_ca), not other-ca");
    s.peer_cas = {""};
    EXPECT_EQ(refused(rules, s),
              "peers must present certificates from corp-ca (peer_ca); a remote names no cacerts");
    s.peer_cas = {"corp-ca"};
    EXPECT_EQ(refused(rules, s), "");
    rules.peer_ca.clear();
    s.peer_cas = {"", "other-ca"};
    EXPECT_EQ(refused(rules, s), "") << "without peer_ca any CA of trustdir";
}

TEST(NetworksCheck, TheFirstBrokenRuleIsTheOneReported) {
    policy::NetworkSummary s = good();
    s.peers = {"203.0.113.9"};
    s.claims = {"10.9.0.5/32"};
    s.label = 0x4f00;
    EXPECT_TRUE(has(refused(alices(), s), "label 0x4f00")) << "one line, not one per rule";
}

TEST(NetworksDecision, RootUsersWithoutRulesAndTheCheck) {
    policy::Policy p = parsed(kNetworks);
    EXPECT_TRUE(policy::may_have_network(p, caller("root", {}, 0), policy::NetworkSummary{}, 100).ok());

    Status st = policy::may_have_network(p, caller("erin", {"erin"}), good(), 0);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EPERM);
    EXPECT_EQ(st.error().context, "user 'erin' may not create spaces (personalnet.conf: users, groups)")
        << "may_create first";

    policy::Policy defaults;
    st = policy::may_have_network(defaults, caller("erin", {"erin", "personalnet"}), good(), 0);
    ASSERT_FALSE(st.ok()) << "the default allows no user networks";
    EXPECT_EQ(st.error().code, EPERM);
    EXPECT_EQ(
        st.error().context,
        "user 'erin' may not have networks of their own (personalnet.conf: networks lists neither erin nor "
        "a group of theirs)");
    st = policy::may_have_network(defaults, caller("", {"personalnet"}, 4242), good(), 0);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(has(st.error().context, "uid 4242 may not have networks of their own")) << st.error().context;

    // carol (group staff): peers 198.51.100.0/24, label 0x5000, no reach or claim.
    policy::NetworkSummary s;
    s.peers = {"198.51.100.7"};
    s.label = 0x5000;
    EXPECT_TRUE(policy::may_have_network(p, caller("carol", {"staff"}), s, 2).ok());
    st = policy::may_have_network(p, caller("carol", {"staff"}), s, 3);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().context, "carol has 3 live networks, the most allowed (max_networks = 3)");
    s.peers = {"192.0.2.1"};
    st = policy::may_have_network(p, caller("carol", {"staff"}), s, 0);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().context, "peer 192.0.2.1 is outside the peers carol may reach (198.51.100.0/24)");
}

}  // namespace
}  // namespace pn_unit
