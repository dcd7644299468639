// pnbroker: a helper session's broker (lib/helper/broker.hpp). Root's helper starts it for
// the session (not set-uid: 0755, only root runs it) in the space's network namespace,
// with its parent-death signal set to SIGKILL, stdio the session's, the helper's fixed
// environment, and every descriptor closed but one:
//
//   pnbroker NAME SESSION UID GID GROUPS          (READY on descriptor 3)
//
// It listens on the abstract socket NAME ("@personalnet-SESSION"), writes one byte on
// READY once it does, and serves each connection in a process of its own that execs
//
//   pnbroker --serve-peer UID GID GROUPS          (connection on 3, the peer's pidfd on 4)
//
// UID, GID and GROUPS ("-" or comma-separated gids) are the session's caller: the only
// peer served. The peer's process checks it (uid, initial user namespace), keeps its
// mount namespace by descriptor only and serves its request as the helper would
// (lib/server), with the policy re-read from the trusted path this program was built with.
// Every argument is checked; the exit status says how it went.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/helper/broker.hpp"
#include "lib/helper/channel.hpp"
#include "lib/helper/identity.hpp"
#include "lib/policy/policy.hpp"
#include "lib/server/privileges.hpp"
#include "lib/server/server.hpp"
#include "tools/cli.hpp"

#ifndef PERSONALNET_POLICY_PATH
#define PERSONALNET_POLICY_PATH "/etc/personalnet/personalnet.conf"
#endif

extern char** environ;

namespace pn = personalnet;
namespace helper = personalnet::helper;
namespace server = personalnet::server;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

// The user namespace must be the initial one (PROC_USER_INIT_INO): a peer in a namespace
// a user made would have root's helper act on a view of the system that user made.
constexpr ino_t kInitialUserNamespace = 0xEFFFFFFDU;
constexpr int kReadyFd = 3;
constexpr int kPeerPidFd = helper::kChannelFd + 1;
constexpr int kPeerMntns = helper::kChannelFd + 2;

template <typename T>
bool number_arg(const std::string& arg, T& out) {
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), out);
    return !arg.empty() && ec == std::errc{} && end == arg.data() + arg.size();
}

// UID GID GROUPS as the session's helper wrote them (identity_args in lib/server/session).
bool identity_arg(char** argv, helper::Identity& who) {
    if (!number_arg(argv[0], who.uid) || !number_arg(argv[1], who.gid)) return false;
    std::string groups = argv[2];
    if (groups == "-") return true;
    size_t start = 0;
    for (;;) {
        size_t comma = groups.find(',', start);
        gid_t g = 0;
        if (!number_arg(groups.substr(start, comma == std::string::npos ? std::string::npos : comma - start),
                        g))
            return false;
        who.groups.push_back(g);
        if (comma == std::string::npos) return true;
        start = comma + 1;
    }
}

// This program's own file and directory (only one nobody but root can change): the peers'
// processes exec it, and their servers run the programs next to it (pnreaper, pnkeeper).
bool own_path(std::string& self, std::string& dir) {
    char exe[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    self.assign(exe, static_cast<size_t>(n));
    dir = self.substr(0, self.rfind('/'));
    return pn::sys::check_trusted_path(dir).ok();
}

int broker(char** argv) {
    const std::string name = argv[0];
    pid_t session = 0;
    helper::Identity who;
    if (!number_arg(argv[1], session) || session <= 1 || name != helper::broker_name(session) ||
        !identity_arg(argv + 2, who))
        return kExitUsage;
    if (::fcntl(kReadyFd, F_GETFD) < 0) return kExitUsage;
    // The session that started us (its death kills us: the spawn's PR_SET_PDEATHSIG).
    if (::getppid() != session) return 0;
    std::string self, dir;
    if (!own_path(self, dir)) return kExitFailure;
    auto listener = helper::broker_listen(name);
    if (!listener.ok()) return kExitFailure;
    ::signal(SIGCHLD, SIG_IGN);  // the peers' processes are reaped by the kernel
    (void)!::write(kReadyFd, "r", 1);
    ::close(kReadyFd);
    // Built once: what each peer's process is started with.
    pn::sys::SpawnOptions o;
    o.what = "broker: serve a peer";
    o.program = self;
    o.argv = {"pnbroker", "--serve-peer", argv[2], argv[3], argv[4]};
    for (char** e = environ; *e != nullptr; ++e) o.env.emplace_back(*e);
    for (;;) {
        auto peer = helper::broker_accept(listener->get());
        if (!peer.ok()) continue;
        o.fds = {{peer->conn.get(), helper::kChannelFd}, {peer->pidfd.get(), kPeerPidFd}};
        (void)pn::sys::spawn(o);  // a peer not served sees its connection closed
    }
}

// One connection to the broker: the peer must be the session's caller, in the initial user
// namespace. This process stays where the broker is (the host's mount namespace, the
// space's network namespace) and never joins the peer's mount namespace, whose files are
// the user's (docs/SECURITY.md, rule 2): it only keeps a descriptor of it, to find the
// file space a new space stacks on, and takes the working directory from the request,
// entered as the caller.
int serve_peer(char** argv) {
    helper::Identity who;
    if (!identity_arg(argv, who)) return kExitUsage;
    struct stat st {};
    if (::fstat(helper::kChannelFd, &st) != 0 || !S_ISSOCK(st.st_mode) || ::fcntl(kPeerPidFd, F_GETFD) < 0)
        return kExitUsage;
    ::syscall(SYS_close_range, kPeerMntns, ~0U, 0);  // nothing else is ours
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(helper::kChannelFd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return kExitFailure;
    struct stat userns {};
    std::string proc = "/proc/" + std::to_string(cred.pid);
    if (cred.uid != who.uid || ::stat((proc + "/ns/user").c_str(), &userns) != 0 ||
        userns.st_ino != kInitialUserNamespace)
        return kExitFailure;
    int mnt = ::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
    if (mnt < 0 || (mnt != kPeerMntns && ::dup3(mnt, kPeerMntns, O_CLOEXEC) != kPeerMntns))
        return kExitFailure;
    if (mnt != kPeerMntns) ::close(mnt);
    // Still the same process after the open (pidfd): the namespace was the peer's.
    if (::syscall(SYS_pidfd_send_signal, kPeerPidFd, 0, nullptr, 0) != 0) return kExitFailure;
    if (::chdir("/") != 0) return kExitFailure;
    if (!helper::take_stdio(helper::kChannelFd).ok()) return kExitFailure;
    for (int fd : {helper::kChannelFd, kPeerPidFd, kPeerMntns}) (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    std::string self, dir;
    if (!own_path(self, dir)) return kExitFailure;
    auto pol = pn::policy::load_policy(PERSONALNET_POLICY_PATH);
    if (!pol.ok()) return kExitFailure;
    server::Server s(std::move(who), std::move(pol).value(), pn::UniqueFd(kPeerPidFd), kPeerMntns,
                     helper::kChannelFd);
    s.set_libexecdir(dir);
    return s.serve();
}

int run(int argc, char** argv) {
    // Nobody may read our memory or attach to us (exec made us dumpable again).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return kExitFailure;
    if (::geteuid() != 0 || ::getuid() != 0) return kExitFailure;
    // The session's helper's capabilities, no more (exec gave us the bounding set's).
    if (!server::keep_only(server::Operation::session).ok()) return kExitFailure;
    // What the helper set up and exec did not keep (the broker ignores SIGCHLD, which would
    // survive into a peer's process; the quiet handlers are reset by exec).
    server::set_server_signals();
    if (argc == 6 && std::string(argv[1]) != "--serve-peer") return broker(argv + 1);
    if (argc == 5 && std::string(argv[1]) == "--serve-peer") return serve_peer(argv + 2);
    return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnbroker", [&] { return run(argc, argv); });
}
