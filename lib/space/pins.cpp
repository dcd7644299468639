#include "lib/space/pins.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "lib/core/fd_passing.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/fs/run_view.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/pidns.hpp"

namespace personalnet::space {

namespace {

constexpr int kChildFd = 3;  // the descriptor a child in the host's namespace works with

// Runs body in a child that joined the host's mount namespace (host); its result is an
// errno value (0: done).
Status in_host(int host, const std::string& what, std::function<int()> body, int fd = -1) {
    sys::SpawnOptions o;
    o.what = what;
    o.mntns = host;
    o.mntns_what = "join the host's mount namespace";
    o.stdio = sys::SpawnOptions::Stdio::null;
    if (fd >= 0) o.fds = {{fd, kChildFd}};
    o.body = std::move(body);
    auto pid = sys::spawn(o);
    if (!pid.ok()) return pid.error();
    int status = sys::wait_child(pid.value());
    int code = sys::exit_code(status);
    if (code != 0) return make_error(code < 128 ? code : EIO, what);
    return {};
}

// The root directory of mount namespace mntns (the host's), sent back by a child that
// joined it.
Result<UniqueFd> root_of(int mntns) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return errno_error("pins: socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    // Async-signal-safe only: the descriptor goes back with SCM_RIGHTS.
    auto sent = in_host(
        mntns, "pins: open the root directory of a mount namespace",
        [] {
            int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (root < 0) return errno;
            const char byte = 'r';
            return sys::send_with_fd(kChildFd, &byte, 1, root) == 1 ? 0 : errno;
        },
        theirs.get());
    if (!sent.ok()) return sent.error();
    char byte = 0;
    int fd = -1;
    if (sys::receive_with_fd(mine.get(), &byte, 1, &fd, MSG_DONTWAIT) != 1)
        return errno_error("pins: receive the root directory of a mount namespace");
    if (fd < 0) return make_error(EPROTO, "pins: no descriptor of the root directory of a mount namespace");
    return UniqueFd(fd);
}

// path looked up from the host's root: absolute symbolic links resolve there too, and
// nothing is opened for reading (a pin is checked to be a namespace first).
Result<UniqueFd> at_host(int root, const std::string& path) {
    struct open_how how {};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = path;
    while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    int fd = static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
    if (fd < 0) return errno_error("open pin " + path + " in the host's mount namespace");
    return UniqueFd(fd);
}

}  // namespace

Result<const Pins*> Pins::of(const registry::Registry& reg) {
    static std::mutex lock;
    static std::map<std::pair<std::string, uint64_t>, std::unique_ptr<Pins>> known;
    struct stat self {};
    if (::stat("/proc/self/ns/mnt", &self) != 0) return errno_error("pins: stat /proc/self/ns/mnt");
    std::lock_guard<std::mutex> held(lock);
    auto key = std::make_pair(reg.rundir(), static_cast<uint64_t>(self.st_ino));
    if (auto it = known.find(key); it != known.end()) return it->second.get();
    auto p = std::make_unique<Pins>();
    if (fs::is_run_view(reg.rundir())) {
        auto host = host_mntns(reg);
        if (!host.ok()) return host.error().wrap("reach the pins under " + reg.rundir());
        if (!host->valid())
            return make_error(ENOENT, "reach the pins under " + reg.rundir() + ": no host mount namespace");
        auto root = root_of(host->get());
        if (!root.ok()) return root.error();
        p->host_mntns_ = std::move(host).value();
        p->host_root_ = std::move(root).value();
    }
    const Pins* out = p.get();
    known.emplace(std::move(key), std::move(p));
    return out;
}

Status Pins::pin(int netns_fd, const std::string& path) const {
    if (here()) return pin_netns(netns_fd, path);
    const std::string src = "/proc/self/fd/" + std::to_string(kChildFd);
    const char* target = path.c_str();
    return in_host(
        host_mntns_.get(), "pin a network namespace on " + path + " in the host's mount namespace",
        [&] {
            int fd = ::open(target, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
            if (fd < 0) return errno;
            ::close(fd);
            if (::mount(src.c_str(), target, nullptr, MS_BIND, nullptr) == 0) return 0;
            int e = errno;
            (void)::unlink(target);
            return e;
        },
        netns_fd);
}

Status Pins::unpin(const std::string& path) const {
    if (here()) return space::unpin(path);
    const char* target = path.c_str();
    return in_host(host_mntns_.get(), "unpin " + path + " in the host's mount namespace", [&] {
        if (::umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT)
            return errno;
        return ::unlink(target) == 0 || errno == ENOENT ? 0 : errno;
    });
}

uint64_t Pins::inode(const std::string& path) const {
    if (here()) return pinned_inode(path);
    auto fd = at_host(host_root_.get(), path);
    return fd.ok() ? nsfs_inode(fd->get()) : 0;
}

Result<std::optional<UniqueFd>> Pins::open(const std::string& path, uint64_t inode) const {
    using Found = std::optional<UniqueFd>;
    Result<UniqueFd> found =
        here() ? sys::open_fd(path, O_PATH | O_NOFOLLOW) : at_host(host_root_.get(), path);
    if (!found.ok()) {
        int e = found.error().code;
        if (e == ENOENT || e == ENOTDIR || e == ELOOP) return Found{};
        return found.error();
    }
    return open_if_netns(found->get(), inode, "pin " + path);
}

Status pin_under(const registry::Registry& reg, int netns_fd, const std::string& path) {
    auto pins = Pins::of(reg);
    if (!pins.ok()) return pins.error();
    return (*pins)->pin(netns_fd, path);
}

Status unpin_under(const registry::Registry& reg, const std::string& path) {
    auto pins = Pins::of(reg);
    if (!pins.ok()) return pins.error();
    return (*pins)->unpin(path);
}

Result<uint64_t> pinned_inode_under(const registry::Registry& reg, const std::string& path) {
    auto pins = Pins::of(reg);
    if (!pins.ok()) return pins.error();
    return (*pins)->inode(path);
}

Result<std::optional<UniqueFd>> reach_pinned(const registry::Registry& reg, uint64_t inode,
                                             const std::string& path, Reach how) {
    auto pins = Pins::of(reg);
    if (!pins.ok()) return pins.error();
    auto found = (*pins)->open(path, inode);
    if (!found.ok() || found->has_value()) return found;
    return reach_netns(inode, path, how);
}

Result<std::optional<UniqueFd>> reach_named(const registry::Registry& reg, const registry::Record& rec) {
    using Found = std::optional<UniqueFd>;
    const std::string path = reg.path("ns/" + rec.name);
    auto found = reach_pinned(reg, rec.netns, path, Reach::pin);
    if (!found.ok() || found->has_value() || rec.pidns == 0) return found;
    // The mount namespace the space's init started in: its creator's, which the init
    // keeps (and with it a pin made there) after every process in it has ended.
    auto init = open_init(rec);
    if (!init.ok()) return init.error().code == ESRCH ? Result<Found>(Found{}) : init.error();
    init->pidns.reset();
    init->utsns.reset();
    init->mntns.reset();
    UniqueFd start(::openat(init->pidfd.get(), ("fd/" + std::to_string(kInitStartMntnsFd)).c_str(),
                            O_RDONLY | O_CLOEXEC));  // a magic link: following it is the point
    if (!start.valid() || ::ioctl(start.get(), NS_GET_NSTYPE) != CLONE_NEWNS) return Found{};
    auto root = root_of(start.get());
    if (!root.ok()) return root.error().wrap("reach the pin of space '" + rec.name + "'");
    auto fd = at_host(root->get(), path);
    if (!fd.ok()) return Found{};
    return open_if_netns(fd->get(), rec.netns, "pin " + path);
}

}  // namespace personalnet::space
