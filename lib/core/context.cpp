#include "personalnet/context.hpp"

#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

// The installed helper's path; the Makefile passes LIBEXECDIR's.
#ifndef PERSONALNET_HELPER_PATH
#define PERSONALNET_HELPER_PATH "/usr/local/libexec/personalnet/pnhelper"
#endif

// The programs the library runs as root; the Makefile passes LIBEXECDIR.
#ifndef PERSONALNET_LIBEXECDIR
#define PERSONALNET_LIBEXECDIR "/usr/local/libexec/personalnet"
#endif

namespace personalnet {

Context::Context()
    : rundir("/run/personalnet"),
      statedir("/var/lib/personalnet"),
      overlaydir("/etc/personalnet/overlays.d"),
      trustdir("/etc/personalnet/cacerts.d"),
      helper(PERSONALNET_HELPER_PATH),
      libexecdir(PERSONALNET_LIBEXECDIR),
      caller(::getuid()) {}

Context Context::from_environment(const char* const* envp) {
    Context ctx;
    if (envp == nullptr) return ctx;
    const bool root = ::getuid() == 0;
    bool seen[10] = {};  // the first entry of a key counts, as for getenv()
    auto first = [&](int i) { return !std::exchange(seen[i], true); };
    std::string_view xdg, home;
    for (; *envp != nullptr; ++envp) {
        std::string_view entry(*envp);
        auto eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view key = entry.substr(0, eq), value = entry.substr(eq + 1);
        const bool absolute = !value.empty() && value[0] == '/';
        // Directories a user could point root's code at: root's own choice only.
        if (key == "PERSONALNET_RUNDIR" && first(0) && absolute && root)
            ctx.rundir = value;
        else if (key == "PERSONALNET_STATEDIR" && first(1) && absolute && root)
            ctx.statedir = value;
        else if (key == "PERSONALNET_OVERLAYDIR" && first(2) && absolute && root)
            ctx.overlaydir = value;
        else if (key == "PERSONALNET_TRUSTDIR" && first(8) && absolute && root)
            ctx.trustdir = value;
        else if (key == "PERSONALNET_CGROUPDIR" && first(9) && absolute && root)
            ctx.cgroupdir = value;  // where root makes and removes cgroups: root's own choice only
        else if (key == "PERSONALNET_LIBEXECDIR" && first(5) && absolute && root)
            ctx.libexecdir = value;  // what root runs: root's own choice only
        else if (key == "PERSONALNET_HELPER" && first(3) && absolute)
            ctx.helper = value;  // staged installs; the set-uid bit is what matters
        else if (key == "PERSONALNET_BROKER" && first(4))
            ctx.broker = value;
        else if (key == "XDG_CONFIG_HOME" && first(6) && absolute)
            xdg = value;
        else if (key == "HOME" && first(7) && absolute)
            home = value;
    }
    // The caller's own files: read with the caller's rights, wherever they point.
    if (!xdg.empty())
        ctx.user_networkdir = std::string(xdg) + "/personalnet/networks";
    else if (!home.empty())
        ctx.user_networkdir = std::string(home) + "/.config/personalnet/networks";
    return ctx;
}

}  // namespace personalnet
