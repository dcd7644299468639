// pnhelper: personalnet's set-uid root helper. The library starts it for an unprivileged
// caller with a request channel on descriptor 3 (lib/helper/client); it checks the
// administrator's policy (personalnet.conf(5)), does the privileged steps through the
// same library code root uses, and runs the caller's command as the caller again, with
// every capability dropped. It takes nothing from its caller but the request: not the
// environment, not descriptors beyond stdio, not paths to read. This is its main: it
// makes the process safe to run (descriptors, environment, signals, ids, capabilities),
// loads the policy and hands over to the server (lib/server).
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/helper/channel.hpp"
#include "lib/helper/identity.hpp"
#include "lib/policy/policy.hpp"
#include "lib/server/privileges.hpp"
#include "lib/server/server.hpp"
#include "tools/cli.hpp"

#ifndef PERSONALNET_POLICY_PATH
#define PERSONALNET_POLICY_PATH "/etc/personalnet/personalnet.conf"
#endif

namespace {

namespace pn = personalnet;
namespace helper = personalnet::helper;
namespace policy = personalnet::policy;
namespace server = personalnet::server;
using server::kExitFailure;
using server::kExitUsage;

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

void require_initial_user_namespace() {
    if (!pn::sys::in_initial_user_namespace())
        die(kExitFailure, "refusing to run outside the initial user namespace");
}

// The directory we were run from (the kernel's name of our file, as the caller's mount
// namespace shows it): the programs the library runs as root (pnreaper, pnkeeper) are
// installed next to us. Only a directory nobody but root can change will do: a user who
// could place a link to us elsewhere must not choose what root runs.
std::string own_directory() {
    char exe[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) die(kExitFailure, "cannot tell where it is installed");
    std::string dir(exe, static_cast<size_t>(n));
    dir.erase(dir.rfind('/'));
    auto trusted = pn::sys::check_trusted_path(dir);
    if (!trusted.ok()) die(kExitFailure, "its directory: " + trusted.error().message());
    return dir;
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
    const std::string libexec = own_directory();  // before we leave the caller's mount namespace

    auto who = helper::Identity::of_caller();
    if (!who.ok()) die(kExitFailure, who.error().message());
    // The caller, pinned: if it dies, a session ends and its unnamed space goes.
    pid_t parent = ::getppid();
    int pidfd = parent > 1 ? static_cast<int>(::syscall(SYS_pidfd_open, parent, 0)) : -1;
    if (pidfd < 0) die(kExitFailure, "cannot pin the calling process");
    pn::UniqueFd caller(pidfd);
    (void)::fcntl(pidfd, F_SETFD, FD_CLOEXEC);

    // Wholly root from here (the daemons it starts must not be the caller's to signal);
    // whose behalf it acts on is its Context's caller (lib/server).
    if (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
        die(kExitFailure, "cannot become root");
    // Nothing it starts may ever regain what no operation needs (lib/server/privileges).
    if (auto trimmed = server::trim_bounding_set(); !trimmed.ok())
        die(kExitFailure, trimmed.error().message());
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
    // SIGCHLD as the kernel's default, ^C and ^\ the command's business.
    server::set_server_signals();

    auto pol = policy::load_policy(PERSONALNET_POLICY_PATH);
    if (!pol.ok()) die(kExitFailure, pol.error().message());
    auto left = server::leave_file_space(pol->rundir);
    if (!left.ok()) die(kExitFailure, left.error().message());
    // A fixed environment of our own, for the programs we start (charon, fuse-overlayfs).
    if (::setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) != 0 || ::setenv("LC_ALL", "C", 1) != 0)
        die(kExitFailure, "cannot set a fixed environment");

    server::Server s(std::move(who).value(), std::move(pol).value(), std::move(caller), left.value());
    s.set_libexecdir(libexec);
    return s.serve();
}

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnhelper", [&] { return run_helper(argc, argv); });
}
