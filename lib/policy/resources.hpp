// The policy's resources section (issue 22): per-user maxima and defaults of a space's
// resource limits. Bandwidth here:
//
//   resources {
//       max_bandwidth = 100M/20M   # RATE or IN/OUT: the most a user's space may have
//       bandwidth = 10M            # what a user's space gets without --bandwidth
//   }
//
// Root passes every limit and gets no default.
#pragma once

#include <string>

#include "lib/policy/policy.hpp"
#include "lib/policy/reader.hpp"
#include "personalnet/space.hpp"

namespace personalnet::policy {

// One key of the resources section; EINVAL naming the key and the value.
Status read_resources(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p);

// The caller's space's bandwidth as the policy makes it: a user's request without a
// bandwidth gets resources.bandwidth, or else resources.max_bandwidth. Root's is kept.
void apply_bandwidth_policy(const Policy& p, const Caller& c, ResourceLimits& limits);
// Refuses (EPERM, one line naming the value and the setting) a user's bandwidth above
// resources.max_bandwidth in either direction.
Status within_bandwidth(const Policy& p, const Caller& c, const ResourceLimits& limits);

}  // namespace personalnet::policy
