// pnswap A B COUNT: swaps the two names A and B (renameat2 RENAME_EXCHANGE) COUNT times, as
// fast as it can, then prints how many swaps it made. An attack runs it beside a
// privileged operation that walks or binds A, so that A is now a directory, now a
// symbolic link elsewhere. Not installed; built for the attack suite.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
volatile sig_atomic_t g_stop = 0;
void stop(int) { g_stop = 1; }
}  // namespace

// SIGTERM stops it early, and so does a failed swap (the union's upper layer removed
// under it answers ESTALE or ENOENT): either way it reports how many swaps it made, which
// is what the attack counts.
int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: pnswap A B COUNT\n");
        return 2;
    }
    long count = std::strtol(argv[3], nullptr, 10);
    long done = 0;
    int rc = 0;
    struct sigaction sa = {};
    sa.sa_handler = stop;
    ::sigaction(SIGTERM, &sa, nullptr);
    for (long i = 0; i < count && g_stop == 0; ++i) {
        if (::syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */) != 0) {
            std::fprintf(stderr, "pnswap: %s <-> %s: %s\n", argv[1], argv[2], std::strerror(errno));
            rc = 1;
            break;
        }
        ++done;
    }
    std::printf("%ld swaps\n", done);
    std::fflush(stdout);
    return rc;
}
