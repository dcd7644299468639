#include "lib/slurm/spank_options.hpp"

#include <cerrno>

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

Result<PluginConfig> parse_plugin_args(const std::vector<std::string>& args) {
    PluginConfig c;
    bool seen_partitions = false, seen_files = false;
    for (const auto& a : args) {
        const auto eq = a.find('=');
        const std::string key = a.substr(0, eq), value = eq == std::string::npos ? "" : a.substr(eq + 1);
        const std::string where = "plugstack.conf: personalnet: ";
        if (eq == std::string::npos || value.empty())
            return make_error(EINVAL, where + "'" + a + "' is not KEY=VALUE");
        if (key == "partitions") {
            if (seen_partitions) return make_error(EINVAL, where + "partitions given twice");
            seen_partitions = true;
            c.partitions = ike::list_items(value);
            if (c.partitions.empty()) return make_error(EINVAL, where + "'" + a + "' names no partition");
            for (const auto& p : c.partitions)
                if (!valid_partition(p))
                    return make_error(EINVAL, where + "'" + p + "' is not a partition name");
        } else if (key == "files") {
            if (seen_files) return make_error(EINVAL, where + "files given twice");
            seen_files = true;
            auto f = parse_files(value);
            if (!f.ok()) return make_error(EINVAL, where + "files: '" + value + "' is not volatile or none");
            c.files = f.value();
        } else {
            return make_error(EINVAL, where + "unknown argument '" + a + "'");
        }
    }
    return c;
}

std::string job_space_name(unsigned job_id) { return "job-" + std::to_string(job_id); }

}  // namespace personalnet::slurm
