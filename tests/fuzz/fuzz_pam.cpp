#include <algorithm>
#include <string>
#include <vector>

#include "lib/pam/pam_config.hpp"
#include "lib/policy/names.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_pam";

// What pam_config.hpp promises of a configuration parse_pam_config accepts; the module
// relies on it at login. Empty when it holds.
std::string broken_promise(const pam::Config& c) {
    for (const auto* dir : {&c.rundir, &c.statedir, &c.overlaydir})
        if (!policy::is_clean_path(*dir) || *dir == "/") return "directory '" + *dir + "'";
    for (const auto& r : c.rules) {
        const std::string rule = "rule '" + r.label + "': ";
        if (!policy::is_name(r.label)) return rule + "label is not a name";
        if (r.users.empty() && r.groups.empty()) return rule + "neither users nor groups";
        for (const auto& u : r.users)
            if (!(u == "*" && r.users.size() == 1) && !policy::is_name(u)) return rule + "user '" + u + "'";
        for (const auto& g : r.groups)
            if (!policy::is_name(g)) return rule + "group '" + g + "'";
        if (!r.overlay.empty() && (!policy::is_name(r.overlay) || r.overlay[0] == '.'))
            return rule + "overlay '" + r.overlay + "'";
        if (auto name = pam::space_name(r, "u"); !name.ok())
            return rule + "no space name for a short user: " + name.error().message();
    }
    return {};
}

std::string quoted(const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

// The configuration written out again, every setting spelled out.
std::string print(const pam::Config& c) {
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    std::string out = "rundir = " + quoted(c.rundir) + "\nstatedir = " + quoted(c.statedir) +
                      "\noverlaydir = " + quoted(c.overlaydir) + "\n";
    if (c.rules.empty()) return out;
    out += "session {\n";
    for (const auto& r : c.rules) {
        out += r.label + " {\n";
        if (!r.users.empty()) out += "users = " + quoted(joined(r.users)) + "\n";
        if (!r.groups.empty()) out += "groups = " + quoted(joined(r.groups)) + "\n";
        out += "name = " + quoted(r.name_template) + "\n";
        if (!r.overlay.empty()) out += "overlay = " + quoted(r.overlay) + "\n";
        out += std::string("inherit_routes = ") + yes(r.inherit_routes) +
               "\ninherit_services = " + yes(r.inherit_services) + "\nfile_space = " + yes(r.file_space) +
               "\ndestroy_on_last_close = " + yes(r.destroy_on_last_close) + "\n}\n";
    }
    return out + "}\n";
}

bool same(const pam::Config& a, const pam::Config& b) {
    if (a.rundir != b.rundir || a.statedir != b.statedir || a.overlaydir != b.overlaydir ||
        a.rules.size() != b.rules.size())
        return false;
    for (size_t i = 0; i < a.rules.size(); ++i) {
        const auto &x = a.rules[i], &y = b.rules[i];
        if (x.label != y.label || x.users != y.users || x.groups != y.groups ||
            x.name_template != y.name_template || x.overlay != y.overlay ||
            x.inherit_routes != y.inherit_routes || x.inherit_services != y.inherit_services ||
            x.file_space != y.file_space || x.destroy_on_last_close != y.destroy_on_last_close)
            return false;
    }
    return true;
}

}  // namespace

int fuzz_pam(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = pam::parse_pam_config(text, "pam.conf");
    if (!parsed.ok()) return 0;
    const pam::Config& c = parsed.value();
    if (std::string why = broken_promise(c); !why.empty())
        return violated(kTarget, "accepted a configuration that breaks its contract: " + why, text);
    // Every accepted value is accepted again when written out.
    const std::string printed = print(c);
    auto again = pam::parse_pam_config(printed, "printed");
    if (!again.ok())
        return violated(kTarget, "the printed configuration does not parse: " + again.error().message(),
                        text);
    if (!same(c, again.value()))
        return violated(kTarget, "the printed configuration parses differently:\n" + printed, text);
    // What a login does with it.
    if (auto rule = pam::match_rule(c, "alice", {"staff", "users"})) (void)pam::space_name(*rule, "alice");
    return 0;
}

}  // namespace personalnet::fuzz
