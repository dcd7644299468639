#include "lib/server/caller_checks.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"

namespace personalnet::server {

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

Result<std::string> as_memfd(const std::string& text, std::vector<UniqueFd>& keep) {
    int fd = ::memfd_create("personalnet-seed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return errno_error("seed file");
    UniqueFd owned(fd);
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return errno_error("seed file");
    (void)::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    keep.push_back(std::move(owned));
    return "/proc/self/fd/" + std::to_string(fd);
}

Result<std::string> resolve_as_caller(const helper::Becoming& as_caller, const std::string& dir,
                                      int caller_pidfd) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("check --share " + dir);
    UniqueFd rd(out[0]), wr(out[1]);
    // The child, as the caller, makes only system calls: it opens the directory (read
    // permission), enters it (search permission) and reads back its canonical path as the
    // kernel knows it (/proc/self/cwd: a process may always read its own links).
    constexpr int kOut = 3;
    const char* path = dir.c_str();
    sys::SpawnOptions o;
    o.what = "check --share " + dir;
    o.fds = {{wr.get(), kOut}};
    o.body = [&as_caller, path] {
        char real[PATH_MAX];
        if (as_caller.become() != 0) return 1;
        int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || ::fchdir(fd) != 0) return 1;
        ssize_t n = ::readlink("/proc/self/cwd", real, sizeof real);
        if (n <= 0 || n >= static_cast<ssize_t>(sizeof real)) return 1;
        return ::write(kOut, real, static_cast<size_t>(n)) == n ? 0 : 1;
    };
    auto started = sys::spawn(o);
    if (!started.ok()) return started.error();
    const pid_t pid = started.value();
    wr.reset();
    std::string real;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kCheckSeconds);
    std::optional<Error> gave_up;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            gave_up = make_error(ETIMEDOUT, "--share '" + dir + "': checking it as you took more than " +
                                                std::to_string(kCheckSeconds) +
                                                " s (a stopped or hung file system?); refused");
            break;
        }
        pollfd fds[2] = {{rd.get(), POLLIN, 0}, {caller_pidfd, POLLIN, 0}};
        int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            gave_up = errno_error("check --share " + dir + ": poll");
            break;
        }
        if (n <= 0) continue;
        if ((fds[1].revents & POLLIN) != 0) {
            gave_up = make_error(ECANCELED, "check --share " + dir + ": the caller is gone");
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
        return make_error(EACCES, "--share '" + dir + "': not a directory you can read");
    return real;
}

pid_t pid_of(int pidfd) {
    auto info = sys::read_file("/proc/self/fdinfo/" + std::to_string(pidfd));
    if (!info.ok()) return -1;
    auto at = info->find("\nPid:\t");
    if (at == std::string::npos) return -1;
    long pid = std::strtol(info->c_str() + at + 6, nullptr, 10);
    return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

}  // namespace personalnet::server
