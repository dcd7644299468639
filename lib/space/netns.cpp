#include "lib/space/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "lib/core/spawn.hpp"
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

Result<UniqueFd> new_netns_in_user_namespace(uid_t uid, gid_t gid) {
    const std::string what = "create a network namespace owned by a user namespace";
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return errno_error(what);
    UniqueFd child_in(to_child[0]), parent_out(to_child[1]);
    if (::pipe2(from_child, O_CLOEXEC) != 0) return errno_error(what);
    UniqueFd parent_in(from_child[0]), child_out(from_child[1]);
    // The child's ends at fixed numbers; everything else is closed in it (the parent's ends
    // too, or the last read below would wait for ourselves).
    constexpr int kIn = 3, kOut = 4;
    sys::SpawnOptions o;
    o.what = what;
    o.fds = {{child_in.get(), kIn}, {child_out.get(), kOut}};
    // Async-signal-safe only. 'u': in the user namespace; after the parent wrote the
    // maps, 'n': in the network namespace; then wait to be done with.
    o.body = [] {
        char c = 0;
        if (::unshare(CLONE_NEWUSER) != 0 || ::write(kOut, "u", 1) != 1) return 1;
        if (::read(kIn, &c, 1) != 1 || ::unshare(CLONE_NEWNET) != 0) return 1;
        if (::write(kOut, "n", 1) != 1) return 1;
        (void)!::read(kIn, &c, 1);
        return 0;
    };
    auto started = sys::spawn(o);
    if (!started.ok()) return started.error();
    const pid_t pid = started.value();
    child_in.reset();
    child_out.reset();
    auto reap = [&] {
        parent_out.reset();
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    };
    char c = 0;
    const std::string proc = sys::proc_dir(pid);
    if (::read(parent_in.get(), &c, 1) != 1) {
        reap();
        return make_error(EPERM, what + ": the child could not make the user namespace");
    }
    for (auto [file, id] : {std::pair{"/uid_map", static_cast<unsigned>(uid)},
                            std::pair{"/gid_map", static_cast<unsigned>(gid)}}) {
        auto st = sys::write_existing(proc + file, std::to_string(id) + " " + std::to_string(id) + " 1\n");
        if (!st.ok()) {
            reap();
            return st.error().wrap(what);
        }
    }
    if (::write(parent_out.get(), "m", 1) != 1 || ::read(parent_in.get(), &c, 1) != 1 || c != 'n') {
        reap();
        return make_error(EPERM, what + ": the child could not make the network namespace");
    }
    auto fd = sys::open_fd(proc + "/ns/net", O_RDONLY | O_CLOEXEC);
    reap();
    if (!fd.ok()) return fd.error().wrap(what);
    return fd;
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
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    return fd.valid() ? nsfs_inode(fd.get()) : 0;
}

uint64_t nsfs_inode(int fd) {
    struct statfs fs {};
    struct stat st {};
    if (::fstatfs(fd, &fs) != 0 || fs.f_type != NSFS_MAGIC || ::fstat(fd, &st) != 0) return 0;
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
    return netns_has_processes_outside(inode, 0, ignore);
}

namespace {

// Calls f(pid, its network namespace's inode) for every process but the caller, until f
// returns true; false when /proc cannot be read.
template <typename F>
bool for_each_process_netns(F&& f) {
    DIR* d = ::opendir("/proc");
    if (d == nullptr) return false;
    pid_t self = ::getpid();
    while (struct dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self) continue;
        struct stat st {};
        std::string p = std::string("/proc/") + e->d_name + "/ns/net";
        if (::stat(p.c_str(), &st) != 0) continue;
        if (f(static_cast<pid_t>(pid), static_cast<uint64_t>(st.st_ino))) break;
    }
    ::closedir(d);
    return true;
}

// Whether pid, in the namespace asked about, counts as one of its processes.
bool counts(pid_t pid, uint64_t ending_pidns, std::initializer_list<pid_t> ignore) {
    if (std::find(ignore.begin(), ignore.end(), pid) != ignore.end()) return false;
    const std::string name = std::to_string(pid);
    if (ignore.size() != 0 && is_child_of_any(name.c_str(), ignore)) return false;  // a daemon's own child
    struct stat st {};
    return !(ending_pidns != 0 && ::stat(("/proc/" + name + "/ns/pid").c_str(), &st) == 0 &&
             st.st_ino == ending_pidns);
}

}  // namespace

bool netns_has_processes_outside(uint64_t inode, uint64_t ending_pidns, std::initializer_list<pid_t> ignore) {
    bool found = false;
    bool read = for_each_process_netns([&](pid_t pid, uint64_t netns) {
        found = netns == inode && counts(pid, ending_pidns, ignore);
        return found;
    });
    return found || !read;  // cannot tell: assume alive, never tear down a live space
}

ProcessesByNetns ProcessesByNetns::scan() {
    ProcessesByNetns out;
    out.complete_ = for_each_process_netns([&](pid_t pid, uint64_t netns) {
        out.members_[netns].push_back(pid);
        return false;
    });
    return out;
}

bool ProcessesByNetns::has_processes(uint64_t inode, std::initializer_list<pid_t> ignore) const {
    if (!complete_) return true;
    auto it = members_.find(inode);
    if (it == members_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](pid_t pid) {
        // Still there, still in it: a pid seen in the walk may since have ended and been
        // given to another process.
        struct stat st {};
        return ::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0 && st.st_ino == inode &&
               counts(pid, 0, ignore);
    });
}

}  // namespace personalnet::space
