// Spaces that exist only while held (lib/registry/holders.hpp, kind "held"): a batch
// job's space on a node, held by each of the job's steps there. The last holder's release
// destroys the space; when holders die without releasing (a killed slurmstepd), the next
// collection or the next take of that kind destroys it.
#pragma once

#include "personalnet/context.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Destroys every held space whose holders are all gone, whoever owns it (like the
// collection of an unnamed space whose processes are gone). Root only; call with
// holders::lock(ctx.rundir, holders::kHeld) held. One space that cannot be destroyed
// does not stop the others; the first error is returned.
Status destroy_dead_holds(const Context& ctx);

}  // namespace personalnet::space
