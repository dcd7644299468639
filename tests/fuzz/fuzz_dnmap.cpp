// The DN map (lib/policy/dn_map.hpp): the administrator writes it, but every certificate
// subject a user presents is looked up in it, through the same normal form.
#include <string>

#include "lib/policy/dn_map.hpp"
#include "lib/policy/names.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

// What dn_map.hpp promises of a map parse_dn_map accepts, and that writing it out again
// gives the same map. Empty when it holds.
std::string broken_promise(const policy::DnMap& map) {
    std::string text;
    for (const auto& [dn, user] : map.entries()) {
        if (!policy::is_name(user)) return "user '" + user + "' is not a name";
        auto again = policy::normalize_dn(dn);
        if (!again || *again != dn) return "DN \"" + dn + "\" is not in normal form";
        const std::string* found = map.lookup(dn);
        if (found == nullptr || *found != user) return "DN \"" + dn + "\" does not look up to " + user;
        text += "\"" + dn + "\" " + user + "\n";
    }
    auto reparsed = policy::parse_dn_map(text, "again");
    if (!reparsed.ok()) return "written out, it is refused: " + reparsed.error().message();
    if (reparsed.value().entries() != map.entries()) return "written out, it parses to other entries";
    return {};
}

}  // namespace

int fuzz_dnmap(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    // The whole input as a subject too: lookups take whatever a certificate says.
    auto normal = policy::normalize_dn(text);
    if (normal) {
        auto twice = policy::normalize_dn(*normal);
        if (!twice || *twice != *normal)
            return violated("fuzz_dnmap", "normalize_dn is not idempotent", text);
    }
    auto parsed = policy::parse_dn_map(text, "fuzz");
    if (!parsed.ok()) return 0;
    if (std::string why = broken_promise(parsed.value()); !why.empty())
        return violated("fuzz_dnmap", "accepted a map that breaks its contract: " + why, text);
    return 0;
}

}  // namespace personalnet::fuzz
