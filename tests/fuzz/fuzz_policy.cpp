// Built only when lib/policy/policy.hpp exists (see FUZZ_TARGETS in the Makefile).
#include <netinet/in.h>

#include <cerrno>
#include <string>
#include <vector>

#include "lib/policy/networks.hpp"
#include "lib/policy/policy.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

bool absolute_not_root(const std::string& path) { return !path.empty() && path[0] == '/' && path != "/"; }

// A network made of exactly what rules allow: one more live network than the limit
// admits must be refused, anything less admitted.
policy::NetworkSummary everything_allowed(const policy::NetworkConstraints& rules) {
    policy::NetworkSummary s;
    for (const auto& p : rules.peers) s.peers.push_back(p.str());
    for (const auto& p : rules.claim) s.claims.push_back(p.str());
    for (const auto& p : rules.reach) s.reaches.push_back(p.str());
    if (rules.labels) s.label = rules.labels->last;
    for (const auto& token : rules.algorithms) s.proposals.push_back(token);
    s.auths = rules.auth;
    if (!rules.peer_ca.empty()) s.peer_cas.push_back(rules.peer_ca);
    s.overlay_only = true;
    return s;
}

// What lib/policy/networks.hpp promises of an accepted networks section, and that a
// network within every rule passes the check. Empty when it holds.
std::string broken_network_promise(const policy::Networks& n) {
    if (!n.dnmap.empty() && !absolute_not_root(n.dnmap)) return "dnmap '" + n.dnmap + "'";
    if (!absolute_not_root(n.trustdir)) return "trustdir '" + n.trustdir + "'";
    for (const auto* owners : {&n.users, &n.groups})
        for (const auto& [name, rules] : *owners) {
            if (name.empty() || name[0] == '-') return "owner name '" + name + "'";
            if (rules.max_networks < 0 || rules.max_networks > 65535)
                return name + ": max_networks out of range";
            if (rules.labels && (rules.labels->first > rules.labels->last || rules.labels->first == 0 ||
                                 (rules.labels->first <= 0xcfff && rules.labels->last >= 0xc000)))
                return name + ": label range holds reserved labels or is reversed";
            if (rules.require_dn_map && n.dnmap.empty()) return name + ": require_dn_map without dnmap";
            if (rules.peer_ca.find('/') != std::string::npos)
                return name + ": peer_ca '" + rules.peer_ca + "'";
            const auto s = everything_allowed(rules);
            if (rules.max_networks > 0) {
                Status ok = policy::check_network_constraints(rules, name, s, rules.max_networks - 1);
                if (!ok.ok()) return name + ": what the rules allow is refused: " + ok.error().context;
            }
            Status full = policy::check_network_constraints(rules, name, s, rules.max_networks);
            if (full.ok() || full.error().code != EUSERS) return name + ": max_networks does not hold";
        }
    return {};
}

// What lib/policy/policy.hpp promises of any policy parse_policy accepts; the helper
// relies on it without checking again. Empty when it holds.
std::string broken_promise(const policy::Policy& p) {
    if (p.max_spaces_per_user < 0 || p.max_spaces_per_user > 65535) return "max_spaces_per_user out of range";
    if (p.max_spaces < 0 || p.max_spaces > 65535) return "max_spaces out of range";
    if (p.max_depth < 1 || p.max_depth > 32) return "max_depth out of range";
    for (const auto* dir : {&p.rundir, &p.statedir, &p.overlaydir})
        if (!absolute_not_root(*dir)) return "directory '" + *dir + "' is not absolute or is /";
    for (const auto& path : p.share_paths)
        if (path.empty() || path[0] != '/') return "share path '" + path + "' is not absolute";
    for (const auto& r : p.publish) {
        if (r.low < 1 || r.high < r.low) return "publish range '" + r.str() + "'";
        if (r.proto != 0 && r.proto != IPPROTO_TCP && r.proto != IPPROTO_UDP) return "publish protocol";
        // Written out, a range reads back as itself.
        auto again = policy::parse_policy("create { publish = " + r.str() + " }", "again");
        if (!again.ok() || again->publish != std::vector<policy::PortRange>{r})
            return "publish range '" + r.str() + "' does not read back";
    }
    for (const auto& [overlay, groups] : p.overlays)
        if (overlay.empty() || overlay[0] == '.' || overlay[0] == '-')
            return "overlay name '" + overlay + "'";
    return broken_network_promise(p.networks);
}

}  // namespace

int fuzz_policy(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = policy::parse_policy(text, "fuzz");
    if (!parsed.ok()) return 0;
    if (std::string why = broken_promise(parsed.value()); !why.empty())
        return violated("fuzz_policy", "accepted a policy that breaks its contract: " + why, text);
    return 0;
}

}  // namespace personalnet::fuzz
