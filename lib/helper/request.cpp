#include "lib/helper/request.hpp"

#include <algorithm>
#include <array>
#include <climits>

#include "lib/core/quote.hpp"
#include "lib/ike/overlay_config.hpp"

namespace personalnet::helper {

namespace {

constexpr size_t kMaxKey = 32;

struct OpName {
    Op op;
    const char* name;
};
constexpr std::array kOps = {OpName{Op::create, "create"}, OpName{Op::open, "open"},
                             OpName{Op::run, "run"},       OpName{Op::list, "list"},
                             OpName{Op::show, "show"},     OpName{Op::destroy, "destroy"},
                             OpName{Op::gc, "gc"},         OpName{Op::diff, "diff"}};

// The keys each op takes; a trailing '*' marks a list (repeatable).
std::vector<std::string_view> keys_of(Op op) {
    switch (op) {
        case Op::create:
            return {"name",       "inherit_routes", "hide_route*", "inherit_services", "hide_service*",
                    "file_space", "fs_backend",     "share*",      "private_tmp",      "resolv_conf_text",
                    "hosts_text", "overlay",        "admin",       "dispatch"};
        case Op::open:
        case Op::show:
        case Op::diff:
            return {"name"};
        case Op::destroy:
            return {"name", "keep_files"};
        case Op::run:
            return {"arg*", "env*", "cwd"};
        case Op::gc:
            return {"full"};
        case Op::list:
            return {};
    }
    return {};
}

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

Status parse_create_field(Request& r, const std::string& k, const std::string& v) {
    SpaceSpec& s = r.spec;
    auto flag = [&](bool& out) -> Status {
        auto b = boolean(k, v);
        if (!b.ok()) return b.error();
        out = b.value();
        return {};
    };
    if (k == "name") {
        if (auto st = validate_name(v); !st.ok()) return bad(k, v, st.error().message());
        s.name = v;
    } else if (k == "inherit_routes") {
        return flag(s.inherit_routes);
    } else if (k == "inherit_services") {
        return flag(s.inherit_services);
    } else if (k == "file_space") {
        return flag(s.file_space);
    } else if (k == "private_tmp") {
        return flag(s.private_tmp);
    } else if (k == "admin") {
        return flag(s.admin);
    } else if (k == "hide_route") {
        auto p = IpPrefix::parse(v);
        if (!p) return bad(k, v, "not a prefix");
        s.hidden_routes.push_back(*p);
    } else if (k == "hide_service") {
        auto svc = Service::parse(v);
        if (!svc) return bad(k, v, "want tcp/PORT or udp/PORT");
        s.hidden_services.push_back(*svc);
    } else if (k == "fs_backend") {
        auto b = parse_fs_backend(v);
        if (!b) return bad(k, v, "want auto, kernel or fuse");
        s.fs_backend = *b;
    } else if (k == "share") {
        // Syntax only here: whether the directory exists is checked by the helper as the
        // caller, so that the answer says nothing about what the caller cannot see.
        if (v.empty() || v[0] != '/' || v == "/" || v.find('\0') != std::string::npos)
            return bad(k, v, "not an absolute directory other than /");
        s.shared_paths.push_back(v);
    } else if (k == "dispatch") {
        auto d = parse_dispatch(v);
        if (!d) return bad(k, v, "want auto, nft or bpf");
        s.dispatch = *d;
    } else if (k == "resolv_conf_text") {
        r.resolv_conf_text = v;
    } else if (k == "hosts_text") {
        r.hosts_text = v;
    } else if (k == "overlay") {
        if (auto st = ike::validate_overlay_name(v); !st.ok()) return bad(k, v, st.error().message());
        s.overlay = v;
    }
    return {};
}

Status parse_field(Request& r, const std::string& k, const std::string& v) {
    switch (r.op) {
        case Op::create:
            return parse_create_field(r, k, v);
        case Op::open:
        case Op::show:
        case Op::diff:
        case Op::destroy:
            if (k == "keep_files") {
                auto b = boolean(k, v);
                if (!b.ok()) return b.error();
                r.keep_files = b.value();
                return {};
            }
            if (auto st = validate_name(v); !st.ok()) return bad(k, v, st.error().message());
            r.name = v;
            return {};
        case Op::run:
            if (k == "arg") {
                if (r.argv.empty() && v.empty()) return bad(k, v, "empty program name");
                r.argv.push_back(v);
            } else if (k == "cwd") {
                // Entered as the caller, after the helper dropped root (Space::run).
                if (v.empty() || v[0] != '/' || v.size() >= PATH_MAX)
                    return bad(k, v, "not an absolute path");
                r.cwd = v;
            } else {
                auto eq = v.find('=');
                if (eq == std::string::npos || eq == 0) return bad(k, v, "want KEY=VALUE");
                r.env.push_back(v);
            }
            return {};
        case Op::gc: {
            auto b = boolean(k, v);
            if (!b.ok()) return b.error();
            r.full = b.value();
            return {};
        }
        case Op::list:
            return {};
    }
    return {};
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
    auto flag = [&](const char* k, bool b) { m.add(k, b ? "1" : "0"); };
    switch (r.op) {
        case Op::create: {
            const SpaceSpec& s = r.spec;
            if (!s.name.empty()) m.add("name", s.name);
            flag("inherit_routes", s.inherit_routes);
            for (const auto& p : s.hidden_routes) m.add("hide_route", p.str());
            flag("inherit_services", s.inherit_services);
            for (const auto& svc : s.hidden_services) m.add("hide_service", svc.str());
            flag("file_space", s.file_space);
            m.add("fs_backend", fs_backend_word(s.fs_backend));
            for (const auto& p : s.shared_paths) m.add("share", p);
            flag("private_tmp", s.private_tmp);
            if (!r.resolv_conf_text.empty()) m.add("resolv_conf_text", r.resolv_conf_text);
            if (!r.hosts_text.empty()) m.add("hosts_text", r.hosts_text);
            if (!s.overlay.empty()) m.add("overlay", s.overlay);
            flag("admin", s.admin);
            m.add("dispatch", dispatch_word(s.dispatch));
            break;
        }
        case Op::open:
        case Op::show:
        case Op::diff:
            m.add("name", r.name);
            break;
        case Op::destroy:
            m.add("name", r.name);
            flag("keep_files", r.keep_files);
            break;
        case Op::run:
            for (const auto& a : r.argv) m.add("arg", a);
            for (const auto& e : r.env) m.add("env", e);
            if (!r.cwd.empty()) m.add("cwd", r.cwd);
            break;
        case Op::gc:
            flag("full", r.full);
            break;
        case Op::list:
            break;
    }
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
    auto keys = keys_of(r.op);
    std::vector<std::string> seen;
    for (size_t i = 1; i < m.fields.size(); ++i) {
        const auto& [k, v] = m.fields[i];
        bool single = std::find(keys.begin(), keys.end(), k) != keys.end();
        bool list = std::find(keys.begin(), keys.end(), k + "*") != keys.end();
        if (!single && !list) return bad(k, v, std::string("not a field of ") + op);
        if (single) {
            if (std::find(seen.begin(), seen.end(), k) != seen.end()) return bad(k, v, "given twice");
            seen.push_back(k);
        }
        PN_TRY(parse_field(r, k, v), "");
    }
    bool needs_name = r.op == Op::open || r.op == Op::show || r.op == Op::diff || r.op == Op::destroy;
    if (needs_name && r.name.empty())
        return make_error(EINVAL, std::string("bad request: ") + op + " needs a name");
    if (r.op == Op::run && r.argv.empty()) return make_error(EINVAL, "bad request: run needs a command");
    // Whatever is accepted must survive being sent again as to_message() writes it. That
    // form spells out every default and turns bare addresses into prefixes, so a request
    // just within the framing limits can grow past them (the round trip fuzz_request checks).
    if (auto again = decode(encode(to_message(r))); !again.ok())
        return make_error(EINVAL,
                          "bad request: too large once written out in full (" + again.error().context + ")");
    return r;
}

}  // namespace personalnet::helper
