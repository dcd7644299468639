// Simulated hosts for integration tests: network namespaces joined by veth pairs,
// built with the library's own netlink code, each with its own registry.
//
//   host A (10.9.0.1/24, fd00:9::1/64) --- host B (10.9.0.2/24, fd00:9::2/64,
//                                                 10.7.0.1/32 on lo, routed via B on A)
// Processes are started inside a host with fork + setns + exec; nothing touches the
// machine's own namespace except the temporary run directories.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"

namespace pntest {

struct RunResult {
    int rc = -1;
    std::string out, err;
};

std::string build_dir();
std::string bin(const std::string& name);  // build/bin/NAME
// In a forked child: execs argv (searched in PATH, SIGPIPE at its default); 127 if it
// cannot.
[[noreturn]] void exec_argv(const std::vector<std::string>& argv);

class Host;

// The cgroup subtree of the host whose run directory is rundir (/tmp/pntest-XXXXXX/run):
// <cgroup2 mount>/pntest-XXXXXX; "" when no cgroup2 is mounted.
std::string host_cgroupdir(const std::string& rundir);

// A process started in a host, with its stdout readable line by line.
class Proc {
public:
    Proc() = default;
    Proc(pid_t pid, int out_fd, int in_fd) : pid_(pid), out_(out_fd), in_(in_fd) {}
    Proc(Proc&& o) noexcept;
    Proc& operator=(Proc&& o) noexcept;
    ~Proc();
    // Reads one line from stdout (without the newline) within timeout_ms; "" on timeout/EOF.
    std::string read_line(int timeout_ms = 5000);
    void close_stdin() { in_.reset(); }
    int wait();  // exit code (128+sig if signalled)
    void kill(int sig = 15);
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    personalnet::UniqueFd out_, in_;
    std::string buf_;
};

class Host {
public:
    Host(const std::string& name);
    const std::string& name() const { return name_; }
    const std::string& rundir() const { return rundir_; }
    // Its spaces' cgroup subtree (PERSONALNET_CGROUPDIR): one per host, so that a test's
    // cgroups are its own; "" without cgroup2.
    std::string cgroupdir() const { return host_cgroupdir(rundir_); }
    int ns() const { return ns_.get(); }
    // Runs argv to completion inside the host (env PERSONALNET_RUNDIR set).
    RunResult run(const std::vector<std::string>& argv, int timeout_ms = 30000) const;
    // Starts argv in the background with piped stdin/stdout.
    Proc spawn(const std::vector<std::string>& argv) const;
    // Starts `pnprobe serve` and waits for it to listen.
    Proc serve(const std::string& proto, const std::string& addr, int port, const std::string& reply) const;
    // Everything personalnet could leave behind in this host, as text.
    std::string snapshot() const;
    ~Host();

private:
    std::string bpf_state() const;
    std::string name_, rundir_;
    personalnet::UniqueFd ns_;
};

// A and B wired together (tests/sim/simhosts.hpp).
struct Topology {
    Topology();
    Host a{"A"}, b{"B"};
};

// Lines of text containing needle.
bool contains(const std::string& hay, const std::string& needle);

// Runs body in a forked child inside host's network namespace (for library calls that
// act where they run) and returns the text body returned; "!" and why when the child
// could not run it or died.
std::string run_in_host(const Host& host, const std::function<std::string()>& body);

}  // namespace pntest
