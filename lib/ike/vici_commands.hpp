// Typed VICI commands on top of ViciClient: what personalnet asks of charon.
//
// Each helper builds the request of strongSwan's vici README, checks the answer, and
// returns std/personalnet types only, so that callers (pnet show, the space code)
// never touch message trees. Daemon refusals come back as EREMOTEIO with charon's
// errmsg; initiate() adds the log lines charon streamed while it tried.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_message.hpp"
#include "personalnet/error.hpp"

namespace personalnet::ike {

inline constexpr Timeout kDefaultTimeout{5000};

struct VersionInfo {
    std::string daemon;   // "charon"
    std::string version;  // "5.9.8"
    std::string sysname;
    std::string release;
    std::string machine;
};
Result<VersionInfo> version(ViciClient& c, Timeout timeout = kDefaultTimeout);

// Loads (or replaces) the connection name; conn holds the swanctl.conf(5) content of
// connections.<name> (local_addrs, local {}, remote {}, children {}, ...).
Status load_conn(ViciClient& c, const std::string& name, const ViciMessage& conn,
                 Timeout timeout = kDefaultTimeout);
Status unload_conn(ViciClient& c, const std::string& name, Timeout timeout = kDefaultTimeout);

struct SharedSecret {
    std::string type = "IKE";         // IKE (PSK), EAP or XAUTH
    std::string data;                 // the raw secret (binary-safe)
    std::vector<std::string> owners;  // identities it is for; none = any
    std::string id;                   // optional unique id (for unload-shared)
};
Status load_shared(ViciClient& c, const SharedSecret& secret, Timeout timeout = kDefaultTimeout);

// Loads a certificate (load-cert): type "X509" (also X509_AC, X509_CRL), flag "NONE" for
// an end entity's or "CA" for an authority's (also AA, OCSP), data its PEM or DER bytes.
Status load_cert(ViciClient& c, const std::string& type, const std::string& flag, const std::string& data,
                 Timeout timeout = kDefaultTimeout);

// Loads a private key (load-key): type "rsa" or "ecdsa" (strongSwan 5.9 also takes
// ed25519, ed448 and "any"), data its PEM or DER bytes, which no error quotes.
Status load_key(ViciClient& c, const std::string& type, const std::string& data,
                Timeout timeout = kDefaultTimeout);

// Initiates CHILD_SA child (of IKE config ike, may be empty) and waits until it is
// up. timeout bounds the daemon's attempt; the client waits a little longer to hear
// the daemon's verdict. On failure the error carries charon's errmsg and its last
// control-log lines; ETIMEDOUT when charon says it timed out, in which case charon
// goes on trying in the background (terminate_ike() stops it).
Status initiate(ViciClient& c, const std::string& child, const std::string& ike,
                Timeout timeout = kDefaultTimeout);

// Asks charon to initiate CHILD_SA child and returns at once, without waiting for the
// peer (charon's "timeout = -1"): a personal network's peer may not be up yet, and comes
// up by initiating itself. Fails only when charon refuses the request (an unknown child).
Status initiate_in_background(ViciClient& c, const std::string& child, const std::string& ike);

// Terminates every IKE_SA of config name ike (and their CHILD_SAs), waiting for the
// peer's acknowledgement within timeout (as initiate()).
Status terminate_ike(ViciClient& c, const std::string& ike, Timeout timeout = kDefaultTimeout);

// Asks charon to terminate the one IKE_SA with this unique id (and its CHILD_SAs) and
// returns at once (charon's "timeout = -1"): a daemon's event loop must not wait for the
// peer's acknowledgement.
// force: charon sends the DELETE once and destroys the SA at once, without waiting for an
// answer (for an SA the peer no longer has, which would otherwise sit in DELETING while
// charon retransmits for minutes).
Status terminate_ike_sa_in_background(ViciClient& c, uint32_t uniqueid, bool force = false);

struct ChildSaInfo {
    std::string name;  // CHILD_SA config name
    uint32_t uniqueid = 0;
    uint32_t reqid = 0;
    std::string state;     // "INSTALLED", "REKEYING", ...
    std::string mode;      // "TUNNEL", "TRANSPORT", ...
    std::string protocol;  // "ESP", "AH"
    bool encap = false;    // UDP-encapsulated ESP
    uint32_t spi_in = 0;
    uint32_t spi_out = 0;
    std::string encr_alg;
    uint64_t bytes_in = 0;
    uint64_t packets_in = 0;
    uint64_t bytes_out = 0;
    uint64_t packets_out = 0;
    std::vector<std::string> local_ts;
    std::vector<std::string> remote_ts;
};

struct IkeSaInfo {
    std::string name;  // IKE config (connection) name
    uint32_t uniqueid = 0;
    int version = 0;    // 1 or 2
    std::string state;  // "ESTABLISHED", "CONNECTING", ...
    std::string local_host;
    std::string remote_host;
    std::string local_id;
    std::string remote_id;
    bool initiator = false;  // we initiated this IKE_SA
    uint64_t initiator_spi = 0;
    uint64_t responder_spi = 0;
    uint64_t established_s = 0;  // seconds since establishment
    std::vector<ChildSaInfo> children;

    // Our own SPI and the peer's: which of the two depends on who initiated.
    uint64_t local_spi() const { return initiator ? initiator_spi : responder_spi; }
    uint64_t remote_spi() const { return initiator ? responder_spi : initiator_spi; }
};

// All IKE_SAs (of config ike, or all when empty) with their CHILD_SAs.
Result<std::vector<IkeSaInfo>> list_sas(ViciClient& c, const std::string& ike = {},
                                        Timeout timeout = kDefaultTimeout);

// The IKE_SAs in one list-sa event, or in an ike-updown / child-updown event (which
// carry the same layout next to their "up" key). EBADMSG for malformed numbers.
Result<std::vector<IkeSaInfo>> parse_sas(const ViciMessage& event);

}  // namespace personalnet::ike
