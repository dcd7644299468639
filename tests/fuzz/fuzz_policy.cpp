// Built only when lib/policy/policy.hpp exists (see FUZZ_TARGETS in the Makefile).
#include <string>

#include "lib/policy/policy.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

bool absolute_not_root(const std::string& path) { return !path.empty() && path[0] == '/' && path != "/"; }

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
    for (const auto& [overlay, groups] : p.overlays)
        if (overlay.empty() || overlay[0] == '.' || overlay[0] == '-')
            return "overlay name '" + overlay + "'";
    return {};
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
