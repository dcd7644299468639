// Reading the policy: parse_policy turns settings into a checked Policy, load_policy
// decides whether the file on disk may be believed at all.
#include "lib/policy/policy.hpp"

#include <netinet/in.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <set>

#include "lib/core/limits.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/settings.hpp"
#include "lib/policy/names.hpp"
#include "lib/policy/networks_read.hpp"
#include "lib/policy/reader.hpp"

namespace personalnet::policy {

namespace {

constexpr off_t kMaxSize = off_t{1} << 20;
constexpr int kMaxCount = 65535;                       // space labels are 16 bits and label 0 is reserved
constexpr uint64_t kMinLayerSize = uint64_t{1} << 20;  // less and a space's seeded /etc would not fit
constexpr uint64_t kMaxLayerSize = uint64_t{1} << 50;

Status read_top(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    if (key == "admin") {
        auto b = r.boolean(key, v);
        if (!b.ok()) return b.error();
        p.admin = b.value();
        return {};
    }
    std::string* dir = nullptr;
    if (key == "rundir") dir = &p.rundir;
    if (key == "statedir") dir = &p.statedir;
    if (key == "overlaydir") dir = &p.overlaydir;
    if (key == "cgroupdir") dir = &p.cgroupdir;
    if (dir == nullptr)
        return r.fail("unknown setting '" + key + "' (want admin, rundir, statedir, overlaydir, cgroupdir)");
    auto path = r.path(key, v, false);
    if (!path.ok()) return path.error();
    *dir = std::move(path).value();
    return {};
}

// One entry of create.publish: [tcp/|udp/]PORT[-PORT].
Result<PortRange> port_range(const SettingsReader& r, const std::string& item) {
    const std::string why =
        "is not a port or range of ports from 1 to 65535 (PORT or LOW-HIGH, "
        "optionally after tcp/ or udp/)";
    PortRange range;
    std::string ports = item;
    if (ports.rfind("tcp/", 0) == 0 || ports.rfind("udp/", 0) == 0) {
        range.proto = ports[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
        ports = ports.substr(4);
    }
    const auto dash = ports.find('-');
    auto low = r.number("create.publish", ports.substr(0, dash), 1, 65535);
    auto high =
        dash == std::string::npos ? low : r.number("create.publish", ports.substr(dash + 1), 1, 65535);
    if (!low.ok() || !high.ok() || high.value() < low.value()) return r.bad("create.publish", item, why);
    range.low = static_cast<uint16_t>(low.value());
    range.high = static_cast<uint16_t>(high.value());
    return range;
}

Status read_create(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    if (key == "share_pids") {
        auto b = r.boolean("create.share_pids", v);
        if (!b.ok()) return b.error();
        p.share_pids = b.value();
        return {};
    }
    if (key == "publish") {
        auto items = r.list("create.publish", v);
        if (!items.ok()) return items.error();
        p.publish.clear();
        for (const auto& item : items.value()) {
            auto range = port_range(r, item);
            if (!range.ok()) return range.error();
            p.publish.push_back(range.value());
        }
        return {};
    }
    if (key != "users" && key != "groups")
        return r.fail("unknown setting 'create." + key + "' (want users, groups, publish, share_pids)");
    auto names = r.names("create." + key, v);
    if (!names.ok()) return names.error();
    (key == "users" ? p.users : p.groups) = std::move(names).value();
    return {};
}

// A size in bytes: decimal digits with an optional binary suffix K, M, G or T (KiB, MiB,
// GiB, TiB), from 1M to 1024T, or "unlimited" (0).
Result<uint64_t> size(const SettingsReader& r, const std::string& key, const std::string& v) {
    if (v == "unlimited") return uint64_t{0};
    const std::string why = "is not a size from 1M to 1024T (digits with a suffix K, M, G or T) or unlimited";
    std::string digits = v;
    unsigned shift = 0;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'K':
                shift = 10;
                break;
            case 'M':
                shift = 20;
                break;
            case 'G':
                shift = 30;
                break;
            case 'T':
                shift = 40;
                break;
            default:
                break;
        }
        if (shift != 0) digits.pop_back();
    }
    bool ok = !digits.empty() && digits.size() <= 13 && (digits == "0" || digits[0] != '0');
    for (unsigned char c : digits) ok = ok && std::isdigit(c) != 0;
    uint64_t n = 0;
    if (!ok || std::from_chars(digits.data(), digits.data() + digits.size(), n).ec != std::errc{})
        return r.bad(key, v, why);
    if (n > (kMaxLayerSize >> shift)) return r.bad(key, v, why);
    n <<= shift;
    if (n < kMinLayerSize) return r.bad(key, v, why);
    return n;
}

Status read_limits(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    if (key == "max_layer_size") {
        auto n = size(r, "limits." + key, v);
        if (!n.ok()) return n.error();
        p.max_layer_size = n.value();
        return {};
    }
    int* field = nullptr;
    if (key == "max_spaces_per_user") field = &p.max_spaces_per_user;
    if (key == "max_spaces") field = &p.max_spaces;
    if (key == "max_depth") field = &p.max_depth;
    if (field == nullptr)
        return r.fail("unknown setting 'limits." + key +
                      "' (want max_spaces_per_user, max_spaces, max_depth, max_layer_size)");
    auto n = key == "max_depth" ? r.number("limits." + key, v, 1, kMaxDepth)
                                : r.number("limits." + key, v, 0, kMaxCount);
    if (!n.ok()) return n.error();
    *field = n.value();
    return {};
}

Status read_overlay(const SettingsReader& r, const std::string& name, const std::string& v, Policy& p) {
    // load_overlay refuses names starting with '.', so such an entry could never apply.
    if (!is_name(name) || name[0] == '.')
        return r.fail("overlays: '" + name +
                      "' is not an overlay name (want 1-32 of A-Z a-z 0-9 _ . -, "
                      "not starting with - or .)");
    const std::string key = "overlays." + name;
    auto items = r.list(key, v);
    if (!items.ok()) return items.error();
    const auto& groups = items.value();
    bool star = std::find(groups.begin(), groups.end(), "*") != groups.end();
    if (star && groups.size() > 1) return r.bad(key, v, "mixes '*' with group names");
    if (!star) {
        auto names = r.names(key, v);
        if (!names.ok()) return names.error();
    }
    p.overlays.emplace_back(name, std::move(items).value());
    return {};
}

Status read_share(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    if (key != "paths") return r.fail("unknown setting 'share." + key + "' (want paths)");
    auto items = r.list("share.paths", v);
    if (!items.ok()) return items.error();
    p.share_paths.clear();
    for (const auto& item : items.value()) {
        auto path = r.path("share.paths", item, true);
        if (!path.ok()) return path.error();
        p.share_paths.push_back(std::move(path).value());
    }
    return {};
}

// resources { }: one table row per setting, so that more (bandwidth) join as rows.
template <auto Limits, auto Field, auto Parse>
Status resource(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    auto n = Parse(v, "resources." + key);
    if (!n.ok()) return r.fail(n.error().context);
    (p.*Limits).*Field = n.value();
    return {};
}

// RATE or IN/OUT: both directions of a bandwidth at once.
template <auto Limits>
Status bandwidth_setting(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    if (auto st = parse_bandwidth(v, p.*Limits); !st.ok())
        return r.bad("resources." + key, v,
                     "is not RATE or IN/OUT (bits per second, e.g. 10M, 100M/10M, 1.5Mbit, 500k; k, M, G: "
                     "powers of 1000; from 8k to 100G)");
    return {};
}

struct ResourceSetting {
    const char* key;
    Status (*read)(const SettingsReader&, const std::string&, const std::string&, Policy&);
};
constexpr ResourceSetting kResourceSettings[] = {
    {"max_cpu", resource<&Policy::max_resources, &ResourceLimits::cpu_milli, parse_cpu>},
    {"max_memory", resource<&Policy::max_resources, &ResourceLimits::memory_bytes, parse_size>},
    {"max_pids", resource<&Policy::max_resources, &ResourceLimits::pids, parse_pids>},
    {"cpu", resource<&Policy::default_resources, &ResourceLimits::cpu_milli, parse_cpu>},
    {"memory", resource<&Policy::default_resources, &ResourceLimits::memory_bytes, parse_size>},
    {"pids", resource<&Policy::default_resources, &ResourceLimits::pids, parse_pids>},
    {"io_weight", resource<&Policy::default_resources, &ResourceLimits::io_weight, parse_io_weight>},
    {"max_bandwidth", bandwidth_setting<&Policy::max_resources>},
    {"bandwidth", bandwidth_setting<&Policy::default_resources>},
};

Status read_resources(const SettingsReader& r, const std::string& key, const std::string& v, Policy& p) {
    for (const auto& s : kResourceSettings)
        if (key == s.key) return s.read(r, key, v, p);
    std::string want;
    for (const auto& s : kResourceSettings) want += std::string(want.empty() ? "" : ", ") + s.key;
    return r.fail("unknown setting 'resources." + key + "' (want " + want + ")");
}

// A default above its maximum would refuse every creation that asks nothing.
Status check_resources(const SettingsReader& r, const Policy& p) {
    const auto& d = p.default_resources;
    const auto& m = p.max_resources;
    if (m.cpu_milli && d.cpu_milli > m.cpu_milli) return r.fail("resources.cpu is above resources.max_cpu");
    if (m.memory_bytes && d.memory_bytes > m.memory_bytes)
        return r.fail("resources.memory is above resources.max_memory");
    if (m.pids && d.pids > m.pids) return r.fail("resources.pids is above resources.max_pids");
    if (m.rate_in && (d.rate_in > m.rate_in || d.rate_out > m.rate_out))
        return r.fail("resources.bandwidth is above resources.max_bandwidth");
    return {};
}

using SectionReader = Status (*)(const SettingsReader&, const std::string&, const std::string&, Policy&);

SectionReader section_reader(const std::string& name) {
    if (name == "create") return read_create;
    if (name == "limits") return read_limits;
    if (name == "overlays") return read_overlay;
    if (name == "share") return read_share;
    if (name == "resources") return read_resources;
    return nullptr;
}

// The nearest directory above path that exists (path itself does not).
Result<std::string> nearest_existing_parent(std::string path) {
    for (;;) {
        size_t slash = path.rfind('/');
        path = slash == 0 ? "/" : path.substr(0, slash);
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) return path;
        if (errno != ENOENT || path == "/") return errno_error("stat " + path);
    }
}

}  // namespace

std::string PortRange::str() const {
    std::string out = proto == IPPROTO_TCP ? "tcp/" : proto == IPPROTO_UDP ? "udp/" : "";
    out += std::to_string(low);
    if (high != low) out += "-" + std::to_string(high);
    return out;
}

Result<Policy> parse_policy(const std::string& text, const std::string& where) {
    auto parsed = ike::parse_settings(text, where);
    if (!parsed.ok()) return parsed.error();
    const ike::Settings& conf = parsed.value();
    SettingsReader r(where);
    Policy p;
    for (const auto& [key, value] : conf.values) {
        PN_TRY(r.once(key, "setting"), "");
        PN_TRY(read_top(r, key, value, p), "");
    }
    for (const auto& section : conf.sections) {
        if (section.name == "networks") {
            // The one section with sections of its own (per user and group).
            PN_TRY(r.once(section.name, "section"), "");
            PN_TRY(read_networks(r, section.body, p.networks), "");
            continue;
        }
        SectionReader read = section_reader(section.name);
        if (read == nullptr)
            return r.fail("unknown section '" + section.name +
                          "' (want create, limits, overlays, share, resources, networks)");
        PN_TRY(r.once(section.name, "section"), "");
        if (!section.body.sections.empty())
            return r.fail("unknown section '" + section.name + "." + section.body.sections.front().name +
                          "'");
        for (const auto& [key, value] : section.body.values) {
            PN_TRY(r.once(section.name + "." + key, "setting"), "");
            PN_TRY(read(r, key, value, p), "");
        }
    }
    PN_TRY(check_resources(r, p), "");
    return p;
}

Result<Policy> load_policy(const std::string& path) {
    const std::string what = "policy";
    if (!is_clean_path(path) || path == "/")
        return make_error(EINVAL, what + ": '" + path + "' is not an absolute path to a file");
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) return errno_error(what + ": " + path);
        // Absence is only evidence if nobody but root could have caused it.
        auto dir = nearest_existing_parent(path);
        if (!dir.ok()) return dir.error().wrap(what + ": " + path);
        PN_TRY(sys::check_trusted_path(dir.value()),
               what + ": " + path + " is missing in an untrusted directory");
        return Policy{};
    }
    auto text = sys::read_trusted_file(path, what, kMaxSize);
    if (!text.ok()) return text.error();
    auto p = parse_policy(text.value(), path);
    if (!p.ok()) return p.error().wrap(what);
    return p;
}

}  // namespace personalnet::policy
