#include "lib/core/sys.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "lib/core/beneath.hpp"

namespace personalnet::sys {

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + path);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("read " + path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

static Status write_all(int fd, const std::string& data, const std::string& path) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write " + path);
        }
        off += static_cast<size_t>(n);
    }
    return {};
}

std::string read_to_eof(int fd, size_t limit) {
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (out.size() < limit) out.append(buf, std::min(static_cast<size_t>(n), limit - out.size()));
    }
    return out;
}

Status write_existing(const std::string& path, const std::string& data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + path);
    return write_all(fd.get(), data, path);
}

Status write_atomic(const std::string& path, const std::string& data) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return errno_error("create " + tmp);
    auto st = write_all(fd.get(), data, tmp);
    if (!st.ok()) {
        (void)::unlink(tmp.c_str());
        return st;
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        Error e = errno_error("rename " + tmp + " to " + path);
        (void)::unlink(tmp.c_str());
        return e;
    }
    return {};
}

void remove_stale_temps(const std::string& dir) {
    auto names = list_dir(dir);
    if (!names.ok()) return;
    for (const auto& n : names.value()) {
        if (n.find(".tmp.") == std::string::npos) continue;
        std::string path = dir;
        path += '/';
        path += n;
        (void)::unlink(path.c_str());
    }
}

static std::string sysctl_path(const std::string& key) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    return path;
}

Result<std::string> get_sysctl(const std::string& key) {
    auto v = read_file(sysctl_path(key));
    if (!v.ok()) return v.error().wrap("sysctl " + key);
    std::string s = v.value();
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

Status set_sysctl(const std::string& key, const std::string& value) {
    std::string path = sysctl_path(key);
    auto st = write_existing(path, value);
    if (!st.ok()) return st.error().wrap("sysctl " + key);
    return {};
}

Status make_dirs(const std::string& path, mode_t mode) {
    // Usually all there: one call then, not one per component (every command opens the
    // registry's eight directories this way).
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return errno_error("mkdir " + cur);
    }
    return {};
}

Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error("open " + path);
    return UniqueFd(fd);
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return errno_error("opendir " + path);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
    return out;
}

Result<bool> any_entry(const std::string& path,
                       const std::function<bool(int dir_fd, const char* name)>& wanted) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT) return false;
        return errno_error("open " + path);
    }
    // readdir's buffer is 32 KiB: a thousand entries before the first is looked at.
    alignas(dirent64) char buf[4096];
    for (;;) {
        const ssize_t n = ::getdents64(fd.get(), buf, sizeof buf);
        if (n < 0) return errno_error("read " + path);
        if (n == 0) return false;
        for (ssize_t off = 0; off < n;) {
            const auto* e = reinterpret_cast<const dirent64*>(buf + off);
            off += e->d_reclen;
            const std::string_view name(e->d_name);
            if (name == "." || name == "..") continue;
            if (wanted(fd.get(), e->d_name)) return true;
        }
    }
}

Result<UniqueFd> open_current_netns() { return open_fd("/proc/thread-self/ns/net", O_RDONLY); }

Result<ino_t> current_netns_inode() {
    struct stat st {};
    if (::stat("/proc/thread-self/ns/net", &st) != 0) return errno_error("identify this network namespace");
    return st.st_ino;
}

Result<ino_t> inode_of_fd(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error("fstat");
    return st.st_ino;
}

Status enter_netns(int fd) {
    if (::setns(fd, CLONE_NEWNET) != 0) return errno_error("setns(CLONE_NEWNET)");
    return {};
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

std::vector<long> nspids(const std::string& dir) {
    std::vector<long> out;
    auto status = read_file(dir + "/status");
    if (!status.ok()) return out;
    auto at = status->find("\nNSpid:");
    if (at == std::string::npos) return out;
    const char* p = status->c_str() + at + 7;
    for (;;) {
        char* end = nullptr;
        long v = std::strtol(p, &end, 10);
        if (end == p) break;
        out.push_back(v);
        p = end;
        if (*p == '\n' || *p == '\0') break;
    }
    return out;
}

std::string proc_dir(pid_t pid) {
    std::string plain = "/proc/" + std::to_string(pid);
    char self[32];
    ssize_t n = ::readlink("/proc/self", self, sizeof self - 1);
    if (n <= 0) return plain;
    self[n] = '\0';
    if (std::strtol(self, nullptr, 10) == ::getpid()) return plain;
    const size_t level = nspids("/proc/self").size();
    if (level == 0) return plain;
    auto entries = list_dir("/proc");
    if (!entries.ok()) return plain;
    for (const auto& e : entries.value()) {
        if (e[0] < '1' || e[0] > '9') continue;
        auto ids = nspids("/proc/" + e);
        if (ids.size() >= level && ids[level - 1] == pid) return "/proc/" + e;
    }
    return plain;
}

void close_fds_from(int first, int keep) {
    if (keep < first) {
        (void)::syscall(SYS_close_range, first, ~0U, 0);
        return;
    }
    if (keep > first) (void)::syscall(SYS_close_range, first, keep - 1, 0);
    (void)::syscall(SYS_close_range, keep + 1, ~0U, 0);
}

}  // namespace personalnet::sys

namespace personalnet::sys {

Status remove_tree(const std::string& path) {
    // The last component is opened without following it, and everything below is removed
    // relative to descriptors (lib/core/beneath): a directory swapped for a symbolic link
    // meanwhile is unlinked, never entered.
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) {
        if (errno == ENOENT) return {};
        if (errno != ELOOP && errno != ENOTDIR) return errno_error("remove " + path);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path);
        return {};
    }
    PN_TRY(clear_dir(dir.get()), "remove " + path);
    dir.reset();
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path);
    return {};
}

UniqueFd pidfd_of(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

bool wait_exit(int pidfd, int timeout_ms) {
    struct pollfd p = {pidfd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
}

bool is_mountpoint(const std::string& path) {
    struct statx here {};
    struct statx above {};
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &here) != 0) return false;
    if (::statx(AT_FDCWD, (path + "/..").c_str(), 0, STATX_MNT_ID, &above) != 0) return false;
    return here.stx_mnt_id != above.stx_mnt_id;
}

bool in_initial_user_namespace() {
    // The kernel gives the initial user namespace a fixed inode number (PROC_USER_INIT_INO).
    constexpr ino_t kInitialUserNamespace = 0xEFFFFFFDU;
    struct stat st {};
    return ::stat("/proc/self/ns/user", &st) == 0 && st.st_ino == kInitialUserNamespace;
}

}  // namespace personalnet::sys
