// What the administrator's policy says of a user's own network (issue 18), decided by
// the helper before anything is made: the constraints of personalnet.conf's networks
// section, the DN map, and labels that the administrator's networks hold.
#pragma once

#include "lib/policy/policy.hpp"
#include "personalnet/context.hpp"
#include "personalnet/space.hpp"

namespace personalnet::server {

// {} when caller may bring up n (a space with spec's routes) while holding live_networks
// of their own live; else the one-line refusal: the allow-list's (file, line and key),
// policy::may_have_network's, the DN map's (a certificate whose subject maps to another
// user), or EPERM for a label of the administrator's networks in ctx.overlaydir.
Status user_network_allowed(const policy::Policy& p, const policy::Caller& caller, const Context& ctx,
                            const SpaceSpec& spec, int live_networks);

}  // namespace personalnet::server
