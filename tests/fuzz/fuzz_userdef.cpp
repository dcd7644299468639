#include <algorithm>
#include <array>
#include <string>

#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/user_definition.hpp"
#include "personalnet/ip.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_userdef";
constexpr const char* kPath = "fuzz.conf";

// Keys that must never reach charon from a user, whatever section they are in: written
// out here again rather than taken from the checker, so that a slip there shows.
constexpr std::array kNever = {"file",         "include",   "updown",   "pubkeys",    "if_id_in",
                               "if_id_out",    "mark_in",   "mark_out", "mark_in_sa", "set_mark_in",
                               "set_mark_out", "interface", "pools",    "vips"};

const ike::HostFacts& host() {
    static const ike::HostFacts facts{{*IpAddr::parse("192.0.2.10"), *IpAddr::parse("2001:db8::10")}};
    return facts;
}

std::vector<std::string> items(const std::string& v) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= v.size()) {
        size_t end = std::min(v.find(',', start), v.size());
        size_t b = v.find_first_not_of(" \t", start);
        if (b != std::string::npos && b < end)
            out.push_back(v.substr(b, v.find_last_not_of(" \t", end - 1) - b + 1));
        start = end + 1;
    }
    return out;
}

bool never(const std::string& key) {
    return std::any_of(kNever.begin(), kNever.end(), [&](const char* k) { return key == k; });
}

// Keys only: connections, children and secrets have names of the user's choosing (a
// connection may be called "file"); which sections may appear is checked below.
std::string forbidden_anywhere(const ike::Settings& s, const std::string& at) {
    for (const auto& [k, v] : s.values)
        if (never(k)) return "key " + at + k + " kept";
    for (const auto& sec : s.sections)
        if (auto why = forbidden_anywhere(sec.body, at + sec.name + "."); !why.empty()) return why;
    return {};
}

// What user_definition.hpp promises of an accepted definition. Empty when it holds.
std::string broken_promise(const ike::UserDefinition& d) {
    const ike::Settings& conf = d.overlay.swanctl;
    if (auto why = forbidden_anywhere(conf, ""); !why.empty()) return why;
    if (!conf.values.empty()) return "a value outside a section";
    for (const auto& s : conf.sections)
        if (s.name != "connections" && s.name != "secrets") return "section '" + s.name + "' kept";
    size_t peers = 0;
    for (const auto& c : conf.section("connections")->sections) {
        size_t own = 0;
        for (const auto& [k, v] : c.body.values) {
            if (k == "remote_addrs") {
                for (const auto& a : items(v)) {
                    if (!IpAddr::parse(a)) return "peer '" + a + "' is not an address";
                    ++own;
                }
            } else if (k == "local_addrs") {
                for (const auto& a : items(v)) {
                    auto ip = IpAddr::parse(a);
                    if (!ip || std::find(host().addresses.begin(), host().addresses.end(), *ip) ==
                                   host().addresses.end())
                        return "local_addrs '" + a + "' is not the host's";
                }
            } else if (k == "aggressive" && v != "no") {
                return "aggressive mode kept";
            }
        }
        if (own == 0) return "connection '" + c.name + "' without a peer";
        peers += own;
        for (const auto& round : c.body.sections) {
            const bool remote = round.name.rfind("remote", 0) == 0;
            if (round.name != "children" && !remote && round.name.rfind("local", 0) != 0)
                return "section '" + round.name + "' of connection '" + c.name + "' kept";
            if (round.name == "children") {
                for (const auto& child : round.body.sections)
                    if (!child.body.sections.empty()) return "a section in child '" + child.name + "'";
                continue;
            }
            if (!round.body.sections.empty()) return "a section in an auth round";
            for (const auto& [k, v] : round.body.values) {
                if (remote && k == "certs") return "certs in a remote round";
                if (k == "cacerts")
                    for (const auto& n : items(v))
                        if (n.find('/') != std::string::npos) return "cacerts '" + n + "' is a path";
            }
        }
    }
    if (peers != d.peers.size())
        return "peers collected: " + std::to_string(d.peers.size()) + " of " + std::to_string(peers);
    if (d.claims.size() < d.overlay.addresses.size() ||
        !std::equal(d.overlay.addresses.begin(), d.overlay.addresses.end(), d.claims.begin()))
        return "claims do not start with personalnet.addresses";
    if (const ike::Settings* secrets = conf.section("secrets")) {
        for (const auto& s : secrets->sections)
            if (s.name.rfind("ike", 0) != 0 && s.name.rfind("eap", 0) != 0 && s.name.rfind("xauth", 0) != 0)
                return "secret '" + s.name + "' kept";
            else if (!s.body.sections.empty())
                return "a section in secret '" + s.name + "'";
        if (auto loaded = ike::secrets_of(conf); !loaded.ok())
            return "secrets do not load: " + loaded.error().message();
    }
    for (const auto& [name, message] : ike::connections_of(conf)) {
        auto wire = message.encode();
        if (!wire.ok()) {
            if (wire.error().code != EMSGSIZE) return "connection '" + name + "': " + wire.error().message();
            continue;
        }
        auto back = ike::ViciMessage::decode(wire.value());
        if (!back.ok() || !(back.value() == message)) return "connection '" + name + "' changes through VICI";
    }
    return {};
}

}  // namespace

int fuzz_userdef(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto def = ike::parse_user_definition("fuzz", text, kPath, host());
    if (!def.ok()) {
        const std::string& why = def.error().context;
        if (def.error().code != EINVAL) return violated(kTarget, "refused with another errno: " + why, text);
        if (why.rfind(kPath, 0) != 0)
            return violated(kTarget, "a refusal that does not name the file: " + why, text);
        if (std::any_of(why.begin(), why.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
            return violated(kTarget, "a refusal of more than one line: " + why, text);
        return 0;
    }
    if (std::string why = broken_promise(def.value()); !why.empty())
        return violated(kTarget, "accepted a definition that breaks its contract: " + why, text);
    return 0;
}

}  // namespace personalnet::fuzz
