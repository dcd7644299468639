// pnfswork: file-system workloads for bench/fs-bench. Each workload times only its own operation,
// so the same figure can be taken natively and inside a file space without counting the space's
// creation, and prints milliseconds on stdout. Self-contained on purpose, like pnprobe.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr size_t kBufSize = size_t{1024} * 1024;
constexpr long long kMaxFileBytes = 1LL << 40;
constexpr long long kMaxTreeFiles = 10'000'000;
constexpr long long kMaxTreeDirs = 1'000'000;
constexpr long long kMaxTreeFileBytes = 64LL * 1024 * 1024;
constexpr int kWalkMaxFds = 64;
constexpr const char* kUsage =
    "Usage:\n"
    "  pnfswork read FILE                       sequential read(2), 1 MiB buffers\n"
    "  pnfswork copyup DIR                      append 1 byte to every regular file in DIR\n"
    "  pnfswork walk DIR                        nftw (FTW_PHYS) + lstat of every entry\n"
    "  pnfswork untar TARBALL DEST              tar -xf TARBALL -C DEST (DEST is made if missing)\n"
    "  pnfswork mkfile FILE BYTES               make FILE with BYTES of deterministic data\n"
    "  pnfswork mktree DIR NFILES NDIRS [BYTES] make DIR with NFILES files of BYTES (default 0)\n"
    "                                           spread over NDIRS subdirectories (0: all in DIR)\n"
    "\n"
    "The workloads print their own duration in milliseconds on stdout (walk prints the\n"
    "entry count on stderr); mkfile and mktree print nothing.\n";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "pnfswork: %s (try 'pnfswork --help')\n", msg.c_str());
    std::exit(kExitUsage);
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
    std::fprintf(stderr, "pnfswork: %s: %s\n", what.c_str(), why.c_str());
    std::exit(kExitFailure);
}

[[noreturn]] void fail_errno(const std::string& what, int err) { fail(what, std::strerror(err)); }

long long parse_count(const char* what, std::string_view s, long long hi) {
    long long v = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || ptr != end || v < 0 || v > hi)
        usage_error("bad " + std::string(what) + " '" + std::string(s) + "'");
    return v;
}

using Clock = std::chrono::steady_clock;

void print_ms(Clock::time_point t0) {
    std::printf("%.3f\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
}

void write_all(int fd, const char* p, size_t n, const std::string& what) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_errno(what, errno);
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

// Real bytes that are not all alike, so no layer can store them as a hole or a run.
std::vector<char> pattern(size_t n, uint64_t seed) {
    std::vector<char> buf(n);
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (auto& c : buf) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
    }
    return buf;
}

int cmd_read(const std::string& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno(file, errno);
    std::vector<char> buf(kBufSize);
    auto t0 = Clock::now();
    for (;;) {
        ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            fail_errno(file, errno);
        }
    }
    print_ms(t0);
    ::close(fd);
    return 0;
}

// The listing happens before the clock starts: the figure is the cost of the first writes.
int cmd_copyup(const std::string& dir) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) fail_errno(dir, errno);
    DIR* d = ::fdopendir(::dup(dfd));
    if (d == nullptr) fail_errno(dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                fail_errno(dir + "/" + e->d_name, errno);
            type = S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_REG) names.emplace_back(e->d_name);
        errno = 0;
    }
    if (errno != 0) fail_errno(dir, errno);
    ::closedir(d);
    auto t0 = Clock::now();
    for (const auto& n : names) {
        int fd = ::openat(dfd, n.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) fail_errno(dir + "/" + n, errno);
        write_all(fd, "x", 1, dir + "/" + n);
        if (::close(fd) != 0) fail_errno(dir + "/" + n, errno);
    }
    print_ms(t0);
    ::close(dfd);
    return 0;
}

// nftw's callback takes no context pointer.
long long g_walk_entries = 0;
std::string g_walk_failed;

int walk_visit(const char* path, const struct stat*, int, FTW*) {
    struct stat st {};
    if (::lstat(path, &st) != 0) {
        g_walk_failed = path;
        return errno;
    }
    ++g_walk_entries;
    return 0;
}

int cmd_walk(const std::string& dir) {
    auto t0 = Clock::now();
    int rc = ::nftw(dir.c_str(), walk_visit, kWalkMaxFds, FTW_PHYS);
    if (rc > 0) fail_errno(g_walk_failed, rc);
    if (rc != 0) fail_errno(dir, errno);
    print_ms(t0);
    std::fprintf(stderr, "%lld\n", g_walk_entries);
    return 0;
}

int cmd_untar(const std::string& tarball, const std::string& dest) {
    if (::mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST) fail_errno(dest, errno);
    std::vector<std::string> args = {"tar", "-xf", tarball, "-C", dest};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);
    auto t0 = Clock::now();
    pid_t pid = ::fork();
    if (pid < 0) fail_errno("fork", errno);
    if (pid == 0) {
        // stdout carries only our figure; anything tar says goes to stderr.
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
        ::execvp(argv[0], argv.data());
        std::fprintf(stderr, "pnfswork: tar: %s\n", std::strerror(errno));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail_errno("waitpid", errno);
    }
    if (WIFSIGNALED(status)) fail("tar", "killed by signal " + std::to_string(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0) fail("tar", "exited with status " + std::to_string(WEXITSTATUS(status)));
    print_ms(t0);
    return 0;
}

int cmd_mkfile(const std::string& file, long long bytes) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno(file, errno);
    std::vector<char> buf = pattern(kBufSize, 1);
    for (long long done = 0, block = 0; done < bytes; ++block) {
        // Stamp the block number so that no two blocks are alike either.
        std::memcpy(buf.data(), &block, sizeof(block));
        size_t n = static_cast<size_t>(std::min<long long>(bytes - done, static_cast<long long>(buf.size())));
        write_all(fd, buf.data(), n, file);
        done += static_cast<long long>(n);
    }
    if (::close(fd) != 0) fail_errno(file, errno);
    return 0;
}

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0) fail_errno(path, errno);
}

int cmd_mktree(const std::string& dir, long long nfiles, long long ndirs, long long bytes) {
    make_dir(dir);
    std::vector<std::string> dirs;
    char name[32];
    for (long long i = 0; i < ndirs; ++i) {
        std::snprintf(name, sizeof(name), "/d%04lld", i);
        dirs.push_back(dir + name);
        make_dir(dirs.back());
    }
    if (dirs.empty()) dirs.push_back(dir);
    std::vector<char> content = pattern(static_cast<size_t>(bytes), 2);
    for (long long i = 0; i < nfiles; ++i) {
        std::snprintf(name, sizeof(name), "/f%06lld", i);
        std::string path = dirs[static_cast<size_t>(i) % dirs.size()] + name;
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) fail_errno(path, errno);
        write_all(fd, content.data(), content.size(), path);
        if (::close(fd) != 0) fail_errno(path, errno);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.empty()) usage_error("expected a command");
    const std::string& cmd = a[0];
    const size_t nargs = a.size() - 1;
    if (cmd == "--help" || cmd == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "read" || cmd == "copyup" || cmd == "walk") {
        if (nargs != 1) usage_error(cmd + ": expected one path");
        if (cmd == "read") return cmd_read(a[1]);
        if (cmd == "copyup") return cmd_copyup(a[1]);
        return cmd_walk(a[1]);
    }
    if (cmd == "untar") {
        if (nargs != 2) usage_error("untar: expected TARBALL DEST");
        return cmd_untar(a[1], a[2]);
    }
    if (cmd == "mkfile") {
        if (nargs != 2) usage_error("mkfile: expected FILE BYTES");
        return cmd_mkfile(a[1], parse_count("size", a[2], kMaxFileBytes));
    }
    if (cmd == "mktree") {
        if (nargs != 3 && nargs != 4) usage_error("mktree: expected DIR NFILES NDIRS [BYTES]");
        return cmd_mktree(a[1], parse_count("file count", a[2], kMaxTreeFiles),
                          parse_count("directory count", a[3], kMaxTreeDirs),
                          nargs == 4 ? parse_count("file size", a[4], kMaxTreeFileBytes) : 0);
    }
    usage_error("unknown command '" + cmd + "'");
}
