// Reading personalnet.conf's networks section (lib/policy/networks.hpp) into Networks;
// parse_policy hands it the section's body.
#pragma once

#include "lib/ike/settings.hpp"
#include "lib/policy/networks.hpp"
#include "lib/policy/reader.hpp"

namespace personalnet::policy {

// Refuses, as parse_policy does elsewhere, anything unknown, repeated or malformed,
// naming the setting ("networks.users.alice.peers") and the value.
Status read_networks(SettingsReader& r, const ike::Settings& body, Networks& into);

}  // namespace personalnet::policy
