#include "lib/slurm/spank_options.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "lib/core/labels.hpp"
#include "lib/ike/overlay_config.hpp"
#include "lib/ike/swanctl_convert.hpp"

namespace personalnet::slurm {

namespace {

// A partition name as slurm.conf allows it, kept strict: the names are matched against
// the job's partition, never used as paths.
bool valid_partition(const std::string& p) {
    if (p.empty() || p.size() > 64) return false;
    for (char c : p)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    return true;
}

// A directory or file the administrator names: absolute, no empty, "." or ".." component.
bool absolute_clean(const std::string& p) {
    if (p.empty() || p[0] != '/' || p.size() > 4096) return false;
    size_t start = 1;
    while (start <= p.size()) {
        size_t end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        const std::string part = p.substr(start, end - start);
        if (part.empty() ? end != p.size() : (part == "." || part == "..")) return false;
        start = end + 1;
    }
    return std::none_of(p.begin(), p.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
}

}  // namespace

Result<Files> parse_files(const std::string& value) {
    if (value == "volatile") return Files::volatile_files;
    if (value == "none") return Files::none;
    return make_error(EINVAL, "personalnet-files: '" + value + "' is not volatile or none");
}

const char* files_word(Files f) { return f == Files::none ? "none" : "volatile"; }

Status check_network(const std::string& value) {
    if (value.empty()) return {};
    auto st = ike::validate_overlay_name(value);
    if (!st.ok()) return make_error(EINVAL, "personalnet: '" + value + "' is not a network name");
    return {};
}

namespace {

constexpr const char* kWhere = "plugstack.conf: personalnet: ";

// "plugstack.conf: personalnet: 'VALUE'SUFFIX".
Error refused(const std::string& value, const char* suffix) {
    std::string m = kWhere;
    m += '\'';
    m += value;
    m += '\'';
    m += suffix;
    return make_error(EINVAL, m);
}

// One KEY=VALUE argument (a) into c.
Status apply_arg(PluginConfig& c, const std::string& a, const std::string& key, const std::string& value) {
    if (key == "partitions") {
        c.partitions = ike::list_items(value);
        if (c.partitions.empty()) return refused(a, " names no partition");
        for (const auto& p : c.partitions)
            if (!valid_partition(p)) return refused(p, " is not a partition name");
    } else if (key == "networks") {
        c.networks = ike::list_items(value);
        if (c.networks.empty()) return refused(a, " names no network");
        for (const auto& n : c.networks)
            if (n.empty() || !check_network(n).ok()) return refused(n, " is not a network name");
    } else if (key == "files") {
        auto f = parse_files(value);
        if (!f.ok()) return make_error(EINVAL, kWhere + ("files: '" + value + "' is not volatile or none"));
        c.files = f.value();
    } else if (key == "secret" || key == "rundir" || key == "statedir" || key == "overlaydir" ||
               key == "libexecdir") {
        if (!absolute_clean(value)) return refused(a, ": not an absolute path without . or .. components");
        (key == "secret"       ? c.secret
         : key == "rundir"     ? c.rundir
         : key == "statedir"   ? c.statedir
         : key == "overlaydir" ? c.overlaydir
                               : c.libexecdir) = value;
    } else if (key == "labels") {
        const auto dash = value.find('-');
        auto first = ike::parse_label(value.substr(0, dash));
        auto last = dash == std::string::npos ? first : ike::parse_label(value.substr(dash + 1));
        if (!first || !last) return refused(a, ": not a label range (0xNNNN-0xNNNN)");
        if (*first > *last) return refused(a, ": the range is empty");
        for (uint32_t l = *first; l <= *last; ++l)
            if (label_reserved(static_cast<uint16_t>(l)))
                return refused(
                    a, (": holds reserved label " + ike::label_text(static_cast<uint16_t>(l))).c_str());
        c.first_label = *first;
        c.last_label = *last;
    } else if (key == "addresses") {
        auto prefix = IpPrefix::parse(value);
        if (!prefix || prefix->addr.family != AF_INET) return refused(a, ": not an IPv4 prefix");
        if (prefix->len < 8 || prefix->len > 28) return refused(a, ": the prefix length must be 8 to 28");
        c.addresses = *prefix;
    } else if (key == "wait") {
        int seconds = -1;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc() || end != value.data() + value.size() || seconds < 0 || seconds > 600)
            return refused(a, ": not a number of seconds from 0 to 600");
        c.wait_seconds = seconds;
    } else {
        return make_error(EINVAL, kWhere + ("unknown argument '" + a + "'"));
    }
    return {};
}

}  // namespace

Result<PluginConfig> parse_plugin_args(const std::vector<std::string>& args) {
    PluginConfig c;
    std::vector<std::string> seen;
    for (const auto& a : args) {
        const auto eq = a.find('=');
        const std::string key = a.substr(0, eq), value = eq == std::string::npos ? "" : a.substr(eq + 1);
        if (eq == std::string::npos || value.empty()) return refused(a, " is not KEY=VALUE");
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
            std::string m = kWhere;
            m += key;
            m += " given twice";
            return make_error(EINVAL, m);
        }
        seen.push_back(key);
        PN_TRY(apply_arg(c, a, key, value), "");
    }
    return c;
}

std::string job_space_name(unsigned job_id) { return "job-" + std::to_string(job_id); }

}  // namespace personalnet::slurm
