// A space's view of the run directory: the registry's files without its pins.
//
// The pins (bind mounts of network namespaces on RUNDIR/ns/NAME and
// RUNDIR/parents/INODE/ns) live in the host's mount namespace. A space's mount namespace
// (its file space's, or the copy its init makes) gets a clone of the run directory's mount
// alone, made private, so that no pin is copied into it or propagated to it: n spaces
// would otherwise hold n² mounts (docs/ARCHITECTURE.md, Known limits). Its ns/ is covered by
// an empty read-only tmpfs, which refuses a pin made there and tells root's tools in the
// space that the pins are elsewhere (lib/space/pins). The layer stores (RUNDIR/fs, a private
// mount) come along as they are.
#pragma once

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::fs {

struct RunView {
    UniqueFd run;     // a clone of the run directory's mount, without what is mounted under it
    UniqueFd stores;  // a clone of RUNDIR/fs with the stores mounted on it
};

// In the host's mount namespace (or a view: its clone is a view again), before the
// space's is unshared.
Result<RunView> clone_run_view(const std::string& rundir);

// In the new mount namespace: attaches view on `at` (an O_PATH descriptor of the run
// directory's mount point there), private, with its stores and the cover on ns/.
Status attach_run_view(RunView& view, int at);

// Whether this process sees rundir through such a view (its ns/ is a mount of its own).
bool is_run_view(const std::string& rundir);

}  // namespace personalnet::fs
