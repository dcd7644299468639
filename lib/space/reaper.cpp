#include "lib/space/reaper.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>

#include <optional>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/parent.hpp"
#include "lib/space/root_daemon.hpp"

namespace personalnet::space {

namespace {
constexpr int kLockFd = 3;
constexpr int kParentNetnsFd = 4;
constexpr size_t kMaxKeptSockets = 8;  // sys::spawn passes at most 16 descriptors
}  // namespace

Result<UniqueFd> parent_of_reaped(const registry::Registry& reg, const registry::Record& r) {
    auto reached = reach_parent(ParentRef{&reg, r.parent_netns, r.depth});
    if (reached.ok() && reached->has_value()) return std::move(**reached);
    return make_error(ENOENT, "the parent namespace is gone");
}

Status spawn_reaper(const registry::Registry& reg, const registry::Record& r, int label_lock_fd) {
    // The parent's namespace, wherever the kernel shows it (its pin may be in another
    // mount namespace). Without it the reaper cannot watch the uplink and releases at
    // once: the parent, and with it the uplink, is gone.
    auto pin = parent_of_reaped(reg, r);
    return spawn_reaper(reg, r, label_lock_fd, pin.ok() ? pin->get() : -1);
}

Status spawn_reaper(const registry::Registry& reg, const registry::Record& r, int label_lock_fd,
                    int parent_netns_fd, const std::vector<int>& kept_sockets) {
    const bool pin_ok = parent_netns_fd >= 0;
    sys::SpawnOptions o;
    o.what = "start the reaper of space '" + r.name + "'";
    const Context& ctx = reg.context();
    o.program = ctx.libexecdir + "/pnreaper";
    o.argv = {"pnreaper",
              ctx.rundir,
              ctx.statedir,
              std::to_string(ctx.caller),
              registry::label_hex(r.label),
              std::to_string(kLockFd),
              pin_ok ? std::to_string(kParentNetnsFd) : "-"};
    o.fds = {{label_lock_fd, kLockFd}};
    if (pin_ok) o.fds.emplace_back(parent_netns_fd, kParentNetnsFd);
    // Held, never used, until it exits: their last close is the reaper's (nft::SocketKeeper).
    // One per namespace the release touched (the parent and the ancestors dispatching to
    // the space); past kMaxKeptSockets (a deep nesting) the caller's close pays for the rest.
    int next = kParentNetnsFd + 1;
    for (size_t i = 0; i < kept_sockets.size() && i < kMaxKeptSockets; ++i)
        o.fds.emplace_back(kept_sockets[i], next++);
    // In the host's mount namespace: a creator inside a file space (root's own space
    // nested in a user's) hands its reaper to the host's, where the release also lets the
    // stores go that only a release outside can unmount.
    auto pid = spawn_root_daemon(o, reg);
    if (!pid.ok()) return pid.error();
    return {};
}

namespace {

// Where the reaper waits: the host's network namespace (PID 1's, in the host's /proc:
// the reaper runs in the host's mount namespace), which is no space's, so the reaper is
// no space's process. A new empty one only if that one is a space's after all, or cannot
// be entered: making and tearing down a namespace costs ~1 ms of CPU (its loopback,
// its sysctl tables), which on a small machine the next command pays.
void leave_for_no_spaces_netns(const registry::Registry& reg) {
    UniqueFd host(::open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC));
    if (host.valid()) {
        auto inode = sys::inode_of_fd(host.get());
        if (inode.ok() && !reg.find_netns(inode.value()) && ::setns(host.get(), CLONE_NEWNET) == 0) return;
    }
    (void)::unshare(CLONE_NEWNET);  // if this fails we merely wait where we are
}

}  // namespace

void wait_uplink_gone(const registry::Registry& reg, int parent_netns, int ifindex) {
    // Only the netlink socket belongs in the parent's namespace; the reaper itself waits
    // in one that is no space's. Otherwise it would count as a process of the parent,
    // which may itself be a space whose release waits for this one.
    std::optional<netlink::Socket> events;
    if (parent_netns >= 0 && sys::enter_netns(parent_netns).ok()) {
        auto s = netlink::Socket::open();
        if (s.ok()) events.emplace(std::move(s).value());
    }
    leave_for_no_spaces_netns(reg);
    if (events) (void)events->wait_link_gone(ifindex);
}

}  // namespace personalnet::space
