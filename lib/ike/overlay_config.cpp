#include "lib/ike/overlay_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

#include "lib/core/labels.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::ike {

namespace {

constexpr off_t kMaxSize = off_t{1} << 20;

Error bad_content(const std::string& where, const std::string& why) {
    return make_error(EINVAL, where + ": " + why);
}

// An address, bare or as a host prefix (/32, /128): what a space puts on its lo.
bool is_host_address(const std::string& v) {
    auto p = IpPrefix::parse(v, true);
    return p && p->len == static_cast<int>(p->addr.size() * 8);
}

std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(v);
    while (std::getline(in, item, ',')) {
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    }
    return out;
}

// Every connection of a personal network names its peer by a literal address: the space
// initiates to it, and the other hosts' spaces are that peer.
Status check_network_peers(const Settings& conf, const std::string& where) {
    for (const auto& conn : conf.section("connections")->sections) {
        const std::string what = where + ": connection '" + conn.name + "'";
        Settings only;
        only.sections.push_back({"connections", Settings{{}, {conn}, {}}});
        if (!gateways_of(only).empty()) continue;
        const std::string* addrs = conn.body.find("remote_addrs");
        if (addrs == nullptr)
            return make_error(EINVAL, what +
                                          " has no remote_addrs: a personal network (personalnet.label) "
                                          "needs each peer's literal address");
        return make_error(EINVAL, what + ": remote_addrs '" + *addrs +
                                      "' names no literal address: a personal network (personalnet.label) "
                                      "needs each peer's");
    }
    return {};
}

}  // namespace

Status validate_overlay_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 32 && name[0] != '.' && name[0] != '-';
    for (unsigned char c : name) ok = ok && (std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.');
    if (!ok) return make_error(EINVAL, "bad overlay name '" + name + "' (want 1-32 of A-Z a-z 0-9 _ . -)");
    return {};
}

Result<OverlayDefinition> load_overlay(const std::string& name, const std::string& dir) {
    PN_TRY(validate_overlay_name(name), "");
    const std::string path = dir + "/" + name + ".conf";
    const std::string what = "overlay '" + name + "'";
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno_error(what + ": " + path);
    PN_TRY(sys::check_trusted_path(path, true), what);
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, what + ": " + path + " is not a regular file");
    if (st.st_size > kMaxSize) return make_error(EFBIG, what + ": " + path + " is larger than 1 MiB");
    auto text = sys::read_file(path);
    if (!text.ok()) return text.error().wrap(what);
    return parse_overlay(name, text.value(), path);
}

Result<OverlayDefinition> parse_overlay(const std::string& name, const std::string& text,
                                        const std::string& path) {
    PN_TRY(validate_overlay_name(name), "");
    const std::string what = "overlay '" + name + "'";
    auto parsed = parse_settings(text, path);
    if (!parsed.ok()) return parsed.error().wrap(what);
    return overlay_from_settings(name, std::move(parsed).value(), path, what + ": " + path);
}

Result<OverlayDefinition> overlay_from_settings(const std::string& name, Settings conf,
                                                const std::string& path, const std::string& where) {
    PN_TRY(validate_overlay_name(name), "");
    OverlayDefinition def;
    def.name = name;
    def.path = path;
    for (const auto& section : conf.sections) {
        if (section.name == "personalnet") {
            for (size_t i = 0; i < section.body.values.size(); ++i) {
                const auto& [key, value] = section.body.values[i];
                if (key == "label") {
                    std::string at = where;
                    at.append(":")
                        .append(std::to_string(section.body.line_of(i)))
                        .append(": personalnet.label: '")
                        .append(value)
                        .append("'");
                    if (def.label)
                        return make_error(
                            EINVAL, at + ": a second label (the first is " + label_text(*def.label) + ")");
                    auto label = parse_label(value);
                    if (!label)
                        return make_error(EINVAL, at + " is not a label (want 0x and 1-4 hex digits)");
                    if (const char* range = reserved_label_range(*label))
                        return make_error(EINVAL, at + " is reserved (" + range + ")");
                    def.label = label;
                    continue;
                }
                if (key == "dns")
                    def.dns = split_list(value);
                else if (key == "addresses")
                    def.addresses = split_list(value);
                else
                    return bad_content(where, "unknown setting personalnet." + key);
                for (const auto& v : key == "dns" ? def.dns : def.addresses)
                    if (!is_host_address(v))
                        return bad_content(where, std::string("personalnet.")
                                                      .append(key)
                                                      .append(": '")
                                                      .append(v)
                                                      .append("' is not an IP address"));
            }
        } else if (section.name != "connections" && section.name != "secrets") {
            return bad_content(
                where, "unknown section '" + section.name + "' (want connections, secrets, personalnet)");
        }
    }
    if (!conf.values.empty())
        return make_error(EINVAL, where + ": '" + conf.values.front().first + "' outside a section");
    const Settings* conns = conf.section("connections");
    if (conns == nullptr || conns->sections.empty())
        return make_error(EINVAL, where + " defines no connection");
    if (def.label) PN_TRY(check_network_peers(conf, where), "");
    for (auto it = conf.sections.begin(); it != conf.sections.end();) {
        if (it->name == "personalnet")
            it = conf.sections.erase(it);
        else
            ++it;
    }
    def.swanctl = std::move(conf);
    return def;
}

std::vector<std::string> definition_names(const std::string& dir) {
    std::vector<std::string> out;
    if (dir.empty()) return out;
    auto names = sys::list_dir(dir);
    if (!names.ok()) return out;
    constexpr std::string_view kSuffix = ".conf";
    for (const auto& file : names.value()) {
        if (file.size() <= kSuffix.size() ||
            file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
            continue;
        std::string name = file.substr(0, file.size() - kSuffix.size());
        if (validate_overlay_name(name).ok()) out.push_back(std::move(name));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<uint16_t, std::string>> network_labels(const std::string& dir) {
    std::vector<std::pair<uint16_t, std::string>> out;
    for (const auto& name : definition_names(dir)) {
        auto def = load_overlay(name, dir);
        if (def.ok() && def->label) out.emplace_back(*def->label, name);
    }
    return out;
}

std::optional<uint16_t> parse_label(const std::string& v) {
    if (v.size() < 3 || v.size() > 6 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X')) return std::nullopt;
    uint16_t label = 0;
    auto [end, ec] = std::from_chars(v.data() + 2, v.data() + v.size(), label, 16);
    if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return label;
}

std::string label_text(uint16_t label) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", label);
    return buf;
}

}  // namespace personalnet::ike
