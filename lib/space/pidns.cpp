#include "lib/space/pidns.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/reach.hpp"

namespace personalnet::space {

namespace {

constexpr int kReportFd = 3;
constexpr int kMntnsFd = 4;
constexpr int kParentPidnsFd = 5;
constexpr int kHoldFd = 6;

// Whether the process of a /proc/PID directory descriptor is a zombie (or gone).
bool dead_at(int procdir) {
    int fd = ::openat(procdir, "stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return true;
    std::string stat(buf, static_cast<size_t>(n));
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}
bool pidfd_alive(int pidfd) { return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0; }

// The pid a pidfd names, as this process's /proc numbers it.
Result<pid_t> pid_of_pidfd(int pidfd) {
    auto text = sys::read_file("/proc/self/fdinfo/" + std::to_string(pidfd));
    if (!text.ok()) return text.error();
    auto at = text->find("\nPid:");
    if (at == std::string::npos) return make_error(EIO, "no Pid in the pidfd's fdinfo");
    at += 5;
    while (at < text->size() && ((*text)[at] == ' ' || (*text)[at] == '\t')) ++at;
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(text->data() + at, text->data() + text->size(), pid);
    if (ec != std::errc{} || pid <= 0) return make_error(ESRCH, "the init is not in this process's /proc");
    return pid;
}

Result<UniqueFd> open_ns(pid_t pid, const char* which) {
    return sys::open_fd("/proc/" + std::to_string(pid) + "/ns/" + which, O_RDONLY | O_CLOEXEC);
}

// The namespaces of the init behind pidfd (pid as we number it), checked to still be it
// after they were opened.
Status open_namespaces(Init& init, pid_t pid, uint64_t want_pidns, const std::string& what) {
    auto pidns = open_ns(pid, "pid");
    auto gone = [&] {
        return make_error(ESRCH, what +
                                     ": its init (pid 1 of its PID namespace) has ended, and its "
                                     "processes with it");
    };
    if (!pidns.ok()) return pidns.error().code == ENOENT ? gone() : pidns.error().wrap(what);
    if (want_pidns != 0) {
        auto inode = sys::inode_of_fd(pidns->get());
        if (!inode.ok() || inode.value() != want_pidns) return gone();
    }
    // A zombie (its parent outside has not reaped it yet) still shows its PID namespace,
    // but no other: it has ended.
    auto uts = open_ns(pid, "uts");
    if (!uts.ok()) return uts.error().code == ENOENT ? gone() : uts.error().wrap(what);
    auto mnt = open_ns(pid, "mnt");
    if (!mnt.ok()) return mnt.error().code == ENOENT ? gone() : mnt.error().wrap(what);
    if (!pidfd_alive(init.pidfd.get())) return gone();
    init.pidns = std::move(pidns).value();
    init.utsns = std::move(uts).value();
    init.mntns = std::move(mnt).value();
    return {};
}

// Whether /proc/PID is pid 1 of rec's PID namespace. Its inode alone does not say so:
// once a PID namespace is gone the kernel gives its inode number to the next namespace
// made (and pid numbers come round too), so a space whose init has ended would take a
// later space's init for its own, and a release would kill that (CI: a child space's
// command died without a word, killed by a sibling's reaper). The init lives in the
// space's network namespace, whose cookie is never reused: that tells them apart.
bool is_init_of(pid_t pid, const registry::Record& rec) {
    const std::string dir = "/proc/" + std::to_string(pid);
    struct stat st {};
    if (::stat((dir + "/ns/pid").c_str(), &st) != 0 || st.st_ino != rec.pidns) return false;
    if (::stat((dir + "/ns/net").c_str(), &st) != 0 || st.st_ino != rec.netns) return false;
    auto status = sys::read_file(dir + "/status");
    if (!status.ok() || status->find("\nState:\tZ") != std::string::npos) return false;
    auto at = status->find("\nNSpid:");
    if (at == std::string::npos) return false;
    auto end = status->find('\n', at + 1);
    const std::string line =
        status->substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
    if (line.size() < 2 || line.substr(line.size() - 2) != "\t1") return false;  // 1 in its own namespace
    if (rec.netns_cookie == 0) return true;  // a record from before cookies were kept
    UniqueFd net(::open((dir + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
    return net.valid() && netns_cookie(net.get()) == rec.netns_cookie;
}

// The PID namespace whose numbers this process's /proc gives (which a pidfd's fdinfo and
// /proc/PID use), by its inode, when it is the process's own; 0 when it is an ancestor's
// (NSpid then lists more than one number), or /proc does not show this process.
uint64_t proc_pidns() {
    if (sys::nspids("/proc/self").size() != 1) return 0;
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
}

// rec's init as this process's /proc numbers it: the recorded pid when it is still that
// (the creator's PID namespace numbers it so), else found by its namespace (a creator
// or an opener inside another space's PID namespace numbers it differently); 0 if none.
pid_t find_init(const registry::Record& rec) {
    if (rec.init_pid > 0 && is_init_of(rec.init_pid, rec)) return rec.init_pid;
    // Numbered as this /proc numbers: a pid is the init's for as long as it lives, so it
    // has ended. (No walk over every process: a reaper, and gc for each dead space, ask
    // this of an ended init, holding the registry lock.)
    if (rec.init_pid_ns != 0 && rec.init_pid_ns == proc_pidns()) return 0;
    auto procs = sys::list_dir("/proc");
    if (!procs.ok()) return 0;
    for (const auto& p : procs.value()) {
        pid_t pid = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
        if (ec != std::errc{} || end != p.data() + p.size() || pid <= 0) continue;
        if (is_init_of(pid, rec)) return pid;
    }
    return 0;
}

gid_t primary_gid(uid_t uid) {
    std::vector<char> buf(16384);
    struct passwd pw {
    }, *found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return static_cast<gid_t>(uid == 0 ? 0 : 65534);
    return pw.pw_gid;
}

// The init's one report: "OK" with its pidfd, or "E ERRNO STEP".
Result<UniqueFd> read_report(int sock, const std::string& what) {
    char data[300] = {};
    struct iovec iov = {data, sizeof data - 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u{};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    ssize_t n;
    while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n < 0) return errno_error(what + ": read its report");
    UniqueFd fd;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int got;
            std::memcpy(&got, CMSG_DATA(c), sizeof got);
            fd = UniqueFd(got);
        }
    const std::string text(data, static_cast<size_t>(n));
    if (text == "OK" && fd.valid()) return fd;
    int err = EIO;
    std::string step = "it ended without a report";
    if (text.size() > 2 && text[0] == 'E') {
        auto space = text.find(' ', 2);
        if (space != std::string::npos) {
            std::from_chars(text.data() + 2, text.data() + space, err);
            step = text.substr(space + 1);
        }
    }
    return make_error(err, what + ": " + step);
}

}  // namespace

pid_t init_pid_here(const registry::Record& rec) { return rec.pidns == 0 ? 0 : find_init(rec); }

std::string current_hostname() {
    struct utsname u {};
    if (::uname(&u) != 0) return "localhost";
    return u.nodename;
}

Result<Init> start_init(const registry::Registry& reg, registry::Record& rec, int netns, int mntns,
                        const std::string& hostname, const registry::Record* parent, int cgroup) {
    const std::string what = "start the init of space '" + rec.name + "'";
    Init init;
    std::optional<Init> parent_init;
    if (parent != nullptr && parent->pidns != 0) {
        auto p = open_init(*parent);
        if (!p.ok()) return p.error().wrap(what);
        parent_init.emplace(std::move(p).value());
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return errno_error(what + ": socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    UniqueFd hold_rd;
    if (!rec.named) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return errno_error(what + ": pipe");
        hold_rd = UniqueFd(p[0]);
        init.hold = UniqueFd(p[1]);
    }
    const Context& ctx = reg.context();
    sys::SpawnOptions o;
    o.what = what;
    o.program = ctx.libexecdir + "/pninit";
    o.argv = {"pninit",
              rec.named ? "named" : "unnamed",
              std::to_string(rec.owner),
              std::to_string(primary_gid(rec.owner)),
              hostname,
              mntns >= 0 ? std::to_string(kMntnsFd) : "-",
              parent_init ? std::to_string(kParentPidnsFd) : "-",
              std::to_string(kReportFd),
              hold_rd.valid() ? std::to_string(kHoldFd) : "-",
              ctx.rundir};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.stdio = sys::SpawnOptions::Stdio::null;
    o.fds = {{theirs.get(), kReportFd}};
    if (mntns >= 0) o.fds.emplace_back(mntns, kMntnsFd);
    if (parent_init) o.fds.emplace_back(parent_init->pidns.get(), kParentPidnsFd);
    if (hold_rd.valid()) o.fds.emplace_back(hold_rd.get(), kHoldFd);
    o.netns = netns;
    o.netns_what = "join the space's network namespace";
    // Exec'd in the host's mount namespace, never in a file space (docs/SECURITY.md,
    // rule 2): the init enters the space's by descriptor after it started.
    auto host = host_mntns(reg);
    if (!host.ok()) return host.error().wrap(what);
    if (host->valid()) {
        o.mntns = host->get();
        o.mntns_what = "join the host's mount namespace";
    }
    o.new_session = true;
    o.cgroup = cgroup;
    auto pid = sys::spawn(o);
    if (!pid.ok()) return pid.error();
    theirs.reset();
    hold_rd.reset();
    auto pidfd = read_report(ours.get(), what);
    const int status = sys::wait_child(pid.value());
    if (!pidfd.ok()) {
        if (pidfd.error().code == EIO && status > 0 && sys::exit_code(status) == 2)
            return make_error(EINVAL, what + ": pninit refused its arguments");
        return pidfd.error();
    }
    init.pidfd = std::move(pidfd).value();
    auto init_pid = pid_of_pidfd(init.pidfd.get());
    auto fail = [&](Error e) -> Result<Init> {
        (void)::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0);
        return e;
    };
    if (!init_pid.ok()) return fail(init_pid.error().wrap(what));
    if (auto opened = open_namespaces(init, init_pid.value(), 0, what); !opened.ok())
        return fail(opened.error());
    auto inode = sys::inode_of_fd(init.pidns.get());
    if (!inode.ok()) return fail(inode.error().wrap(what));
    rec.init_pid = init_pid.value();
    rec.init_pid_ns = proc_pidns();  // what numbered it: pid_of_pidfd read this /proc
    rec.pidns = inode.value();
    rec.hostname = hostname;
    return init;
}

Result<Init> open_init(const registry::Record& rec) {
    const std::string what = "space '" + rec.name + "'";
    Init init;
    const pid_t pid = find_init(rec);
    // By its /proc directory, which pidfd_send_signal takes too: /proc's numbers are not
    // always this process's (the helper called from inside a space has left for the host's
    // mount namespace, and its /proc, but not the space's PID namespace).
    if (pid > 0)
        init.pidfd =
            UniqueFd(::open(("/proc/" + std::to_string(pid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!init.pidfd.valid()) {
        if (pid == 0 || errno == ENOENT)
            return make_error(ESRCH, what +
                                         ": its init (pid 1 of its PID namespace) has ended, and its "
                                         "processes with it");
        return errno_error(what + ": open /proc/" + std::to_string(pid));
    }
    PN_TRY(open_namespaces(init, pid, rec.pidns, what), "");
    return init;
}

namespace {

// SIGKILL to rec's init; its pidfd (or /proc directory) while it may still be ending,
// nothing if it had ended. Only the pidfd is kept, and the namespaces open_init opened
// (to check it is the init) are closed before the signal: were this process the last
// holder of the init's mount namespace, closing it after the init's exit would wait out
// the namespace's teardown (an RCU grace period, ~4 ms) here.
Result<std::optional<UniqueFd>> signal_init(const registry::Record& rec) {
    if (rec.pidns == 0 || rec.init_pid <= 0) return std::optional<UniqueFd>{};
    auto init = open_init(rec);
    if (!init.ok()) {
        if (init.error().code == ESRCH) return std::optional<UniqueFd>{};
        return init.error();
    }
    UniqueFd pidfd = std::move(init->pidfd);
    init->pidns.reset();
    init->utsns.reset();
    init->mntns.reset();
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) {
        if (errno == ESRCH) return std::optional<UniqueFd>{};
        return errno_error("end the init of space '" + rec.name + "'");
    }
    return std::optional<UniqueFd>(std::move(pidfd));
}

}  // namespace

Status stop_init(const registry::Record& rec) {
    auto pidfd = signal_init(rec);
    if (!pidfd.ok()) return pidfd.error();
    if (!pidfd->has_value()) return {};
    // Gone once it is reaped (its parent is outside the namespace), or a zombie, which
    // holds no namespace of the space's: up to 2 s. A killed process is usually gone within
    // a millisecond: looked at often first (destroy waits for it), then every 10 ms.
    for (int waited_us = 0; waited_us < 2000000 && !dead_at((*pidfd)->get());) {
        const int step = waited_us < 20000 ? 500 : 10000;
        ::usleep(step);
        waited_us += step;
    }
    return {};
}

Result<bool> kill_init(const registry::Record& rec) {
    auto pidfd = signal_init(rec);
    if (!pidfd.ok()) return pidfd.error();
    return pidfd->has_value();
}

}  // namespace personalnet::space
