// Which processes hold a named space, under RUNDIR/KIND/NAME/: one file per holder, named
// by its pid and holding its start time. A holder whose process is gone (or whose pid now
// belongs to a process started later) crashed without letting go and no longer counts, so
// a crashed login service or slurmstepd cannot keep a space alive forever.
//
// Two kinds use it:
// - "pam": pam_personalnet's login sessions (a space with destroy_on_last_close goes with
//   the last session's close);
// - "held" (kHeld): spaces that exist only while held, such as a batch job's space on a
//   node (one holder per job step's slurmstepd). The last holder's release destroys the
//   space; collect_garbage() destroys those whose holders all died.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::holders {

inline constexpr const char* kHeld = "held";

// Takes the exclusive lock (flock on RUNDIR/KIND, created root-owned 0755) that
// serialises takes and releases of that kind, so that a release never destroys a space
// another holder is just joining. Released when the fd goes.
Result<UniqueFd> lock(const std::string& rundir, const char* kind);

// Records that pid holds space name. Call with the lock held.
Status add(const std::string& rundir, const char* kind, const std::string& name, pid_t pid);

// Removes pid's hold on name; false if it had none. Call with the lock held.
Result<bool> remove(const std::string& rundir, const char* kind, const std::string& name, pid_t pid);

// How many holders of name are alive; the files of dead ones are removed, and the
// directory too when none is left. Call with the lock held.
Result<int> live(const std::string& rundir, const char* kind, const std::string& name);

// Leaves name's directory, without holders: a space whose last holder let go but which
// could not be destroyed then, for the next destroy_dead_holds to try again.
Status keep_unheld(const std::string& rundir, const char* kind, const std::string& name);

// The names that have a holder directory (live holders or not). Call with the lock held.
Result<std::vector<std::string>> names(const std::string& rundir, const char* kind);

}  // namespace personalnet::holders
