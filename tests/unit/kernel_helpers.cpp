#include "tests/unit/kernel_helpers.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pn_unit {

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

void write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

// Runs argv (absolute path first) with `input` on stdin; "" on exit status 0, else the
// command and its stderr. Its stdout goes to *out.
std::string run(const std::vector<std::string>& argv, std::string* out, const std::string& input) {
    int in[2], o[2], e[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(o, O_CLOEXEC) != 0 || ::pipe2(e, O_CLOEXEC) != 0)
        return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(o[1], 1);
        ::dup2(e[1], 2);
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(o[1]);
    ::close(e[1]);
    write_all(in[1], input);  // small inputs: fits the pipe before the child reads
    ::close(in[1]);
    std::string sout = read_all(o[0]);
    std::string serr = read_all(e[0]);
    ::close(o[0]);
    ::close(e[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (out) *out = sout;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return cmd + "failed: " + serr;
}

std::string in_child(const std::function<std::string()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        std::string r = body();
        write_all(p[1], r.empty() ? "OK" : r);
        ::_exit(0);
    }
    ::close(p[1]);
    std::string r = read_all(p[0]);
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status)) return "test child died (status " + std::to_string(status) + "): " + r;
    return r == "OK" ? "" : r;
}

std::string in_netns(const std::function<std::string()>& body) {
    return in_child([&] {
        return ::unshare(CLONE_NEWNET) == 0 ? body() : std::string("unshare: ") + std::strerror(errno);
    });
}

}  // namespace pn_unit
