#include "lib/helper/answer.hpp"

#include <charconv>
#include <functional>
#include <map>

#include "lib/ike/overlay_config.hpp"

namespace personalnet::helper {

namespace {

template <typename T>
bool number(const std::string& v, T& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return !v.empty() && ec == std::errc() && p == v.data() + v.size();
}

Error bad_answer(const std::string& what) {
    return make_error(EPROTO, "bad answer from the helper: " + what);
}

// One field of a space: its key, how to write it and how to read it back.
struct Field {
    const char* key;
    std::function<std::vector<std::string>(const SpaceInfo&)> get;
    std::function<bool(SpaceInfo&, const std::string&)> set;
};

template <typename T>
Field num(const char* key, T SpaceInfo::*m) {
    return {key, [m](const SpaceInfo& i) { return std::vector<std::string>{std::to_string(i.*m)}; },
            [m](SpaceInfo& i, const std::string& v) { return number(v, i.*m); }};
}
// A number of one of SpaceInfo's parts (limits, usage).
template <typename P, typename T>
Field part(const char* key, P SpaceInfo::*part, T P::*m) {
    return {key,
            [part, m](const SpaceInfo& i) { return std::vector<std::string>{std::to_string(i.*part.*m)}; },
            [part, m](SpaceInfo& i, const std::string& v) { return number(v, i.*part.*m); }};
}
Field text(const char* key, std::string SpaceInfo::*m) {
    return {key, [m](const SpaceInfo& i) { return std::vector<std::string>{i.*m}; },
            [m](SpaceInfo& i, const std::string& v) {
                i.*m = v;
                return true;
            }};
}
Field flag(const char* key, bool SpaceInfo::*m) {
    return {key, [m](const SpaceInfo& i) { return std::vector<std::string>{i.*m ? "1" : "0"}; },
            [m](SpaceInfo& i, const std::string& v) {
                i.*m = v == "1";
                return v == "0" || v == "1";
            }};
}
Field list(const char* key, std::vector<std::string> SpaceInfo::*m) {
    return {key, [m](const SpaceInfo& i) { return i.*m; },
            [m](SpaceInfo& i, const std::string& v) {
                (i.*m).push_back(v);
                return true;
            }};
}

// Each overlay peer as "ADDRESS up" or "ADDRESS down".
Field peers() {
    return {"peer",
            [](const SpaceInfo& i) {
                std::vector<std::string> out;
                for (const auto& p : i.peers) out.push_back(p.address + (p.up ? " up" : " down"));
                return out;
            },
            [](SpaceInfo& i, const std::string& v) {
                auto sp = v.rfind(' ');
                if (sp == std::string::npos || sp == 0) return false;
                const std::string state = v.substr(sp + 1);
                if (state != "up" && state != "down") return false;
                i.peers.push_back({v.substr(0, sp), state == "up"});
                return true;
            }};
}

// An enum, as its word.
template <typename E>
Field word(const char* key, E SpaceInfo::*m, std::optional<E> (*parse)(const std::string&),
           const char* (*word_of)(E)) {
    return {key, [m, word_of](const SpaceInfo& i) { return std::vector<std::string>{word_of(i.*m)}; },
            [m, parse](SpaceInfo& i, const std::string& v) {
                auto e = parse(v);
                if (e) i.*m = *e;
                return e.has_value();
            }};
}
// An enum that may be unset (no file space, no overlay): "" then.
template <typename E>
Field maybe_word(const char* key, std::optional<E> SpaceInfo::*m,
                 std::optional<E> (*parse)(const std::string&), const char* (*word_of)(E)) {
    return {
        key,
        [m, word_of](const SpaceInfo& i) { return std::vector<std::string>{(i.*m) ? word_of(*(i.*m)) : ""}; },
        [m, parse](SpaceInfo& i, const std::string& v) {
            if (v.empty()) {
                (i.*m).reset();
                return true;
            }
            i.*m = parse(v);
            return (i.*m).has_value();
        }};
}

const std::vector<Field>& fields() {
    static const std::vector<Field> all = {
        flag("named", &SpaceInfo::named),
        num("label", &SpaceInfo::label),
        num("owner", &SpaceInfo::owner),
        text("parent", &SpaceInfo::parent),
        num("depth", &SpaceInfo::depth),
        num("netns_inode", &SpaceInfo::netns_inode),
        text("host_ifname", &SpaceInfo::host_ifname),
        num("supervisor", &SpaceInfo::supervisor),
        word("state", &SpaceInfo::state, parse_space_state, space_state_word),
        num("created", &SpaceInfo::created),
        list("address", &SpaceInfo::addresses),
        flag("addresses_stale", &SpaceInfo::addresses_stale),
        flag("inherit_routes", &SpaceInfo::inherit_routes),
        flag("inherit_services", &SpaceInfo::inherit_services),
        list("hidden_route", &SpaceInfo::hidden_routes),
        list("hidden_service", &SpaceInfo::hidden_services),
        list("published", &SpaceInfo::published),
        flag("own_pids", &SpaceInfo::own_pids),
        text("hostname", &SpaceInfo::hostname),
        flag("file_space", &SpaceInfo::file_space),
        maybe_word("fs_backend", &SpaceInfo::fs_backend, parse_fs_backend, fs_backend_word),
        text("overlay", &SpaceInfo::overlay),
        text("overlay_source", &SpaceInfo::overlay_source),
        flag("user_network", &SpaceInfo::user_network),
        flag("network", &SpaceInfo::network),
        maybe_word("datapath", &SpaceInfo::datapath, parse_datapath, datapath_word),
        list("overlay_sa", &SpaceInfo::overlay_sas),
        peers(),
        list("shared_path", &SpaceInfo::shared_paths),
        flag("private_tmp", &SpaceInfo::private_tmp),
        flag("admin", &SpaceInfo::admin),
        maybe_word("dispatch", &SpaceInfo::dispatch, parse_dispatch, dispatch_word),
        num("dispatched_in", &SpaceInfo::dispatched_in),
        num("dispatched_out", &SpaceInfo::dispatched_out),
        text("pin", &SpaceInfo::pin),
        part("cpu_milli", &SpaceInfo::limits, &ResourceLimits::cpu_milli),
        part("memory_max", &SpaceInfo::limits, &ResourceLimits::memory_bytes),
        part("pids_max", &SpaceInfo::limits, &ResourceLimits::pids),
        part("io_weight", &SpaceInfo::limits, &ResourceLimits::io_weight),
        part("cpu_usec", &SpaceInfo::usage, &ResourceUsage::cpu_usec),
        part("memory_now", &SpaceInfo::usage, &ResourceUsage::memory_bytes),
        part("memory_peak", &SpaceInfo::usage, &ResourceUsage::memory_peak),
        part("processes", &SpaceInfo::usage, &ResourceUsage::processes),
        part("rate_in", &SpaceInfo::limits, &ResourceLimits::rate_in),
        part("rate_out", &SpaceInfo::limits, &ResourceLimits::rate_out),
        part("rx_bytes", &SpaceInfo::usage, &ResourceUsage::rx_bytes),
        part("rx_packets", &SpaceInfo::usage, &ResourceUsage::rx_packets),
        part("tx_bytes", &SpaceInfo::usage, &ResourceUsage::tx_bytes),
        part("tx_packets", &SpaceInfo::usage, &ResourceUsage::tx_packets),
    };
    return all;
}

}  // namespace

Message ok_answer() { return Message().add("ok", ""); }

Message error_answer(const Error& e) {
    return Message().add("error", e.context).add("errno", std::to_string(e.code)).add("extack", e.extack);
}

void add_space(Message& m, const SpaceInfo& i) {
    m.add("space", i.name);
    for (const auto& f : fields())
        for (auto& v : f.get(i)) m.add(f.key, std::move(v));
}

void add_change(Message& m, const FileChange& c) { m.add("change", std::string(1, c.kind) + c.path); }

void add_network(Message& m, const NetworkInfo& n) {
    m.add("network", n.name + "\n" + (n.label ? ike::label_text(*n.label) : "") + "\n" + n.source);
}

void add_exit(Message& m, int status) { m.add("exit", std::to_string(status)); }

Status error_of(const Message& m) {
    if (m.fields.empty()) return bad_answer("empty");
    const auto& [k, v] = m.fields.front();
    if (k == "ok") return {};
    if (k != "error") return bad_answer("starts with '" + k + "'");
    int code = EPROTO;
    const std::string* e = m.get("errno");
    if (e == nullptr || !number(*e, code) || code < 0) code = EPROTO;
    const std::string* extack = m.get("extack");
    return Error{code, v, extack != nullptr ? *extack : ""};
}

Result<std::vector<SpaceInfo>> spaces_of(const Message& m) {
    PN_TRY(error_of(m), "");
    std::vector<SpaceInfo> out;
    for (size_t i = 1; i < m.fields.size(); ++i) {
        const auto& [k, v] = m.fields[i];
        if (k == "space") {
            out.emplace_back();
            out.back().name = v;
            continue;
        }
        if (out.empty()) continue;  // fields of something else
        for (const auto& f : fields())
            if (k == f.key && !f.set(out.back(), v))
                return bad_answer(std::string(k).append("='").append(v).append("'"));
    }
    return out;
}

Result<std::vector<FileChange>> changes_of(const Message& m) {
    PN_TRY(error_of(m), "");
    std::vector<FileChange> out;
    for (const auto& v : m.all("change")) {
        if (v.size() < 2) return bad_answer("change '" + v + "'");
        out.push_back(FileChange{v[0], v.substr(1)});
    }
    return out;
}

Result<std::vector<NetworkInfo>> networks_of(const Message& m) {
    PN_TRY(error_of(m), "");
    std::vector<NetworkInfo> out;
    for (const auto& v : m.all("network")) {
        const auto first = v.find('\n'),
                   second = first == std::string::npos ? first : v.find('\n', first + 1);
        if (second == std::string::npos) return bad_answer("network '" + v + "'");
        NetworkInfo n;
        n.name = v.substr(0, first);
        const std::string label = v.substr(first + 1, second - first - 1);
        n.source = v.substr(second + 1);
        if (!label.empty()) {
            n.label = ike::parse_label(label);
            if (!n.label) return bad_answer("network '" + v + "'");
        }
        out.push_back(std::move(n));
    }
    return out;
}

Result<int> exit_of(const Message& m) {
    PN_TRY(error_of(m), "");
    const std::string* v = m.get("exit");
    int status = 0;
    if (v == nullptr || !number(*v, status)) return bad_answer("no exit status");
    return status;
}

}  // namespace personalnet::helper
