// pnwatch: the watcher of a parent network namespace (lib/space/watcher.hpp): follows the
// parent's addresses and routes into its children until its last child is gone. Started
// by libpersonalnet as root, detached, in a session of its own and the host's mount
// namespace, with stdio on /dev/null and a fixed environment:
//
//   pnwatch RUNDIR STATEDIR PARENT_INODE LOCK_FD PARENT_NETNS_FD fresh|catch-up
//
// RUNDIR and STATEDIR are the creator's Context; PARENT_INODE names the parent state
// (RUNDIR/parents/PARENT_INODE); LOCK_FD is that state's watch lock, held for life;
// PARENT_NETNS_FD is the parent's network namespace (of that inode); catch-up: a first pass
// over the children before waiting (lib/space/watcher.hpp, WatchStart). Every argument is
// checked; nothing is printed (there is nobody to read it), the exit status says it all.
#include <unistd.h>

#include <charconv>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/watcher.hpp"
#include "tools/cli.hpp"
#include "tools/libexec_args.hpp"

namespace pn = personalnet;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

int watch(int argc, char** argv) {
    if (argc != 7) return kExitUsage;
    if (::geteuid() != 0) return kExitFailure;
    pn::Context ctx;
    ctx.rundir = argv[1];
    ctx.statedir = argv[2];
    const std::string inode_text = argv[3];
    uint64_t inode = 0;
    auto [end, ec] = std::from_chars(inode_text.data(), inode_text.data() + inode_text.size(), inode);
    if (!pn::cli::plain_absolute_path(ctx.rundir) || !pn::cli::plain_absolute_path(ctx.statedir) ||
        ec != std::errc{} || end != inode_text.data() + inode_text.size() || inode == 0 ||
        std::to_string(inode) != inode_text)
        return kExitUsage;
    auto lock = pn::cli::open_fd_arg(argv[4]);
    if (!lock || !pn::cli::fd_is_file(*lock, ctx.rundir + "/parents/" + inode_text + "/watch"))
        return kExitUsage;
    auto netns = pn::cli::namespace_fd_arg(argv[5]);
    if (!netns || *netns < 0) return kExitUsage;
    auto ns_inode = pn::sys::inode_of_fd(*netns);
    if (!ns_inode.ok() || ns_inode.value() != inode) return kExitUsage;
    const std::string mode = argv[6];
    if (mode != "fresh" && mode != "catch-up") return kExitUsage;
    auto reg = pn::registry::Registry::open(ctx);
    if (!reg.ok()) return kExitFailure;
    return pn::space::run_watcher(
        reg.value(), inode, *lock, *netns,
        mode == "fresh" ? pn::space::WatchStart::fresh : pn::space::WatchStart::catch_up);
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnwatch", [&] { return watch(argc, argv); });
}
