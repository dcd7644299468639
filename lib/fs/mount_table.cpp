#include "lib/fs/mount_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <sstream>

#include "lib/core/sys.hpp"

namespace personalnet::fs {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        bool octal = s[i] == '\\' && i + 3 < s.size() &&
                     std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                                 [](char c) { return c >= '0' && c <= '7'; });
        if (!octal) {
            out += s[i];
            continue;
        }
        out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
        i += 3;
    }
    return out;
}

constexpr std::array kPseudo = {
    "proc",      "sysfs",       "devtmpfs",   "devpts", "mqueue",   "cgroup",     "cgroup2",
    "debugfs",   "tracefs",     "securityfs", "bpf",    "pstore",   "fusectl",    "configfs",
    "hugetlbfs", "binfmt_misc", "autofs",     "nsfs",   "efivarfs", "rpc_pipefs", "selinuxfs",
};

bool is_user_fuse(const std::string& fstype, const std::string& options) {
    if (fstype != "fuse" && fstype != "fuseblk" && fstype.rfind("fuse.", 0) != 0) return false;
    std::istringstream opts(options);
    for (std::string o; std::getline(opts, o, ',');)
        if (o.rfind("user_id=", 0) == 0) return o != "user_id=0";
    return true;  // no owner named: not root's for sure
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
    std::vector<MountEntry> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point, word;
        if (!(fields >> id >> parent >> devno >> root >> point)) continue;
        while (fields >> word && word != "-") {
        }
        std::string fstype, source, options;
        if (!(fields >> fstype)) continue;
        fields >> source >> options;
        MountEntry e{unescape(point), fstype, is_user_fuse(fstype, options), unescape(root)};
        auto same =
            std::find_if(out.begin(), out.end(), [&](const MountEntry& o) { return o.point == e.point; });
        if (same != out.end()) {
            // A mount stacked on an earlier one hides it and everything under it.
            std::string top = e.point;
            out.erase(std::remove_if(out.begin(), out.end(),
                                     [&](const MountEntry& o) { return path_is_under(o.point, top); }),
                      out.end());
        }
        out.push_back(std::move(e));
    }
    return out;
}

Result<std::vector<MountEntry>> read_mount_table() {
    auto text = sys::read_file("/proc/self/mountinfo");
    if (!text.ok()) return text.error().wrap("read the mount table");
    return parse_mountinfo(text.value());
}

bool path_is_under(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           (dir == "/" || path[dir.size()] == '/'));
}

bool is_live_mount(const MountEntry& m) {
    for (const char* top : {"/proc", "/sys", "/dev", "/run"})
        if (path_is_under(m.point, top)) return true;
    return std::find(kPseudo.begin(), kPseudo.end(), m.fstype) != kPseudo.end();
}

std::string mount_key(const std::string& point) {
    std::string out;
    for (size_t i = point[0] == '/' ? 1 : 0; i < point.size(); ++i) {
        auto c = static_cast<unsigned char>(point[i]);
        if (std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-') {
            out += static_cast<char>(c);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

}  // namespace personalnet::fs
