#include "lib/ike/vici_commands.hpp"

#include <cerrno>
#include <charconv>
#include <deque>

namespace personalnet::ike {

namespace {

// charon answers after its own timeout expires; we wait this much longer to hear why.
constexpr Timeout kVerdictGrace{1000};
// initiate() quotes at most this many of charon's last log lines in its error.
constexpr size_t kLogLines = 12;

template <typename T>
Status parse_number(const ViciMessage& m, std::string_view key, int base, T& out, const std::string& where) {
    const std::string* v = m.find(key);
    if (v == nullptr) return {};  // absent in some states (no SPI before negotiation)
    const char* end = v->data() + v->size();
    auto [ptr, ec] = std::from_chars(v->data(), end, out, base);
    if (v->empty() || ec != std::errc() || ptr != end)
        return make_error(EBADMSG, where + ": " + std::string(key) + " '" + *v + "' is not a " +
                                       (base == 16 ? "hex" : "decimal") + " number");
    return {};
}

Result<ChildSaInfo> parse_child(const std::string& section_name, const ViciMessage& m,
                                const std::string& where) {
    ChildSaInfo c;
    // charon 5.9 names the section "<name>-<uniqueid>" and adds the plain name as a key.
    c.name = m.get("name", section_name);
    const std::string ctx = where + ": CHILD_SA '" + c.name + "'";
    c.state = m.get("state");
    c.mode = m.get("mode");
    c.protocol = m.get("protocol");
    c.encap = m.is_yes("encap");
    c.encr_alg = m.get("encr-alg");
    c.local_ts = m.list("local-ts");
    c.remote_ts = m.list("remote-ts");
    PN_TRY(parse_number(m, "uniqueid", 10, c.uniqueid, ctx), "");
    PN_TRY(parse_number(m, "reqid", 10, c.reqid, ctx), "");
    PN_TRY(parse_number(m, "spi-in", 16, c.spi_in, ctx), "");
    PN_TRY(parse_number(m, "spi-out", 16, c.spi_out, ctx), "");
    PN_TRY(parse_number(m, "bytes-in", 10, c.bytes_in, ctx), "");
    PN_TRY(parse_number(m, "packets-in", 10, c.packets_in, ctx), "");
    PN_TRY(parse_number(m, "bytes-out", 10, c.bytes_out, ctx), "");
    PN_TRY(parse_number(m, "packets-out", 10, c.packets_out, ctx), "");
    return c;
}

Result<IkeSaInfo> parse_ike(const std::string& name, const ViciMessage& m) {
    IkeSaInfo s;
    s.name = name;
    const std::string ctx = "IKE_SA '" + name + "'";
    s.state = m.get("state");
    s.local_host = m.get("local-host");
    s.remote_host = m.get("remote-host");
    s.local_id = m.get("local-id");
    s.remote_id = m.get("remote-id");
    s.initiator = m.is_yes("initiator");
    PN_TRY(parse_number(m, "uniqueid", 10, s.uniqueid, ctx), "");
    PN_TRY(parse_number(m, "version", 10, s.version, ctx), "");
    PN_TRY(parse_number(m, "initiator-spi", 16, s.initiator_spi, ctx), "");
    PN_TRY(parse_number(m, "responder-spi", 16, s.responder_spi, ctx), "");
    PN_TRY(parse_number(m, "established", 10, s.established_s, ctx), "");
    if (const ViciMessage* children = m.find_section("child-sas")) {
        for (const auto& e : children->entries()) {
            if (e.kind != ViciMessage::Kind::kSection) continue;
            auto c = parse_child(e.name, *e.section, ctx);
            if (!c.ok()) return c.error();
            s.children.push_back(std::move(c).value());
        }
    }
    return s;
}

// "[IKE] message" lines, as swanctl prints charon's control-log.
std::string log_tail(const std::vector<ViciMessage>& events) {
    std::deque<std::string> lines;
    for (const auto& e : events) {
        lines.push_back("[" + e.get("group", "?") + "] " + e.get("msg"));
        if (lines.size() > kLogLines) lines.pop_front();
    }
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
    return out;
}

// initiate and terminate: a control command streaming control-log, whose failure is
// best explained by what charon logged.
Status control(ViciClient& c, const std::string& command, ViciMessage args, const std::string& what,
               Timeout timeout) {
    // charon reads 0 as "wait forever" and -1 as "do not wait": neither fits a call
    // that promises to return within its timeout.
    if (timeout.count() <= 0) return make_error(EINVAL, what + ": timeout must be positive");
    args.set("timeout", std::to_string(timeout.count()));
    auto r = c.streamed(command, args, "control-log", timeout + kVerdictGrace);
    if (!r.ok()) return r.error().wrap(what);
    Status st = check_success(r->response, what);
    if (st.ok()) return st;
    Error e = st.error();
    // charon's controller gave up at our timeout (OUT_OF_RES in vici_control.c); the
    // text is the only sign of it on the wire.
    if (r->response.get("errmsg").find("not established after") != std::string::npos) e.code = ETIMEDOUT;
    std::string log = log_tail(r->events);
    if (!log.empty()) e.context += "; log: " + log;
    return e;
}

}  // namespace

Result<VersionInfo> version(ViciClient& c, Timeout timeout) {
    auto r = c.call("version", {}, timeout);
    if (!r.ok()) return r.error().wrap("charon version");
    VersionInfo v;
    v.daemon = r->get("daemon");
    v.version = r->get("version");
    v.sysname = r->get("sysname");
    v.release = r->get("release");
    v.machine = r->get("machine");
    return v;
}

Status load_conn(ViciClient& c, const std::string& name, const ViciMessage& conn, Timeout timeout) {
    ViciMessage args;
    args.set_section(name, conn);
    auto r = c.call("load-conn", args, timeout);
    if (!r.ok()) return r.error().wrap("load connection '" + name + "'");
    return {};
}

Status unload_conn(ViciClient& c, const std::string& name, Timeout timeout) {
    ViciMessage args;
    args.set("name", name);
    auto r = c.call("unload-conn", args, timeout);
    if (!r.ok()) return r.error().wrap("unload connection '" + name + "'");
    return {};
}

Status load_shared(ViciClient& c, const SharedSecret& secret, Timeout timeout) {
    ViciMessage args;
    if (!secret.id.empty()) args.set("id", secret.id);
    args.set("type", secret.type);
    args.set("data", secret.data);
    args.set_list("owners", secret.owners);
    auto r = c.call("load-shared", args, timeout);
    if (!r.ok()) {
        std::string who;
        for (const auto& o : secret.owners) who += (who.empty() ? "" : ", ") + ("'" + o + "'");
        return r.error().wrap("load " + secret.type + " secret for " + (who.empty() ? "any identity" : who));
    }
    return {};
}

Status load_cert(ViciClient& c, const std::string& type, const std::string& flag, const std::string& data,
                 Timeout timeout) {
    ViciMessage args;
    args.set("type", type);
    args.set("flag", flag);
    args.set("data", data);
    auto r = c.call("load-cert", args, timeout);
    if (!r.ok()) return r.error().wrap("load " + type + " certificate (" + flag + ")");
    return {};
}

Status load_key(ViciClient& c, const std::string& type, const std::string& data, Timeout timeout) {
    ViciMessage args;
    args.set("type", type);
    args.set("data", data);
    auto r = c.call("load-key", args, timeout);
    if (!r.ok()) return r.error().wrap("load " + type + " private key");
    return {};
}

Status initiate(ViciClient& c, const std::string& child, const std::string& ike, Timeout timeout) {
    ViciMessage args;
    args.set("child", child);
    if (!ike.empty()) args.set("ike", ike);
    std::string what = "initiate CHILD_SA '" + child + "'";
    if (!ike.empty()) what += " of '" + ike + "'";
    return control(c, "initiate", std::move(args), what, timeout);
}

Status initiate_in_background(ViciClient& c, const std::string& child, const std::string& ike) {
    ViciMessage args;
    args.set("child", child);
    if (!ike.empty()) args.set("ike", ike);
    args.set("timeout", "-1");  // charon queues the job and answers at once
    std::string what = "initiate CHILD_SA '" + child + "'";
    if (!ike.empty()) what += " of '" + ike + "'";
    auto r = c.call("initiate", args, kDefaultTimeout);
    if (!r.ok()) return r.error().wrap(what);
    return check_success(r.value(), what);
}

Status terminate_ike(ViciClient& c, const std::string& ike, Timeout timeout) {
    ViciMessage args;
    args.set("ike", ike);
    return control(c, "terminate", std::move(args), "terminate IKE_SA '" + ike + "'", timeout);
}

Status terminate_ike_sa_in_background(ViciClient& c, uint32_t uniqueid, bool force) {
    ViciMessage args;
    args.set("ike-id", std::to_string(uniqueid));
    if (force) args.set("force", "yes");
    args.set("timeout", "-1");
    const std::string what = "terminate IKE_SA #" + std::to_string(uniqueid);
    auto r = c.call("terminate", args, kDefaultTimeout);
    if (!r.ok()) return r.error().wrap(what);
    return check_success(r.value(), what);
}

Result<std::vector<IkeSaInfo>> parse_sas(const ViciMessage& event) {
    std::vector<IkeSaInfo> out;
    for (const auto& e : event.entries()) {
        if (e.kind != ViciMessage::Kind::kSection) continue;  // "up" in the updown events
        auto s = parse_ike(e.name, *e.section);
        if (!s.ok()) return s.error();
        out.push_back(std::move(s).value());
    }
    return out;
}

Result<std::vector<IkeSaInfo>> list_sas(ViciClient& c, const std::string& ike, Timeout timeout) {
    ViciMessage args;
    if (!ike.empty()) args.set("ike", ike);
    auto r = c.streamed("list-sas", args, "list-sa", timeout);
    if (!r.ok()) return r.error().wrap("list SAs");
    PN_TRY(check_success(r->response, "list SAs"), "");
    std::vector<IkeSaInfo> out;
    for (const auto& ev : r->events) {
        auto sas = parse_sas(ev);
        if (!sas.ok()) return sas.error().wrap("list SAs");
        for (auto& s : sas.value()) out.push_back(std::move(s));
    }
    return out;
}

}  // namespace personalnet::ike
