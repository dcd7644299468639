// What of root's rights the set-uid helper keeps (docs/ARCHITECTURE.md, "Unprivileged
// use", the table of operations and capabilities). At start the bounding set is cut to
// what any operation needs, so nothing the helper starts (charon, fuse-overlayfs, the
// reaper, mkfs) can ever gain the rest, root or not; per request, the permitted and
// effective sets are cut to what that operation needs. The helper stays uid 0 (the
// daemons it starts must not be the caller's to signal), so its programs regain the
// bounding set on exec as root does: the bounding set is the limit for them, the
// per-operation sets the limit for the helper's own code.
#pragma once

#include <sys/capability.h>

#include <span>

#include "lib/helper/request.hpp"
#include "personalnet/error.hpp"

namespace personalnet::server {

enum class Operation {
    list,     // list spaces (collects dead unnamed spaces on the way, as root's list does)
    show,     // one space's record, dispatcher counters and overlay status
    diff,     // the changes in a file space's upper layer
    destroy,  // destroy a space, or a stored file space
    gc,       // collect what dead spaces left
    session,  // create or open, then run commands; the broker and its peers' helpers
};

Operation operation_of(helper::Op op);

// The capabilities an operation needs; every operation's together: helper_caps().
std::span<const cap_value_t> needed_by(Operation op);
std::span<const cap_value_t> helper_caps();

// Drops every capability that is not in helper_caps() from the bounding set (needs
// CAP_SETPCAP, which helper_caps() keeps for the command's own bounding set).
Status trim_bounding_set();

// Permitted and effective = needed_by(op), inheritable empty, ambient cleared.
Status keep_only(Operation op);

}  // namespace personalnet::server
