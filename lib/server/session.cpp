// A session (create or open): the space held for the caller, the caller's commands run
// in it, and the session's broker, which serves requests from inside the space.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <cerrno>
#include <string>
#include <vector>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/server/caller_checks.hpp"
#include "lib/server/server.hpp"

namespace personalnet::server {

namespace {

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

// The space's network namespace, by descriptor: this thread goes in to open it and back.
Result<UniqueFd> netns_of(Space& space) {
    auto home = sys::open_fd("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (!home.ok()) return home.error();
    PN_TRY(space.enter(), "");
    auto there = sys::open_fd("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    PN_TRY(sys::enter_netns(home->get()), "return from the space's network namespace");
    return there;
}

// The caller as pnbroker takes it on argv: UID GID GROUPS ("-" or comma-separated).
std::vector<std::string> identity_args(const helper::Identity& who) {
    std::string groups;
    for (gid_t g : who.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
    return {std::to_string(who.uid), std::to_string(who.gid), groups.empty() ? "-" : groups};
}

}  // namespace

// The session's broker: pnbroker (a program of its own, Context::libexecdir), listening
// in the space for its commands' own requests (nested spaces, pnet), each served by a
// process of its own that execs pnbroker again. It dies with the session (SIGKILL).
class Server::Broker {
public:
    Broker(Server& s, Space& space) {
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0) return;
        UniqueFd rd(ready[0]), wr(ready[1]);
        auto netns = netns_of(space);
        if (!netns.ok()) return;
        const pid_t session = ::getpid();
        name_ = helper::broker_name(session);
        sys::SpawnOptions o;
        o.what = "start the session's broker";
        o.program = s.ctx_.libexecdir + "/pnbroker";
        o.argv = {"pnbroker", name_, std::to_string(session)};
        for (auto& a : identity_args(s.who_)) o.argv.push_back(std::move(a));
        for (char** e = environ; *e != nullptr; ++e) o.env.emplace_back(*e);  // the helper's own
        o.fds = {{wr.get(), 3}};
        o.netns = netns->get();
        o.netns_what = "join the space's network namespace";
        o.death_signal = SIGKILL;
        auto pid = sys::spawn(o);
        if (!pid.ok()) return;
        pid_ = pid.value();
        wr.reset();
        char byte = 0;
        if (::read(rd.get(), &byte, 1) != 1) stop();
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
            (void)sys::wait_child(pid_);
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
        // Also set from here: in the space's PID namespace the caller's group has no
        // number, and the child's own setpgid then fails.
        opts.process_group = setup.pgid;
        opts.arg = &setup;
        opts.cwd = req->cwd.empty() ? "/" : req->cwd;
        auto rc = space->run(req->argv, opts);
        auto a = helper::ok_answer();
        if (rc.ok()) helper::add_exit(a, rc.value());
        if (answer(rc.ok() ? a : helper::error_answer(rc.error())) != 0) return kExitFailure;
    }
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
