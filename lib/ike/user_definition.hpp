// A user's own network definition (~/.config/personalnet/networks/NAME.conf, or
// mkportspace --network-file): the admin's overlay syntax (overlay_config.hpp), but the
// space's charon runs as root, so every key a user writes is checked against an allow-list
// before anything else looks at it. Nothing a user writes may make charon read or write a
// path, run a command, claim a host mark, interface or address, or hand out addresses.
//
// Allowed, and nothing else:
//   connections.C       version local_addrs remote_addrs local_port remote_port proposals
//                       dpd_delay dpd_timeout rekey_time reauth_time over_time rand_time
//                       keyingtries unique encap mobike fragmentation send_cert
//                       send_certreq, aggressive = no
//   connections.C.localX   auth id certs           (X: any suffix, as swanctl reads it)
//   connections.C.remoteX  auth id cacerts
//   connections.C.children.H  local_ts remote_ts esp_proposals mode rekey_time life_time
//                       rand_time start_action dpd_action close_action
//   secrets.ikeX, secrets.eapX, secrets.xauthX   idY secret
//   personalnet         addresses dns label keys
// Besides, every connection has a localX and a remoteX round, each naming its auth
// (charon's defaults would get past the administrator's auth and peer_ca rules);
// connections and secrets are given once each; each connection names its peers
// by literal addresses (remote_addrs, required: the administrator's peer constraint can
// only check addresses); local_addrs may only name this host's own addresses; cacerts are
// plain names of certificates in the administrator's trust directory. Credentials are
// named, never read here: connections.C.localX.certs and personalnet.keys name the user's
// files (relative to the definition's directory, or absolute), which the library reads
// as the user.
//
// A refusal is one line (control characters in values are escaped):
//   PATH:LINE: 'connections.corp.updown' is not allowed in a user's network definition (runs a command)
#pragma once

#include <string>
#include <vector>

#include "lib/ike/overlay_config.hpp"
#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::ike {

// What a user definition is checked against on this host.
struct HostFacts {
    std::vector<IpAddr> addresses;  // the host's own: all that local_addrs may name
};

// A file or certificate name a definition references, with the line naming it.
struct Reference {
    std::string name;
    int line = 0;

    bool operator==(const Reference&) const = default;
};

// A checked user definition and what the administrator's constraints look at, each list
// in the order written. Items of comma lists are trimmed, otherwise as written.
struct UserDefinition {
    // What parse_overlay makes of the same text: connections and secrets for charon (with
    // certs still naming files), dns, addresses, label. personalnet.keys is not in it.
    OverlayDefinition overlay;
    std::vector<IpAddr> peers;           // every connection's remote_addrs
    std::vector<std::string> claims;     // personalnet.addresses, then every child's local_ts
    std::vector<std::string> reaches;    // every child's remote_ts
    std::vector<std::string> proposals;  // every proposals and esp_proposals item
    std::vector<std::string> auths;      // every localX/remoteX auth, e.g. psk, pubkey
    // The cacerts of every remote round that authenticates by public key, as written ("" when
    // it names none): what the administrator's peer_ca is checked against.
    std::vector<std::string> peer_cas;
    std::vector<Reference> certs;    // connections.C.localX.certs: the user's certificate files
    std::vector<Reference> keys;     // personalnet.keys: the user's private key files
    std::vector<Reference> cacerts;  // connections.C.remoteX.cacerts: names in the trust directory
};

// Whether an auth value ("pubkey", "rsa-4096", "ED25519") authenticates by public key:
// pubkey and the key types it stands for, in any case, with any suffix.
bool public_key_auth(const std::string& auth);

// Checks a user's definition of network name; path names it in errors (and becomes
// overlay.path). EINVAL with one line naming the file, line and key or value refused,
// or, past the allow-list, parse_overlay's refusals with PATH in place of "overlay 'NAME': PATH".
Result<UserDefinition> parse_user_definition(const std::string& name, const std::string& text,
                                             const std::string& path, const HostFacts& host);

}  // namespace personalnet::ike
