// A record's fields, each listed once with its key and how it is written and read back:
// Record::serialize and Record::parse both walk the one table, so a new field is one
// line here. The format is one "key=value" line per field, in the table's order:
// numbers in decimal (labels in 4-digit hex), booleans 1/0, lists joined by ',', enums
// as their words (personalnet/space_enums.hpp), an enum that is not set as "".
//
// Reading is what it has always been: unknown keys are skipped (a newer version's
// fields), a later line for a key replaces an earlier one, a line without '=' or a
// number, label or enum word that does not parse is an error naming the key, any
// boolean other than "1" is false, and the label is the one field a record must have.
#include <charconv>
#include <functional>
#include <string_view>

#include "lib/registry/registry.hpp"

namespace personalnet::registry {

namespace {

template <typename T>
bool parse_number(const std::string& s, T& out, int base = 10) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(sep, start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.emplace_back(s, start, end - start);
        start = end + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& v, char sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

// One field: its key, its value as written, and how a written value is read back
// (false: malformed).
struct Field {
    const char* key;
    std::function<std::string(const Record&)> write;
    std::function<bool(Record&, const std::string&)> read;
};

Field text(const char* key, std::string Record::*m) {
    return {key, [m](const Record& r) { return r.*m; },
            [m](Record& r, const std::string& v) {
                r.*m = v;
                return true;
            }};
}

Field flag(const char* key, bool Record::*m) {
    return {key, [m](const Record& r) { return std::string(r.*m ? "1" : "0"); },
            [m](Record& r, const std::string& v) {
                r.*m = v == "1";
                return true;
            }};
}

template <typename T>
Field number(const char* key, T Record::*m) {
    return {key, [m](const Record& r) { return std::to_string(r.*m); },
            [m](Record& r, const std::string& v) { return parse_number(v, r.*m); }};
}

Field label(const char* key, uint16_t Record::*m) {
    return {key, [m](const Record& r) { return label_hex(r.*m); },
            [m](Record& r, const std::string& v) { return parse_number(v, r.*m, 16); }};
}

Field list(const char* key, std::vector<std::string> Record::*m) {
    return {key, [m](const Record& r) { return join(r.*m, ','); },
            [m](Record& r, const std::string& v) {
                r.*m = split(v, ',');
                return true;
            }};
}

template <typename E>
Field word(const char* key, E Record::*m, std::optional<E> (*parse)(const std::string&),
           const char* (*word_of)(E)) {
    return {key, [m, word_of](const Record& r) { return std::string(word_of(r.*m)); },
            [m, parse](Record& r, const std::string& v) {
                auto e = parse(v);
                if (e) r.*m = *e;
                return e.has_value();
            }};
}

// An enum that may be unset (no file space, no overlay): "" then.
template <typename E>
Field maybe_word(const char* key, std::optional<E> Record::*m, std::optional<E> (*parse)(const std::string&),
                 const char* (*word_of)(E)) {
    return {key, [m, word_of](const Record& r) { return std::string((r.*m) ? word_of(*(r.*m)) : ""); },
            [m, parse](Record& r, const std::string& v) {
                if (v.empty()) {
                    (r.*m).reset();
                    return true;
                }
                r.*m = parse(v);
                return (r.*m).has_value();
            }};
}

const std::vector<Field>& fields() {
    static const std::vector<Field> all = {
        label("label", &Record::label),
        text("name", &Record::name),
        flag("named", &Record::named),
        number("owner", &Record::owner),
        label("parent_label", &Record::parent_label),
        number("parent_netns", &Record::parent_netns),
        number("netns", &Record::netns),
        number("depth", &Record::depth),
        text("host_ifname", &Record::host_ifname),
        number("supervisor", &Record::supervisor),
        word("state", &Record::state, parse_space_state, space_state_word),
        number("created", &Record::created),
        flag("inherit_routes", &Record::inherit_routes),
        flag("inherit_services", &Record::inherit_services),
        list("hidden_routes", &Record::hidden_routes),
        list("hidden_services", &Record::hidden_services),
        list("addresses", &Record::addresses),
        number("host_ifindex", &Record::host_ifindex),
        flag("file_space", &Record::file_space),
        list("fs_layers", &Record::fs_layers),
        number("mntns", &Record::mntns),
        number("mntns_id", &Record::mntns_id),
        maybe_word("fs_backend", &Record::fs_backend, parse_fs_backend, fs_backend_word),
        number("fs_daemon", &Record::fs_daemon),
        list("fs_shared", &Record::fs_shared),
        flag("fs_private_tmp", &Record::fs_private_tmp),
        text("fs_tmp_layer", &Record::fs_tmp_layer),
        text("overlay", &Record::overlay),
        maybe_word("datapath", &Record::datapath, parse_datapath, datapath_word),
        maybe_word("dispatch", &Record::dispatch, parse_dispatch, dispatch_word),
        number("ike_daemon", &Record::ike_daemon),
        list("overlay_addresses", &Record::overlay_addresses),
        list("overlay_networks", &Record::overlay_networks),
        flag("admin", &Record::admin),
        flag("network", &Record::network),  // new fields go last: older records lack them
        list("overlay_peers", &Record::overlay_peers),
        text("overlay_source", &Record::overlay_source),
        flag("user_network", &Record::user_network),
        list("published", &Record::published),
        flag("destroyed", &Record::destroyed),
        number("netns_cookie", &Record::netns_cookie),
        number("pidns", &Record::pidns),
        number("init_pid", &Record::init_pid),
        text("hostname", &Record::hostname),
        number("rate_in", &Record::rate_in),
        number("rate_out", &Record::rate_out),
        text("cgroup", &Record::cgroup),
        number("cpu_milli", &Record::cpu_milli),
        number("memory_max", &Record::memory_max),
        number("pids_max", &Record::pids_max),
        number("io_weight", &Record::io_weight),
        number("init_pid_ns", &Record::init_pid_ns),
    };
    return all;
}

}  // namespace

std::string Record::serialize() const {
    std::string out;
    for (const auto& f : fields()) out.append(f.key).append("=").append(f.write(*this)).append("\n");
    return out;
}

Result<Record> Record::parse(const std::string& text) {
    Record r;
    bool have_label = false;
    const auto& all = fields();
    // Lines come in the table's order (serialize writes them so): each key is looked for
    // from the field after the last one found, so a record costs one pass over the table,
    // not one per line (`pnet list` parses every record).
    size_t next = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            return make_error(EINVAL, "bad record line '" + std::string(line) + "'");
        std::string_view k = line.substr(0, eq);
        for (size_t tried = 0; tried < all.size(); ++tried) {
            const Field& f = all[(next + tried) % all.size()];
            if (k != f.key) continue;
            if (!f.read(r, std::string(line.substr(eq + 1))))
                return make_error(EINVAL, "bad value for '" + std::string(k) + "' in record");
            if (k == "label") have_label = true;
            next = (next + tried + 1) % all.size();
            break;
        }
    }
    if (!have_label) return make_error(EINVAL, "record without label");
    return r;
}

}  // namespace personalnet::registry
