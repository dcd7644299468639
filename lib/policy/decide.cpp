// Judging a caller against the policy. Every refusal names the caller and the setting
// responsible, so that the user knows whom to ask and the administrator what to change.
#include <algorithm>
#include <cstring>

#include "lib/policy/names.hpp"
#include "lib/policy/policy.hpp"

namespace personalnet::policy {

namespace {

bool is_root(const Caller& c) { return c.uid == 0; }

std::string who(const Caller& c) {
    return c.user.empty() ? "uid " + std::to_string(c.uid) : "user '" + c.user + "'";
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
    return !s.empty() && std::find(list.begin(), list.end(), s) != list.end();
}

bool in_any(const std::vector<std::string>& allowed, const std::vector<std::string>& groups) {
    return std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return contains(allowed, g); });
}

std::string joined(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
    return out;
}

Error refuse(const Caller& c, const std::string& what, const std::string& setting) {
    return make_error(EPERM, who(c) + " may not " + what + " (personalnet.conf: " + setting + ")");
}

}  // namespace

Status may_create(const Policy& p, const Caller& c) {
    if (is_root(c) || contains(p.users, c.user) || in_any(p.groups, c.group_names)) return {};
    return refuse(c, "create spaces", "users, groups");
}

Status may_bind_overlay(const Policy& p, const Caller& c, const std::string& overlay) {
    if (is_root(c)) return {};
    PN_TRY(may_create(p, c), "");
    auto it = std::find_if(p.overlays.begin(), p.overlays.end(),
                           [&](const auto& entry) { return entry.first == overlay; });
    const std::string what = "bind overlay '" + overlay + "'";
    if (it == p.overlays.end()) return refuse(c, what, "overlays, which does not list it");
    if (it->second == std::vector<std::string>{"*"} || in_any(it->second, c.group_names)) return {};
    return refuse(c, what, "overlays: " + overlay + " = " + joined(it->second));
}

Status may_share(const Policy& p, const Caller& c, const std::string& path) {
    if (is_root(c)) return {};
    PN_TRY(may_create(p, c), "");
    std::string clean = path;
    if (clean.size() > 1 && clean.back() == '/') clean.pop_back();
    const std::string what = "share '" + path + "'";
    if (!is_clean_path(clean))
        return make_error(EPERM, who(c) + " may not " + what +
                                     ": not an absolute path without '.', '..' or "
                                     "empty components");
    if (p.share_paths.empty()) return refuse(c, what, "share.paths is empty");
    for (const auto& prefix : p.share_paths)
        if (path_covers(prefix, clean)) return {};
    return refuse(c, what, "share.paths = " + joined(p.share_paths));
}

Status may_admin(const Policy& p, const Caller& c) {
    if (is_root(c)) return {};
    PN_TRY(may_create(p, c), "");
    if (p.admin) return {};
    return refuse(c, "create --admin spaces", "admin = no");
}

Status may_share_pids(const Policy& p, const Caller& c) {
    if (is_root(c)) return {};
    PN_TRY(may_create(p, c), "");
    if (p.share_pids) return {};
    return refuse(c, "create --share-pids spaces", "create.share_pids = no");
}

Status may_publish(const Policy& p, const Caller& c, const PublishedPort& port) {
    if (is_root(c)) return {};
    PN_TRY(may_create(p, c), "");
    const std::string what = "publish " + port.str();
    if (port.port < kFirstUserPort)
        return make_error(EPERM,
                          who(c) + " may not " + what + ": ports below " + std::to_string(kFirstUserPort) +
                              " are the host's (no setting of personalnet.conf lets users publish them)");
    for (const PortRange& r : p.publish)
        if ((r.proto == 0 || r.proto == port.proto) && port.port >= r.low && port.port <= r.high) return {};
    if (p.publish.empty()) return refuse(c, what, "create.publish is empty");
    std::vector<std::string> ranges;
    for (const PortRange& r : p.publish) ranges.push_back(r.str());
    return refuse(c, what, "create.publish = " + joined(ranges));
}

Status within_limits(const Policy& p, const Caller& c, int spaces_of_user, int spaces_total, int new_depth) {
    if (spaces_of_user < 0 || spaces_total < 0 || new_depth < 1)
        return make_error(EINVAL, "within_limits: bad counts (" + std::to_string(spaces_of_user) + ", " +
                                      std::to_string(spaces_total) + ") or depth " +
                                      std::to_string(new_depth));
    if (is_root(c)) return {};
    if (new_depth > p.max_depth)
        return make_error(ELOOP, who(c) + " may not create a space at depth " + std::to_string(new_depth) +
                                     ": nesting deeper than " + std::to_string(p.max_depth) +
                                     " (personalnet.conf: max_depth)");
    if (spaces_of_user >= p.max_spaces_per_user)
        return make_error(EUSERS, who(c) + " owns " + std::to_string(spaces_of_user) +
                                      " spaces (personalnet.conf: max_spaces_per_user = " +
                                      std::to_string(p.max_spaces_per_user) + ")");
    if (spaces_total >= p.max_spaces)
        return make_error(
            EUSERS, who(c) + " may not create a space: the host has " + std::to_string(spaces_total) +
                        " spaces (personalnet.conf: max_spaces = " + std::to_string(p.max_spaces) + ")");
    return {};
}

Result<ResourceLimits> resources_for(const Policy& p, const Caller& c, const ResourceLimits& asked,
                                     ResourceSources* sources) {
    ResourceSources from;
    if (is_root(c)) {
        if (sources != nullptr) *sources = from;
        return asked;
    }
    ResourceLimits out = asked;
    struct Row {
        uint64_t want, dflt, max;
        const char *option, *setting, *max_setting;  // the settings as their sources name them
        std::string (*text)(uint64_t);
    };
    auto cpu = [](uint64_t v) { return cpu_text(static_cast<uint32_t>(v)); };
    auto size = [](uint64_t v) { return size_text(v); };
    auto num = [](uint64_t v) { return std::to_string(v); };
    const Row rows[4] = {
        {asked.cpu_milli, p.default_resources.cpu_milli, p.max_resources.cpu_milli, "--cpu",
         "personalnet.conf's resources.cpu", "personalnet.conf's resources.max_cpu", cpu},
        {asked.memory_bytes, p.default_resources.memory_bytes, p.max_resources.memory_bytes, "--memory",
         "personalnet.conf's resources.memory", "personalnet.conf's resources.max_memory", size},
        {asked.pids, p.default_resources.pids, p.max_resources.pids, "--pids",
         "personalnet.conf's resources.pids", "personalnet.conf's resources.max_pids", num},
        {asked.io_weight, p.default_resources.io_weight, 0, "--io-weight",
         "personalnet.conf's resources.io_weight", "", num},
    };
    uint64_t got[4];
    for (int i = 0; i < 4; ++i) {
        const Row& row = rows[i];
        got[i] = row.want;
        if (got[i] == 0 && row.dflt != 0) {
            got[i] = row.dflt;
            from.from[i] = row.setting;
        }
        if (row.max == 0) continue;
        if (got[i] == 0) {  // no limit is above any maximum: the maximum then
            got[i] = row.max;
            from.from[i] = row.max_setting;
        } else if (got[i] > row.max) {
            const std::string setting =
                std::string(row.max_setting).substr(std::strlen("personalnet.conf's "));
            return refuse(c, std::string("ask for ") + row.option + " " + row.text(got[i]),
                          setting + " = " + row.text(row.max));
        }
    }
    out.cpu_milli = static_cast<uint32_t>(got[0]);
    out.memory_bytes = got[1];
    out.pids = static_cast<uint32_t>(got[2]);
    out.io_weight = static_cast<uint32_t>(got[3]);
    if (sources != nullptr) *sources = from;
    return out;
}

}  // namespace personalnet::policy
