// pninit: pid 1 of a space's PID namespace (issue 20). Started by libpersonalnet as root
// (lib/space/pidns.cpp) in the host's mount namespace, with a fixed environment:
//
//   pninit named|unnamed UID GID HOSTNAME MNTNS_FD|- PARENT_PIDNS_FD|- REPORT_FD HOLD_FD|- RUNDIR
//
// It forks into a new PID namespace (a child of PARENT_PIDNS_FD's, the parent space's, when
// given; else of its own) and the child, pid 1 there:
//   - unshares a UTS namespace and sets HOSTNAME;
//   - enters the space's mount namespace (MNTNS_FD), or, for a space without a file space
//     ("-"), a copy of its own made a slave (nothing mounted there leaks back), with its
//     copy of RUNDIR (the registry's run directory, with every pin) replaced by a view of
//     it that holds none, as a file space's (lib/fs/run_view);
//   - mounts a proc of the new PID namespace (the mounting task's namespace is the one a
//     proc shows) on /proc, by descriptor: /proc is opened with openat2 without following
//     any symbolic link, checked to be a directory, and the mount moved onto that fd;
//   - keeps the mount namespace it was started in (the host's, trusted) at descriptor
//     kStartMntnsFd: root's tools inside the space cannot see their ancestors outside the
//     PID namespace, and find the host's mount namespace there (host_mntns);
//   - drops to UID/GID (no supplementary groups, no capability, no_new_privs, not
//     dumpable: the owner cannot ptrace it), closes every descriptor but HOLD_FD;
//   - reports on REPORT_FD (a unix socket): "OK" with a pidfd of itself (SCM_RIGHTS), or
//     "E ERRNO STEP";
//   - reaps every process reparented to it. named: forever (the space's PID namespace
//     lives as long as it does; `pnet destroy` kills it). unnamed: until HOLD_FD (the
//     supervisor's pipe) has ended and no other process is left in its namespace.
// Signals from inside its namespace are ignored by the kernel (pid 1 has no handlers);
// from outside, the default actions apply (root or the owner may end the space).
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/fs/run_view.hpp"
#include "tools/libexec_args.hpp"

namespace {

constexpr int kUsage = 2;
constexpr int kStartMntnsFd = 100;  // lib/space/pidns.hpp knows it (kInitStartMntnsFd)

struct Args {
    bool named = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string hostname;
    int mntns = -1;
    int parent_pidns = -1;
    int report = -1;
    int hold = -1;
    std::string rundir;
};

template <typename T>
bool number(const char* text, T& out) {
    std::string s = text;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

bool hostname_ok(const std::string& h) {
    if (h.empty() || h.size() > 64 || h.front() == '-' || h.back() == '-') return false;
    for (char c : h)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    return true;
}

// "E ERRNO STEP" on the report socket, then exit.
[[noreturn]] void fail(int report, const char* step) {
    char msg[256];
    int n = std::snprintf(msg, sizeof msg, "E %d %s", errno, step);
    (void)!::send(report, msg, static_cast<size_t>(n), MSG_NOSIGNAL);
    ::_exit(1);
}

[[noreturn]] void fail(int report, const personalnet::Error& e) {
    errno = e.code;
    fail(report, e.message().substr(0, 200).c_str());
}

void report_ok(int report, int pidfd) {
    char data[2] = {'O', 'K'};
    struct iovec iov = {data, sizeof data};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u{};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
    (void)::sendmsg(report, &msg, MSG_NOSIGNAL);
}

// A proc of this (new) PID namespace on the mount namespace's /proc, by descriptor.
// Returns the mount's root (to look at the namespace's processes), or -1 with errno.
int mount_proc(int report) {
    int fs = static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC));
    if (fs < 0) fail(report, "fsopen(proc)");
    if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        fail(report, "create a proc");
    int mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
    if (mnt < 0) fail(report, "fsmount(proc)");
    ::close(fs);
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) fail(report, "open /");
    struct open_how how {};
    how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
    int target = static_cast<int>(::syscall(SYS_openat2, root, "proc", &how, sizeof how));
    if (target < 0) fail(report, "open /proc (no symbolic link followed)");
    struct stat st {};
    if (::fstat(target, &st) != 0) fail(report, "stat /proc");
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        fail(report, "/proc is no directory");
    }
    if (::syscall(SYS_move_mount, mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) !=
        0)
        fail(report, "mount a proc on /proc");
    ::close(target);
    ::close(root);
    return mnt;
}

// No capability left in any set (the bounding set is irrelevant: nothing is exec'd).
int drop_capabilities() {
    struct __user_cap_header_struct h {
        _LINUX_CAPABILITY_VERSION_3, 0
    };
    struct __user_cap_data_struct d[2] = {};
    return static_cast<int>(::syscall(SYS_capset, &h, d));
}

// Pids other than 1 in the proc at procfd.
std::vector<pid_t> others(int procfd) {
    std::vector<pid_t> out;
    int dir = ::openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return out;
    char buf[4096];
    for (;;) {
        long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            auto* d = reinterpret_cast<struct dirent64*>(buf + off);
            pid_t pid = 0;
            if (number(d->d_name, pid) && pid > 1) out.push_back(pid);
            off += d->d_reclen;
        }
    }
    ::close(dir);
    return out;
}

void reap_all() {
    int status;
    while (::waitpid(-1, &status, WNOHANG) > 0) {
    }
}

[[noreturn]] void serve(const Args& a, int procfd, int sigfd) {
    bool held = a.hold >= 0;
    for (;;) {
        reap_all();
        std::vector<struct pollfd> fds;
        fds.push_back({sigfd, POLLIN, 0});
        if (held) fds.push_back({a.hold, POLLIN, 0});
        int timeout = -1;
        if (!a.named && !held) {
            // The supervisor is gone: the space lives while any process of it does. Those
            // not reparented to us (its commands, children of the supervisor) are watched
            // by pidfd.
            auto pids = others(procfd);
            if (pids.empty()) ::_exit(0);
            for (pid_t p : pids) {
                if (fds.size() >= 256) {
                    timeout = 1000;
                    break;
                }
                int pfd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
                if (pfd >= 0) fds.push_back({pfd, POLLIN, 0});
            }
            if (fds.size() == 1) timeout = 100;  // raced with their exits: look again soon
        }
        const size_t first_pidfd = held ? 2 : 1;
        (void)::poll(fds.data(), fds.size(), timeout);
        if (held && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char c;
            if (::read(a.hold, &c, 1) <= 0) {
                ::close(a.hold);
                held = false;
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            struct signalfd_siginfo si;
            (void)!::read(sigfd, &si, sizeof si);
        }
        for (size_t i = first_pidfd; i < fds.size(); ++i) ::close(fds[i].fd);
    }
}

[[noreturn]] void be_init(const Args& a) {
    const int report = a.report;
    int start_mntns = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (start_mntns < 0) fail(report, "open its mount namespace");
    if (::unshare(CLONE_NEWUTS) != 0) fail(report, "unshare(CLONE_NEWUTS)");
    if (::sethostname(a.hostname.data(), a.hostname.size()) != 0) fail(report, "set the hostname");
    if (a.mntns >= 0) {
        if (::setns(a.mntns, CLONE_NEWNS) != 0) fail(report, "enter the file space's mount namespace");
        ::close(a.mntns);
    } else {
        // Started in the host's mount namespace, or in its creator's that holds the pins
        // (`ip netns exec`'s), never in a space's: a copy of it, with a view of the run
        // directory that holds no pin (lib/fs/run_view) instead of the copied one.
        auto view = personalnet::fs::clone_run_view(a.rundir);
        if (!view.ok()) fail(report, view.error());
        if (::unshare(CLONE_NEWNS) != 0) fail(report, "unshare(CLONE_NEWNS)");
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail(report, "make / a slave");
        // The copied run directory and every pin under it: gone from this namespace only.
        for (int i = 0; i < 8 && personalnet::sys::is_mountpoint(a.rundir); ++i)
            if (::umount2(a.rundir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
                fail(report, "detach the copy of the run directory");
        struct open_how how {};
        how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        int at = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, a.rundir.c_str(), &how, sizeof how));
        if (at < 0) fail(report, "open the run directory (no symbolic link followed)");
        if (auto attached = personalnet::fs::attach_run_view(view.value(), at); !attached.ok())
            fail(report, attached.error());
        ::close(at);
    }
    if (::chdir("/") != 0) fail(report, "chdir /");
    int procfd = mount_proc(report);
    int self = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
    if (self < 0) fail(report, "pidfd_open(self)");
    // Whatever happens to the creator, reaping goes on: SIGCHLD read from a signalfd, every
    // other signal left to the kernel's rules for pid 1.
    sigset_t chld;
    ::sigemptyset(&chld);
    ::sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    int sigfd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) fail(report, "signalfd");
    if (::setgroups(0, nullptr) != 0) fail(report, "clear the supplementary groups");
    if (::setresgid(a.gid, a.gid, a.gid) != 0) fail(report, "become the owner's group");
    if (::setresuid(a.uid, a.uid, a.uid) != 0) fail(report, "become the owner");
    if (drop_capabilities() != 0) fail(report, "drop every capability");
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(report, "set no_new_privs");
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(report, "make it not dumpable");
    report_ok(report, self);
    ::close(self);
    ::close(report);
    // Nothing else of the creator's is kept.
    for (int fd = 3; fd < 1024; ++fd)
        if (fd != procfd && fd != sigfd && fd != a.hold && fd != start_mntns) ::close(fd);
    if (start_mntns != kStartMntnsFd) {
        (void)::dup3(start_mntns, kStartMntnsFd, O_CLOEXEC);
        ::close(start_mntns);
    }
    serve(a, procfd, sigfd);
}

// Forks pid 1 of a new PID namespace; returns in the caller only on failure.
int start(const Args& a) {
    if (::unshare(CLONE_NEWPID) != 0) fail(a.report, "unshare(CLONE_NEWPID)");
    pid_t init = ::fork();
    if (init < 0) fail(a.report, "fork the init");
    if (init == 0) be_init(a);
    return 0;
}

int run(int argc, char** argv) {
    if (argc != 10) return kUsage;
    if (::geteuid() != 0) return 1;
    Args a;
    const std::string mode = argv[1];
    if (mode != "named" && mode != "unnamed") return kUsage;
    a.named = mode == "named";
    a.hostname = argv[4];
    a.rundir = argv[9];
    if (!personalnet::cli::plain_absolute_path(a.rundir)) return kUsage;
    if (!number(argv[2], a.uid) || !number(argv[3], a.gid) || !hostname_ok(a.hostname)) return kUsage;
    auto mntns = personalnet::cli::namespace_fd_arg(argv[5]);
    auto parent = personalnet::cli::namespace_fd_arg(argv[6]);
    auto report = personalnet::cli::open_fd_arg(argv[7]);
    std::optional<int> hold = -1;
    if (std::string(argv[8]) != "-") hold = personalnet::cli::open_fd_arg(argv[8]);
    if (!mntns || !parent || !report || !hold) return kUsage;
    if (!a.named && *hold < 0) return kUsage;
    a.mntns = *mntns;
    a.parent_pidns = *parent;
    a.report = *report;
    a.hold = *hold;
    if (a.parent_pidns < 0) return start(a);
    // Nested in the parent space's PID namespace: its children are born there, and one of
    // them makes the new namespace (unshare wants the namespace it nests in to be active).
    if (::setns(a.parent_pidns, CLONE_NEWPID) != 0) fail(a.report, "enter the parent space's PID namespace");
    pid_t mid = ::fork();
    if (mid < 0) fail(a.report, "fork");
    if (mid == 0) ::_exit(start(a));
    int status = 0;
    while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
