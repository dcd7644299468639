// pnhelper: personalnet's set-uid root helper. The library starts it for an unprivileged
// caller with a request channel on descriptor 3 (lib/helper/client); it checks the
// administrator's policy (personalnet.conf(5)), does the privileged steps through the
// same library code root uses, and runs the caller's command as the caller again, with
// every capability dropped. It takes nothing from its caller but the request: not the
// environment, not descriptors beyond stdio, not paths to read.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/helper/broker.hpp"
#include "lib/helper/channel.hpp"
#include "lib/helper/identity.hpp"
#include "lib/helper/request.hpp"
#include "lib/policy/policy.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/run_mounts.hpp"
#include "personalnet/space.hpp"
#include "tools/cli.hpp"

#ifndef PERSONALNET_POLICY_PATH
#define PERSONALNET_POLICY_PATH "/etc/personalnet/personalnet.conf"
#endif

namespace {

namespace pn = personalnet;
namespace helper = personalnet::helper;
namespace policy = personalnet::policy;
using pn::Result;
using pn::Status;

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

[[noreturn]] void die(int code, const std::string& msg) {
    std::fprintf(stderr, "pnhelper: %s\n", msg.c_str());
    std::_Exit(code);
}

// Descriptors 0-2 exist (on /dev/null if the caller closed them), so nothing opened later
// lands on them; the channel is a socket; everything else is closed.
void sanitize_descriptors() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int null = ::open("/dev/null", O_RDWR);
        if (null != fd) std::_Exit(kExitFailure);
    }
    struct stat st {};
    if (::fstat(helper::kChannelFd, &st) != 0 || !S_ISSOCK(st.st_mode))
        die(kExitUsage, "this is libpersonalnet's set-uid helper; use mkportspace(1) or pnet(8)");
    if (::fcntl(helper::kChannelFd, F_SETFD, FD_CLOEXEC) != 0)
        die(kExitFailure, "channel: cannot set close-on-exec");
    if (::syscall(SYS_close_range, helper::kChannelFd + 1, ~0U, 0) != 0)
        die(kExitFailure, "cannot close descriptors");
}

// The user namespace must be the initial one: a set-uid program started from a namespace
// a user owns would act with root's rights on a view of the system that user made.
// The kernel gives the initial user namespace a fixed inode number (PROC_USER_INIT_INO).
constexpr ino_t kInitialUserNamespace = 0xEFFFFFFDU;

void require_initial_user_namespace() {
    if (!pn::sys::in_initial_user_namespace())
        die(kExitFailure, "refusing to run outside the initial user namespace");
}

policy::Caller describe(const helper::Identity& who) {
    policy::Caller c;
    c.uid = who.uid;
    c.gid = who.gid;
    std::vector<char> buf(16384);
    struct passwd pw {
    }, *pwp = nullptr;
    if (::getpwuid_r(who.uid, &pw, buf.data(), buf.size(), &pwp) == 0 && pwp != nullptr) c.user = pw.pw_name;
    std::vector<gid_t> gids = who.groups;
    gids.insert(gids.begin(), who.gid);
    for (gid_t g : gids) {
        struct group gr {
        }, *grp = nullptr;
        if (::getgrgid_r(g, &gr, buf.data(), buf.size(), &grp) == 0 && grp != nullptr) {
            std::string name = gr.gr_name;
            if (std::find(c.group_names.begin(), c.group_names.end(), name) == c.group_names.end())
                c.group_names.push_back(name);
        }
    }
    return c;
}

// A seed file's text as a path the library can read: a sealed memory file, so no file
// is left anywhere and nobody else can change it.
Result<std::string> as_memfd(const std::string& text, std::vector<pn::UniqueFd>& keep) {
    int fd = ::memfd_create("personalnet-seed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return pn::errno_error("seed file");
    pn::UniqueFd owned(fd);
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return pn::errno_error("seed file");
    (void)::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    keep.push_back(std::move(owned));
    return "/proc/self/fd/" + std::to_string(fd);
}

// How long a check made as the caller may take: the caller controls what it looks at
// (a directory on their own FUSE mount whose daemon they stopped, or the checking child
// itself, which runs as them and which they may SIGSTOP).
constexpr int kCheckSeconds = 5;
// How long a creation waits for the helper's lock (held by other users' creations)
// before it gives up with one line.
constexpr int kLockSeconds = 60;

// A directory the caller wants to share, resolved by a child that became the caller: the
// canonical path of a directory the caller can read and enter, so that the policy's
// share paths are checked against what would really be shared (not a symbolic link
// under an allowed prefix), and the helper never tells anything about what the caller
// cannot see. The child gets kCheckSeconds and is SIGKILLed then; the helper does not
// wait for a child stuck in an unkillable wait (a FUSE request already read by a stopped
// daemon): it is reaped when the helper ends. Never called under a lock.
Result<std::string> resolve_as_caller(const helper::Becoming& as_caller, const std::string& dir,
                                      int caller_pidfd) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return pn::errno_error("check --share " + dir);
    pn::UniqueFd rd(out[0]), wr(out[1]);
    pid_t pid = ::fork();
    if (pid < 0) return pn::errno_error("check --share " + dir);
    if (pid == 0) {
        rd.reset();
        char real[PATH_MAX];
        struct stat st {};
        if (as_caller.become() != 0 || ::realpath(dir.c_str(), real) == nullptr || ::stat(real, &st) != 0 ||
            !S_ISDIR(st.st_mode) || ::access(real, R_OK | X_OK) != 0)
            ::_exit(1);
        size_t n = std::strlen(real);
        ::_exit(::write(wr.get(), real, n) == static_cast<ssize_t>(n) ? 0 : 1);
    }
    wr.reset();
    std::string real;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kCheckSeconds);
    std::optional<pn::Error> gave_up;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            gave_up = pn::make_error(ETIMEDOUT, "--share '" + dir + "': checking it as you took more than " +
                                                    std::to_string(kCheckSeconds) +
                                                    " s (a stopped or hung file system?); refused");
            break;
        }
        pollfd fds[2] = {{rd.get(), POLLIN, 0}, {caller_pidfd, POLLIN, 0}};
        int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            gave_up = pn::errno_error("check --share " + dir + ": poll");
            break;
        }
        if (n <= 0) continue;
        if ((fds[1].revents & POLLIN) != 0) {
            gave_up = pn::make_error(ECANCELED, "check --share " + dir + ": the caller is gone");
            break;
        }
        char buf[512];
        ssize_t got = ::read(rd.get(), buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // the child is done (or failed)
        real.append(buf, static_cast<size_t>(got));
        if (real.size() > PATH_MAX) break;
    }
    int status = 0;
    if (gave_up) {
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 20 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) ::usleep(10000);
        return *gave_up;
    }
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || real.empty() || real[0] != '/' ||
        real.size() > PATH_MAX)
        return pn::make_error(EACCES, "--share '" + dir + "': not a directory you can read");
    return real;
}

// The pid of the process a pidfd refers to (its fdinfo's Pid line), or -1 when it has
// exited.
pid_t pid_of(int pidfd) {
    auto info = pn::sys::read_file("/proc/self/fdinfo/" + std::to_string(pidfd));
    if (!info.ok()) return -1;
    auto at = info->find("\nPid:\t");
    if (at == std::string::npos) return -1;
    long pid = std::strtol(info->c_str() + at + 6, nullptr, 10);
    return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

// What the child that execs a caller's command does before becoming the caller: it joins
// the caller's process group (the helper has one of its own, out of the terminal's reach;
// the command must be where the caller is, in the terminal's foreground, to get ^C, ^Z
// and SIGWINCH and to read the terminal), and takes back the default disposition of the
// terminal's stop signals that the helper ignores (an ignored signal survives exec).
struct CommandSetup {
    const helper::Becoming* as_caller = nullptr;
    pid_t pgid = -1;  // the caller's process group, if known

    static int run(const void* arg) {
        const auto* self = static_cast<const CommandSetup*>(arg);
        if (self->pgid > 0) (void)::setpgid(0, self->pgid);  // fails if it left the session: stay
        struct sigaction dfl = {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) ::sigaction(sig, &dfl, nullptr);
        return self->as_caller->become();
    }
};

// The depth a space created here would have, and whose space "here" is.
struct Here {
    int depth = 1;
    std::optional<uid_t> owner;  // of the space the caller runs in, if any
};
Result<Here> where_am_i(const pn::Context& ctx) {
    Here h;
    auto reg = pn::registry::Registry::open(ctx);
    if (!reg.ok()) return reg.error();
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0) return pn::errno_error("read the caller's namespace");
    if (auto label = reg->find_netns(st.st_ino)) {
        auto rec = reg->load(*label);
        if (rec.ok()) {
            h.depth = rec->depth + 1;
            h.owner = rec->owner;
        }
    }
    return h;
}

class Helper {
public:
    // The library acts in ctx: the policy's directories, for the caller (its uid, and its
    // mount namespace when it is not ours).
    Helper(helper::Identity who, policy::Policy pol, pn::UniqueFd caller, int caller_mntns)
        : who_(std::move(who)),
          caller_(describe(who_)),
          policy_(std::move(pol)),
          caller_pidfd_(std::move(caller)) {
        ctx_.rundir = policy_.rundir;
        ctx_.statedir = policy_.statedir;
        ctx_.overlaydir = policy_.overlaydir;
        ctx_.caller = who_.uid;
        ctx_.caller_mntns = caller_mntns;
    }

    int serve() {
        auto first = helper::receive_message(helper::kChannelFd);
        if (!first.ok()) {
            if (!answerable(first.error())) return kExitFailure;  // the library went away
            (void)answer(helper::error_answer(first.error()));
            return kExitUsage;
        }
        auto req = helper::parse_request(first.value());
        if (!req.ok()) return answer(helper::error_answer(req.error()));
        switch (req->op) {
            case helper::Op::list:
                return list();
            case helper::Op::show: {
                auto info = pn::show_space(req->name, ctx_);
                if (!info.ok()) return answer(helper::error_answer(info.error()));
                auto m = helper::ok_answer();
                helper::add_space(m, info.value());
                return answer(m);
            }
            case helper::Op::destroy:
                return status_answer(pn::destroy_space(
                    req->name, ctx_, req->keep_files ? pn::Keep::files : pn::Keep::nothing));
            case helper::Op::gc:
                return status_answer(pn::collect_garbage(req->full, ctx_));
            case helper::Op::diff: {
                auto changes = pn::diff_space(req->name, ctx_);
                if (!changes.ok()) return answer(helper::error_answer(changes.error()));
                auto m = helper::ok_answer();
                for (const auto& c : changes.value()) helper::add_change(m, c);
                return answer(m);
            }
            case helper::Op::create:
            case helper::Op::open:
                return session(req.value());
            case helper::Op::run:
                return answer(helper::error_answer(
                    pn::make_error(EINVAL, "bad request: run needs a space (create or open first)")));
        }
        return kExitFailure;
    }

private:
    // A request that could not be read is answered (one line naming what is wrong) unless
    // the caller closed the channel: then nobody is left to read an answer.
    static bool answerable(const pn::Error& e) { return e.code == EINVAL || e.code == EMSGSIZE; }

    int answer(const helper::Message& m) { return helper::send_message(helper::kChannelFd, m).ok() ? 0 : 1; }
    int status_answer(const Status& st) {
        return answer(st.ok() ? helper::ok_answer() : helper::error_answer(st.error()));
    }

    int list() {
        auto spaces = pn::list_spaces(ctx_);  // the caller's own (ctx_.caller)
        if (!spaces.ok()) return answer(helper::error_answer(spaces.error()));
        auto m = helper::ok_answer();
        for (const auto& s : spaces.value()) helper::add_space(m, s);
        return answer(m);
    }

    // Everything policy says about a creation, checked before anything is created.
    Status allowed(const helper::Request& r) {
        PN_TRY(policy::may_create(policy_, caller_), "");
        auto here = where_am_i(ctx_);
        if (!here.ok()) return here.error();
        if (here->owner && *here->owner != who_.uid && who_.uid != 0)
            return pn::make_error(EPERM, "create space: the space you run in belongs to another user");
        auto all = pn::list_spaces(ctx_);
        if (!all.ok()) return all.error();
        int mine = 0;
        for (const auto& s : all.value()) mine += s.owner == who_.uid;
        auto total = pn::registry::Registry::open(ctx_);
        if (!total.ok()) return total.error();
        PN_TRY(policy::within_limits(policy_, caller_, mine, static_cast<int>(total->labels().size()),
                                     here->depth),
               "");
        if (!r.spec.overlay.empty()) PN_TRY(policy::may_bind_overlay(policy_, caller_, r.spec.overlay), "");
        if (r.spec.admin) PN_TRY(policy::may_admin(policy_, caller_), "");
        return {};
    }

    Result<pn::Space> create(const helper::Request& r, const helper::Becoming& as_caller) {
        // What the caller controls first, without any lock: the shared directories are
        // looked at as the caller (with a time limit), the seed texts put in memfds.
        PN_TRY(policy::may_create(policy_, caller_), "");
        pn::SpaceSpec spec = r.spec;
        // The size of the caller's layer-store image; root's own spaces keep the default.
        spec.max_layer_bytes = who_.uid == 0 ? 0 : policy_.max_layer_size;
        for (auto& dir : spec.shared_paths) {
            auto real = resolve_as_caller(as_caller, dir, caller_pidfd_.get());
            if (!real.ok()) return real.error();
            PN_TRY(policy::may_share(policy_, caller_, real.value()), "");
            dir = real.value();
        }
        std::vector<pn::UniqueFd> seeds;
        for (auto [text, path] :
             {std::pair{&r.resolv_conf_text, &spec.resolv_conf}, std::pair{&r.hosts_text, &spec.hosts}}) {
            if (text->empty()) continue;
            auto p = as_memfd(*text, seeds);
            if (!p.ok()) return p.error();
            *path = p.value();
        }
        // One creation at a time through the helper, so that the limits counted in
        // allowed() still hold when the space is made (root's own creations are not
        // limited). Under the lock: the count and the creation, nothing the caller runs.
        auto reg = pn::registry::Registry::open(ctx_);  // makes the run directory
        if (!reg.ok()) return reg.error().wrap("create space");
        auto lock = pn::sys::open_fd(reg->path("helper.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (!lock.ok()) return lock.error().wrap("create space");
        PN_TRY(lock_for_caller(lock->get()), "");
        PN_TRY(allowed(r), "");
        return pn::Space::create(spec, ctx_);
    }

    // Takes the helper's lock, waiting for other creations no longer than kLockSeconds and
    // not at all once the caller is gone (a try-lock polled with the caller's pidfd).
    Status lock_for_caller(int fd) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kLockSeconds);
        for (;;) {
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return {};
            if (errno != EWOULDBLOCK && errno != EINTR) return pn::errno_error("create space: lock");
            if (std::chrono::steady_clock::now() >= deadline)
                return pn::make_error(EBUSY, "create space: other creations held the helper's lock for " +
                                                 std::to_string(kLockSeconds) + " s; try again later");
            pollfd p = {caller_pidfd_.get(), POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) return pn::make_error(ECANCELED, "create space: the caller is gone");
        }
    }

    // A space held for the caller: answer what it is, then run what the caller asks in
    // it until the caller closes the channel (or dies).
    int session(const helper::Request& r) {
        auto checker = helper::Becoming::prepare(who_);  // for checks made as the caller
        if (!checker.ok()) return answer(helper::error_answer(checker.error()));
        auto space = r.op == helper::Op::create ? create(r, checker.value()) : pn::Space::open(r.name, ctx_);
        if (!space.ok()) return answer(helper::error_answer(space.error()));
        auto as_caller = helper::Becoming::prepare(who_, space->info().admin);
        if (!as_caller.ok()) return answer(helper::error_answer(as_caller.error()));
        Broker broker(*this, space.value());  // before the answer: a command may ask it at once
        auto m = helper::ok_answer();
        helper::add_space(m, space->info());
        if (answer(m) != 0) return kExitFailure;
        for (;;) {
            if (!wait_for_request()) return 0;  // closed, or the caller is gone: release
            auto next = helper::receive_message(helper::kChannelFd);
            if (!next.ok()) {
                if (!answerable(next.error())) return 0;  // closed: release
                if (answer(helper::error_answer(next.error())) != 0) return kExitFailure;
                if (next.error().code == EMSGSIZE) return 0;  // its body unread: out of step
                continue;
            }
            auto req = helper::parse_request(next.value());
            if (!req.ok()) {
                if (answer(helper::error_answer(req.error())) != 0) return kExitFailure;
                continue;
            }
            if (req->op != helper::Op::run) {
                if (answer(helper::error_answer(
                        pn::make_error(EINVAL, "bad request: a session only runs commands"))) != 0)
                    return kExitFailure;
                continue;
            }
            if (broker.started()) req->env.push_back("PERSONALNET_BROKER=" + broker.name());
            pn::Space::RunOptions opts;
            opts.env = &req->env;
            pid_t caller = pid_of(caller_pidfd_.get());
            CommandSetup setup{&as_caller.value(), caller > 0 ? ::getpgid(caller) : -1};
            opts.before_exec = CommandSetup::run;
            opts.arg = &setup;
            opts.cwd = req->cwd.empty() ? "/" : req->cwd;
            auto rc = space->run(req->argv, opts);
            auto a = helper::ok_answer();
            if (rc.ok()) helper::add_exit(a, rc.value());
            if (answer(rc.ok() ? a : helper::error_answer(rc.error())) != 0) return kExitFailure;
        }
    }

    // The session's broker: a process listening in the space for its commands' own
    // requests (nested spaces, pnet), each served by a helper of its own forked from it.
    class Broker {
    public:
        Broker(Helper& h, pn::Space& space) {
            int ready[2];
            if (::pipe2(ready, O_CLOEXEC) != 0) return;
            pn::UniqueFd rd(ready[0]), wr(ready[1]);
            const pid_t session = ::getpid();
            name_ = helper::broker_name(session);
            pid_ = ::fork();
            if (pid_ == 0) {
                rd.reset();
                h.broker_main(space, name_, session, wr.get());
            }
            wr.reset();
            char byte = 0;
            if (pid_ < 0 || ::read(rd.get(), &byte, 1) != 1) stop();
        }
        Broker(const Broker&) = delete;
        Broker& operator=(const Broker&) = delete;
        ~Broker() { stop(); }
        bool started() const { return pid_ > 0; }
        const std::string& name() const { return name_; }

    private:
        void stop() {
            if (pid_ > 0) {
                ::kill(pid_, SIGKILL);
                while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
                }
            }
            pid_ = -1;
        }
        pid_t pid_ = -1;
        std::string name_;
    };

    [[noreturn]] void broker_main(pn::Space& space, const std::string& name, pid_t session, int ready) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != session) ::_exit(0);
        ::close(helper::kChannelFd);  // the session's caller is not ours to talk to
        if (!space.enter().ok()) ::_exit(1);
        auto listener = helper::broker_listen(name);
        if (!listener.ok()) ::_exit(1);
        ::signal(SIGCHLD, SIG_IGN);  // the peers' helpers reap themselves
        (void)!::write(ready, "r", 1);
        ::close(ready);
        for (;;) {
            auto peer = helper::broker_accept(listener->get());
            if (!peer.ok()) continue;
            pid_t pid = ::fork();
            if (pid == 0) {
                listener->reset();
                serve_peer(std::move(peer).value());
            }
        }
    }

    // One connection to the broker, in a process of its own: the peer must be the
    // session's caller, in the initial user namespace. The helper stays where the broker
    // is (the host's mount namespace, the space's network namespace) and never joins the
    // peer's mount namespace, whose files are the user's (docs/SECURITY.md, rule 2): it
    // only keeps a descriptor of it, to find the file space a new space stacks on, and
    // takes the working directory from the request, entered as the caller.
    [[noreturn]] void serve_peer(helper::Peer peer) {
        ::signal(SIGCHLD, SIG_DFL);
        struct stat userns {};
        std::string proc = "/proc/" + std::to_string(peer.pid);
        if (peer.uid != who_.uid || ::stat((proc + "/ns/user").c_str(), &userns) != 0 ||
            userns.st_ino != kInitialUserNamespace)
            ::_exit(kExitFailure);
        int mnt = ::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
        // Still the same process after the open (pidfd): the namespace was the peer's.
        if (mnt < 0 || ::syscall(SYS_pidfd_send_signal, peer.pidfd.get(), 0, nullptr, 0) != 0)
            ::_exit(kExitFailure);
        if (::chdir("/") != 0) ::_exit(kExitFailure);
        if (!helper::take_stdio(peer.conn.get()).ok()) ::_exit(kExitFailure);
        const int kPeerMntns = helper::kChannelFd + 2;
        // Copies above the targets first, so that no dup2 below overwrites a source.
        int conn = ::fcntl(peer.conn.get(), F_DUPFD_CLOEXEC, 16);
        int pidfd = ::fcntl(peer.pidfd.get(), F_DUPFD_CLOEXEC, 16);
        int mntfd = ::fcntl(mnt, F_DUPFD_CLOEXEC, 16);
        if (conn < 0 || pidfd < 0 || mntfd < 0 || ::dup2(conn, helper::kChannelFd) != helper::kChannelFd ||
            ::dup2(pidfd, helper::kChannelFd + 1) != helper::kChannelFd + 1 ||
            ::dup2(mntfd, kPeerMntns) != kPeerMntns)
            ::_exit(kExitFailure);
        for (int fd : {helper::kChannelFd, helper::kChannelFd + 1, kPeerMntns})
            (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
        // Everything else of the session (its space's descriptors, the listener) is not
        // this helper's; the objects holding them are never destroyed here (_exit).
        ::syscall(SYS_close_range, kPeerMntns + 1, ~0U, 0);
        (void)peer.conn.release();
        (void)peer.pidfd.release();
        (void)caller_pidfd_.release();  // its number was closed above (or is the peer's now)
        caller_pidfd_ = pn::UniqueFd(helper::kChannelFd + 1);
        ctx_.caller_mntns = kPeerMntns;
        ::_exit(serve());
    }

    // Waits for the next request; false when the channel closed or the caller died.
    bool wait_for_request() {
        pollfd fds[2] = {{helper::kChannelFd, POLLIN, 0}, {caller_pidfd_.get(), POLLIN, 0}};
        for (;;) {
            int n = ::poll(fds, 2, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return false;
            if ((fds[1].revents & POLLIN) != 0) return false;
            return (fds[0].revents & POLLIN) != 0;
        }
    }

    helper::Identity who_;
    policy::Caller caller_;
    policy::Policy policy_;
    pn::UniqueFd caller_pidfd_;
    pn::Context ctx_;
};

// A caller inside a file space (a login's shell, pam_personalnet(8)) started us there, and
// its files are the user's: move to the host's mount namespace (the login service's) at
// once, keeping a descriptor of the caller's to find its file space by (docs/SECURITY.md,
// rule 2). Returns that descriptor, or -1 when the caller is not in a file space.
int leave_file_space(const std::string& rundir) {
    auto reg = pn::registry::Registry::open(rundir);
    if (!reg.ok() || !pn::space::inside_file_space(reg.value())) return -1;
    // The caller's namespace on its fixed descriptor first: the host's, opened next,
    // cannot then land on that number.
    constexpr int kCallerMntns = helper::kChannelFd + 2;
    int own = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (own < 0 || (own != kCallerMntns && ::dup3(own, kCallerMntns, O_CLOEXEC) != kCallerMntns))
        die(kExitFailure, "cannot keep the caller's mount namespace");
    if (own != kCallerMntns) ::close(own);
    auto outside = pn::space::host_mntns(reg.value());
    if (!outside.ok()) die(kExitFailure, outside.error().message());
    if (!outside->valid() || ::setns(outside->get(), CLONE_NEWNS) != 0 || ::chdir("/") != 0)
        die(kExitFailure, "cannot leave the caller's file space for the host's mount namespace");
    return kCallerMntns;
}

}  // namespace

static int run_helper(int argc, char** argv) {
    if (argc < 1 || argv == nullptr || argv[0] == nullptr) return kExitUsage;  // refuse argc == 0
    // Nobody may read our memory or attach to us until we exec the caller's command.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return kExitFailure;
    sanitize_descriptors();
    if (::clearenv() != 0) die(kExitFailure, "cannot clear the environment");
    if (argc != 1) die(kExitUsage, "takes no arguments; its request comes from libpersonalnet");
    if (::geteuid() != 0) die(kExitFailure, "not installed set-uid root (make install)");
    require_initial_user_namespace();

    auto who = helper::Identity::of_caller();
    if (!who.ok()) die(kExitFailure, who.error().message());
    // The caller, pinned: if it dies, a session ends and its unnamed space goes.
    pid_t parent = ::getppid();
    int pidfd = parent > 1 ? static_cast<int>(::syscall(SYS_pidfd_open, parent, 0)) : -1;
    if (pidfd < 0) die(kExitFailure, "cannot pin the calling process");
    pn::UniqueFd caller(pidfd);
    (void)::fcntl(pidfd, F_SETFD, FD_CLOEXEC);

    // Wholly root from here (the daemons it starts must not be the caller's to signal);
    // whose behalf it acts on is its context's caller.
    if (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
        die(kExitFailure, "cannot become root");
    ::umask(022);
    // A process group of our own: the terminal's signals (^Z stopping root's helper while
    // it holds a lock, ^C) go to the caller's foreground group, not to us. The commands we
    // run join the caller's group again (CommandSetup) to get them. setpgid cannot fail
    // here (we are not a session leader: the library forked us) but is checked anyway.
    if (::setpgid(0, 0) != 0) die(kExitFailure, "cannot make a process group of its own");
    // Stop signals from a terminal we may still write to (our group is in the background
    // now): ignored. Exec would hand an ignored signal on: CommandSetup restores them.
    struct sigaction ign = {};
    ign.sa_handler = SIG_IGN;
    for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) ::sigaction(sig, &ign, nullptr);
    // A caller that ignores SIGCHLD hands that on through exec: the kernel would then reap
    // our children before waitpid() sees their exit status.
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, nullptr);
    // ^C and ^\ sent to our group by hand (kill -INT -PGID by root) are still the
    // command's business. A handler rather than SIG_IGN, because exec resets a handler but
    // would hand an ignored signal on to the command.
    struct sigaction quiet = {};
    quiet.sa_handler = [](int) {};
    ::sigaction(SIGINT, &quiet, nullptr);
    ::sigaction(SIGQUIT, &quiet, nullptr);

    auto pol = policy::load_policy(PERSONALNET_POLICY_PATH);
    if (!pol.ok()) die(kExitFailure, pol.error().message());
    const int caller_mntns = leave_file_space(pol->rundir);
    // A fixed environment of our own, for the programs we start (charon, fuse-overlayfs).
    if (::setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) != 0 || ::setenv("LC_ALL", "C", 1) != 0)
        die(kExitFailure, "cannot set a fixed environment");

    Helper h(std::move(who).value(), std::move(pol).value(), std::move(caller), caller_mntns);
    return h.serve();
}

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnhelper", [&] { return run_helper(argc, argv); });
}
