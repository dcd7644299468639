// The set-uid helper's server (tools/pnhelper is its thin main): the privileged side of
// the helper's protocol. It answers one request of an unprivileged caller on the channel
// (lib/helper/request, lib/helper/answer), checks the administrator's policy before
// anything is made, holds a session's space while the caller keeps the channel open, runs
// the caller's commands in it as the caller (lib/helper/identity), and keeps the
// session's broker listening in the space for requests from inside (docs/ARCHITECTURE.md,
// "Unprivileged use").
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/helper/broker.hpp"
#include "lib/helper/channel.hpp"
#include "lib/helper/identity.hpp"
#include "lib/helper/request.hpp"
#include "lib/policy/policy.hpp"
#include "personalnet/space.hpp"

namespace personalnet::server {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 1;

// How long a creation waits for the helper's lock (held by other users' creations)
// before it gives up with one line.
inline constexpr int kLockSeconds = 60;

class Server {
public:
    // who: the caller; caller_pidfd: the calling process, pinned (a session ends when it
    // dies); caller_mntns: the caller's mount namespace when it is not ours (what
    // leave_file_space kept), else -1; channel: the descriptor the requests come on (the
    // helper's is helper::kChannelFd; the broker's peers are served on that number too).
    // The library acts in a Context of the policy's directories, for the caller.
    Server(helper::Identity who, policy::Policy pol, UniqueFd caller_pidfd, int caller_mntns = -1,
           int channel = helper::kChannelFd);

    // Where the programs the library runs as root are (Context::libexecdir): the helper's
    // own directory, so that a staged helper runs its own pnreaper and pnkeeper.
    void set_libexecdir(const std::string& dir) { ctx_.libexecdir = dir; }

    // Reads and answers one request (a session: until the caller closes the channel or
    // dies). Returns the helper's exit status.
    int serve();

private:
    class Broker;

    // A request that could not be read is answered (one line naming what is wrong) unless
    // the caller closed the channel: then nobody is left to read an answer.
    static bool answerable(const Error& e);
    int answer(const helper::Message& m);
    int status_answer(const Status& st);
    int list();
    int networks();
    Status allowed(const helper::Request& r);
    Result<Space> create(const helper::Request& r, const helper::Becoming& as_caller);
    Status lock_for_caller(int fd);
    int session(const helper::Request& r);
    bool wait_for_request();

    helper::Identity who_;
    policy::Caller caller_;
    policy::Policy policy_;
    UniqueFd caller_pidfd_;
    int channel_;
    Context ctx_;
};

// A caller inside a file space (a login's shell, pam_personalnet(8)) started the helper
// there, and its files are the user's: move to the host's mount namespace (the login
// service's) at once, keeping a descriptor of the caller's (on kCallerMntnsFd) to find
// its file space by (docs/SECURITY.md, rule 2). Returns that descriptor, or -1 outside a
// file space (then it does nothing).
inline constexpr int kCallerMntnsFd = helper::kChannelFd + 2;
Result<int> leave_file_space(const std::string& rundir);

// The signal dispositions a server process (the helper, the broker, a peer's server)
// serves with, whatever it inherited: SIGCHLD the kernel's default (a caller ignoring it
// would have the kernel reap our children before waitpid() sees their status), and ^C and
// ^\ sent to the helper's group by hand left to the command (a handler rather than
// SIG_IGN: exec resets a handler but would hand an ignored signal on to the command).
void set_server_signals();

}  // namespace personalnet::server
