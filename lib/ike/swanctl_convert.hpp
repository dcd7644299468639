// From an overlay definition's swanctl.conf sections to VICI requests, the way swanctl
// --load-conns / --load-creds would build them: a connection's settings become a
// message section for section, and the keys swanctl treats as lists are split at commas.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lib/ike/settings.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/ike/vici_message.hpp"
#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::ike {

// The items of a swanctl comma list ("a, b,c"), trimmed of blanks, empty ones left out:
// how charon reads the list keys, and how everything here that looks at them splits them.
std::vector<std::string> list_items(const std::string& value);

// connections { NAME { ... } } -> (NAME, load-conn message), in order. A certs or cacerts
// item "b64:DATA" becomes DATA's bytes (lib/ike/credentials.hpp); other items stay as
// written (an admin definition's file names, as today).
std::vector<std::pair<std::string, ViciMessage>> connections_of(const Settings& swanctl);

// secrets { ike-X { secret = ...  id-1 = ...  id-2 = ... } } (also eap-, xauth-) -> the
// secrets to load. EINVAL for a section of another kind or one without a secret.
Result<std::vector<SharedSecret>> secrets_of(const Settings& swanctl);

// The literal addresses among the connections' remote_addrs (the gateways an overlay-only
// space needs a route to); names and ranges are left out.
std::vector<IpAddr> gateways_of(const Settings& swanctl);

// The networks behind the overlay: every CHILD_SA's remote_ts that is a subnet or an
// address, without its [protocol/port] part; "dynamic" (the gateway itself) and ranges
// are left out. A space's children inherit routes to these through the space.
std::vector<IpPrefix> remote_networks_of(const Settings& swanctl);

// The peers' own addresses where a transport-mode CHILD_SA carries their traffic: the
// literal remote_addrs of every connection with a child in mode = transport whose
// remote_ts is absent or "dynamic" (the selector is then the peer's IKE address). What
// a peer sends in such an SA comes from that address, as a tunnel's comes from
// remote_networks_of; unlike those, nothing is routed to them (the host's routes carry
// transport mode), so they are a list of their own.
std::vector<IpPrefix> transport_peers_of(const Settings& swanctl);

// Every CHILD_SA as (child, connection), to initiate.
std::vector<std::pair<std::string, std::string>> children_of(const Settings& swanctl);

// The CHILD_SAs that ask for transport mode (mode = transport), as "connection.child":
// only the kernel's ESP does it; kernel-libipsec does tunnel mode only.
std::vector<std::string> transport_children_of(const Settings& swanctl);

}  // namespace personalnet::ike
