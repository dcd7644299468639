#include "lib/ike/user_definition.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string_view>

#include "lib/ike/swanctl_convert.hpp"

namespace personalnet::ike {

namespace {

// The reasons given for the forbidden classes of keys (besides the refusal itself).
constexpr const char* kPath = "charon would read or write a path";
constexpr const char* kCommand = "runs a command";
constexpr const char* kMark = "claims a host mark or interface";
constexpr const char* kHandsOut = "hands out addresses";

constexpr std::array kConnectionKeys = {
    "version",     "local_addrs", "remote_addrs",  "local_port", "remote_port",  "proposals",   "dpd_delay",
    "dpd_timeout", "rekey_time",  "reauth_time",   "over_time",  "rand_time",    "keyingtries", "unique",
    "encap",       "mobike",      "fragmentation", "send_cert",  "send_certreq", "aggressive"};
constexpr std::array kChildKeys = {"local_ts",  "remote_ts", "esp_proposals", "mode",       "rekey_time",
                                   "life_time", "rand_time", "start_action",  "dpd_action", "close_action"};

// Keys (or sections) refused with a reason wherever they appear; any other key outside
// the allow-list is refused without one.
const char* reason_for(const std::string& key) {
    static constexpr std::array<std::pair<std::string_view, const char*>, 17> kReasons = {{
        {"file", kPath},
        {"pubkeys", kPath},
        {"crl_uris", kPath},
        {"ocsp_uris", kPath},
        {"cert_uri_base", kPath},
        {"updown", kCommand},
        {"if_id_in", kMark},
        {"if_id_out", kMark},
        {"mark_in", kMark},
        {"mark_out", kMark},
        {"mark_in_sa", kMark},
        {"set_mark_in", kMark},
        {"set_mark_out", kMark},
        {"interface", kMark},
        {"pools", kHandsOut},
        {"vips", "claims a virtual address from the peer"},
        {"revocation", "charon would fetch revocation lists"},
    }};
    for (const auto& [k, why] : kReasons)
        if (key == k) return why;
    return nullptr;
}

template <size_t N>
bool listed(const std::array<const char*, N>& keys, const std::string& key) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// "SECTION.KEY", as a refusal names a key.
std::string dotted(const std::string& at, const std::string& key) {
    std::string out = at;
    out += '.';
    out += key;
    return out;
}

// A refusal shows a value cut short: the line names it, the file holds the rest.
std::string shown(const std::string& v) {
    constexpr size_t kMax = 120;
    return v.size() <= kMax ? v : v.substr(0, kMax) + "...";
}

// Every refusal is one line: control characters (a quoted value may hold newlines, a
// path anything) are escaped.
Error one_line(const Error& e) {
    Error out = e;
    out.context.clear();
    for (unsigned char c : e.context) {
        if (c == '\n') {
            out.context += "\\n";
        } else if (c == '\t') {
            out.context += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out.context += buf;
        } else {
            out.context += static_cast<char>(c);
        }
    }
    return out;
}

// A name in the administrator's trust directory: no '/', nothing hidden, nothing odd.
bool plain_name(const std::string& n) {
    if (n.empty() || n.size() > 255 || n[0] == '.') return false;
    return std::all_of(n.begin(), n.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.' || c == '+' || c == '@';
    });
}

// Walks a parsed definition, refusing every key outside the allow-list and collecting
// what the constraints need. Every refusal is kept and the one on the earliest line is
// reported, so that a user fixing their file works from the top.
class Checker {
public:
    Checker(const std::string& path, const HostFacts& host, UserDefinition& out)
        : path_(path), host_(host), out_(out) {}

    Status check(const Settings& conf) {
        for (size_t i = 0; i < conf.values.size(); ++i) refuse(conf.line_of(i), conf.values[i].first);
        const Settings::Section* first_connections = nullptr;
        const Settings::Section* first_secrets = nullptr;
        for (const auto& sec : conf.sections) {
            if (sec.name == "connections" || sec.name == "secrets") {
                // The space loads the first of each (swanctl_convert); a second would be
                // checked here and then silently left out.
                const Settings::Section*& first =
                    sec.name == "connections" ? first_connections : first_secrets;
                if (first != nullptr) {
                    fail(sec.line, "'" + sec.name + "' is given twice (the first is on line " +
                                       std::to_string(first->line) + ")");
                    continue;
                }
                first = &sec;
                if (sec.name == "connections")
                    connections(sec.body);
                else
                    secrets(sec.body);
            } else if (sec.name == "personalnet") {
                personalnet(sec.body);
            } else {
                refuse(sec.line, sec.name);
            }
        }
        if (first_) return *first_;
        if (incomplete_) return *incomplete_;
        return {};
    }

private:
    void fail(int line, const std::string& what) {
        if (first_ && line >= first_line_) return;
        first_ = make_error(EINVAL, path_ + ":" + std::to_string(line) + ": " + what);
        first_line_ = line;
    }
    // What a definition lacks: told only when nothing in it is refused (a key refused names
    // the mistake more precisely than what is missing around it).
    void incomplete(int line, const std::string& what) {
        if (!incomplete_) incomplete_ = make_error(EINVAL, path_ + ":" + std::to_string(line) + ": " + what);
    }
    // 'KEY' is not allowed ... (REASON); the reason defaults to the key's forbidden class.
    void refuse(int line, const std::string& key, const char* reason = nullptr) {
        if (reason == nullptr) reason = reason_for(key.substr(key.rfind('.') + 1));  // npos + 1 == 0
        std::string what = "'" + key + "' is not allowed in a user's network definition";
        if (reason != nullptr) what.append(" (").append(reason).append(")");
        fail(line, what);
    }
    void refuse_value(int line, const std::string& key, const std::string& value, const std::string& reason) {
        fail(line, "'" + key + " = " + shown(value) + "' is not allowed in a user's network definition (" +
                       reason + ")");
    }
    // Subsections where a section allows none.
    void no_sections(const std::string& at, const Settings& s) {
        for (const auto& sub : s.sections) refuse(sub.line, at + "." + sub.name);
    }

    void connections(const Settings& conns) {
        for (size_t i = 0; i < conns.values.size(); ++i)
            refuse(conns.line_of(i), "connections." + conns.values[i].first);
        for (const auto& conn : conns.sections) connection("connections." + conn.name, conn);
    }

    void connection(const std::string& at, const Settings::Section& conn) {
        const Settings& s = conn.body;
        bool has_peer = false;
        for (size_t i = 0; i < s.values.size(); ++i) {
            const auto& [key, value] = s.values[i];
            const int line = s.line_of(i);
            if (key == "remote_addrs") {
                for (const auto& item : list_items(value)) {
                    has_peer = true;
                    if (auto ip = IpAddr::parse(item))
                        out_.peers.push_back(*ip);
                    else
                        refuse_value(line, dotted(at, key), item, "a user's peers are literal IP addresses");
                }
            } else if (key == "local_addrs") {
                for (const auto& item : list_items(value)) {
                    auto ip = IpAddr::parse(item);
                    if (!ip || std::find(host_.addresses.begin(), host_.addresses.end(), *ip) ==
                                   host_.addresses.end())
                        refuse_value(line, dotted(at, key), item,
                                     "local_addrs must be one of this host's addresses: " + host_addresses());
                }
            } else if (key == "proposals") {
                for (auto& p : list_items(value)) out_.proposals.push_back(std::move(p));
            } else if (key == "aggressive") {
                // Aggressive mode sends a hash of the PSK that anyone watching can attack.
                if (value != "no")
                    refuse_value(line, dotted(at, key), value, "aggressive mode exposes the PSK");
            } else if (!listed(kConnectionKeys, key)) {
                refuse(line, dotted(at, key));
            }
        }
        bool has_local = false, has_remote = false;
        for (const auto& sub : s.sections) {
            const std::string sub_at = at + "." + sub.name;
            // charon takes every section whose name starts so as an authentication round.
            if (sub.name == "children") {
                for (size_t i = 0; i < sub.body.values.size(); ++i)
                    refuse(sub.body.line_of(i), sub_at + "." + sub.body.values[i].first);
                for (const auto& child : sub.body.sections)
                    this->child(sub_at + "." + child.name, child.body);
            } else if (starts_with(sub.name, "local") || starts_with(sub.name, "remote")) {
                const bool local = starts_with(sub.name, "local");
                (local ? has_local : has_remote) = true;
                round(sub_at, sub.body, local);
                // charon's defaults would slip past the administrator's auth and peer_ca
                // rules (a round without auth is pubkey), so a user says it.
                if (sub.body.find("auth") == nullptr)
                    incomplete(sub.line,
                               "'" + sub_at + "' names no auth (a user's rounds say psk or pubkey)");
            } else {
                refuse(sub.line, sub_at);
            }
        }
        // Without a remote round charon accepts whatever the peer authenticates with.
        if (!has_local || !has_remote)
            incomplete(conn.line,
                       "connection '" + conn.name + "' needs a local and a remote section (with auth)");
        if (!has_peer)
            fail(conn.line, "connection '" + conn.name +
                                "' has no remote_addrs (a user's network names each peer by its IP address)");
    }

    void round(const std::string& at, const Settings& s, bool local) {
        for (size_t i = 0; i < s.values.size(); ++i) {
            const auto& [key, value] = s.values[i];
            const int line = s.line_of(i);
            if (key == "auth") {
                out_.auths.push_back(value);
            } else if (key == "id") {
                continue;
            } else if (key == "certs" && local) {
                for (auto& f : list_items(value)) out_.certs.push_back(Reference{std::move(f), line});
            } else if (key == "certs") {
                refuse(line, dotted(at, key), "peers are trusted through cacerts");
            } else if (key == "cacerts" && !local) {
                for (auto& n : list_items(value)) {
                    if (n.find('/') != std::string::npos)
                        refuse_value(line, dotted(at, key), n, kPath);
                    else if (!plain_name(n))
                        refuse_value(line, dotted(at, key), n,
                                     "cacerts names certificates in the administrator's trust directory");
                    else
                        out_.cacerts.push_back(Reference{std::move(n), line});
                }
            } else if (key == "cacerts") {
                refuse(line, dotted(at, key), "cacerts belongs in a remote section");
            } else {
                refuse(line, dotted(at, key));
            }
        }
        // certN { file = ... } and the like: certificates from files or tokens.
        for (const auto& sub : s.sections)
            refuse(sub.line, at + "." + sub.name, starts_with(sub.name, "cert") ? kPath : nullptr);
        const std::string* auth = s.find("auth");
        if (!local && auth != nullptr && public_key_auth(*auth)) {
            const std::string* ca = s.find("cacerts");
            out_.peer_cas.push_back(ca == nullptr ? std::string() : *ca);
        }
    }

    void child(const std::string& at, const Settings& s) {
        for (size_t i = 0; i < s.values.size(); ++i) {
            const auto& [key, value] = s.values[i];
            if (key == "local_ts") {
                for (auto& ts : list_items(value)) out_.claims.push_back(std::move(ts));
            } else if (key == "remote_ts") {
                for (auto& ts : list_items(value)) out_.reaches.push_back(std::move(ts));
            } else if (key == "esp_proposals") {
                for (auto& p : list_items(value)) out_.proposals.push_back(std::move(p));
            } else if (!listed(kChildKeys, key)) {
                refuse(s.line_of(i), dotted(at, key));
            }
        }
        no_sections(at, s);
    }

    // Shared secrets only (ike, eap, xauth, as swanctl_convert loads them): private keys
    // come from personalnet.keys, read by the library, never from a file charon opens.
    void secrets(const Settings& s) {
        for (size_t i = 0; i < s.values.size(); ++i) refuse(s.line_of(i), "secrets." + s.values[i].first);
        for (const auto& sec : s.sections) {
            const std::string at = "secrets." + sec.name;
            if (!starts_with(sec.name, "ike") && !starts_with(sec.name, "eap") &&
                !starts_with(sec.name, "xauth")) {
                const bool key_kind = starts_with(sec.name, "private") || starts_with(sec.name, "rsa") ||
                                      starts_with(sec.name, "ecdsa") || starts_with(sec.name, "pkcs") ||
                                      starts_with(sec.name, "token");
                refuse(sec.line, at, key_kind ? "private keys come only through personalnet.keys" : nullptr);
                continue;
            }
            bool has_secret = false;
            for (size_t i = 0; i < sec.body.values.size(); ++i) {
                const std::string& key = sec.body.values[i].first;
                if (key == "secret")
                    has_secret = true;
                else if (!starts_with(key, "id"))
                    refuse(sec.body.line_of(i), dotted(at, key));
            }
            no_sections(at, sec.body);
            if (!has_secret) fail(sec.line, "'" + at + "' has no secret");
        }
    }

    void personalnet(const Settings& s) {
        for (size_t i = 0; i < s.values.size(); ++i) {
            const auto& [key, value] = s.values[i];
            if (key == "keys") {
                for (auto& f : list_items(value)) out_.keys.push_back(Reference{std::move(f), s.line_of(i)});
            } else if (key != "addresses" && key != "dns" && key != "label") {
                refuse(s.line_of(i), "personalnet." + key);
            }
        }
        no_sections("personalnet", s);
    }

    std::string host_addresses() const {
        if (host_.addresses.empty()) return "none";
        std::string out;
        for (const auto& a : host_.addresses) out += (out.empty() ? "" : ", ") + a.str();
        return out;
    }

    const std::string& path_;
    const HostFacts& host_;
    UserDefinition& out_;
    std::optional<Error> first_;
    int first_line_ = 0;
    std::optional<Error> incomplete_;
};

// personalnet.keys is the library's, not parse_overlay's (which refuses keys it does not
// know): taken out once the checker has collected it.
void drop_keys(Settings& conf) {
    for (auto& sec : conf.sections) {
        if (sec.name != "personalnet") continue;
        Settings& s = sec.body;
        for (size_t i = s.values.size(); i-- > 0;) {
            if (s.values[i].first != "keys") continue;
            s.values.erase(s.values.begin() + static_cast<long>(i));
            if (i < s.lines.size()) s.lines.erase(s.lines.begin() + static_cast<long>(i));
        }
    }
}

}  // namespace

bool public_key_auth(const std::string& auth) {
    std::string method;
    for (char c : auth.substr(0, auth.find_first_of("-:/")))
        method += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return method == "pubkey" || method == "rsa" || method == "ecdsa" || method == "ed25519" ||
           method == "ed448";
}

Result<UserDefinition> parse_user_definition(const std::string& name, const std::string& text,
                                             const std::string& path, const HostFacts& host) {
    PN_TRY(validate_overlay_name(name), "");
    auto parsed = parse_settings(
        text, path, std::string("'include' is not allowed in a user's network definition (") + kPath + ")");
    if (!parsed.ok()) return one_line(parsed.error());
    Settings& conf = parsed.value();
    UserDefinition def;
    if (auto checked = Checker(path, host, def).check(conf); !checked.ok()) return one_line(checked.error());
    drop_keys(conf);
    auto overlay = overlay_from_settings(name, std::move(conf), path, path);
    if (!overlay.ok()) return one_line(overlay.error());
    def.overlay = std::move(overlay).value();
    def.claims.insert(def.claims.begin(), def.overlay.addresses.begin(), def.overlay.addresses.end());
    return def;
}

}  // namespace personalnet::ike
