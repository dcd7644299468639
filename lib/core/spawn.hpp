// The one way personalnet starts a process.
//
// Everything the child needs (argv, environment, descriptors, step names) is built by the
// parent before fork(). After fork() the child makes only async-signal-safe calls: the
// caller may have other threads, one of which may have held the allocator's lock at the
// moment of the fork. Signals stay blocked in the child until just before exec, so that no
// handler of the caller ever runs in it.
//
// A child that fails before exec writes a fixed-size record (which step, its errno) to a
// report pipe (O_CLOEXEC) and exits; the parent turns it into a whole Error with the
// step's name: "start charon: join the space's network namespace: Operation not
// permitted". A successful exec closes the pipe: the parent sees end of file.
//
// Programs that have to run library code (netlink, the registry, VICI) after the fork are
// separate binaries exec'd through this (Context::libexecdir: pnreaper, pnkeeper).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::sys {

// A setup step of the child, after the built-in ones and before exec. fn runs after the
// fork: async-signal-safe calls only, no allocation; it returns 0 or an errno value.
struct SpawnStep {
    std::string what;  // names the step in the error ("mount a private /run")
    std::function<int()> fn;
};

struct SpawnOptions {
    std::string what;  // outer context of every error ("start charon")

    // Exec'd with exactly this argv (argv[0] included) and environment. With search_path
    // the program is looked up in env's PATH (execvpe); else it is a path.
    std::string program;
    std::vector<std::string> argv;
    std::vector<std::string> env;
    bool search_path = false;
    // Without a program: run in the child after the setup succeeded (the parent's spawn()
    // has returned by then); its result is the child's exit status.
    std::function<int()> body;

    enum class Stdio { inherit, null };
    Stdio stdio = Stdio::inherit;          // 0, 1, 2 when fds does not name them
    std::vector<std::pair<int, int>> fds;  // {descriptor of the parent, its number in the child}
    bool close_other_fds = true;           // everything else above 2 closed (close_range)
    bool new_session = false;              // setsid()
    std::optional<pid_t> process_group;    // setpgid(0, *process_group); 0: a group of its own
    int death_signal = 0;                  // PR_SET_PDEATHSIG, never after its parent died
    bool detach = false;                   // through an intermediate process: nobody waits for it
    std::vector<int> ignored_signals;      // SIG_IGN (kept across exec)
    int netns = -1;                        // joined first
    std::string netns_what = "join the network namespace";
    int mntns = -1;  // joined next: the program is found there
    std::string mntns_what = "join the mount namespace";
    int utsns = -1;  // joined after the mount namespace (a space's hostname)
    // A PID namespace the child is forked into: the calling thread enters it for its
    // children (setns(CLONE_NEWPID) only moves a process's future children) around the fork,
    // and is back in its own active one before spawn returns. Not with detach (the pid
    // returned would be the intermediate's, numbered in that namespace).
    int pidns = -1;
    // A process group (as the parent numbers it) the parent puts the child in right after
    // the fork; the child waits for that before its setup (a child forked into another PID
    // namespace cannot name a group outside it). Failing leaves it in the parent's group.
    pid_t parent_sets_group = 0;
    // A cgroup v2 directory (an fd) the child is created in (clone3 CLONE_INTO_CGROUP),
    // so that none of its code runs outside it (a space's cgroup: issue 22); -1: its
    // parent's. Detached: the intermediate is created there, and the daemon with it.
    int cgroup = -1;
    std::vector<SpawnStep> steps;
    std::string exec_what;  // names a failed exec; empty: "run PROGRAM"
    // Called in the parent right after the fork, before the child's report is read and
    // before the caller's signals are unblocked (detached: the intermediate's pid): a caller
    // that relays signals to its child
    // learns its pid here (async-signal-safe work only: the caller's handlers may run next).
    std::function<void(pid_t)> forked;
};

// Starts the child and returns its pid once it exec'd (or, with a body, finished its
// setup). Not detached: the caller waits for it (wait_child). Detached: the pid is that of
// the grandchild, which init or a subreaper reaps; the intermediate is waited for here.
// On a failure before exec the error names the step, and the child is gone.
Result<pid_t> spawn(const SpawnOptions& options);

// waitpid() for pid, retried on EINTR; the wait status, or -1 if there is no such child.
int wait_child(pid_t pid);

// The exit status of a wait status as a shell shows it: 128 + signal when killed.
int exit_code(int status);

// A Status as one message between processes (a pipe, a socket), and back: the whole
// Error (errno, context, extended ack), for a child that reports after exec or after
// its setup (pnkeeper's charon, a file space's assembler).
std::string encode_status(const Status& st);
// EIO naming what when text is no encoded Status (empty: the other side ended first).
Status decode_status(const std::string& text, const std::string& what);

}  // namespace personalnet::sys
