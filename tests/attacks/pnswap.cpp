// pnswap A B COUNT: swaps the two names A and B (renameat2 RENAME_EXCHANGE) COUNT times, as
// fast as it can, then prints how many swaps it made. An attack runs it beside a
// privileged operation that walks or binds A, so that A is now a directory, now a
// symbolic link elsewhere. Not installed; built for the attack suite.
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: pnswap A B COUNT\n");
        return 2;
    }
    long count = std::strtol(argv[3], nullptr, 10);
    long done = 0;
    for (long i = 0; i < count; ++i) {
        if (::syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */) != 0) {
            std::fprintf(stderr, "pnswap: %s <-> %s: %s\n", argv[1], argv[2], std::strerror(errno));
            return 1;
        }
        ++done;
    }
    // An even count leaves both names where they started.
    std::printf("%ld swaps\n", done);
    return 0;
}
