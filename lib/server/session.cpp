// A session (create or open): the space held for the caller, the caller's commands run
// in it, and the session's broker, which serves requests from inside the space.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/server/caller_checks.hpp"
#include "lib/server/server.hpp"

namespace personalnet::server {

namespace {

// The user namespace must be the initial one: a set-uid program started from a namespace
// a user owns would act with root's rights on a view of the system that user made.
// The kernel gives the initial user namespace a fixed inode number (PROC_USER_INIT_INO).
constexpr ino_t kInitialUserNamespace = 0xEFFFFFFDU;

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

}  // namespace

// The session's broker: a process listening in the space for its commands' own
// requests (nested spaces, pnet), each served by a helper of its own forked from it.
class Server::Broker {
public:
    Broker(Server& s, Space& space) {
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0) return;
        UniqueFd rd(ready[0]), wr(ready[1]);
        const pid_t session = ::getpid();
        name_ = helper::broker_name(session);
        pid_ = ::fork();
        if (pid_ == 0) {
            rd.reset();
            s.broker_main(space, name_, session, wr.get());
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

// A space held for the caller: answer what it is, then run what the caller asks in
// it until the caller closes the channel (or dies).
int Server::session(const helper::Request& r) {
    auto checker = helper::Becoming::prepare(who_);  // for checks made as the caller
    if (!checker.ok()) return answer(helper::error_answer(checker.error()));
    auto space = r.op == helper::Op::create ? create(r, checker.value()) : Space::open(r.name, ctx_);
    if (!space.ok()) return answer(helper::error_answer(space.error()));
    auto as_caller = helper::Becoming::prepare(who_, space->info().admin);
    if (!as_caller.ok()) return answer(helper::error_answer(as_caller.error()));
    Broker broker(*this, space.value());  // before the answer: a command may ask it at once
    auto m = helper::ok_answer();
    helper::add_space(m, space->info());
    if (answer(m) != 0) return kExitFailure;
    for (;;) {
        if (!wait_for_request()) return 0;  // closed, or the caller is gone: release
        auto next = helper::receive_message(channel_);
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
                    make_error(EINVAL, "bad request: a session only runs commands"))) != 0)
                return kExitFailure;
            continue;
        }
        if (broker.started()) req->env.push_back("PERSONALNET_BROKER=" + broker.name());
        Space::RunOptions opts;
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

void Server::broker_main(Space& space, const std::string& name, pid_t session, int ready) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != session) ::_exit(0);
    ::close(channel_);  // the session's caller is not ours to talk to
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
void Server::serve_peer(helper::Peer peer) {
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
    caller_pidfd_ = UniqueFd(helper::kChannelFd + 1);
    channel_ = helper::kChannelFd;
    ctx_.caller_mntns = kPeerMntns;
    ::_exit(serve());
}

// Waits for the next request; false when the channel closed or the caller died.
bool Server::wait_for_request() {
    pollfd fds[2] = {{channel_, POLLIN, 0}, {caller_pidfd_.get(), POLLIN, 0}};
    for (;;) {
        int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if ((fds[1].revents & POLLIN) != 0) return false;
        return (fds[0].revents & POLLIN) != 0;
    }
}

}  // namespace personalnet::server
