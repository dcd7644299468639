// The calling process and cgroup v2 (issue 22): where cgroup2 is mounted, and a way back to
// the cgroup a process was in before it joined a space's (a login's session process, which
// closes its session from outside the space: pam_personalnet).
#pragma once

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::sys {

// Where cgroup2 is mounted: /sys/fs/cgroup or /sys/fs/cgroup/unified when it is there, else
// the first cgroup2 mount of /proc/self/mountinfo (looked up once per process); "" if none.
const std::string& cgroup2_mount();

// The calling process's own cgroup v2 directory (O_DIRECTORY); invalid without cgroup2.
UniqueFd open_own_cgroup();

// Moves the calling process into the cgroup at dir (an fd from open_own_cgroup, or a
// space's leaf); nothing for an invalid dir.
Status enter_cgroup(int dir);

}  // namespace personalnet::sys
