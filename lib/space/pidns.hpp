// A space's PID namespace (issue 20): pid 1 is pninit (tools/pninit.cpp), the owner's,
// which also holds the space's UTS namespace (its hostname) and mounts the namespace's
// own /proc in the space's mount namespace (for a space without a file space: in a slave
// copy of the creator's, which then is the space's mount namespace).
#pragma once

#include <optional>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// What joining a space's PID namespace takes, held open.
// The descriptor on which the init keeps the mount namespace it started in (the host's,
// or its creator's: tools/pninit.cpp).
inline constexpr int kInitStartMntnsFd = 100;

struct Init {
    UniqueFd pidfd;  // the init: a pidfd, or its /proc/PID directory (pidfd_send_signal takes both)
    UniqueFd pidns;  // its PID namespace: children forked after setns(CLONE_NEWPID) are in it
    UniqueFd utsns;  // its hostname
    UniqueFd mntns;  // its mount namespace (the space's own only without a file space)
    // An unnamed space's supervisor's end of a pipe: init ends once it is closed (by every
    // process) and no other process is left in its namespace. Closed on exec.
    UniqueFd hold;
};

// Starts the init of rec's new PID namespace, nested in parent's when parent has one
// (else in the caller's), in the space's network namespace, with the file space's mount
// namespace (mntns, or -1 for none), created in the cgroup (a directory fd; -1: ours). Sets rec.pidns,
// rec.init_pid and rec.hostname.
Result<Init> start_init(const registry::Registry& reg, registry::Record& rec, int netns, int mntns,
                        const std::string& hostname, const registry::Record* parent, int cgroup = -1);

// The init of rec's PID namespace, checked to be that one (its PID namespace's inode):
// ESRCH naming the space when it has ended.
Result<Init> open_init(const registry::Record& rec);

// Ends rec's init, and with it every process of its PID namespace; "already gone" is
// success. Waits (up to 2 s) for it to be gone.
Status stop_init(const registry::Record& rec);

// Sends rec's init SIGKILL and returns without waiting: the kernel ends every process of
// its PID namespace with it, and the init's exit tears the space's mount namespace down
// (an RCU grace period) in its own time. true: it was running and is killed now, so the
// processes of rec.pidns are ending; false: it had ended already.
Result<bool> kill_init(const registry::Record& rec);

// rec's init as this process's /proc numbers it (0: none, or it has ended): not a process
// that keeps an unnamed space alive.
pid_t init_pid_here(const registry::Record& rec);

// The caller's hostname (a space's default one).
std::string current_hostname();

}  // namespace personalnet::space
