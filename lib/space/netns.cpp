#include "lib/space/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "lib/core/sys.hpp"

namespace personalnet::space {

Result<NetnsSwitch> NetnsSwitch::enter(int target_fd) {
    auto home = sys::open_current_netns();
    if (!home.ok()) return home.error();
    PN_TRY(sys::enter_netns(target_fd), "enter network namespace");
    return NetnsSwitch(std::move(home).value());
}

NetnsSwitch::~NetnsSwitch() {
    if (home_.valid() && ::setns(home_.get(), CLONE_NEWNET) != 0) {
        std::perror("personalnet: cannot return to the original network namespace");
        std::abort();
    }
}

Result<UniqueFd> new_netns() {
    auto home = sys::open_current_netns();
    if (!home.ok()) return home.error();
    if (::unshare(CLONE_NEWNET) != 0) return errno_error("unshare(CLONE_NEWNET)");
    auto fresh = sys::open_current_netns();
    if (::setns(home->get(), CLONE_NEWNET) != 0) {
        std::perror("personalnet: cannot return to the original network namespace");
        std::abort();
    }
    return fresh;
}

Status pin_netns(int ns_fd, const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (fd < 0) return errno_error("create pin " + path);
    ::close(fd);
    std::string src = "/proc/self/fd/" + std::to_string(ns_fd);
    if (::mount(src.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        Error e = errno_error("bind-mount namespace onto " + path);
        (void)::unlink(path.c_str());
        return e;
    }
    return {};
}

Status unpin(const std::string& path) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
        return errno_error("unmount " + path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path);
    return {};
}

uint64_t pinned_inode(const std::string& path) {
    struct statfs fs {};
    struct stat st {};
    if (::statfs(path.c_str(), &fs) != 0 || fs.f_type != NSFS_MAGIC) return 0;
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_ino;
}

namespace {
// Whether /proc/PID/stat names one of parents as the parent process.
bool is_child_of_any(const char* pid, std::initializer_list<pid_t> parents) {
    auto stat = sys::read_file(std::string("/proc/") + pid + "/stat");
    if (!stat.ok()) return false;
    auto close = stat->rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) return false;
    long ppid = 0;
    if (std::sscanf(stat->c_str() + close + 1, " %*c %ld", &ppid) != 1) return false;
    return std::find(parents.begin(), parents.end(), static_cast<pid_t>(ppid)) != parents.end();
}
}  // namespace

bool netns_has_processes(uint64_t inode, std::initializer_list<pid_t> ignore) {
    DIR* d = ::opendir("/proc");
    if (d == nullptr) return true;  // cannot tell: assume alive, never tear down a live space
    pid_t self = ::getpid();
    bool found = false;
    while (struct dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self) continue;
        if (std::find(ignore.begin(), ignore.end(), static_cast<pid_t>(pid)) != ignore.end()) continue;
        struct stat st {};
        std::string p = std::string("/proc/") + e->d_name + "/ns/net";
        if (::stat(p.c_str(), &st) != 0 || st.st_ino != inode) continue;
        if (ignore.size() != 0 && is_child_of_any(e->d_name, ignore)) continue;  // a daemon's own child
        found = true;
        break;
    }
    ::closedir(d);
    return found;
}

}  // namespace personalnet::space
