// personalnet.conf's networks section: users' and groups' constraints, the DN map's and
// the trust directory's paths. Like the rest of the policy, nothing is guessed: a typo
// must not silently widen what users may configure.
#include "lib/policy/networks_read.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "lib/ike/overlay_config.hpp"
#include "lib/policy/names.hpp"

namespace personalnet::policy {

namespace {

// "SECTION.KEY", as errors name a setting.
std::string dotted(const std::string& at, const std::string& key) {
    std::string out = at;
    out += '.';
    out += key;
    return out;
}

std::string unknown_section(const std::string& at, const std::string& name) {
    return "unknown section '" + dotted(at, name) + "'";
}

constexpr int kMaxNetworks = 65535;

Result<std::vector<IpPrefix>> prefixes(const SettingsReader& r, const std::string& key,
                                       const std::string& v) {
    auto items = r.list(key, v);
    if (!items.ok()) return items.error();
    std::vector<IpPrefix> out;
    for (const auto& item : items.value()) {
        // Strict: "10.0.0.1/8" is more likely a slip than a way of writing 10.0.0.0/8.
        auto prefix = IpPrefix::parse(item, true);
        if (!prefix) return r.bad(key, item, "is not an address or a prefix ADDR/LEN without host bits");
        out.push_back(*prefix);
    }
    return out;
}

Result<LabelRange> label_range(const SettingsReader& r, const std::string& key, const std::string& v) {
    size_t dash = v.find('-');
    auto first = ike::parse_label(v.substr(0, dash));
    auto last = dash == std::string::npos ? first : ike::parse_label(v.substr(dash + 1));
    if (!first || !last || *first > *last)
        return r.bad(key, v,
                     "is not a label range 0xFIRST-0xLAST (each 0x and 1-4 hex digits, FIRST <= LAST)");
    // A range over reserved labels would promise what no definition can have.
    if (*first == 0 || (*first <= 0xcfff && *last >= 0xc000))
        return r.bad(key, v, "includes reserved labels (0 and 0xc000-0xcfff)");
    return LabelRange{*first, *last};
}

Result<std::vector<std::string>> algorithms(const SettingsReader& r, const std::string& key,
                                            const std::string& v) {
    auto items = r.list(key, v);
    if (!items.ok()) return items.error();
    std::vector<std::string> out;
    for (std::string item : items.value()) {
        bool ok = item.size() <= 32;
        for (char& c : item) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        }
        if (!ok) return r.bad(key, item, "is not a proposal token (1-32 of letters, digits and _)");
        out.push_back(std::move(item));
    }
    return out;
}

Result<std::vector<std::string>> auth(const SettingsReader& r, const std::string& key, const std::string& v) {
    auto items = r.list(key, v);
    if (!items.ok()) return items.error();
    const auto& known = auth_methods();
    for (const auto& item : items.value())
        if (std::find(known.begin(), known.end(), item) == known.end())
            return r.bad(key, item,
                         "is not an auth method (want psk, pubkey, rsa, ecdsa, ed25519, ed448, eap, xauth)");
    return items;
}

Status read_constraint(const SettingsReader& r, const std::string& key, const std::string& name,
                       const std::string& v, NetworkConstraints& c) {
    auto assign = [](auto result, auto& field) -> Status {
        if (!result.ok()) return result.error();
        field = std::move(result).value();
        return {};
    };
    if (name == "peers") return assign(prefixes(r, key, v), c.peers);
    if (name == "reach") return assign(prefixes(r, key, v), c.reach);
    if (name == "claim") return assign(prefixes(r, key, v), c.claim);
    if (name == "labels") {
        auto range = label_range(r, key, v);
        if (!range.ok()) return range.error();
        c.labels = range.value();
        return {};
    }
    if (name == "algorithms") return assign(algorithms(r, key, v), c.algorithms);
    if (name == "auth") return assign(auth(r, key, v), c.auth);
    if (name == "overlay_only") return assign(r.boolean(key, v), c.overlay_only);
    if (name == "require_dn_map") return assign(r.boolean(key, v), c.require_dn_map);
    if (name == "max_networks") return assign(r.number(key, v, 0, kMaxNetworks), c.max_networks);
    if (name == "peer_ca") {
        // A file name in trustdir: no '/' to climb out of it, no hidden files.
        if (!v.empty() && (!is_name(v) || v[0] == '.'))
            return r.bad(key, v,
                         "is not a CA name in trustdir (want 1-32 of A-Z a-z 0-9 _ . -, "
                         "not starting with - or .)");
        c.peer_ca = v;
        return {};
    }
    return r.fail("unknown setting '" + key +
                  "' (want peers, reach, claim, labels, algorithms, auth, overlay_only, max_networks, "
                  "require_dn_map, peer_ca)");
}

// networks.users or networks.groups: a section of constraints per user or group name.
Status read_owners(SettingsReader& r, const std::string& prefix, const char* what, const ike::Settings& body,
                   std::vector<std::pair<std::string, NetworkConstraints>>& into) {
    if (!body.values.empty())
        return r.fail("unknown setting '" + prefix + "." + body.values.front().first +
                      "' (want a section per " + what + " name)");
    for (const auto& owner : body.sections) {
        if (!is_name(owner.name))
            return r.fail(prefix + ": '" + owner.name + "' is not a " + what +
                          " name (want 1-32 of A-Z a-z 0-9 _ . -, not starting with -)");
        const std::string at = prefix + "." + owner.name;
        PN_TRY(r.once(at, "section"), "");
        if (!owner.body.sections.empty())
            return r.fail(unknown_section(at, owner.body.sections.front().name));
        NetworkConstraints c;
        for (const auto& [name, value] : owner.body.values) {
            const std::string key = dotted(at, name);
            PN_TRY(r.once(key, "setting"), "");
            PN_TRY(read_constraint(r, key, name, value, c), "");
        }
        into.emplace_back(owner.name, std::move(c));
    }
    return {};
}

}  // namespace

Status read_networks(SettingsReader& r, const ike::Settings& body, Networks& into) {
    for (const auto& [name, value] : body.values) {
        const std::string key = "networks." + name;
        std::string* field = name == "dnmap" ? &into.dnmap : name == "trustdir" ? &into.trustdir : nullptr;
        if (field == nullptr) return r.fail("unknown setting '" + key + "' (want dnmap, trustdir)");
        PN_TRY(r.once(key, "setting"), "");
        auto path = r.path(key, value, false);
        if (!path.ok()) return path.error();
        *field = std::move(path).value();
    }
    for (const auto& section : body.sections) {
        const std::string key = "networks." + section.name;
        if (section.name != "users" && section.name != "groups")
            return r.fail("unknown section '" + key + "' (want users, groups)");
        PN_TRY(r.once(key, "section"), "");
        const bool users = section.name == "users";
        PN_TRY(read_owners(r, key, users ? "user" : "group", section.body, users ? into.users : into.groups),
               "");
    }
    // Checked once everything is read: dnmap may come after the sections that need it.
    for (const auto* owners : {&into.users, &into.groups})
        for (const auto& [name, c] : *owners)
            if (c.require_dn_map && into.dnmap.empty())
                return r.fail(std::string("networks.") + (owners == &into.users ? "users." : "groups.") +
                              name + ".require_dn_map needs networks.dnmap (the DN map's path)");
    return {};
}

}  // namespace personalnet::policy
