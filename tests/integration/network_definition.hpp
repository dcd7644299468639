// One side's definition of a personal network between the simulated hosts A (10.9.0.1)
// and B (10.9.0.2), each side's overlay address 10.80.0.x: one connection "net" with one
// CHILD_SA "net" between the two overlay addresses. The network tests write it as the
// administrator's overlay, the user-network tests as a user's own definition.
#pragma once

#include <string>

namespace pntest {

struct NetworkSide {
    int self = 1;  // 1: host A, 2: host B
    std::string label = "0x4e01";
    std::string proposals = "aes128-sha256-x25519";
    std::string connection_extra;  // lines added to the connection, indented as its keys
    bool local_addrs = true;       // name the host's own address in local_addrs
    // Pre-shared key: both sides' identities are id_prefix + side; secret = "" for none.
    std::string id_prefix = "alice-";
    std::string secret = "pntest network secret";
    // Certificates instead (cert set): the side's own certificate and key files, and the
    // peer's CA by name (personalnet { keys = ... }, remote cacerts).
    std::string cert, key, ca;
};

inline std::string network_definition(const NetworkSide& n) {
    const std::string s = std::to_string(n.self), p = std::to_string(3 - n.self);
    const bool pubkey = !n.cert.empty();
    std::string t = "connections {\n    net {\n        version = 2\n";
    if (n.local_addrs) t += "        local_addrs = 10.9.0." + s + "\n";
    t += "        remote_addrs = 10.9.0." + p + "\n        proposals = " + n.proposals + "\n" +
         n.connection_extra;
    if (pubkey)
        t += "        local {\n            auth = pubkey\n            certs = " + n.cert +
             "\n        }\n        remote {\n            auth = pubkey\n            cacerts = " + n.ca +
             "\n        }\n";
    else
        t += "        local {\n            auth = psk\n            id = " + n.id_prefix + s +
             "\n        }\n        remote {\n            auth = psk\n            id = " + n.id_prefix + p +
             "\n        }\n";
    t += "        children {\n            net {\n                local_ts = 10.80.0." + s +
         "/32\n                remote_ts = 10.80.0." + p +
         "/32\n                esp_proposals = aes128gcm16\n            }\n        }\n    }\n}\n";
    if (!pubkey && !n.secret.empty())
        t += "secrets {\n    ike-net {\n        id-1 = " + n.id_prefix + "1\n        id-2 = " + n.id_prefix +
             "2\n        secret = \"" + n.secret + "\"\n    }\n}\n";
    t += "personalnet {\n    label = " + n.label + "\n    addresses = 10.80.0." + s + "/32\n";
    if (pubkey) t += "    keys = " + n.key + "\n";
    return t + "}\n";
}

}  // namespace pntest
