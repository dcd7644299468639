#include "lib/core/spawn.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "lib/core/fd.hpp"

namespace personalnet::sys {

namespace {

// What the child writes to the report pipe: a failed step and its errno, or (detached)
// the grandchild's pid. PIPE_BUF makes each write atomic.
struct Record {
    int32_t step;
    int32_t value;
};

enum Step : int32_t {
    kPid = -1,
    kSession = 1,
    kGroup,
    kDeathSignal,
    kOrphaned,
    kSignals,
    kNetns,
    kMntns,
    kUtsns,
    kFds,
    kDetach,
    kExec,
    kUser = 100,  // + index into SpawnOptions::steps
};

constexpr size_t kMaxFds = 16;

// Everything the child reads, prepared before fork().
struct Plan {
    const SpawnOptions* o;
    std::vector<char*> argv;
    std::vector<char*> envp;
    std::array<std::pair<int, int>, kMaxFds + 3> moves{};  // {from, to}
    size_t n_moves = 0;
    std::array<int, kMaxFds + 3> kept{};  // targets above 2, sorted
    size_t n_kept = 0;
    int high = 3;  // above every target: where sources are parked before dup2
    pid_t parent = 0;
    int go = -1;  // parent_sets_group: the child reads one byte here before its setup
    sigset_t old_mask{};
};

// fork(), or with a cgroup, clone3(CLONE_INTO_CGROUP), which glibc has no wrapper for.
// The child of the raw system call skips glibc's fork handlers; it needs none, since it
// makes only async-signal-safe calls until exec (or a body, which runs after the same
// setup: spawn's callers give a body nothing that locks).
pid_t fork_into(int cgroup) {
    if (cgroup < 0) return ::fork();
    struct clone_args args {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup);
    return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

// A child that shares our memory, on a stack of its own, until it execs or exits, while
// the calling thread waits: vfork's contract, through clone3 so that it can start in a
// cgroup. fn(arg) runs on that stack and never returns. Here a fork copies the caller's
// page tables, which a paravirtualised guest makes dear: 1-1.6 ms more per start than
// this, measured with a 20 MB process (issue 21). Returns the child's pid, or -1 (errno).
pid_t clone_vfork(void* stack, size_t size, int cgroup, void (*fn)(void*), void* arg) {
    struct clone_args args {};
    args.flags = CLONE_VM | CLONE_VFORK | (cgroup >= 0 ? CLONE_INTO_CGROUP : 0);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<uint64_t>(stack);
    args.stack_size = size;
    if (cgroup >= 0) args.cgroup = static_cast<uint64_t>(cgroup);
    long ret;
#if defined(__x86_64__)
    // The child resumes after the system call with the caller's registers on the new
    // stack (its top, 16-byte aligned): it must not return into the caller's frames, so
    // it calls fn at once. r12 and r13 survive the system call in both.
    register void (*entry)(void*) asm("r12") = fn;
    register void* entry_arg asm("r13") = arg;
    asm volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "ud2\n"
        "1:"
        : "=a"(ret)
        : "a"(SYS_clone3), "D"(&args), "S"(sizeof args), "r"(entry), "r"(entry_arg)
        : "rcx", "r11", "memory", "cc");
#else
#error "clone_vfork: only x86-64 is written"
#endif
    if (ret < 0) {
        errno = static_cast<int>(-ret);
        return -1;
    }
    return static_cast<pid_t>(ret);
}

// Stacks for clone_vfork's children (the child, and a detached one's grandchild), each
// above a guard page; unmapped when the children have exec'd or exited.
class ChildStacks {
public:
    static constexpr size_t kEach = size_t{256} * 1024;
    static constexpr size_t kGuard = 4096;
    explicit ChildStacks(bool wanted) {
        if (!wanted) return;
        void* at = ::mmap(nullptr, 2 * (kGuard + kEach), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (at == MAP_FAILED) return;
        base_ = static_cast<char*>(at);
        (void)::mprotect(base_, kGuard, PROT_NONE);
        (void)::mprotect(base_ + kGuard + kEach, kGuard, PROT_NONE);
    }
    ~ChildStacks() { release(); }
    void release() {
        if (base_ != nullptr) (void)::munmap(base_, 2 * (kGuard + kEach));
        base_ = nullptr;
    }
    ChildStacks(const ChildStacks&) = delete;
    ChildStacks& operator=(const ChildStacks&) = delete;
    bool ok() const { return base_ != nullptr; }
    void* first() const { return base_ + kGuard; }
    void* second() const { return base_ + 2 * kGuard + kEach; }

private:
    char* base_ = nullptr;
};

[[noreturn]] void fail(int report, int32_t step, int err) {
    Record r{step, err};
    (void)!::write(report, &r, sizeof r);
    ::_exit(127);
}

// Handlers of the caller must not run in the child: reset to the default (exec would do
// that anyway). Ignored signals stay ignored, except in a detached daemon (o.detach): it
// must stop on SIGTERM whatever its creator ignored; its own o.ignored_signals, set
// before this, stay ignored.
void default_handlers(const SpawnOptions& o) {
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction sa {};
        if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &sa) != 0) continue;
        if (sa.sa_handler == SIG_DFL) continue;
        if (sa.sa_handler == SIG_IGN &&
            (!o.detach ||
             std::find(o.ignored_signals.begin(), o.ignored_signals.end(), sig) != o.ignored_signals.end()))
            continue;
        sa = {};
        sa.sa_handler = SIG_DFL;
        (void)::sigaction(sig, &sa, nullptr);
    }
}

void close_range(unsigned first, unsigned last) {
    if (first <= last) (void)::syscall(SYS_close_range, first, last, 0);
}

// Async-signal-safe from here to exec.
[[noreturn]] void setup_and_exec(const Plan& p, int report);

[[noreturn]] void child(const Plan& p, int report, int report_rd) {
    const SpawnOptions& o = *p.o;
    ::close(report_rd);
    if (o.detach) {
        if (o.new_session && ::setsid() < 0) fail(report, kSession, errno);
        pid_t grandchild = ::fork();
        if (grandchild < 0) fail(report, kDetach, errno);
        if (grandchild > 0) {
            Record r{kPid, grandchild};
            (void)!::write(report, &r, sizeof r);
            ::_exit(0);
        }
    } else if (o.new_session && ::setsid() < 0) {
        fail(report, kSession, errno);
    }
    setup_and_exec(p, report);
}

// What clone_vfork's children read: in the caller's frame, which waits meanwhile.
struct SharedChild {
    const Plan* plan;
    int report;
    int report_rd;
    void* grandchild_stack;
};

void shared_grandchild(void* arg) {
    const auto* c = static_cast<const SharedChild*>(arg);
    setup_and_exec(*c->plan, c->report);
}

// child() for a child that shares our memory. A detached one's grandchild shares it too,
// so the intermediate reports the grandchild's pid once that has exec'd (or failed, in
// which case its failure is read first).
void shared_child(void* arg) {
    const auto* c = static_cast<const SharedChild*>(arg);
    const SpawnOptions& o = *c->plan->o;
    ::close(c->report_rd);
    if (o.new_session && ::setsid() < 0) fail(c->report, kSession, errno);
    if (o.detach) {
        pid_t grandchild = clone_vfork(c->grandchild_stack, ChildStacks::kEach, -1, shared_grandchild, arg);
        if (grandchild < 0) fail(c->report, kDetach, errno);
        Record r{kPid, grandchild};
        (void)!::write(c->report, &r, sizeof r);
        ::_exit(0);
    }
    setup_and_exec(*c->plan, c->report);
}

// Whether the child may share our memory until it execs. Only this file's own setup runs
// in it then: a caller's steps or body might take a lock another of our threads holds,
// or call glibc's set*id (which signals every thread of the process it thinks it is in);
// a search of PATH sets environ, which would be ours; and a child forked into another PID
// namespace may not share memory (the kernel refuses).
// Nor under AddressSanitizer, whose bookkeeping assumes a child has memory of its own.
bool may_share_memory(const SpawnOptions& o) {
#if defined(__SANITIZE_ADDRESS__)
    (void)o;
    return false;
#else
    return !o.body && o.steps.empty() && o.parent_sets_group == 0 && o.pidns < 0 && !o.search_path;
#endif
}

[[noreturn]] void setup_and_exec(const Plan& p, int report) {
    const SpawnOptions& o = *p.o;
    if (p.go >= 0) {
        char c;
        while (::read(p.go, &c, 1) < 0 && errno == EINTR) {
        }
        ::close(p.go);
    }
    if (o.process_group && ::setpgid(0, *o.process_group) != 0) fail(report, kGroup, errno);
    if (o.death_signal != 0) {
        if (::prctl(PR_SET_PDEATHSIG, o.death_signal) != 0) fail(report, kDeathSignal, errno);
        if (::getppid() != p.parent) fail(report, kOrphaned, ESRCH);  // it died before prctl
    }
    for (int sig : o.ignored_signals) {
        struct sigaction sa {};
        sa.sa_handler = SIG_IGN;
        if (::sigaction(sig, &sa, nullptr) != 0) fail(report, kSignals, errno);
    }
    if (o.netns >= 0 && ::setns(o.netns, CLONE_NEWNET) != 0) fail(report, kNetns, errno);
    if (o.mntns >= 0 && ::setns(o.mntns, CLONE_NEWNS) != 0) fail(report, kMntns, errno);
    if (o.utsns >= 0 && ::setns(o.utsns, CLONE_NEWUTS) != 0) fail(report, kUtsns, errno);

    // Sources parked above every target first, so that no dup2 overwrites one still needed.
    if (report < p.high) {
        report = ::fcntl(report, F_DUPFD_CLOEXEC, p.high);
        if (report < 0) ::_exit(127);  // nowhere to report to
    }
    std::array<int, kMaxFds + 3> parked{};
    for (size_t i = 0; i < p.n_moves; ++i) {
        parked[i] = ::fcntl(p.moves[i].first, F_DUPFD_CLOEXEC, p.high);
        if (parked[i] < 0) fail(report, kFds, errno);
    }
    for (size_t i = 0; i < p.n_moves; ++i) {
        if (::dup2(parked[i], p.moves[i].second) < 0) fail(report, kFds, errno);
        ::close(parked[i]);
    }
    if (o.close_other_fds) {
        unsigned from = 3;
        for (size_t i = 0; i < p.n_kept; ++i) {
            unsigned k = static_cast<unsigned>(p.kept[i]);
            if (k > from) close_range(from, k - 1);
            from = k + 1;
        }
        if (static_cast<unsigned>(report) > from) close_range(from, static_cast<unsigned>(report) - 1);
        close_range(static_cast<unsigned>(report) + 1, ~0U);
    }
    for (size_t i = 0; i < o.steps.size(); ++i) {
        int err = o.steps[i].fn();
        if (err != 0) fail(report, kUser + static_cast<int32_t>(i), err);
    }
    default_handlers(o);
    // A detached daemon starts with no signal blocked: its creator's mask is its own
    // business (slurmstepd blocks SIGTERM around the plugin that makes a job's space, and
    // a keeper that inherited it would ignore the TERM that stops it).
    sigset_t none;
    ::sigemptyset(&none);
    const sigset_t* mask = o.detach ? &none : &p.old_mask;
    if (!o.program.empty()) {
        ::sigprocmask(SIG_SETMASK, mask, nullptr);
        if (o.search_path) {
            environ = const_cast<char**>(p.envp.data());  // the search uses the program's own PATH
            ::execvpe(o.program.c_str(), p.argv.data(), p.envp.data());
        } else {
            ::execve(o.program.c_str(), p.argv.data(), p.envp.data());
        }
        fail(report, kExec, errno);
    }
    ::close(report);  // end of file: the setup succeeded
    ::sigprocmask(SIG_SETMASK, mask, nullptr);
    ::_exit(o.body());
}

std::string step_name(const SpawnOptions& o, int32_t step) {
    switch (step) {
        case kSession:
            return "start a session";
        case kGroup:
            return "join a process group";
        case kDeathSignal:
            return "set the parent-death signal";
        case kOrphaned:
            return "its parent is gone";
        case kSignals:
            return "ignore signals";
        case kNetns:
            return o.netns_what;
        case kMntns:
            return o.mntns_what;
        case kUtsns:
            return "join its UTS namespace (hostname)";
        case kFds:
            return "place its descriptors";
        case kDetach:
            return "fork the detached process";
        case kExec:
            return o.exec_what.empty() ? "run " + o.program : o.exec_what;
        default:
            if (step >= kUser && static_cast<size_t>(step - kUser) < o.steps.size())
                return o.steps[static_cast<size_t>(step - kUser)].what;
            return "step " + std::to_string(step);
    }
}

// One record, or nothing at end of file.
std::optional<Record> read_record(int fd) {
    Record r{};
    ssize_t n;
    while ((n = ::read(fd, &r, sizeof r)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof r)) return std::nullopt;
    return r;
}

Status check(const SpawnOptions& o) {
    if (o.program.empty() == !o.body)
        return make_error(EINVAL, o.what + ": needs a program or a body, not both");
    if (!o.program.empty() && o.argv.empty()) return make_error(EINVAL, o.what + ": empty argv");
    if (o.detach && o.death_signal != 0)
        return make_error(EINVAL, o.what + ": a detached process has no parent to outlive");
    if (o.detach && o.parent_sets_group > 0)
        return make_error(EINVAL, o.what + ": the parent cannot set a detached process's group");
    if (o.detach && o.pidns >= 0)
        return make_error(EINVAL, o.what + ": a detached process cannot be forked into a PID namespace");
    if (o.fds.size() > kMaxFds) return make_error(EINVAL, o.what + ": too many descriptors to pass");
    for (const auto& s : o.steps)
        if (!s.fn) return make_error(EINVAL, o.what + ": step '" + s.what + "' does nothing");
    for (const auto& [from, to] : o.fds)
        if (from < 0 || to < 0) return make_error(EBADF, o.what + ": invalid descriptor to pass");
    return {};
}

}  // namespace

Result<pid_t> spawn(const SpawnOptions& o) {
    PN_TRY(check(o), "");
    Plan p;
    p.o = &o;
    p.parent = ::getpid();
    for (const auto& a : o.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
    p.argv.push_back(nullptr);
    for (const auto& e : o.env) p.envp.push_back(const_cast<char*>(e.c_str()));
    p.envp.push_back(nullptr);

    UniqueFd null;
    for (int std_fd = 0; std_fd < 3; ++std_fd) {
        bool named =
            std::any_of(o.fds.begin(), o.fds.end(), [&](const auto& m) { return m.second == std_fd; });
        if (named || o.stdio == SpawnOptions::Stdio::inherit) continue;
        if (!null.valid()) null = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!null.valid()) return errno_error(o.what + ": open /dev/null");
        p.moves[p.n_moves++] = {null.get(), std_fd};
    }
    for (const auto& m : o.fds) {
        p.moves[p.n_moves++] = m;
        if (m.second > 2) p.kept[p.n_kept++] = m.second;
        p.high = std::max(p.high, m.second + 1);
    }
    std::sort(p.kept.begin(), p.kept.begin() + static_cast<long>(p.n_kept));

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error(o.what + ": pipe");
    UniqueFd rd(fds[0]), wr(fds[1]);
    // The way back for this thread's children: its own active PID namespace, by a pidfd of
    // this process (no /proc needed: a joined space's /proc may not show us).
    UniqueFd go_rd, go_wr;
    if (o.parent_sets_group > 0) {
        int go[2];
        if (::pipe2(go, O_CLOEXEC) != 0) return errno_error(o.what + ": pipe");
        go_rd = UniqueFd(go[0]);
        go_wr = UniqueFd(go[1]);
        p.go = go_rd.get();
    }
    UniqueFd own_pidns;
    if (o.pidns >= 0) {
        own_pidns = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
        if (!own_pidns.valid()) return errno_error(o.what + ": pidfd_open(self)");
        if (::setns(o.pidns, CLONE_NEWPID) != 0) return errno_error(o.what + ": enter its PID namespace");
    }

    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &p.old_mask);
    ChildStacks stacks(may_share_memory(o));
    SharedChild c{&p, wr.get(), rd.get(), stacks.ok() ? stacks.second() : nullptr};
    pid_t pid =
        stacks.ok() ? clone_vfork(stacks.first(), ChildStacks::kEach, o.cgroup, shared_child, &c) : -1;
    // Forked also when no stack could be mapped, or where clone3 is filtered out without a
    // cgroup to go into (container runtimes' seccomp profiles answer ENOSYS, so that
    // glibc falls back to clone).
    if (!stacks.ok() || (pid < 0 && o.cgroup < 0 && (errno == ENOSYS || errno == EPERM))) {
        pid = fork_into(o.cgroup);
        if (pid == 0) child(p, wr.get(), rd.get());
    }
    int fork_errno = errno;
    stacks.release();  // the child has exec'd or exited
    if (own_pidns.valid() && ::setns(own_pidns.get(), CLONE_NEWPID) != 0)
        ::abort();  // cannot happen: our own
    if (pid > 0 && go_wr.valid()) {
        (void)::setpgid(pid, o.parent_sets_group);
        (void)!::write(go_wr.get(), "g", 1);
    }
    go_wr.reset();
    if (pid > 0 && o.forked) o.forked(pid);
    ::pthread_sigmask(SIG_SETMASK, &p.old_mask, nullptr);
    if (pid < 0)
        return make_error(fork_errno, o.what + (o.cgroup >= 0 ? ": clone3 into its cgroup" : ": fork"));
    wr.reset();

    if (o.detach) {
        (void)wait_child(pid);  // the intermediate exits at once
        auto first = read_record(rd.get());
        if (!first) return make_error(EIO, o.what + ": the detached process did not start");
        if (first->step != kPid) return make_error(first->value, o.what + ": " + step_name(o, first->step));
        pid = first->value;
    }
    auto failed = read_record(rd.get());
    if (!failed) return pid;
    if (!o.detach) (void)wait_child(pid);
    return make_error(failed->value, o.what + ": " + step_name(o, failed->step));
}

int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

int exit_code(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

// "OK", or "E" ERRNO '\0' CONTEXT '\0' EXTACK.
std::string encode_status(const Status& st) {
    if (st.ok()) return "OK";
    std::string out = "E" + std::to_string(st.error().code);
    out += '\0';
    out += st.error().context;
    out += '\0';
    out += st.error().extack;
    return out;
}

Status decode_status(const std::string& text, const std::string& what) {
    if (text == "OK") return {};
    size_t first = text.find('\0');
    size_t second = first == std::string::npos ? first : text.find('\0', first + 1);
    if (text.size() < 2 || text[0] != 'E' || second == std::string::npos)
        return make_error(EIO, what + (text.empty() ? ": no answer" : ": an answer that makes no sense"));
    Error e;
    e.code = std::atoi(text.c_str() + 1);
    e.context = text.substr(first + 1, second - first - 1);
    e.extack = text.substr(second + 1);
    return e;
}

}  // namespace personalnet::sys
