#include "lib/core/cgroup_self.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "lib/core/sys.hpp"

namespace personalnet::sys {

namespace {

// A mount point as mountinfo writes it: space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string find_cgroup2_mount() {
    // Where systemd mounts it (unified, or hybrid as here), by the file system's magic:
    // the mount table grows with every pin of the run directory (thousands of spaces),
    // and the kernel writes all of it out at each read.
    for (const char* usual : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        struct statfs fs {};
        if (::statfs(usual, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return usual;
    }
    auto text = read_file("/proc/self/mountinfo");
    if (!text.ok()) return "";
    std::istringstream lines(text.value());
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream in(line);
        std::vector<std::string> f;
        for (std::string w; in >> w;) f.push_back(w);
        size_t dash = 0;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (f.size() > 4 && dash + 1 < f.size() && f[dash + 1] == "cgroup2") return unescape(f[4]);
    }
    return "";
}

}  // namespace

const std::string& cgroup2_mount() {
    static const std::string mount = find_cgroup2_mount();
    return mount;
}

UniqueFd open_own_cgroup() {
    if (cgroup2_mount().empty()) return UniqueFd();
    auto text = read_file("/proc/self/cgroup");
    if (!text.ok()) return UniqueFd();
    std::istringstream lines(text.value());
    for (std::string l; std::getline(lines, l);)
        if (l.rfind("0::", 0) == 0)
            return UniqueFd(::open((cgroup2_mount() + l.substr(3)).c_str(),
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    return UniqueFd();
}

Status enter_cgroup(int dir) {
    if (dir < 0) return {};
    UniqueFd procs(::openat(dir, "cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!procs.valid()) return errno_error("open cgroup.procs");
    const std::string pid = std::to_string(::getpid());
    if (::write(procs.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
        return errno_error("move into the cgroup");
    return {};
}

}  // namespace personalnet::sys
