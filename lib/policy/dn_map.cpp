// The DN map: parsing the administrator's subject -> user file and answering lookups.
// DNs are compared in one normal form so that the way strongSwan, OpenSSL or an
// administrator spaces a DN does not decide whether a certificate maps to a user.
#include "lib/policy/dn_map.hpp"

#include <cstdio>
#include <vector>

#include "lib/core/trusted_path.hpp"
#include "lib/policy/names.hpp"

namespace personalnet::policy {

namespace {

constexpr off_t kMaxSize = off_t{1} << 20;

bool control(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool blank(char c) { return c == ' ' || c == '\t'; }

// One character of a DN as written: a plain one, or an escaped one ("\," kept as both
// bytes), which is never a separator, an '=' or a blank to trim.
struct Unit {
    std::string text;
    bool escaped = false;
    bool is(char c) const { return !escaped && text.size() == 1 && text[0] == c; }
};

using Units = std::vector<Unit>;

std::string trimmed(const Units& units, size_t begin, size_t end) {
    while (begin < end && (units[begin].is(' ') || units[begin].is('\t'))) ++begin;
    while (end > begin && (units[end - 1].is(' ') || units[end - 1].is('\t'))) --end;
    std::string out;
    for (size_t i = begin; i < end; ++i) out += units[i].text;
    return out;
}

// "TYPE=value" in normal form, or nothing.
std::optional<std::string> attribute(const Units& units, size_t begin, size_t end) {
    size_t eq = begin;
    while (eq < end && !units[eq].is('=')) ++eq;
    if (eq == end) return std::nullopt;
    std::string type = trimmed(units, begin, eq);
    std::string value = trimmed(units, eq + 1, end);
    if (type.empty() || value.empty()) return std::nullopt;
    for (char& c : type) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-';
        if (!ok) return std::nullopt;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return type + "=" + value;
}

// Bytes a message may show: control characters (which could start a forged line) and
// non-ASCII bytes as \xNN.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (control(c) || c >= 0x80) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

Error line_error(const std::string& path, int line, const std::string& what) {
    return make_error(EINVAL, path + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

std::optional<std::string> normalize_dn(const std::string& dn) {
    Units units;
    for (size_t i = 0; i < dn.size(); ++i) {
        if (control(static_cast<unsigned char>(dn[i]))) return std::nullopt;
        if (dn[i] != '\\') {
            units.push_back({std::string(1, dn[i]), false});
            continue;
        }
        if (i + 1 == dn.size() || control(static_cast<unsigned char>(dn[i + 1]))) return std::nullopt;
        units.push_back({dn.substr(i, 2), true});
        ++i;
    }
    std::string out;
    size_t begin = 0;
    for (size_t i = 0; i <= units.size(); ++i) {
        if (i < units.size() && !units[i].is(',') && !units[i].is('+')) continue;
        auto a = attribute(units, begin, i);
        if (!a) return std::nullopt;
        out += *a;
        if (i < units.size()) out += units[i].text;
        begin = i + 1;
    }
    return out;
}

const std::string* DnMap::lookup(const std::string& subject) const {
    auto dn = normalize_dn(subject);
    if (!dn) return nullptr;
    auto it = users_.find(*dn);
    return it == users_.end() ? nullptr : &it->second;
}

Result<DnMap> parse_dn_map(const std::string& text, const std::string& path) {
    DnMap map;
    map.path_ = path;
    std::map<std::string, int> line_of;  // normalised DN -> the line that maps it
    int number = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t i = 0;
        while (i < line.size() && blank(line[i])) ++i;
        if (i == line.size() || line[i] == '#') continue;
        if (line[i] != '"') return line_error(path, number, "expected a quoted subject DN");
        size_t start = ++i;
        while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
        if (i >= line.size()) return line_error(path, number, "unterminated DN (no closing '\"')");
        const std::string dn = line.substr(start, i - start);
        ++i;
        while (i < line.size() && blank(line[i])) ++i;
        size_t user_start = i;
        while (i < line.size() && !blank(line[i]) && line[i] != '#') ++i;
        const std::string user = line.substr(user_start, i - user_start);
        while (i < line.size() && blank(line[i])) ++i;
        if (user.empty()) return line_error(path, number, "expected a user name after the DN");
        if (i < line.size() && line[i] != '#')
            return line_error(path, number, "text after the user name '" + printable(user) + "'");
        if (!is_name(user))
            return line_error(
                path, number,
                "'" + printable(user) +
                    "' is not a user name (want 1-32 of A-Z a-z 0-9 _ . -, not starting with -)");
        auto normal = normalize_dn(dn);
        if (!normal)
            return line_error(
                path, number,
                "\"" + printable(dn) + "\" is not a distinguished name (want \"TYPE=value, ...\")");
        auto [it, fresh] = line_of.emplace(*normal, number);
        if (!fresh)
            return line_error(
                path, number,
                "\"" + printable(dn) + "\" is already mapped on line " + std::to_string(it->second));
        map.users_.emplace(std::move(*normal), user);
    }
    return map;
}

Result<DnMap> load_dn_map(const std::string& path) {
    auto text = sys::read_trusted_file(path, "DN map", kMaxSize);
    if (!text.ok()) return text.error();
    auto map = parse_dn_map(text.value(), path);
    if (!map.ok()) return map.error().wrap("DN map");
    return map;
}

Status check_subject_maps_to(const DnMap& map, const std::string& subject, const std::string& user) {
    const std::string* mapped = map.lookup(subject);
    const std::string shown = "certificate subject \"" + printable(subject) + "\"";
    if (mapped == nullptr) return make_error(EPERM, shown + " is not in the DN map " + map.path());
    if (*mapped != user)
        return make_error(EPERM,
                          shown + " maps to " + *mapped + ", not " + user + " (DN map " + map.path() + ")");
    return {};
}

}  // namespace personalnet::policy
