#include "lib/space/reach.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <vector>

#include "lib/core/beneath.hpp"
#include "lib/core/sys.hpp"
#include "lib/fs/mount_table.hpp"
#include "lib/space/netns.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace personalnet::space {

namespace {

// What opening a candidate found: the namespace, another one, or an error worth reporting.
struct Candidate {
    std::optional<UniqueFd> fd;
    std::optional<Error> error;
};

// Checks what an O_PATH descriptor found and, if it is the namespace, opens it for use
// (open_if_netns).
Candidate check(Result<UniqueFd> found, const std::string& what, uint64_t inode) {
    if (!found.ok()) {
        // Gone meanwhile (the process exited, the mount went), or replaced by something
        // that is not a namespace (a symbolic link: ELOOP): not a reference any more.
        int e = found.error().code;
        if (e == ENOENT || e == ESRCH || e == ENOTDIR || e == ELOOP || e == EXDEV) return {};
        return {std::nullopt, found.error().wrap("open " + what)};
    }
    auto usable = open_if_netns(found->get(), inode, what);
    if (!usable.ok()) return {std::nullopt, usable.error()};
    return {std::move(usable).value(), std::nullopt};
}

// A magic link of /proc (a process's ns/net, one of its fd/N): following it is the point.
Candidate try_open(const std::string& path, uint64_t inode) {
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    Result<UniqueFd> found = fd >= 0 ? Result<UniqueFd>(UniqueFd(fd)) : errno_error(path);
    return check(std::move(found), path, inode);
}

// A mount point in the mount namespace of a process (a user's, perhaps): reached from its
// root without following any symbolic link on the way (docs/SECURITY.md, rule 1).
Candidate try_open_in_root(const std::string& proc, const std::string& point, uint64_t inode) {
    auto root = sys::open_fd(proc + "/root", O_PATH | O_DIRECTORY);
    if (!root.ok()) return check(root.error(), proc + "/root", inode);
    return check(sys::open_beneath(root->get(), point, O_PATH), proc + "/root" + point, inode);
}

// Mount points of nsfs mounts of net:[inode] in a mountinfo text (the visible ones: a
// mount stacked on another hides it, and a hidden one cannot be reached by its path).
std::vector<std::string> nsfs_mounts(const std::string& mountinfo, const std::string& root) {
    std::vector<std::string> out;
    for (const auto& m : fs::parse_mountinfo(mountinfo))
        if (m.fstype == "nsfs" && m.root == root) out.push_back(m.point);
    return out;
}

}  // namespace

Result<std::optional<UniqueFd>> open_if_netns(int found, uint64_t inode, const std::string& what) {
    if (inode == 0 || nsfs_inode(found) != inode) return std::optional<UniqueFd>{};
    auto usable = sys::open_fd("/proc/self/fd/" + std::to_string(found), O_RDONLY);
    if (!usable.ok()) return usable.error().wrap("open " + what);
    return std::optional<UniqueFd>{std::move(usable).value()};
}

Result<std::optional<UniqueFd>> reach_in_process_root(const std::string& proc, const std::string& point,
                                                      uint64_t inode) {
    Candidate c = try_open_in_root(proc, point, inode);
    if (c.error) return *c.error;
    return std::move(c.fd);
}

Result<std::optional<UniqueFd>> reach_netns(uint64_t inode, const std::string& pin, Reach how) {
    using Found = std::optional<UniqueFd>;
    if (inode == 0) return Found{};
    const bool anywhere = how == Reach::anywhere;
    if (auto self = sys::open_current_netns(); anywhere && self.ok()) {
        auto ino = sys::inode_of_fd(self->get());
        if (ino.ok() && ino.value() == inode) return Found{std::move(self).value()};
    }
    std::optional<Error> unreadable;  // the first reference we saw but could not open
    auto take = [&](Candidate c) -> Found {
        if (c.error && !unreadable) unreadable = c.error;
        return std::move(c.fd);
    };
    auto consider = [&](const std::string& path) -> Found { return take(try_open(path, inode)); };
    if (!pin.empty())
        if (auto fd = consider(pin)) return Found{std::move(fd)};

    const std::string name = "net:[" + std::to_string(inode) + "]";
    DIR* d = ::opendir("/proc");
    if (d == nullptr) return errno_error("look for network namespace " + std::to_string(inode) + ": /proc");
    std::vector<std::string> pids;
    while (struct dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0) pids.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::set<ino_t> mount_namespaces_seen;
    for (const auto& pid : pids) {
        const std::string proc = "/proc/" + pid;
        struct stat st {};
        if (anywhere && ::stat((proc + "/ns/net").c_str(), &st) == 0 && st.st_ino == inode)
            if (auto fd = consider(proc + "/ns/net")) return Found{std::move(fd)};
        // A pin in the process's mount namespace, reached through its root (once per
        // mount namespace).
        if (::stat((proc + "/ns/mnt").c_str(), &st) == 0 && mount_namespaces_seen.insert(st.st_ino).second) {
            auto info = sys::read_file(proc + "/mountinfo");
            if (info.ok())
                for (const auto& point : nsfs_mounts(info.value(), name))
                    if (anywhere || point == pin)
                        if (auto fd = take(try_open_in_root(proc, point, inode))) return Found{std::move(fd)};
        }
        if (!anywhere) continue;
        // An open descriptor of the namespace.
        const std::string fd_dir = proc + "/fd/";
        auto fds = sys::list_dir(fd_dir);
        if (!fds.ok()) continue;
        for (const auto& n : fds.value()) {
            char target[64];
            std::string link = fd_dir + n;
            ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
            if (len <= 0 || name.compare(0, std::string::npos, target, static_cast<size_t>(len)) != 0)
                continue;
            if (auto fd = consider(link)) return Found{std::move(fd)};
        }
    }
    if (unreadable)
        return unreadable->wrap("network namespace " + std::to_string(inode) + " is in use but out of reach");
    return Found{};
}

uint64_t netns_cookie(int netns_fd) {
    auto sw = NetnsSwitch::enter(netns_fd);
    if (!sw.ok()) return 0;
    // Sockets belong to the namespace they are made in; which kind does not matter.
    int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 0;
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (::getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) cookie = 0;
    ::close(s);
    return cookie;
}

}  // namespace personalnet::space
