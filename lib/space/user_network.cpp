#include "lib/space/user_network.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/credentials.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/netlink/netlink.hpp"

namespace personalnet::space {

namespace {

constexpr size_t kMaxDefinition = 65536;

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// A file of at most max bytes, as the caller sees it; what names it in errors. With
// private_only, one that group or others may read is refused (like ssh's keys).
Result<std::string> read_user_file(const std::string& path, const std::string& what, size_t max_bytes,
                                   bool private_only) {
    const auto max = static_cast<off_t>(max_bytes);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error(what + " '" + path + "'");
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, what + " '" + path + "' is not a regular file");
    if (st.st_size > max)
        return make_error(EINVAL,
                          what + " '" + path + "' is larger than " + std::to_string(max / 1024) + " KiB");
    if (private_only && (st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return make_error(EPERM, what + " '" + path + "' may be read by other users (mode " + mode +
                                     "); make it private: chmod 600 '" + path + "'");
    }
    auto bytes = sys::read_file(path);
    if (!bytes.ok()) return bytes.error().wrap(what);
    if (bytes->empty()) return make_error(EINVAL, what + " '" + path + "' is empty");
    if (bytes->size() > static_cast<size_t>(max))
        return make_error(EINVAL,
                          what + " '" + path + "' is larger than " + std::to_string(max / 1024) + " KiB");
    return bytes;
}

std::string directory_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_from_file(const std::string& path) {
    std::string base = path.substr(path.rfind('/') + 1);
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".conf") == 0) base.resize(base.size() - 5);
    return base;
}

const std::string* file_bytes(const UserNetwork& n, const std::string& name) {
    for (const auto& [f, bytes] : n.files)
        if (f == name) return &bytes;
    return nullptr;
}

// Replaces every item of key in the sections of conf whose name starts with prefix
// (connections.C.localX / remoteX) by what item() makes of it.
Status rewrite_items(ike::Settings& conf, const char* prefix, const char* key,
                     const std::function<Result<std::string>(const std::string&)>& item) {
    for (auto& top : conf.sections) {
        if (top.name != "connections") continue;
        for (auto& conn : top.body.sections)
            for (auto& round : conn.body.sections) {
                if (round.name.rfind(prefix, 0) != 0) continue;
                for (auto& [k, v] : round.body.values) {
                    if (k != key) continue;
                    std::string out;
                    for (const auto& name : ike::list_items(v)) {
                        auto made = item(name);
                        if (!made.ok()) return made.error();
                        out += (out.empty() ? "" : ", ") + made.value();
                    }
                    v = out;
                }
            }
    }
    return {};
}

}  // namespace

Result<UserNetwork> read_user_network(const SpaceSpec& spec, const Context& ctx) {
    UserNetwork n;
    if (!spec.user_network.empty()) return spec.user_network;
    if (!spec.network_file.empty()) {
        n.path = spec.network_file;
        if (n.path[0] != '/') {
            char cwd[PATH_MAX];
            if (::getcwd(cwd, sizeof cwd) == nullptr) return errno_error("--network-file '" + n.path + "'");
            n.path = std::string(cwd) + "/" + n.path;
        }
        n.name = spec.overlay.empty() ? name_from_file(spec.network_file) : spec.overlay;
    } else if (!spec.overlay.empty() && !ctx.user_networkdir.empty()) {
        const std::string candidate = ctx.user_networkdir + "/" + spec.overlay + ".conf";
        if (ike::validate_overlay_name(spec.overlay).ok() && exists(candidate)) {
            n.path = candidate;
            n.name = spec.overlay;
        }
    }
    if (n.path.empty()) return n;
    PN_TRY(ike::validate_overlay_name(n.name), "network '" + n.path + "'");
    if (std::any_of(n.path.begin(), n.path.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return make_error(EINVAL, "network definition '" + n.path + "': a path with a control character");
    auto text = read_user_file(n.path, "network definition", kMaxDefinition, false);
    if (!text.ok()) return text.error();
    n.text = std::move(text).value();
    if (auto nul = n.text.find('\0'); nul != std::string::npos)
        return make_error(EINVAL, "network definition '" + n.path + "' holds a NUL byte (at offset " +
                                      std::to_string(nul) + "): not a text file");
    // The allow-list here too, for the user's own clear errors (and to learn the files);
    // root checks it again.
    auto host = host_facts_here();
    if (!host.ok()) return host.error();
    auto def = ike::parse_user_definition(n.name, n.text, n.path, host.value());
    if (!def.ok()) return def.error();
    const std::string dir = directory_of(n.path);
    auto add = [&](const ike::Reference& ref, bool key) -> Status {
        if (file_bytes(n, ref.name) != nullptr) return {};
        const std::string path = ref.name[0] == '/' ? ref.name : dir + "/" + ref.name;
        auto bytes = read_user_file(path, key ? "key file" : "certificate file", kMaxCredentialFile, key);
        if (!bytes.ok()) return bytes.error().wrap(n.path + ":" + std::to_string(ref.line));
        n.files.emplace_back(ref.name, std::move(bytes).value());
        return {};
    };
    // Keys first: a file named both ways (a PEM bundle) is still checked as a key.
    for (const auto& ref : def->keys) PN_TRY(add(ref, true), "");
    for (const auto& ref : def->certs) PN_TRY(add(ref, false), "");
    return n;
}

Result<ike::HostFacts> host_facts_here() {
    auto nl = netlink::Socket::open();
    if (!nl.ok()) return nl.error().wrap("this host's addresses");
    auto addrs = netlink::list_addresses(nl.value(), AF_UNSPEC);
    if (!addrs.ok()) return addrs.error().wrap("this host's addresses");
    ike::HostFacts host;
    for (const auto& a : addrs.value())
        if (std::find(host.addresses.begin(), host.addresses.end(), a.prefix.addr) == host.addresses.end())
            host.addresses.push_back(a.prefix.addr);
    return host;
}

Result<ike::UserDefinition> check_user_network(const UserNetwork& n, const ike::HostFacts& host) {
    auto def = ike::parse_user_definition(n.name, n.text, n.path, host);
    if (!def.ok()) return def.error();
    std::vector<std::string> named;
    for (const auto* refs : {&def->certs, &def->keys})
        for (const auto& ref : *refs) {
            const std::string at = n.path + ":" + std::to_string(ref.line) + ": '" + ref.name + "'";
            const std::string* bytes = file_bytes(n, ref.name);
            if (bytes == nullptr)
                return make_error(EINVAL, at + ": the file was not sent with the definition");
            // What charon would refuse later, refused now, naming the file.
            if (refs == &def->certs) {
                auto der = ike::certificate_der(*bytes);
                if (!der.ok()) return der.error().wrap(at);
            } else {
                auto key = ike::read_private_key(*bytes);
                if (!key.ok()) return key.error().wrap(at);
            }
            named.push_back(ref.name);
        }
    for (const auto& [name, bytes] : n.files) {
        if (std::find(named.begin(), named.end(), name) == named.end())
            return make_error(EINVAL, "network '" + n.name + "': a file '" + name + "' was sent that " +
                                          n.path + " does not name");
        if (bytes.empty() || bytes.size() > kMaxCredentialFile)
            return make_error(EINVAL,
                              "network '" + n.name + "': the file '" + name + "' is empty or over 48 KiB");
    }
    return def;
}

Result<ike::OverlayDefinition> with_credentials(ike::UserDefinition def, const UserNetwork& n,
                                                const std::string& trustdir) {
    ike::Settings& conf = def.overlay.swanctl;
    PN_TRY(rewrite_items(conf, "local", "certs",
                         [&](const std::string& name) -> Result<std::string> {
                             const std::string* bytes = file_bytes(n, name);
                             if (bytes == nullptr)
                                 return make_error(EINVAL, "network '" + n.name + "': certificate '" + name +
                                                               "' was not sent");
                             return ike::data_item(*bytes);
                         }),
           "");
    PN_TRY(rewrite_items(conf, "remote", "cacerts",
                         [&](const std::string& name) -> Result<std::string> {
                             // A plain name (the allow-list refused any '/').
                             auto bytes = sys::read_trusted_file(trustdir + "/" + name,
                                                                 "CA certificate '" + name + "'",
                                                                 static_cast<off_t>(kMaxCredentialFile));
                             if (!bytes.ok())
                                 return bytes.error().wrap("network '" + n.name + "' (" + n.path + ")");
                             return ike::data_item(bytes.value());
                         }),
           "");
    if (!def.keys.empty()) {
        std::string keys;
        for (const auto& ref : def.keys)
            keys += (keys.empty() ? "" : ", ") + ike::data_item(*file_bytes(n, ref.name));
        ike::Settings::Section credentials;
        credentials.name = ike::kCredentialsSection;
        credentials.body.values.emplace_back(ike::kKeysKey, std::move(keys));
        conf.sections.push_back(std::move(credentials));
    }
    def.overlay.path = n.path;
    def.overlay.user = true;
    return std::move(def.overlay);
}

}  // namespace personalnet::space
