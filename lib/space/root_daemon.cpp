#include "lib/space/root_daemon.hpp"

#include <signal.h>

#include "lib/space/cgroup.hpp"
#include "lib/space/filespace.hpp"

namespace personalnet::space {

Result<pid_t> spawn_root_daemon(sys::SpawnOptions& o, const registry::Registry& reg) {
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.stdio = sys::SpawnOptions::Stdio::null;
    auto host = host_mntns(reg);
    if (!host.ok()) return host.error().wrap(o.what);
    if (host->valid()) {
        o.mntns = host->get();
        o.mntns_what = "join the host's mount namespace";
    }
    auto helpers = open_helpers_cgroup(reg.context());
    if (!helpers.ok()) return helpers.error().wrap(o.what);
    o.cgroup = helpers->get();
    o.new_session = true;
    o.detach = true;
    o.ignored_signals = {SIGINT, SIGHUP};
    return sys::spawn(o);
}

}  // namespace personalnet::space
