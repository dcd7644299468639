#include "lib/server/user_networks.hpp"

#include <algorithm>

#include "lib/ike/credentials.hpp"
#include "lib/ike/overlay_config.hpp"
#include "lib/policy/dn_map.hpp"
#include "lib/policy/networks.hpp"
#include "lib/space/user_network.hpp"

namespace personalnet::server {

namespace {

policy::NetworkSummary summary_of(const ike::UserDefinition& def, const SpaceSpec& spec) {
    policy::NetworkSummary s;
    for (const auto& p : def.peers) s.peers.push_back(p.str());
    s.claims = def.claims;
    s.reaches = def.reaches;
    s.label = def.overlay.label;
    s.proposals = def.proposals;
    s.auths = def.auths;
    s.peer_cas = def.peer_cas;
    s.overlay_only = !spec.inherit_routes;
    return s;
}

}  // namespace

Status user_network_allowed(const policy::Policy& p, const policy::Caller& caller, const Context& ctx,
                            const SpaceSpec& spec, int live_networks) {
    const UserNetwork& n = spec.user_network;
    auto host = space::host_facts_here();
    if (!host.ok()) return host.error();
    auto def = space::check_user_network(n, host.value());
    if (!def.ok()) return def.error();
    PN_TRY(policy::may_have_network(p, caller, summary_of(def.value(), spec), live_networks), "");
    if (const auto& label = def->overlay.label)
        for (const auto& [held, name] : ike::network_labels(ctx.overlaydir))
            if (held == *label)
                return make_error(EPERM, n.path + ": label " + ike::label_text(*label) +
                                             " is the administrator's network '" + name + "'");
    const policy::NetworkConstraints* rules = policy::network_constraints_for(p, caller);
    if (rules == nullptr || !rules->require_dn_map || def->certs.empty()) return {};
    auto map = policy::load_dn_map(p.networks.dnmap);
    if (!map.ok()) return map.error();
    for (const auto& ref : def->certs) {
        const auto at =
            std::find_if(n.files.begin(), n.files.end(), [&](const auto& f) { return f.first == ref.name; });
        auto der = ike::certificate_der(at->second);
        if (!der.ok())
            return der.error().wrap(n.path + ":" + std::to_string(ref.line) + ": '" + ref.name + "'");
        auto subject = ike::subject_dn(der.value());
        if (!subject.ok())
            return subject.error().wrap(n.path + ":" + std::to_string(ref.line) + ": '" + ref.name + "'");
        PN_TRY(policy::check_subject_maps_to(map.value(), subject.value(), caller.user), "");
    }
    return {};
}

}  // namespace personalnet::server
