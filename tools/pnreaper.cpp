// pnreaper: releases the host-side state of a space once its namespace has died
// (lib/space/reaper.hpp). Started by libpersonalnet as root, detached, in a session of its
// own, with stdio on /dev/null and a fixed environment:
//
//   pnreaper RUNDIR STATEDIR CALLER LABEL LOCK_FD PARENT_NETNS_FD|-
//
// RUNDIR, STATEDIR and CALLER (a uid) are the creator's Context.
// LOCK_FD is the space's label lock (RUNDIR/locks/LABEL), held until it exits so that
// garbage collection leaves the space alone; PARENT_NETNS_FD pins the parent's network
// namespace, where the uplink is watched ("-": release at once). Every argument is
// checked; nothing is printed (there is nobody to read it), the exit status says it all.
// Descriptors from 5 on, if any, are netfilter sockets of `pnet destroy`, held until the
// reaper exits so that their last close (which waits for an RCU grace period after a
// deletion) is not destroy's (nft::SocketKeeper).
#include <unistd.h>

#include <string>

#include "lib/registry/registry.hpp"
#include "lib/space/reaper.hpp"
#include "tools/cli.hpp"
#include "tools/libexec_args.hpp"

namespace pn = personalnet;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

int reap(int argc, char** argv) {
    if (argc != 7) return kExitUsage;
    if (::geteuid() != 0) return kExitFailure;
    pn::Context ctx;
    ctx.rundir = argv[1];
    ctx.statedir = argv[2];
    const std::string caller = argv[3];
    auto [end, ec] = std::from_chars(caller.data(), caller.data() + caller.size(), ctx.caller);
    auto label = pn::cli::label_arg(argv[4]);
    auto lock = pn::cli::open_fd_arg(argv[5]);
    if (!pn::cli::plain_absolute_path(ctx.rundir) || !pn::cli::plain_absolute_path(ctx.statedir) ||
        ec != std::errc{} || end != caller.data() + caller.size() || caller.empty() || !label || !lock)
        return kExitUsage;
    if (!pn::cli::fd_is_file(*lock, ctx.rundir + "/locks/" + argv[4])) return kExitUsage;
    auto netns_arg = pn::cli::namespace_fd_arg(argv[6]);
    if (!netns_arg) return kExitUsage;
    const int netns = *netns_arg;
    auto reg = pn::registry::Registry::open(ctx);
    if (!reg.ok()) return kExitFailure;
    auto rec = reg->load(*label);  // as it is now: the label lock keeps it ours
    if (!rec.ok()) return rec.error().code == ENOENT ? 0 : kExitFailure;
    pn::space::wait_uplink_gone(reg.value(), netns, rec->host_ifindex);
    pn::space::release_reaped(reg.value(), rec.value(), netns);
    if (netns >= 0) ::close(netns);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnreaper", [&] { return reap(argc, argv); });
}
