// Users' own networks: the constraints the administrator sets in personalnet.conf's
// networks section, and the check of one user definition against them.
//
//   networks {
//       users {
//           alice {                        # rules for user alice
//               peers = 192.0.2.0/24       # peer addresses (remote_addrs) allowed
//               reach = 10.80.0.0/16       # networks (remote_ts) allowed
//               claim = 10.80.0.0/16       # overlay addresses and local_ts allowed
//               labels = 0x4e00-0x4eff     # personal network labels allowed (inclusive)
//               algorithms = aes256gcm16, prfsha384, x25519  # proposal tokens allowed
//               auth = psk, pubkey         # auth methods allowed
//               overlay_only = no          # must spaces bound to them be overlay-only
//               max_networks = 1           # her own networks live at once
//               require_dn_map = no        # must her certificate's subject map to alice
//               peer_ca = corp-ca          # the CA (in trustdir) peers' certificates are from
//           }
//       }
//       groups {
//           staff { ... }                  # the same rules, for members of staff
//       }
//       dnmap = /etc/personalnet/dnmap     # subject DN -> user (lib/policy/dn_map.hpp)
//       trustdir = /etc/personalnet/cacerts.d
//   }
//
// A user's rules are their users section, else the first groups section (in file order) of
// a group they belong to; without either they may have no networks of their own (the
// default).
// An unset address list or label range allows nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::policy {

struct Caller;
struct Policy;

struct LabelRange {
    uint16_t first = 0;
    uint16_t last = 0;  // inclusive
    bool operator==(const LabelRange&) const = default;
};

// The proposal tokens allowed when a section sets no algorithms: strong ciphers,
// integrity, PRFs and key exchanges; no null, no SHA-1, MD5, 3DES or small groups.
const std::vector<std::string>& default_algorithms();

// The auth methods a section may name (auth = ...): pubkey covers rsa, ecdsa, ed25519 and
// ed448; eap and xauth cover their variants (eap-md5, xauth-pam).
const std::vector<std::string>& auth_methods();

struct NetworkConstraints {
    std::vector<IpPrefix> peers;  // each literal peer address must lie in one
    std::vector<IpPrefix> reach;  // each remote_ts must lie in one
    std::vector<IpPrefix> claim;  // each overlay address and local_ts must lie in one
    std::optional<LabelRange> labels;
    std::vector<std::string> algorithms = default_algorithms();  // lowercase tokens
    std::vector<std::string> auth{"psk", "pubkey"};
    bool overlay_only = false;
    int max_networks = 1;  // 0-65535
    bool require_dn_map = false;
    std::string peer_ca;  // a name in trustdir, "" for any
    bool operator==(const NetworkConstraints&) const = default;
};

struct Networks {
    // In file order: a user's section is looked up by name, the first group that matches wins.
    std::vector<std::pair<std::string, NetworkConstraints>> users;
    std::vector<std::pair<std::string, NetworkConstraints>> groups;
    std::string dnmap;  // "" for none (then no section may require_dn_map)
    std::string trustdir = "/etc/personalnet/cacerts.d";
};

// What one user definition would do, as plain values (the lead maps the user definition
// checker's result onto it, so that neither module needs the other). Lists may hold
// comma-separated values, as swanctl writes them.
struct NetworkSummary {
    std::vector<std::string> peers;      // literal remote_addrs: addresses, prefixes, ranges A-B
    std::vector<std::string> claims;     // personalnet.addresses and every local_ts
    std::vector<std::string> reaches;    // every remote_ts
    std::optional<uint16_t> label;       // personalnet.label
    std::vector<std::string> proposals;  // every IKE and ESP proposal ("aes256-sha256-x25519")
    std::vector<std::string> auths;      // every local and remote auth ("psk", "pubkey", "eap-md5")
    // The cacerts name of every remote round that authenticates by public key ("" when it
    // names none): checked against peer_ca.
    std::vector<std::string> peer_cas;
    bool overlay_only = false;  // whether the space bound to it is overlay-only
};

// The rules for c: the users section of c.user, else the first groups section of one of
// c's groups; nullptr when none applies.
const NetworkConstraints* network_constraints_for(const Policy& p, const Caller& c);

// Whether a network described by s may go live for user (the name messages show) under
// rules, while the user has live_networks of their own live. {} when it may; else one line
// naming the bad value and the rule, the first of (in this order):
//   EUSERS "alice has 1 live network, the most allowed (max_networks = 1)"
//   EPERM  "alice's networks must be overlay-only (overlay_only = yes)"
//   EPERM  "label 0x4f00 is outside alice's range 0x4e00-0x4eff"    ("... range (none)")
//   EPERM  "auth eap is not allowed"
//   EPERM  "proposal aes128-sha1-modp1024: sha1 is not an allowed algorithm"
//   EPERM  "peer 203.0.113.9 is outside the peers alice may reach (192.0.2.0/24)"
//   EPERM  "address 10.9.0.5/32 is outside what alice may claim (10.80.0.0/16)"
//   EPERM  "network 10.99.0.0/16 is outside the networks alice may reach (10.80.0.0/16)"
//   EPERM  "peers must present certificates from corp-ca (peer_ca), not other-ca"
//          ("... (peer_ca); a remote names no cacerts")
// Addresses must be literal: "%any", a host name or "dynamic" is outside every list.
// A traffic selector's protocol and port ("10.0.0.0/24[tcp/80]") are not looked at.
// Proposal tokens are compared in lowercase; "default" as a whole proposal and esn/noesn
// are always accepted. require_dn_map is not checked here (check_subject_maps_to,
// lib/policy/dn_map.hpp, with the certificate's subject). EINVAL for a negative count.
Status check_network_constraints(const NetworkConstraints& rules, const std::string& user,
                                 const NetworkSummary& s, int live_networks);

// The whole decision for caller c: root passes; a caller who may not create spaces is
// refused as may_create says; one without rules is refused (EPERM "user 'bob' may not
// have networks of their own (personalnet.conf: networks lists neither bob nor a group of
// theirs)"); else check_network_constraints under c's rules.
Status may_have_network(const Policy& p, const Caller& c, const NetworkSummary& s, int live_networks);

}  // namespace personalnet::policy
