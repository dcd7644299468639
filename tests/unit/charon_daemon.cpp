#include "tests/unit/charon_daemon.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <sstream>
#include <thread>

#include "lib/core/sys.hpp"
#include "lib/ike/charon_conf.hpp"
#include "lib/ike/vici_client.hpp"

namespace pn_unit {

namespace sys = personalnet::sys;
using personalnet::Error;

namespace {

// Steps of the child between fork and exec, reported through the error pipe.
enum Step : int { kPdeathsig = 1, kSetns, kUnshare, kPrivate, kTmpfs, kStdio, kCloexec, kExec };

const char* step_name(int step) {
    switch (step) {
        case kPdeathsig:
            return "prctl(PR_SET_PDEATHSIG)";
        case kSetns:
            return "setns(CLONE_NEWNET)";
        case kUnshare:
            return "unshare(CLONE_NEWNS)";
        case kPrivate:
            return "make / private";
        case kTmpfs:
            return "mount tmpfs on /run";
        case kStdio:
            return "redirect stdio";
        case kCloexec:
            return "close_range";
        case kExec:
            return "execve";
        default:
            return "?";
    }
}

[[noreturn]] void child_fail(int pipe_fd, int step) {
    int report[2] = {step, errno};
    (void)!::write(pipe_fd, report, sizeof report);
    ::_exit(127);
}

}  // namespace

personalnet::Result<Charon> Charon::start(int netns_fd, const std::string& dir, uint16_t label,
                                          bool kernel_esp) {
    const std::string conf = dir + "/strongswan.conf";
    const std::string text = personalnet::ike::render_strongswan_conf(
        {label, kernel_esp, dir + "/charon.vici", dir + "/charon.log"});
    PN_TRY(sys::write_atomic(conf, text), "start charon");
    // Everything the child needs is prepared before fork: after it, only system calls.
    const std::string env_conf = "STRONGSWAN_CONF=" + conf;
    const std::string out_path = dir + "/charon.out";
    char* const argv[] = {const_cast<char*>("charon"), nullptr};
    char* const envp[] = {const_cast<char*>(env_conf.c_str()),
                          const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
    int errpipe[2];
    if (::pipe2(errpipe, O_CLOEXEC) != 0) return personalnet::errno_error("start charon: pipe");
    const pid_t parent = ::getpid();
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) return personalnet::errno_error("start charon: fork");
    if (pid == 0) {
        ::close(errpipe[0]);
        const int w = errpipe[1];
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) child_fail(w, kPdeathsig);
        if (::setns(netns_fd, CLONE_NEWNET) != 0) child_fail(w, kSetns);
        if (::unshare(CLONE_NEWNS) != 0) child_fail(w, kUnshare);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(w, kPrivate);
        if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0)
            child_fail(w, kTmpfs);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)
            child_fail(w, kStdio);
        // No descriptor of the test (its verdict pipe above all) may outlive exec.
        if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) child_fail(w, kCloexec);
        ::execve(kCharon, argv, envp);
        child_fail(w, kExec);
    }
    ::close(errpipe[1]);
    int report[2] = {0, 0};
    ssize_t n;
    do {
        n = ::read(errpipe[0], report, sizeof report);
    } while (n < 0 && errno == EINTR);
    ::close(errpipe[0]);
    Charon c;
    c.pid_ = pid;
    c.dir_ = dir;
    c.vici_ = dir + "/charon.vici";
    if (n == static_cast<ssize_t>(sizeof report)) {
        (void)c.stop();
        return Error{report[1], std::string("start charon: ") + step_name(report[0]), {}};
    }
    // Polls the socket rather than wait_connect(): a charon that exits on a bad
    // configuration should fail the test at once, with its log.
    const auto deadline = t0 + std::chrono::seconds(5);
    for (;;) {
        auto client = personalnet::ike::ViciClient::connect(c.vici_, personalnet::ike::Timeout(500));
        if (client.ok()) break;
        int status = 0;
        std::string why;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            c.pid_ = -1;
            why = "charon exited (status " + std::to_string(status) + ") before its VICI socket accepted";
        } else if (std::chrono::steady_clock::now() >= deadline) {
            why = "VICI socket not up within 5 s: " + client.error().message();
        }
        if (!why.empty()) {
            std::string log = c.log_tail();
            (void)c.stop();
            std::string what = "start charon: " + why;
            what += "\ncharon log:\n";
            what += log;
            return Error{0, what, {}};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    c.start_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return c;
}

Charon::Charon(Charon&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      dir_(std::move(o.dir_)),
      vici_(std::move(o.vici_)),
      start_ms_(o.start_ms_) {}

Charon::~Charon() { (void)stop(); }

std::string Charon::stop() {
    if (pid_ <= 0) return "";
    const pid_t pid = std::exchange(pid_, -1);
    (void)::kill(pid, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return std::string("waitpid charon: ") + std::strerror(errno);
        if (std::chrono::steady_clock::now() >= deadline) {
            (void)::kill(pid, SIGKILL);
            (void)::waitpid(pid, &status, 0);
            return "charon " + std::to_string(pid) + " ignored SIGTERM for 3 s (killed)";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    if (WIFSIGNALED(status)) return "charon died of signal " + std::to_string(WTERMSIG(status));
    return "charon exited with status " + std::to_string(WEXITSTATUS(status)) + ": " + log_tail(10);
}

std::string Charon::log_tail(size_t lines) const {
    std::string out;
    for (const char* name : {"/charon.out", "/charon.log"}) {
        auto text = sys::read_file(dir_ + name);
        if (!text.ok()) continue;
        std::deque<std::string> last;
        std::istringstream in(text.value());
        for (std::string line; std::getline(in, line);) {
            last.push_back(line);
            if (last.size() > lines) last.pop_front();
        }
        for (const auto& l : last) out += l + "\n";
    }
    return out;
}

}  // namespace pn_unit
