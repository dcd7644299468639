// Judging one user network against the administrator's constraints. Each refusal is one
// line that names the value the user wrote and the rule it breaks, so that the user can
// fix the definition or knows what to ask the administrator for.
#include <algorithm>
#include <cctype>

#include "lib/ike/overlay_config.hpp"
#include "lib/ike/user_definition.hpp"
#include "lib/policy/networks.hpp"
#include "lib/policy/policy.hpp"

namespace personalnet::policy {

const std::vector<std::string>& default_algorithms() {
    static const std::vector<std::string> all{
        "aes128", "aes192", "aes256", "aes128gcm16", "aes192gcm16", "aes256gcm16", "chacha20poly1305",
        "sha256", "sha384", "sha512", "prfsha256",   "prfsha384",   "prfsha512",   "x25519",
        "x448",   "ecp256", "ecp384", "ecp521",      "modp3072",    "modp4096",    "modp8192",
    };
    return all;
}

const std::vector<std::string>& auth_methods() {
    static const std::vector<std::string> all{"psk",     "pubkey", "rsa", "ecdsa",
                                              "ed25519", "ed448",  "eap", "xauth"};
    return all;
}

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trimmed(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Every item of every value, values being comma-separated lists as swanctl writes them.
std::vector<std::string> items_of(const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values)
        for (size_t pos = 0;;) {
            size_t end = v.find(',', pos);
            std::string item =
                trimmed(v.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
            if (!item.empty()) out.push_back(std::move(item));
            if (end == std::string::npos) break;
            pos = end + 1;
        }
    return out;
}

bool in(const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

std::string joined(const std::vector<IpPrefix>& list) {
    if (list.empty()) return "none";
    std::string out;
    for (const auto& p : list) out += (out.empty() ? "" : ", ") + p.str();
    return out;
}

bool bit(const IpAddr& a, int i) { return ((a.bytes[i / 8] >> (7 - i % 8)) & 1) != 0; }

bool contains(const IpPrefix& p, const IpAddr& a) {
    if (p.addr.family != a.family) return false;
    for (int i = 0; i < p.len; ++i)
        if (bit(p.addr, i) != bit(a, i)) return false;
    return true;
}

// The first and last address of an address, a prefix (host bits ignored) or a range
// "A-B"; nothing for anything else (host names, %any, dynamic).
struct Span {
    IpAddr first, last;
};

std::optional<Span> span_of(const std::string& text) {
    if (size_t dash = text.find('-'); dash != std::string::npos) {
        auto a = IpAddr::parse(trimmed(text.substr(0, dash)));
        auto b = IpAddr::parse(trimmed(text.substr(dash + 1)));
        if (!a || !b || a->family != b->family || a->bytes > b->bytes) return std::nullopt;
        return Span{*a, *b};
    }
    auto p = IpPrefix::parse(text, false);
    if (!p) return std::nullopt;
    Span s{p->addr, p->addr};
    for (int i = p->len; i < static_cast<int>(p->addr.size() * 8); ++i)
        s.last.bytes[i / 8] |= static_cast<uint8_t>(1u << (7 - i % 8));
    return s;
}

// A prefix holding both ends holds everything between them.
bool covered(const std::vector<IpPrefix>& allowed, const std::string& text) {
    auto s = span_of(text);
    if (!s) return false;
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const IpPrefix& p) { return contains(p, s->first) && contains(p, s->last); });
}

// A traffic selector without its "[protocol/port]" part.
std::string selector_addresses(const std::string& ts) { return trimmed(ts.substr(0, ts.find('['))); }

Error refuse(const std::string& what) { return make_error(EPERM, what); }

// "pubkey" admits the key types it stands for; "eap" and "xauth" their variants.
bool auth_allowed(const std::vector<std::string>& allowed, const std::string& auth) {
    std::string method = lower(auth);
    method = method.substr(0, method.find_first_of("-:/"));
    if (in(allowed, method)) return true;
    return ike::public_key_auth(method) && in(allowed, "pubkey");
}

// The refusals built outside the loops that find them (one string, not temporaries per
// item).
Error bad_proposal(const std::string& proposal, const std::string& token) {
    std::string what = "proposal " + proposal + ": ";
    what += token.empty() ? "an empty algorithm is not allowed" : token + " is not an allowed algorithm";
    return refuse(what);
}
Error not_allowed(const std::string& kind, const std::string& value) {
    return refuse(kind + " " + value + " is not allowed");
}
Error outside(const std::string& kind, const std::string& value, const std::string& rule,
              const std::vector<IpPrefix>& allowed) {
    return refuse(kind + " " + value + " is outside " + rule + " (" + joined(allowed) + ")");
}

Status check_proposal(const std::vector<std::string>& allowed, const std::string& proposal) {
    if (lower(proposal) == "default") return {};
    for (size_t pos = 0;;) {
        size_t end = proposal.find('-', pos);
        std::string token =
            lower(proposal.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
        if (token.empty()) return bad_proposal(proposal, token);
        // Extended sequence numbers are a property of the SA, not an algorithm.
        if (token != "esn" && token != "noesn" && !in(allowed, token)) return bad_proposal(proposal, token);
        if (end == std::string::npos) return {};
        pos = end + 1;
    }
}

}  // namespace

const NetworkConstraints* network_constraints_for(const Policy& p, const Caller& c) {
    if (!c.user.empty())
        for (const auto& [name, rules] : p.networks.users)
            if (name == c.user) return &rules;
    for (const auto& [name, rules] : p.networks.groups)
        if (in(c.group_names, name)) return &rules;
    return nullptr;
}

Status check_network_constraints(const NetworkConstraints& rules, const std::string& user,
                                 const NetworkSummary& s, int live_networks) {
    if (live_networks < 0)
        return make_error(EINVAL, "check_network_constraints: bad count " + std::to_string(live_networks));
    if (live_networks >= rules.max_networks)
        return make_error(
            EUSERS, user + " has " + std::to_string(live_networks) + " live network" +
                        (live_networks == 1 ? "" : "s") +
                        ", the most allowed (max_networks = " + std::to_string(rules.max_networks) + ")");
    if (rules.overlay_only && !s.overlay_only)
        return refuse(user + "'s networks must be overlay-only (overlay_only = yes)");
    if (s.label) {
        const auto& r = rules.labels;
        if (!r)
            return refuse("label " + ike::label_text(*s.label) + " is outside " + user + "'s range (none)");
        if (*s.label < r->first || *s.label > r->last)
            return refuse("label " + ike::label_text(*s.label) + " is outside " + user + "'s range " +
                          ike::label_text(r->first) + "-" + ike::label_text(r->last));
    }
    for (const auto& a : items_of(s.auths))
        if (!auth_allowed(rules.auth, a)) return not_allowed("auth", a);
    for (const auto& proposal : items_of(s.proposals)) PN_TRY(check_proposal(rules.algorithms, proposal), "");
    for (const auto& peer : items_of(s.peers))
        if (!covered(rules.peers, peer))
            return outside("peer", peer, "the peers " + user + " may reach", rules.peers);
    for (const auto& claim : items_of(s.claims))
        if (!covered(rules.claim, selector_addresses(claim)))
            return outside("address", claim, "what " + user + " may claim", rules.claim);
    for (const auto& reach : items_of(s.reaches))
        if (!covered(rules.reach, selector_addresses(reach)))
            return outside("network", reach, "the networks " + user + " may reach", rules.reach);
    if (!rules.peer_ca.empty())
        for (const auto& ca : s.peer_cas) {
            std::string name = trimmed(ca);
            if (name.empty())
                return refuse("peers must present certificates from " + rules.peer_ca +
                              " (peer_ca); a remote names no cacerts");
            if (name != rules.peer_ca)
                return refuse("peers must present certificates from " + rules.peer_ca + " (peer_ca), not " +
                              name);
        }
    return {};
}

Status may_have_network(const Policy& p, const Caller& c, const NetworkSummary& s, int live_networks) {
    if (c.uid == 0) return {};
    PN_TRY(may_create(p, c), "");
    const std::string user = c.user.empty() ? "uid " + std::to_string(c.uid) : c.user;
    const NetworkConstraints* rules = network_constraints_for(p, c);
    if (rules == nullptr)
        return refuse((c.user.empty() ? user : "user '" + user + "'") +
                      " may not have networks of their own (personalnet.conf: networks lists neither " +
                      user + " nor a group of theirs)");
    return check_network_constraints(*rules, user, s, live_networks);
}

}  // namespace personalnet::policy
