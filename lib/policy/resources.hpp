// The policy's bandwidth decisions (resources.max_bandwidth and resources.bandwidth, read
// with the rest of the resources section in policy.cpp; issue 22). Root passes every
// limit and gets no default.
#pragma once

#include <string>

#include "lib/policy/policy.hpp"
#include "lib/policy/reader.hpp"
#include "personalnet/space.hpp"

namespace personalnet::policy {

// The caller's space's bandwidth as the policy makes it: a user's request without a
// bandwidth gets resources.bandwidth, or else resources.max_bandwidth. Root's is kept.
void apply_bandwidth_policy(const Policy& p, const Caller& c, ResourceLimits& limits);
// Refuses (EPERM, one line naming the value and the setting) a user's bandwidth above
// resources.max_bandwidth in either direction.
Status within_bandwidth(const Policy& p, const Caller& c, const ResourceLimits& limits);

}  // namespace personalnet::policy
