// Held spaces whose holders died (see held.hpp).
#include "lib/space/held.hpp"

#include <cerrno>

#include "lib/registry/holders.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

Status destroy_dead_holds(const Context& ctx) {
    auto names = holders::names(ctx.rundir, holders::kHeld);
    if (!names.ok()) return names.error();
    Status first;
    // Whoever asks (a user's gc through the helper included): a space nobody holds any
    // more is garbage, as an unnamed one whose processes are gone is.
    Context as_root = ctx;
    as_root.caller = 0;
    for (const auto& name : names.value()) {
        auto live = holders::live(ctx.rundir, holders::kHeld, name);
        if (!live.ok()) {
            if (first.ok()) first = live.error();
            continue;
        }
        if (live.value() > 0) continue;
        auto destroyed = destroy_space(name, as_root);
        if (!destroyed.ok() && destroyed.error().code != ENOENT) {
            (void)holders::keep_unheld(ctx.rundir, holders::kHeld, name);  // tried again next time
            if (first.ok()) first = destroyed.error().wrap("release held space '" + name + "'");
        }
    }
    return first;
}

}  // namespace personalnet::space
