// Which login sessions use a space, for pam_personalnet: one file per session under
// RUNDIR/pam/NAME/, named by the pid of the process that opened the session and holding
// that process's start time. A session whose process is gone (or whose pid now belongs
// to a process started later) crashed without closing and no longer counts, so a
// crashed sshd cannot keep a destroy_on_last_close space alive forever.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::pam {

// Takes the exclusive lock (flock on RUNDIR/pam, created root-owned 0755) that serialises
// the module's opens and closes, so that a close never destroys a space another login is
// just joining. Released when the fd goes.
Result<UniqueFd> lock_sessions(const std::string& rundir);

// Records that pid holds a session of space name. Call with the lock held.
Status add_session(const std::string& rundir, const std::string& name, pid_t pid);

// Removes pid's session of name; false if it had none. Call with the lock held.
Result<bool> remove_session(const std::string& rundir, const std::string& name, pid_t pid);

// How many sessions of name are alive; the files of dead ones are removed, and the
// directory too when none is left. Call with the lock held.
Result<int> live_sessions(const std::string& rundir, const std::string& name);

}  // namespace personalnet::pam
