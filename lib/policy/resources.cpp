#include "lib/policy/resources.hpp"

namespace personalnet::policy {

void apply_bandwidth_policy(const Policy& p, const Caller& c, ResourceLimits& limits) {
    if (c.uid == 0 || limits.rate_in != 0 || limits.rate_out != 0) return;
    const ResourceLimits& from = p.default_resources.rate_in != 0 ? p.default_resources : p.max_resources;
    limits.rate_in = from.rate_in;
    limits.rate_out = from.rate_out;
}

Status within_bandwidth(const Policy& p, const Caller& c, const ResourceLimits& limits) {
    if (c.uid == 0 || p.max_resources.rate_in == 0) return {};
    const ResourceLimits& max = p.max_resources;
    if (limits.rate_in <= max.rate_in && limits.rate_out <= max.rate_out) return {};
    std::string who = c.user.empty() ? "uid " + std::to_string(c.uid) : "user '" + c.user + "'";
    return make_error(EPERM, who + " may not have bandwidth " + bandwidth_str(limits) + ", above " +
                                 bandwidth_str(max) + " (personalnet.conf: resources.max_bandwidth)");
}

}  // namespace personalnet::policy
