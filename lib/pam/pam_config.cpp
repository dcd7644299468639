// Reading pam.conf: parse_pam_config turns settings into checked rules, load_pam_config
// decides whether the file on disk may be believed at all.
#include "lib/pam/pam_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>

#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/settings.hpp"
#include "lib/policy/names.hpp"
#include "lib/policy/reader.hpp"
#include "personalnet/space.hpp"

namespace personalnet::pam {

namespace {

constexpr off_t kMaxSize = off_t{1} << 20;

// A comma-separated list of names; "*" only where star_ok, and then alone.
Result<std::vector<std::string>> names_or_star(const policy::SettingsReader& r, const std::string& key,
                                               const std::string& v, bool star_ok) {
    auto items = r.list(key, v);
    if (!items.ok()) return items.error();
    for (const auto& item : items.value())
        if (!(star_ok && item == "*") && !policy::is_name(item))
            return r.bad(key, item, "is not a name (want 1-32 of A-Z a-z 0-9 _ . -, not starting with -)");
    if (items->size() > 1 && std::find(items->begin(), items->end(), "*") != items->end())
        return r.bad(key, v, "mixes '*' with names");
    return items;
}

// Expands %u and %%; nullopt for any other use of '%'.
std::optional<std::string> expand(const std::string& tmpl, const std::string& user) {
    std::string out;
    for (size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] != '%') {
            out += tmpl[i];
            continue;
        }
        if (i + 1 >= tmpl.size()) return std::nullopt;
        char c = tmpl[++i];
        if (c == 'u')
            out += user;
        else if (c == '%')
            out += '%';
        else
            return std::nullopt;
    }
    return out;
}

Status read_rule_key(policy::SettingsReader& r, const std::string& key, const std::string& v, Rule& rule) {
    const std::string full = "session." + rule.label + "." + key;
    PN_TRY(r.once(full, "setting"), "");
    bool* flag = nullptr;
    if (key == "inherit_routes") flag = &rule.inherit_routes;
    if (key == "inherit_services") flag = &rule.inherit_services;
    if (key == "file_space") flag = &rule.file_space;
    if (key == "destroy_on_last_close") flag = &rule.destroy_on_last_close;
    if (flag != nullptr) {
        auto b = r.boolean(full, v);
        if (!b.ok()) return b.error();
        *flag = b.value();
        return {};
    }
    if (key == "users" || key == "groups") {
        auto n = names_or_star(r, full, v, key == "users");
        if (!n.ok()) return n.error();
        (key == "users" ? rule.users : rule.groups) = std::move(n).value();
        return {};
    }
    if (key == "overlay") {
        // Overlay names are file names in overlaydir: no leading '.'.
        if (!policy::is_name(v) || v[0] == '.')
            return r.bad(full, v,
                         "is not an overlay name (want 1-32 of A-Z a-z 0-9 _ . -, not starting with - or .)");
        rule.overlay = v;
        return {};
    }
    if (key == "name") {
        // A short user name must give a valid name: then only a long one can fail later.
        auto sample = expand(v, "u");
        if (!sample) return r.bad(full, v, "uses '%' other than %u and %%");
        if (auto ok = validate_name(*sample); !ok.ok())
            return r.bad(full, v, "does not give a valid space name");
        rule.name_template = v;
        return {};
    }
    return r.fail("unknown setting '" + full +
                  "' (want users, groups, name, overlay, inherit_routes, inherit_services, file_space, "
                  "destroy_on_last_close)");
}

Status read_session(policy::SettingsReader& r, const ike::Settings& body, Config& c) {
    if (!body.values.empty()) return r.fail("unknown setting 'session." + body.values.front().first + "'");
    for (const auto& section : body.sections) {
        Rule rule;
        rule.label = section.name;
        if (!policy::is_name(rule.label)) return r.fail("session: '" + rule.label + "' is not a rule name");
        PN_TRY(r.once("session." + rule.label, "section"), "");
        if (!section.body.sections.empty())
            return r.fail("unknown section 'session." + rule.label + "." +
                          section.body.sections.front().name + "'");
        for (const auto& [key, value] : section.body.values) PN_TRY(read_rule_key(r, key, value, rule), "");
        if (rule.users.empty() && rule.groups.empty())
            return r.fail("session." + rule.label + ": neither users nor groups given");
        if (rule.name_template.empty()) return r.fail("session." + rule.label + ": no name given");
        c.rules.push_back(std::move(rule));
    }
    return {};
}

}  // namespace

Result<Config> parse_pam_config(const std::string& text, const std::string& where) {
    auto parsed = ike::parse_settings(text, where);
    if (!parsed.ok()) return parsed.error();
    policy::SettingsReader r(where);
    Config c;
    for (const auto& [key, value] : parsed.value().values) {
        PN_TRY(r.once(key, "setting"), "");
        std::string* dir = nullptr;
        if (key == "rundir") dir = &c.rundir;
        if (key == "statedir") dir = &c.statedir;
        if (key == "overlaydir") dir = &c.overlaydir;
        if (key == "libexecdir") dir = &c.libexecdir;
        if (dir == nullptr)
            return r.fail("unknown setting '" + key + "' (want rundir, statedir, overlaydir, libexecdir)");
        if (!policy::is_clean_path(value) || value == "/")
            return r.bad(key, value, "is not an absolute path without '.', '..' or empty components");
        *dir = value;
    }
    for (const auto& section : parsed.value().sections) {
        if (section.name != "session") return r.fail("unknown section '" + section.name + "' (want session)");
        PN_TRY(r.once(section.name, "section"), "");
        PN_TRY(read_session(r, section.body, c), "");
    }
    return c;
}

Result<Config> load_pam_config(const std::string& path) {
    const std::string what = "pam.conf";
    if (!policy::is_clean_path(path) || path == "/")
        return make_error(EINVAL, what + ": '" + path + "' is not an absolute path to a file");
    auto text = sys::read_trusted_file(path, what, kMaxSize);
    if (!text.ok()) return text.error();
    auto c = parse_pam_config(text.value(), path);
    if (!c.ok()) return c.error().wrap(what);
    // Root runs what is in it: nobody but root may be able to change it.
    if (!c->libexecdir.empty()) PN_TRY(sys::check_trusted_path(c->libexecdir), what + ": libexecdir");
    return c;
}

std::optional<Rule> match_rule(const Config& c, const std::string& user,
                               const std::vector<std::string>& group_names) {
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (const auto& rule : c.rules) {
        if (has(rule.users, "*") || has(rule.users, user)) return rule;
        for (const auto& g : group_names)
            if (has(rule.groups, g)) return rule;
    }
    return std::nullopt;
}

Result<std::string> space_name(const Rule& r, const std::string& user) {
    auto name = expand(r.name_template, user);
    if (!name) return make_error(EINVAL, "session." + r.label + ".name: bad template");
    PN_TRY(validate_name(*name), "session." + r.label + ".name for user '" + user + "'");
    return *name;
}

}  // namespace personalnet::pam
