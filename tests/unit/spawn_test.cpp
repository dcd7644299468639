// lib/core/spawn: the one way personalnet starts a process. Errors before exec come back
// whole (context, step, errno); descriptors not passed are closed in the child; a detached
// child is nobody's to reap; the parent-death signal reaches it; the parent keeps no fd.
#include "lib/core/spawn.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"

namespace {

namespace sys = personalnet::sys;
using personalnet::UniqueFd;
using sys::SpawnOptions;

int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n - 1;  // the directory's own
}

// Whether pid is a child of ours that has not been reaped (a zombie or still running).
bool is_our_child(pid_t pid) {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

SpawnOptions exec_of(std::vector<std::string> argv) {
    SpawnOptions o;
    o.what = "start test";
    o.program = argv[0];
    o.argv = std::move(argv);
    o.env = {"PATH=/usr/bin:/bin", "LC_ALL=C"};
    return o;
}

TEST(SpawnTest, ExecSucceedsAndTheChildIsTheCallersToWaitFor) {
    auto pid = sys::spawn(exec_of({"/bin/sh", "-c", "exit 7"}));
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(sys::exit_code(sys::wait_child(pid.value())), 7);
}

TEST(SpawnTest, MissingProgramGivesEnoentWithContext) {
    auto pid = sys::spawn(exec_of({"/nonexistent/personalnet-test"}));
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, ENOENT);
    EXPECT_EQ(pid.error().context, "start test: run /nonexistent/personalnet-test");
    EXPECT_EQ(pid.error().message(),
              "start test: run /nonexistent/personalnet-test: No such file or directory");
}

TEST(SpawnTest, AFailedExecCanBeNamedByTheCaller) {
    auto o = exec_of({"/nonexistent/personalnet-test"});
    o.exec_what = "cannot run 'personalnet-test'";
    auto pid = sys::spawn(o);
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, ENOENT);
    EXPECT_EQ(pid.error().context, "start test: cannot run 'personalnet-test'");
}

// The caller learns the pid before its signals are unblocked and before the child execs:
// a signal relayed from then on reaches the child.
TEST(SpawnTest, TheCallerLearnsThePidRightAfterTheFork) {
    auto o = exec_of({"/bin/sh", "-c", "exit 3"});
    pid_t seen = 0;
    o.forked = [&seen](pid_t pid) { seen = pid; };
    auto pid = sys::spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(seen, pid.value());
    EXPECT_EQ(sys::exit_code(sys::wait_child(pid.value())), 3);
}

TEST(SpawnTest, ProgramIsSearchedInTheChildsPath) {
    auto o = exec_of({"true"});
    o.search_path = true;
    auto pid = sys::spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(sys::exit_code(sys::wait_child(pid.value())), 0);
}

TEST(SpawnTest, FailedSetupStepIsReportedByNameAndTheChildReaped) {
    auto o = exec_of({"/bin/true"});
    bool ran_in_parent = false;
    o.steps.push_back({"first step", [] { return 0; }});
    o.steps.push_back({"mount a private /run", [] { return EPERM; }});
    o.steps.push_back({"never", [&] {
                           ran_in_parent = true;
                           return 0;
                       }});
    int before = open_fds();
    auto pid = sys::spawn(o);
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, EPERM);
    EXPECT_EQ(pid.error().message(), "start test: mount a private /run: Operation not permitted");
    EXPECT_FALSE(ran_in_parent);
    EXPECT_EQ(open_fds(), before);
    siginfo_t info{};
    EXPECT_NE(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG), 0) << "a child was left to reap";
}

TEST(SpawnTest, JoiningANamespaceNamesTheNamespace) {
    UniqueFd not_ns(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto o = exec_of({"/bin/true"});
    o.netns = not_ns.get();
    o.netns_what = "join the space's network namespace";
    auto pid = sys::spawn(o);
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, EINVAL);
    EXPECT_EQ(pid.error().context, "start test: join the space's network namespace");
}

TEST(SpawnTest, OnlyThePassedDescriptorsReachTheChild) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);  // without O_CLOEXEC: closed only because it was not passed
    UniqueFd leak_rd(p[0]), leak_wr(p[1]);
    int q[2];
    ASSERT_EQ(::pipe2(q, O_CLOEXEC), 0);
    UniqueFd rd(q[0]), wr(q[1]);
    SpawnOptions o;
    o.what = "start test";
    o.stdio = SpawnOptions::Stdio::null;
    o.fds = {{wr.get(), 5}};
    const int leaked = leak_rd.get();
    o.body = [leaked] {
        struct stat st {};
        if (::fcntl(leaked, F_GETFD) != -1 && leaked != 5) return 1;  // not passed: closed
        if (::fcntl(5, F_GETFD) != 0) return 2;                       // passed, and open across exec
        if (::fstat(1, &st) != 0 || !S_ISCHR(st.st_mode)) return 3;   // /dev/null
        for (int fd = 3; fd < 64; ++fd)
            if (fd != 5 && ::fcntl(fd, F_GETFD) != -1) return 10 + fd;
        return ::write(5, "ok", 2) == 2 ? 0 : 4;
    };
    auto pid = sys::spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    wr.reset();
    EXPECT_EQ(sys::exit_code(sys::wait_child(pid.value())), 0);
    EXPECT_EQ(sys::read_to_eof(rd.get()), "ok");
}

TEST(SpawnTest, DetachedChildIsNobodysZombie) {
    int before = open_fds();
    auto o = exec_of({"/bin/sleep", "0.2"});
    o.detach = true;
    o.new_session = true;
    auto pid = sys::spawn(o);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(open_fds(), before);
    EXPECT_FALSE(is_our_child(pid.value()));
    siginfo_t info{};
    EXPECT_NE(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG), 0) << "the intermediate was left to reap";
    UniqueFd watch = sys::pidfd_of(pid.value());
    ASSERT_TRUE(watch.valid());
    EXPECT_NE(::getsid(pid.value()), ::getsid(0));  // a session of its own (setsid in the intermediate)
    EXPECT_TRUE(sys::wait_exit(watch.get(), 5000));
}

// A daemon stops on SIGTERM whatever its creator blocked or ignored (slurmstepd blocks
// TERM around the Slurm plugin that starts a job space's keeper); a plain child keeps the
// caller's mask and ignored signals, as fork and exec would.
TEST(SpawnTest, ADetachedChildStartsWithNoSignalBlockedOrIgnored) {
    sigset_t term, old;
    ::sigemptyset(&term);
    ::sigaddset(&term, SIGTERM);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old), 0);
    struct sigaction ign {
    }, old_usr1{};
    ign.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGUSR1, &ign, &old_usr1), 0);
    auto status_of = [](pid_t pid, const char* field) {
        auto st = sys::read_file("/proc/" + std::to_string(pid) + "/status");
        if (!st.ok()) return std::string();
        auto at = st->find(std::string(field) + ":\t");
        return at == std::string::npos ? std::string() : st->substr(at, st->find('\n', at) - at);
    };
    auto o = exec_of({"/bin/sleep", "30"});
    o.detach = true;
    o.ignored_signals = {SIGHUP};
    auto daemon = sys::spawn(o);
    auto plain = sys::spawn(exec_of({"/bin/sleep", "30"}));
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::sigaction(SIGUSR1, &old_usr1, nullptr);
    ASSERT_TRUE(daemon.ok()) << daemon.error().message();
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    UniqueFd watch = sys::pidfd_of(daemon.value());
    ASSERT_TRUE(watch.valid());
    // Until sleep runs (exec done): its status then says what it inherited.
    for (int i = 0; i < 200; ++i) {
        auto comm = sys::read_file("/proc/" + std::to_string(daemon.value()) + "/comm");
        if (comm.ok() && comm->starts_with("sleep")) break;
        ::usleep(5000);
    }
    // Bit N-1 of a /proc mask is signal N. Only the signals this test set count: glibc's own
    // (32 and 33) cannot be changed, and may be ignored by whatever runs the tests.
    auto has = [&](pid_t pid, const char* field, int sig) {
        const std::string line = status_of(pid, field);
        const auto colon = line.find(":\t");
        if (colon == std::string::npos) return false;
        return ((std::stoull(line.substr(colon + 2), nullptr, 16) >> (sig - 1)) & 1) != 0;
    };
    EXPECT_FALSE(has(daemon.value(), "SigBlk", SIGTERM)) << status_of(daemon.value(), "SigBlk");
    EXPECT_FALSE(has(daemon.value(), "SigIgn", SIGUSR1)) << status_of(daemon.value(), "SigIgn");
    EXPECT_TRUE(has(daemon.value(), "SigIgn", SIGHUP)) << "its own ignored_signals stay ignored";
    EXPECT_TRUE(has(plain.value(), "SigBlk", SIGTERM)) << "a plain child keeps the caller's mask";
    EXPECT_TRUE(has(plain.value(), "SigIgn", SIGUSR1)) << "and what the caller ignored";
    ::kill(daemon.value(), SIGTERM);
    EXPECT_TRUE(sys::wait_exit(watch.get(), 5000)) << "the daemon ignored SIGTERM";
    ::kill(plain.value(), SIGKILL);
    (void)sys::wait_child(plain.value());
}

TEST(SpawnTest, DetachedSetupFailureIsReported) {
    auto o = exec_of({"/nonexistent/personalnet-test"});
    o.detach = true;
    auto pid = sys::spawn(o);
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, ENOENT);
    EXPECT_EQ(pid.error().context, "start test: run /nonexistent/personalnet-test");
}

TEST(SpawnTest, DeathSignalEndsTheChildWithItsParent) {
    int q[2];
    ASSERT_EQ(::pipe2(q, O_CLOEXEC), 0);
    UniqueFd rd(q[0]), wr(q[1]);
    pid_t parent = ::fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {  // a parent that spawns a long sleep and exits at once
        auto o = exec_of({"/bin/sleep", "100"});
        o.death_signal = SIGKILL;
        auto pid = sys::spawn(o);
        pid_t child = pid.ok() ? pid.value() : -1;
        (void)!::write(wr.get(), &child, sizeof child);
        ::_exit(0);
    }
    wr.reset();
    pid_t child = -1;
    ASSERT_EQ(::read(rd.get(), &child, sizeof child), static_cast<ssize_t>(sizeof child));
    ASSERT_GT(child, 0);
    UniqueFd watch = sys::pidfd_of(child);
    sys::wait_child(parent);
    EXPECT_TRUE(!watch.valid() || sys::wait_exit(watch.get(), 5000)) << "the child outlived its parent";
}

TEST(SpawnTest, SignalsIgnoredOnRequestAndTheCallersMaskRestored) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    SpawnOptions o;
    o.what = "start test";
    o.ignored_signals = {SIGHUP};
    o.body = [] {
        struct sigaction sa {};
        sigset_t now;
        ::sigaction(SIGHUP, nullptr, &sa);
        ::sigprocmask(SIG_SETMASK, nullptr, &now);
        if (sa.sa_handler != SIG_IGN) return 1;
        if (sigismember(&now, SIGUSR1) != 1 || sigismember(&now, SIGTERM) != 0) return 2;
        return 0;
    };
    auto pid = sys::spawn(o);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ASSERT_TRUE(pid.ok()) << pid.error().message();
    EXPECT_EQ(sys::exit_code(sys::wait_child(pid.value())), 0);
}

TEST(SpawnTest, NoDescriptorLeaksInTheParent) {
    int before = open_fds();
    for (int i = 0; i < 3; ++i) {
        auto ok = sys::spawn(exec_of({"/bin/true"}));
        ASSERT_TRUE(ok.ok());
        sys::wait_child(ok.value());
        auto missing = sys::spawn(exec_of({"/nonexistent"}));
        ASSERT_FALSE(missing.ok());
        auto o = exec_of({"/bin/true"});
        o.stdio = SpawnOptions::Stdio::null;
        o.detach = true;
        ASSERT_TRUE(sys::spawn(o).ok());
    }
    EXPECT_EQ(open_fds(), before);
}

TEST(SpawnTest, StatusCrossesBetweenProcessesWhole) {
    EXPECT_TRUE(sys::decode_status(sys::encode_status({}), "x").ok());
    personalnet::Error e{EEXIST, "start charon: add route 10.0.0.0/8", "kernel says no"};
    auto back = sys::decode_status(sys::encode_status(e), "x");
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.error().code, EEXIST);
    EXPECT_EQ(back.error().context, e.context);
    EXPECT_EQ(back.error().extack, e.extack);
    EXPECT_EQ(sys::decode_status("", "start charon: the keeper").error().message(),
              "start charon: the keeper: no answer: Input/output error");
    EXPECT_EQ(sys::decode_status("garbage", "x").error().code, EIO);
}

TEST(SpawnTest, InvalidOptionsAreRefused) {
    auto both = exec_of({"/bin/true"});
    both.body = [] { return 0; };
    EXPECT_EQ(sys::spawn(both).error().code, EINVAL);
    auto orphan = exec_of({"/bin/true"});
    orphan.detach = true;
    orphan.death_signal = SIGTERM;
    EXPECT_EQ(sys::spawn(orphan).error().code, EINVAL);
}

}  // namespace

// A child without steps shares the caller's memory until it execs (clone_vfork): only the
// calling thread waits. Another thread allocating all the while neither blocks a spawn
// nor sees its memory disturbed, and the caller's environment is its own afterwards.
TEST(SpawnTest, ChildrenThatShareMemoryLeaveTheCallersThreadsAndStateAlone) {
    std::atomic<bool> stop{false};
    std::atomic<long> rounds{0};
    std::thread allocator([&] {
        while (!stop) {
            std::vector<std::string> v(64, std::string(100, 'x'));
            if (v[63][99] == 'x') ++rounds;
        }
    });
    char** env_before = environ;
    int failures = 0;
    for (int i = 0; i < 200; ++i) {
        auto o = exec_of({"/bin/true"});
        o.detach = i % 2 == 1;  // the grandchild shares it too
        auto pid = sys::spawn(o);
        if (!pid.ok()) {
            ++failures;
            continue;
        }
        if (!o.detach) failures += sys::exit_code(sys::wait_child(pid.value())) != 0;
    }
    stop = true;
    allocator.join();
    EXPECT_EQ(failures, 0);
    EXPECT_GT(rounds.load(), 0);
    EXPECT_EQ(environ, env_before);
    EXPECT_NE(::getenv("PATH"), nullptr);
}

// A failed exec in a child that shared memory is reported like any other, and the
// caller's frame (here: a local string) is intact after it.
TEST(SpawnTest, AFailedExecOfAChildThatSharedMemoryLeavesTheCallerIntact) {
    std::string local = "the caller's";
    auto pid = sys::spawn(exec_of({"/nonexistent/personalnet-test", "a", "b"}));
    ASSERT_FALSE(pid.ok());
    EXPECT_EQ(pid.error().code, ENOENT);
    EXPECT_EQ(local, "the caller's");
}
