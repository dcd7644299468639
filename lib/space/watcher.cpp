#include "lib/space/watcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/netlink/events.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/follow.hpp"
#include "lib/space/reach.hpp"
#include "lib/space/root_daemon.hpp"

namespace personalnet::space {

namespace {

constexpr int kLockFd = 3;
constexpr int kParentNetnsFd = 4;
// Changes come in bursts (a DHCP renewal adds an address, deletes one, replaces routes):
// wait until the namespace has been quiet this long, but never longer than the cap.
constexpr int kQuietMs = 50;
constexpr int kDebounceCapMs = 300;

std::string lock_path(const std::string& dir) { return dir + "/watch"; }

// The watcher's pid in its lock file, for stop_watcher. Written by the creator before it
// releases the registry lock, and again by the watcher itself as it starts: a creator
// killed between the two leaves no watcher that nobody can name.
Status write_pid(int lock_fd, pid_t pid) {
    const std::string text = std::to_string(pid) + "\n";
    if (::ftruncate(lock_fd, 0) != 0 ||
        ::pwrite(lock_fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return errno_error("record the watcher's pid");
    return {};
}

// The pid recorded in the lock file at path; 0 when none is (yet).
pid_t recorded_pid(const std::string& path) {
    auto text = sys::read_file(path);
    return text.ok() ? static_cast<pid_t>(std::atoi(text->c_str())) : 0;
}

// Whether the process behind pidfd has the file of lock_fd open at kLockFd, where a
// watcher keeps its lock (pidfd_getfd: root may take a copy of any process's descriptor).
bool holds_lock_file(int pidfd, int lock_fd) {
    UniqueFd theirs(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, kLockFd, 0)));
    struct stat a {};
    struct stat b {};
    return theirs.valid() && ::fstat(theirs.get(), &a) == 0 && ::fstat(lock_fd, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether someone holds the lock of fd (probed with a shared lock, dropped at once).
bool held(int fd) {
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
        (void)::flock(fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

Status spawn_watcher(const ParentRef& p, int parent_ns_fd, int lock_fd, WatchStart start) {
    const registry::Registry& reg = *p.reg;
    const Context& ctx = reg.context();
    sys::SpawnOptions o;
    o.what = "start the watcher of parent namespace " + std::to_string(p.inode);
    o.program = ctx.libexecdir + "/pnwatch";
    o.argv = {"pnwatch",
              ctx.rundir,
              ctx.statedir,
              std::to_string(p.inode),
              std::to_string(kLockFd),
              std::to_string(kParentNetnsFd),
              start == WatchStart::fresh ? "fresh" : "catch-up"};
    o.fds = {{lock_fd, kLockFd}, {parent_ns_fd, kParentNetnsFd}};
    // In the host's mount namespace: the parent may be a user's space.
    auto pid = spawn_root_daemon(o, reg);
    if (!pid.ok()) return pid.error();
    PN_TRY(write_pid(lock_fd, pid.value()), o.what);
    return {};
}

// The parent's children, by the kids/ entries of its state.
std::vector<uint16_t> kids_of(const std::string& dir) {
    std::vector<uint16_t> out;
    auto names = sys::list_dir(dir + "/kids");
    if (!names.ok()) return out;
    for (const auto& n : names.value())
        if (auto label = registry::parse_label_hex(n)) out.push_back(*label);  // not a temporary file
    return out;
}

enum class Pass { go_on, done };

// One pass over the children, under the registry lock. Done when the parent has no child
// left or its state is not this namespace's any more.
Pass follow_all(const registry::Registry& reg, uint64_t inode, netlink::Socket& parent, int parent_ns) {
    auto lock = reg.lock();
    if (!lock.ok()) return Pass::go_on;  // tried again on the next change
    const std::string dir = reg.path("parents/" + std::to_string(inode));
    auto cookie = sys::read_file(dir + "/cookie");
    if (!cookie.ok() || cookie.value() != std::to_string(netns_cookie(parent_ns))) return Pass::done;
    auto kids = kids_of(dir);
    if (kids.empty()) return Pass::done;
    for (uint16_t label : kids) {
        auto rec = reg.load(label);
        // A destroyed space waits for its namespace's teardown: nothing to follow there.
        if (!rec.ok() || rec->parent_netns != inode || rec->destroyed) continue;
        auto before = rec->addresses;
        // One child that cannot be followed (an --admin owner broke its uplink) does not
        // stop the others; it is tried again on the next change.
        if (!follow_child(reg, rec.value(), parent, parent_ns).ok()) continue;
        if (rec->addresses != before) (void)reg.save(rec.value());
    }
    return Pass::go_on;
}

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Status ensure_watcher(const ParentRef& p, int parent_ns_fd, WatchStart start) {
    const std::string path = lock_path(p.dir());
    auto fd = sys::open_fd(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (!fd.ok()) return fd.error().wrap("the parent's watcher");
    // Held: by the watcher (its pid is alive: the common case, answered at once), or for an
    // instant by a `pnet show` probing it (shared), which is waited out.
    for (int tries = 0;; ++tries) {
        if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK) return errno_error("the parent's watcher: lock " + path);
        pid_t pid = recorded_pid(path);
        if (tries == 3 || (pid > 0 && sys::pid_alive(pid))) return {};  // a watcher runs
        ::usleep(5000);
    }
    return spawn_watcher(p, parent_ns_fd, fd->get(), start);
}

void stop_watcher(const std::string& dir) {
    const std::string path = lock_path(dir);
    auto fd = sys::open_fd(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (!fd.ok()) return;
    if (held(fd->get())) {
        // Held without a pid: a watcher whose creator was killed before recording it, and
        // which has not written it itself yet (it does so first thing): give it a moment.
        pid_t pid = recorded_pid(path);
        for (int tries = 0; pid <= 0 && tries < 40 && held(fd->get()); ++tries) {
            ::usleep(5000);
            pid = recorded_pid(path);
        }
        UniqueFd pidfd = pid > 0 ? sys::pidfd_of(pid) : UniqueFd();
        // Only the process that has this very lock file at kLockFd is the watcher: the pid
        // may be a reused one, or be written in another PID namespace's numbers (a creator
        // inside a space), where it names another process here. SIGKILL, which nothing
        // blocks: the caller holds the registry lock, so the watcher is at most waiting
        // for it, never half-way through a change. A watcher not found so is left to
        // notice by itself that its parent state is gone (at its next change).
        if (pidfd.valid() && holds_lock_file(pidfd.get(), fd->get()) &&
            ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0)
            (void)sys::wait_exit(pidfd.get(), 2000);
    }
    (void)::unlink(path.c_str());
}

bool watcher_running(const registry::Registry& reg, uint64_t parent_inode) {
    auto fd = sys::open_fd(lock_path(reg.path("parents/" + std::to_string(parent_inode))),
                           O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    return fd.ok() && held(fd->get());
}

Status restart_watchers(const registry::Registry& reg) {
    auto parents = sys::list_dir(reg.path("parents"));
    if (!parents.ok()) return {};
    for (const auto& name : parents.value()) {
        char* end = nullptr;
        uint64_t inode = std::strtoull(name.c_str(), &end, 10);
        if (end == nullptr || *end != '\0' || inode == 0) continue;
        ParentRef p{&reg, inode};
        if (kids_of(p.dir()).empty() || watcher_running(reg, inode)) continue;
        auto reached = reach_parent(p);
        if (!reached.ok()) return reached.error().wrap("restart the parent's watcher");
        if (!reached->has_value()) continue;  // gone: its children's collection releases it
        PN_TRY(ensure_watcher(p, (*reached)->get(), WatchStart::catch_up), "restart the parent's watcher");
    }
    return {};
}

int run_watcher(const registry::Registry& reg, uint64_t parent_inode, int lock_fd, int parent_ns,
                WatchStart start) {
    if (!write_pid(lock_fd, ::getpid()).ok()) return 1;
    // The sockets are the parent's; the process is not (it would count as one of the
    // parent's processes, and a parent may be an unnamed space that ends with its last).
    if (!sys::enter_netns(parent_ns).ok()) return 1;
    auto events = netlink::Events::open();
    auto parent = netlink::Socket::open();
    if (!events.ok() || !parent.ok()) return 1;
    if (::unshare(CLONE_NEWNET) != 0) return 1;
    // Subscribed before the first pass: nothing between them is missed.
    if (start == WatchStart::catch_up && follow_all(reg, parent_inode, *parent, parent_ns) == Pass::done)
        return 0;
    for (;;) {
        pollfd pfd{events->fd(), POLLIN, 0};
        int n = ::poll(&pfd, 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        auto changed = events->drain();
        if (!changed.ok()) return 1;
        if (!changed.value()) continue;
        // Debounce: until quiet for kQuietMs, at most kDebounceCapMs.
        const int64_t start = now_ms();
        for (;;) {
            int64_t left = kDebounceCapMs - (now_ms() - start);
            if (left <= 0) break;
            pollfd q{events->fd(), POLLIN, 0};
            int r = ::poll(&q, 1, static_cast<int>(std::min<int64_t>(left, kQuietMs)));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            if (!events->drain().ok()) return 1;
        }
        if (follow_all(reg, parent_inode, *parent, parent_ns) == Pass::done) return 0;
    }
}

}  // namespace personalnet::space
