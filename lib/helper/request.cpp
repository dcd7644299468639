#include "lib/helper/request.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <functional>

#include "lib/core/quote.hpp"
#include "lib/ike/credentials.hpp"
#include "lib/ike/overlay_config.hpp"

namespace personalnet::helper {

namespace {

constexpr size_t kMaxKey = 32;

struct OpName {
    Op op;
    const char* name;
};
constexpr std::array kOps = {
    OpName{Op::create, "create"}, OpName{Op::open, "open"}, OpName{Op::run, "run"},
    OpName{Op::list, "list"},     OpName{Op::show, "show"}, OpName{Op::destroy, "destroy"},
    OpName{Op::gc, "gc"},         OpName{Op::diff, "diff"}, OpName{Op::networks, "networks"}};

bool key_ok(std::string_view k) {
    return !k.empty() && k.size() <= kMaxKey &&
           std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

std::string shown(const std::string& v) { return quoted(v, 64); }

Error bad(const std::string& key, const std::string& value, const std::string& why) {
    return make_error(EINVAL, "bad request: " + key + "=" + shown(value) + ": " + why);
}

Result<bool> boolean(const std::string& key, const std::string& v) {
    if (v == "0" || v == "1") return v == "1";
    return bad(key, v, "want 0 or 1");
}

// One field of a request: its key, the ops that take it, whether it may repeat (a list),
// and how it is written from a Request (no values: left out) and checked and read into
// one. The encoder (to_message), parse_request's allowed keys and its checks of every
// value all come from this one table; a field's values are written in table order.
struct Field {
    const char* key;
    std::vector<Op> ops;
    bool list = false;
    // What parse_request says when an op of the field got no value for it ("a name");
    // nullptr: the field may be left out.
    const char* required = nullptr;
    std::function<std::vector<std::string>(const Request&)> get;
    std::function<Status(Request&, const std::string& key, const std::string& value)> set;

    bool of(Op op) const { return std::find(ops.begin(), ops.end(), op) != ops.end(); }
};

// The part of a request a member pointer refers to: the request itself or its spec.
const Request& part(const Request& r, const Request*) { return r; }
Request& part(Request& r, Request*) { return r; }
const SpaceSpec& part(const Request& r, const SpaceSpec*) { return r.spec; }
SpaceSpec& part(Request& r, SpaceSpec*) { return r.spec; }
template <typename C, typename T>
const T& at(const Request& r, T C::*m) {
    return part(r, static_cast<const C*>(nullptr)).*m;
}
template <typename C, typename T>
T& at(Request& r, T C::*m) {
    return part(r, static_cast<C*>(nullptr)).*m;
}

using Check = Status (*)(const std::string& key, const std::string& value);
Status any_value(const std::string&, const std::string&) { return {}; }

// Text, always written.
template <typename C>
Field text(const char* key, std::vector<Op> ops, std::string C::*m, Check check,
           const char* required = nullptr) {
    return {key,
            std::move(ops),
            false,
            required,
            [m](const Request& r) { return std::vector<std::string>{at(r, m)}; },
            [m, check](Request& r, const std::string& k, const std::string& v) -> Status {
                PN_TRY(check(k, v), "");
                at(r, m) = v;
                return {};
            }};
}

// Text written only when it is not empty.
template <typename C>
Field text_if_set(const char* key, std::vector<Op> ops, std::string C::*m, Check check) {
    Field f = text(key, std::move(ops), m, check);
    f.get = [m](const Request& r) {
        return at(r, m).empty() ? std::vector<std::string>{} : std::vector<std::string>{at(r, m)};
    };
    return f;
}

// A boolean, always written, as "1" or "0".
template <typename C>
Field flag(const char* key, std::vector<Op> ops, bool C::*m) {
    return {key,
            std::move(ops),
            false,
            nullptr,
            [m](const Request& r) { return std::vector<std::string>{at(r, m) ? "1" : "0"}; },
            [m](Request& r, const std::string& k, const std::string& v) -> Status {
                auto b = boolean(k, v);
                if (!b.ok()) return b.error();
                at(r, m) = b.value();
                return {};
            }};
}

// An enum, always written, as its word; `want` lists the words for the error.
template <typename E>
Field choice(const char* key, std::vector<Op> ops, E SpaceSpec::*m,
             std::optional<E> (*parse)(const std::string&), const char* (*word_of)(E), const char* want) {
    return {key,
            std::move(ops),
            false,
            nullptr,
            [m, word_of](const Request& r) { return std::vector<std::string>{word_of(r.spec.*m)}; },
            [m, parse, want](Request& r, const std::string& k, const std::string& v) -> Status {
                auto e = parse(v);
                if (!e) return bad(k, v, want);
                r.spec.*m = *e;
                return {};
            }};
}

// The bandwidth limit (SpaceSpec::limits.rate_in/out), as parse_bandwidth reads it;
// written only when set. Re-checked here: the helper trusts no caller's numbers.
Field bandwidth(const char* key) {
    return {key,
            {Op::create},
            false,
            nullptr,
            [](const Request& r) {
                std::string b = bandwidth_str(r.spec.limits);
                return b.empty() ? std::vector<std::string>{} : std::vector<std::string>{b};
            },
            [](Request& r, const std::string& k, const std::string& v) -> Status {
                if (auto st = parse_bandwidth(v, r.spec.limits); !st.ok())
                    return bad(k, v, st.error().message());
                return {};
            }};
}

// A list of values of type T, one field each, read by parse_value (which checks them).
template <typename C, typename T>
Field repeated(const char* key, std::vector<Op> ops, std::vector<T> C::*m, std::string (*write)(const T&),
               Result<T> (*parse_value)(const std::vector<T>& so_far, const std::string& key,
                                        const std::string& value),
               const char* required = nullptr) {
    return {key,
            std::move(ops),
            true,
            required,
            [m, write](const Request& r) {
                std::vector<std::string> out;
                for (const auto& x : at(r, m)) out.push_back(write(x));
                return out;
            },
            [m, parse_value](Request& r, const std::string& k, const std::string& v) -> Status {
                auto x = parse_value(at(r, m), k, v);
                if (!x.ok()) return x.error();
                at(r, m).push_back(std::move(x).value());
                return {};
            }};
}

// What a value must be.
// A name, or an unnamed space's (show: the library refuses it for the other requests).
Status space_name(const std::string& k, const std::string& v) {
    if (unnamed_label(v)) return {};
    if (auto st = validate_name(v); !st.ok()) return bad(k, v, st.error().message());
    return {};
}
Status hostname_value(const std::string& k, const std::string& v) {
    if (auto st = validate_hostname(v); !st.ok()) return bad(k, v, st.error().message());
    return {};
}
Status overlay_name(const std::string& k, const std::string& v) {
    if (auto st = ike::validate_overlay_name(v); !st.ok()) return bad(k, v, st.error().message());
    return {};
}
Status absolute_path(const std::string& k, const std::string& v) {
    // Entered as the caller, after the helper dropped root (Space::run).
    if (v.empty() || v[0] != '/' || v.size() >= PATH_MAX) return bad(k, v, "not an absolute path");
    return {};
}
Result<IpPrefix> prefix(const std::vector<IpPrefix>&, const std::string& k, const std::string& v) {
    auto p = IpPrefix::parse(v);
    if (!p) return bad(k, v, "not a prefix");
    return *p;
}
Result<Service> service(const std::vector<Service>&, const std::string& k, const std::string& v) {
    auto svc = Service::parse(v);
    if (!svc) return bad(k, v, "want tcp/PORT or udp/PORT");
    return *svc;
}
// Every value checked here, whatever the caller's library parsed: the port syntax and
// range, and (against the ports before it) the rules of validate_published.
Result<PublishedPort> published_port(const std::vector<PublishedPort>& so_far, const std::string& k,
                                     const std::string& v) {
    auto p = PublishedPort::parse(v);
    if (!p) return bad(k, v, "want tcp/PORT or udp/PORT, optionally :INNER (ports 1-65535)");
    std::vector<PublishedPort> all = so_far;
    all.push_back(*p);
    if (auto st = validate_published(all); !st.ok()) return bad(k, v, st.error().context);
    return *p;
}
Result<std::string> shared_dir(const std::vector<std::string>&, const std::string& k, const std::string& v) {
    // Syntax only here: whether the directory exists is checked by the helper as the
    // caller, so that the answer says nothing about what the caller cannot see.
    if (v.empty() || v[0] != '/' || v == "/" || v.find('\0') != std::string::npos)
        return bad(k, v, "not an absolute directory other than /");
    return v;
}
Result<std::string> argument(const std::vector<std::string>& so_far, const std::string& k,
                             const std::string& v) {
    if (so_far.empty() && v.empty()) return bad(k, v, "empty program name");
    return v;
}
Result<std::string> env_entry(const std::vector<std::string>&, const std::string& k, const std::string& v) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) return bad(k, v, "want KEY=VALUE");
    return v;
}
// A user network's parts (SpaceSpec::user_network), written when set.
Field network_part(const char* key, std::string UserNetwork::*m, Check check) {
    return {key,
            {Op::create},
            false,
            nullptr,
            [m](const Request& r) {
                const std::string& v = r.spec.user_network.*m;
                return v.empty() ? std::vector<std::string>{} : std::vector<std::string>{v};
            },
            [m, check](Request& r, const std::string& k, const std::string& v) -> Status {
                PN_TRY(check(k, v), "");
                r.spec.user_network.*m = v;
                return {};
            }};
}
Status network_path(const std::string& k, const std::string& v) {
    if (v.empty() || v[0] != '/' || v.size() >= PATH_MAX) return bad(k, v, "not an absolute path");
    if (std::any_of(v.begin(), v.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return bad(k, v, "holds a control character");
    return {};
}
// Each file a user network names: "NAME\nBASE64 OF ITS BYTES" (its bytes may hold NULs).
Field network_files() {
    return {"network_file",
            {Op::create},
            true,
            nullptr,
            [](const Request& r) {
                std::vector<std::string> out;
                for (const auto& [name, bytes] : r.spec.user_network.files)
                    out.push_back(name + "\n" + ike::base64_encode(bytes));
                return out;
            },
            [](Request& r, const std::string& k, const std::string& v) -> Status {
                auto nl = v.find('\n');
                if (nl == std::string::npos || nl == 0) return bad(k, v, "want NAME, a newline and base64");
                auto bytes = ike::base64_decode(std::string_view(v).substr(nl + 1));
                if (!bytes.ok()) return bad(k, v, bytes.error().message());
                r.spec.user_network.files.emplace_back(v.substr(0, nl), std::move(bytes).value());
                return {};
            }};
}
// A resource limit (SpaceSpec::limits), written when set and read back by the option's
// own parser, so that the helper holds a crafted request to the same ranges.
template <typename T>
Field limit(const char* key, T ResourceLimits::*m,
            Result<T> (*parse)(const std::string&, const std::string&)) {
    return {key,
            {Op::create},
            false,
            nullptr,
            [m](const Request& r) {
                const T v = r.spec.limits.*m;
                return v == 0 ? std::vector<std::string>{} : std::vector<std::string>{std::to_string(v)};
            },
            [m, parse](Request& r, const std::string& k, const std::string& v) -> Status {
                auto n = parse(v, k);
                if (!n.ok()) return bad(k, v, n.error().message());
                r.spec.limits.*m = n.value();
                return {};
            }};
}
// The CPU quota in thousandths of a CPU on the wire: a whole number.
Result<uint32_t> cpu_milli_value(const std::string& v, const std::string& k) {
    auto n = parse_pids(v, k);  // digits only, 1-4194304
    if (!n.ok() || n.value() > 1024 * 1000) return make_error(EINVAL, "not 1-1024000 thousandths of a CPU");
    return n;
}
// A size in bytes (parse_size reads plain digits too).
Result<uint64_t> memory_value(const std::string& v, const std::string& k) { return parse_size(v, k); }
Result<uint32_t> pids_value(const std::string& v, const std::string& k) { return parse_pids(v, k); }
Result<uint32_t> io_weight_value(const std::string& v, const std::string& k) { return parse_io_weight(v, k); }

std::string as_is(const std::string& s) { return s; }
std::string prefix_text(const IpPrefix& p) { return p.str(); }
std::string service_text(const Service& s) { return s.str(); }
std::string published_text(const PublishedPort& p) { return p.str(); }

const std::vector<Field>& fields() {
    using enum Op;
    static const std::vector<Field> all = {
        text_if_set("name", {create}, &SpaceSpec::name, space_name),
        text("name", {open, show, diff, destroy}, &Request::name, space_name, "a name"),
        flag("inherit_routes", {create}, &SpaceSpec::inherit_routes),
        repeated("hide_route", {create}, &SpaceSpec::hidden_routes, prefix_text, prefix),
        flag("inherit_services", {create}, &SpaceSpec::inherit_services),
        repeated("hide_service", {create}, &SpaceSpec::hidden_services, service_text, service),
        repeated("publish", {create}, &SpaceSpec::published, published_text, published_port),
        flag("file_space", {create}, &SpaceSpec::file_space),
        choice("fs_backend", {create}, &SpaceSpec::fs_backend, parse_fs_backend, fs_backend_word,
               "want auto, kernel or fuse"),
        repeated("share", {create}, &SpaceSpec::shared_paths, as_is, shared_dir),
        flag("private_tmp", {create}, &SpaceSpec::private_tmp),
        text_if_set("resolv_conf_text", {create}, &Request::resolv_conf_text, any_value),
        text_if_set("hosts_text", {create}, &Request::hosts_text, any_value),
        text_if_set("overlay", {create}, &SpaceSpec::overlay, overlay_name),
        network_part("network_name", &UserNetwork::name, overlay_name),
        network_part("network_path", &UserNetwork::path, network_path),
        network_part("network_text", &UserNetwork::text, any_value),
        network_files(),
        flag("admin", {create}, &SpaceSpec::admin),
        flag("share_pids", {create}, &SpaceSpec::share_pids),
        text_if_set("hostname", {create}, &SpaceSpec::hostname, hostname_value),
        choice("dispatch", {create}, &SpaceSpec::dispatch, parse_dispatch, dispatch_word,
               "want auto, nft or bpf"),
        limit("cpu_milli", &ResourceLimits::cpu_milli, cpu_milli_value),
        limit("memory", &ResourceLimits::memory_bytes, memory_value),
        limit("pids", &ResourceLimits::pids, pids_value),
        limit("io_weight", &ResourceLimits::io_weight, io_weight_value),
        bandwidth("bandwidth"),
        flag("keep_files", {destroy}, &Request::keep_files),
        repeated("arg", {run}, &Request::argv, as_is, argument, "a command"),
        repeated("env", {run}, &Request::env, as_is, env_entry),
        text_if_set("cwd", {run}, &Request::cwd, absolute_path),
        flag("full", {gc}, &Request::full),
    };
    return all;
}

}  // namespace

Message& Message::add(std::string key, std::string value) {
    fields.emplace_back(std::move(key), std::move(value));
    return *this;
}

const std::string* Message::get(std::string_view key) const {
    for (const auto& [k, v] : fields)
        if (k == key) return &v;
    return nullptr;
}

std::vector<std::string> Message::all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : fields)
        if (k == key) out.push_back(v);
    return out;
}

Status check_framing(const Message& m) {
    if (m.fields.size() > kMaxFields) return make_error(EINVAL, "helper request: more than 8192 fields");
    size_t total = 0;
    for (const auto& [k, v] : m.fields) {
        if (!key_ok(k)) return make_error(EINVAL, "helper request: bad key " + shown(k));
        if (v.find('\0') != std::string::npos)
            return make_error(EINVAL, "helper request: " + k + "=" + shown(v) +
                                          " holds a NUL byte, which the helper's channel cannot carry");
        if (v.size() > kMaxValue)
            return make_error(EINVAL, "helper request: " + k + "=" + shown(v) + " is larger than 64 KiB (" +
                                          std::to_string(v.size()) + " bytes), the most one value may hold");
        total += k.size() + v.size() + 2;
    }
    if (total > kMaxMessage)
        return make_error(EINVAL,
                          "helper request: larger than 1 MiB in all (" + std::to_string(total) + " bytes)");
    return {};
}

std::string encode(const Message& m) {
    std::string out;
    for (const auto& [k, v] : m.fields) {
        out += k;
        out += '\0';
        out += v;
        out += '\0';
    }
    return out;
}

Result<Message> decode(std::string_view wire) {
    if (wire.size() > kMaxMessage) return make_error(EINVAL, "bad message: larger than 1 MiB");
    Message m;
    size_t at = 0;
    while (at < wire.size()) {
        if (m.fields.size() == kMaxFields) return make_error(EINVAL, "bad message: more than 8192 fields");
        size_t key_end = wire.find('\0', at);
        if (key_end == std::string_view::npos) return make_error(EINVAL, "bad message: truncated key");
        std::string_view key = wire.substr(at, key_end - at);
        if (!key_ok(key)) return make_error(EINVAL, "bad message: bad key " + shown(std::string(key)));
        size_t value_end = wire.find('\0', key_end + 1);
        if (value_end == std::string_view::npos)
            return make_error(EINVAL, "bad message: truncated value of " + std::string(key));
        if (value_end - key_end - 1 > kMaxValue)
            return make_error(EINVAL, "bad message: value of " + std::string(key) + " larger than 64 KiB");
        m.add(std::string(key), std::string(wire.substr(key_end + 1, value_end - key_end - 1)));
        at = value_end + 1;
    }
    return m;
}

const char* op_name(Op op) {
    for (const auto& o : kOps)
        if (o.op == op) return o.name;
    return "?";
}

Message to_message(const Request& r) {
    Message m;
    m.add("op", op_name(r.op));
    for (const auto& f : fields())
        if (f.of(r.op))
            for (auto& v : f.get(r)) m.add(f.key, std::move(v));
    return m;
}

Result<Request> parse_request(const Message& m) {
    if (m.fields.empty() || m.fields.front().first != "op")
        return make_error(EINVAL, "bad request: it must start with op");
    Request r;
    const std::string& op = m.fields.front().second;
    auto known = std::find_if(kOps.begin(), kOps.end(), [&](const OpName& o) { return op == o.name; });
    if (known == kOps.end()) return bad("op", op, "unknown operation");
    r.op = known->op;
    std::vector<const Field*> seen;
    for (size_t i = 1; i < m.fields.size(); ++i) {
        // Not a structured binding: clang (the fuzz build) cannot capture one in a lambda.
        const std::string& k = m.fields[i].first;
        const std::string& v = m.fields[i].second;
        auto f = std::find_if(fields().begin(), fields().end(),
                              [&](const Field& f) { return f.key == k && f.of(r.op); });
        if (f == fields().end()) return bad(k, v, std::string("not a field of ") + op);
        if (!f->list) {
            if (std::find(seen.begin(), seen.end(), &*f) != seen.end()) return bad(k, v, "given twice");
        }
        seen.push_back(&*f);
        PN_TRY(f->set(r, k, v), "");
    }
    for (const auto& f : fields())
        if (f.of(r.op) && f.required != nullptr && std::find(seen.begin(), seen.end(), &f) == seen.end())
            return make_error(EINVAL, std::string("bad request: ") + op + " needs " + f.required);
    // A user network comes whole: its name, where it was read and its text, or nothing.
    if (const UserNetwork& n = r.spec.user_network;
        (n.name.empty() || n.path.empty() || n.text.empty()) &&
        !(n.name.empty() && n.path.empty() && n.text.empty() && n.files.empty()))
        return make_error(EINVAL,
                          "bad request: a user network needs network_name, network_path and network_text");
    // Whatever is accepted must survive being sent again as to_message() writes it. That
    // form spells out every default and turns bare addresses into prefixes, so a request
    // just within the framing limits can grow past them (the round trip fuzz_request checks).
    if (auto again = decode(encode(to_message(r))); !again.ok())
        return make_error(EINVAL,
                          "bad request: too large once written out in full (" + again.error().context + ")");
    return r;
}

}  // namespace personalnet::helper
