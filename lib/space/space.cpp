// Port spaces: creation, running commands, destruction and garbage collection.
//
// Creation order matters for crash safety: the label lock and the record (with
// every name we will use) are written before any kernel object exists, so a
// SIGKILL at any later point leaves something collect_garbage() can undo by
// reading the record. Every undo step tolerates "already gone". Creation is a list of
// named steps with their undos (steps.hpp); an overlay comes up after the space is
// committed and the global lock released.
#include "personalnet/space.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <tuple>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/kernel.hpp"
#include "lib/core/seccomp.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/ike/overlay_config.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/nft/nft.hpp"
#include "lib/registry/holders.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/child.hpp"
#include "lib/space/dispatch.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/held.hpp"
#include "lib/space/leftovers.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/overlay.hpp"
#include "lib/space/parent.hpp"
#include "lib/space/pidns.hpp"
#include "lib/space/pins.hpp"
#include "lib/space/publish.hpp"
#include "lib/space/reach.hpp"
#include "lib/space/reaper.hpp"
#include "lib/space/remote.hpp"
#include "lib/space/run_mounts.hpp"
#include "lib/space/shaper.hpp"
#include "lib/space/steps.hpp"
#include "lib/space/user_network.hpp"
#include "lib/space/watcher.hpp"

namespace personalnet {

using registry::Record;
using registry::Registry;

struct Space::State {
    Registry reg;
    Record rec;
    SpaceInfo info;
    UniqueFd netns;
    UniqueFd mntns;       // the file space's mount namespace, if the space has one
    UniqueFd label_lock;  // held while this process supervises an unnamed space
    bool supervising = false;
    space::Init init;  // its PID namespace's init (unless it shares its parent's PIDs)
    std::vector<std::pair<std::string, double>> timings;
    std::vector<std::pair<std::string, double>> cpu_timings;
    UniqueFd cgroup;  // its processes' cgroup (issue 22); invalid without one
};

namespace {

using Clock = std::chrono::steady_clock;

// The command run() is waiting for; SIGTERM and SIGHUP sent to us are relayed to it,
// like sudo does, so that stopping the supervisor stops what it runs.
volatile sig_atomic_t g_running_child = 0;

void relay_signal(int sig) {
    if (g_running_child > 0) ::kill(static_cast<pid_t>(g_running_child), sig);
}

std::string pin_path(const Registry& reg, const std::string& name) { return reg.path("ns/" + name); }

// Whether the watcher of each parent namespace runs, asked once per parent in a listing.
using WatcherMemo = std::map<uint64_t, bool>;

SpaceInfo info_of(const Registry& reg, const Record& r, WatcherMemo* watchers = nullptr) {
    SpaceInfo i;
    i.name = r.name;
    i.named = r.named;
    i.label = r.label;
    i.owner = r.owner;
    if (r.parent_label != 0) {
        auto p = reg.load(r.parent_label);
        i.parent = p.ok() ? p->name : registry::label_hex(r.parent_label);
    }
    i.depth = r.depth;
    i.netns_inode = r.netns;
    i.host_ifname = r.host_ifname;
    if (r.named) i.pin = pin_path(reg, r.name);
    i.supervisor = r.supervisor;
    i.state = r.state;
    if (r.state == SpaceState::ready && !r.named && r.supervisor != 0 && !sys::pid_alive(r.supervisor))
        i.state = SpaceState::unsupervised;
    i.created = r.created;
    i.addresses = r.addresses;
    // A space being created is followed once its creator is done; an unnamed one whose
    // supervisor is gone is being released.
    if (r.state == SpaceState::ready) {
        auto ask = [&] { return space::watcher_running(reg, r.parent_netns); };
        bool running;
        if (watchers == nullptr)
            running = ask();
        else if (auto it = watchers->find(r.parent_netns); it != watchers->end())
            running = it->second;
        else
            running = watchers->emplace(r.parent_netns, ask()).first->second;
        i.addresses_stale = !running;
    }
    i.inherit_routes = r.inherit_routes;
    i.inherit_services = r.inherit_services;
    i.hidden_routes = r.hidden_routes;
    i.hidden_services = r.hidden_services;
    i.published = r.published;
    i.own_pids = r.pidns != 0;
    i.hostname = r.hostname;
    i.file_space = r.file_space;
    i.fs_backend = r.fs_backend;
    i.overlay = r.overlay;
    i.overlay_source = r.overlay_source;
    i.user_network = r.user_network;
    i.network = r.network;
    i.datapath = r.datapath;
    i.shared_paths = r.fs_shared;
    i.private_tmp = r.fs_private_tmp;
    i.admin = r.admin;
    i.dispatch = r.dispatch;
    i.limits.cpu_milli = r.cpu_milli;
    i.limits.memory_bytes = r.memory_max;
    i.limits.pids = r.pids_max;
    i.limits.io_weight = r.io_weight;
    i.limits.rate_in = r.rate_in;
    i.limits.rate_out = r.rate_out;
    return i;
}

// Removes everything a space owns. Caller holds the registry lock. Idempotent. Every step
// is tried even when an earlier one failed (each removes something else), and the record
// stays unless all succeeded: the error names every piece left, and a retry (destroy or
// gc) finds them through the record.
// What a space owns on the host besides its record, pin and label: its overlay daemon,
// its dispatch, its parent's state for it (its uplink too) and its file space.
Status release_host_side(const Registry& reg, const Record& r, Keep keep) {
    space::Leftovers left;
    // First: it holds the file space's mount namespace, and every process of the space
    // ends with it.
    left.note(space::stop_init(r), "end the space's init");
    left.note(space::stop_overlay(reg, r), "stop the overlay daemon");
    left.note(space::undispatch_through_ancestors(reg, r),
              "stop dispatching label " + registry::label_hex(r.label));
    left.note(space::parent_release(space::ParentRef{&reg, r.parent_netns, r.depth}, r.label,
                                    space::Release::whole, r.rate_in != 0 || r.rate_out != 0),
              "release uplink " + r.host_ifname);
    left.note(space::release_file_space(reg, r, keep == Keep::files), "release file space");
    // Last: fuse-overlayfs, in it, ends with the file space's release.
    left.note(space::remove_cgroup(reg, r), "remove its cgroup");
    return left.result();
}

Status destroy_state(const Registry& reg, const Record& r, Keep keep = Keep::nothing) {
    PN_TRY(release_host_side(reg, r, keep), "");
    // Destroy's fast path left to the reaper the removal of the layers it moved into the
    // store's trash, and root's store (its last unmount syncs the ext4 and discards,
    // ~25 ms here): unmounted now if no space uses it, before the label goes. (Its freed
    // blocks are discarded then; the trim after the lock finds it unmounted.)
    if (r.destroyed) {
        space::remove_discarded_layers(reg, r);
        space::release_unused_stores(reg, r.label);
    }
    // The pin goes last: while it is there, the space is there to retry on. Unlinking it
    // also detaches its copies in other mount namespaces (the kernel does, since 3.18).
    if (r.named) PN_TRY(space::unpin_under(reg, pin_path(reg, r.name)), "unpin");
    PN_TRY(reg.remove(r), "remove record");
    reg.remove_label_lock(r.label);
    if (!reg.any_record()) PN_TRY(space::release_run_mounts(reg), "release the run directory's mounts");
    return {};
}

// Whether a named space's namespace is still pinned, in this mount namespace or another
// (a space made under `ip netns exec`, which gives each command a mount namespace of its
// own, was pinned in that one; it ended with it, and so did the space). An error when
// that cannot be told.
Result<bool> pinned_anywhere(const Registry& reg, const Record& r) {
    auto found = space::reach_named(reg, r);
    if (!found.ok()) return found.error();
    return found->has_value();
}

// bpf or nft for the record; an explicit BPF request on a kernel that cannot run the
// programs is refused with the reason rather than served by nftables.
Result<Dispatch> choose_dispatch(Dispatch want) {
    if (want == Dispatch::nft) return Dispatch::nft;
    std::string why = bpf::unsupported_reason();
    if (why.empty()) return Dispatch::bpf;
    if (want == Dispatch::automatic) return Dispatch::nft;
    return make_error(EOPNOTSUPP, "--dispatch=bpf: " + why);
}

bool caller_may_manage(const Registry& reg, const Record& r) {
    return reg.context().caller == 0 || reg.context().caller == r.owner;
}

// The record of the named space, if the caller may manage it; errors say `what`.
Result<Record> load_owned(const Registry& reg, const std::string& name, const std::string& what) {
    auto label = reg.find_name(name);
    if (!label) return make_error(ENOENT, what + ": no such space");
    auto rec = reg.load(*label);
    if (!rec.ok()) return rec.error().wrap(what);
    if (!caller_may_manage(reg, rec.value())) return make_error(EPERM, what + ": owned by another user");
    return rec;
}

// Which network namespaces have processes, by one walk over /proc made when first asked:
// a collection asks it of many spaces (space::ProcessesByNetns).
class ProcessesOnce {
public:
    bool has_processes(uint64_t netns, std::initializer_list<pid_t> ignore) {
        if (!by_netns_) by_netns_ = space::ProcessesByNetns::scan();
        return by_netns_->has_processes(netns, ignore);
    }

private:
    std::optional<space::ProcessesByNetns> by_netns_;
};

// The cheap collection run by every invocation: only spaces whose creator or
// supervisor held a label lock are examined.
// left: where a full collection notes what it could not release (else only retried by
// the next invocation).
void collect_locked(const Registry& reg, space::Leftovers* left = nullptr) {
    ProcessesOnce procs;
    for (uint16_t label : reg.locked_labels()) {
        auto held = reg.try_lock_label(label);
        if (!held.ok() || !held->has_value()) continue;  // owner alive
        UniqueFd lock = std::move(*held.value());
        auto rec = reg.load(label);
        if (!rec.ok()) {
            reg.remove_label_lock(label);
            continue;
        }
        if (rec->named && rec->state == SpaceState::ready) {
            reg.remove_label_lock(label);
            continue;
        }
        if (rec->state == SpaceState::ready && rec->netns != 0 &&
            procs.has_processes(rec->netns, {rec->fs_daemon, rec->ike_daemon, space::init_pid_here(*rec)})) {
            (void)space::spawn_reaper(reg, rec.value(), lock.get());  // adopt the orphaned space
            continue;
        }
        auto glock = reg.lock();
        if (!glock.ok()) continue;
        auto released = destroy_state(reg, rec.value());
        if (left != nullptr) left->note(released, "collect space '" + rec->name + "'");
    }
}

// A named space the caller may use, after gc, with its pin checked against the record
// (an fd on the pin is returned: the namespace to run in).
Result<std::pair<Record, UniqueFd>> load_pinned(const Registry& reg, const std::string& name,
                                                const std::string& what) {
    collect_locked(reg);
    auto rec = load_owned(reg, name, what);
    if (!rec.ok()) return rec.error();
    // Through the pin, in this mount namespace or another: a pin holds its namespace, so
    // what it names is the space (any other reference could be a later namespace that
    // has the dead one's inode).
    auto pinned = space::reach_named(reg, rec.value());
    if (!pinned.ok()) return pinned.error().wrap(what);
    if (!pinned->has_value())
        return make_error(ENOENT, what +
                                      ": it has ended (its namespace pin is gone, as with the mount "
                                      "namespace it was made in); 'pnet destroy " +
                                      name + "' removes what is left");
    UniqueFd fd = std::move(**pinned);
    return std::pair{std::move(rec).value(), std::move(fd)};
}

// An --admin space's network namespace, owned by a user namespace of its owner (uid and
// primary gid mapped to themselves).
Result<UniqueFd> new_admin_netns(uid_t owner) {
    std::vector<char> buf(16384);
    struct passwd pw {
    }, *found = nullptr;
    if (::getpwuid_r(owner, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return make_error(ENOENT, "--admin: no user with uid " + std::to_string(owner));
    return space::new_netns_in_user_namespace(owner, pw.pw_gid);
}

// The one line for a personal network whose label another space has: the space bound to
// it, or an ordinary space that was given the label before the definition named it.
Error network_taken(const Registry& reg, const std::string& network, uint16_t label) {
    const std::string which = "network '" + network + "' (label 0x" + registry::label_hex(label) + ")";
    auto holder = reg.load(label);
    if (!holder.ok()) return make_error(EEXIST, which + " is held by a space being created");
    // Another user's space is not named: `pnet list` would not show it to this caller.
    const uid_t caller = reg.context().caller;
    if (caller != 0 && holder->owner != caller)
        return make_error(EEXIST, which + " is " + (holder->network ? "already bound" : "held") +
                                      " by a space of another user");
    if (holder->network)
        return make_error(EEXIST, which + " is already bound by space '" + holder->name + "'");
    return make_error(EEXIST, which + " is held by space '" + holder->name + "'");
}

Status check_spec(const SpaceSpec& spec) {
    if (!spec.name.empty()) PN_TRY(validate_name(spec.name), "");
    if (!spec.file_space &&
        (!spec.shared_paths.empty() || spec.private_tmp || !spec.resolv_conf.empty() || !spec.hosts.empty() ||
         !spec.hosts_text.empty() || spec.fs_backend != FsBackend::automatic))
        return make_error(
            EINVAL, "--share, --private-tmp, --resolv-conf, --hosts and --fs-backend need a file space");
    for (const auto& p : spec.shared_paths) PN_TRY(validate_shared_path(p), "");
    PN_TRY(validate_published(spec.published), "");
    if (!spec.hostname.empty()) PN_TRY(validate_hostname(spec.hostname), "");
    PN_TRY(validate_bandwidth(spec.limits), "");
    if (spec.share_pids && !spec.hostname.empty())
        return make_error(EINVAL,
                          "--hostname needs the space's own PID namespace (its init holds the hostname): "
                          "not with --share-pids");
    PN_TRY(validate_limits(spec.limits), "");
    return {};
}

// The contents of a small regular file the caller names for /etc inside a file space: a
// text of at most 64 KiB without NUL bytes (the most the helper's channel carries in one
// value, and a NUL would end it there), checked after reading, since a file may grow or
// (in /proc) report no size at all.
// A seed file's text: at most 64 KiB, no NUL byte (it is a text file).
constexpr off_t kMaxSeed = 65536;
Status check_seed_text(const std::string& text, const std::string& what) {
    if (text.size() > static_cast<size_t>(kMaxSeed))
        return make_error(EINVAL, what + " is larger than 64 KiB");
    if (auto nul = text.find('\0'); nul != std::string::npos)
        return make_error(
            EINVAL, what + " holds a NUL byte (at offset " + std::to_string(nul) + "): not a text file");
    return {};
}

Result<std::string> read_seed_file(const std::string& path, const char* option) {
    if (path.empty()) return std::string();
    const std::string what = std::string(option) + " '" + path + "'";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error(what);
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, what + " is not a regular file");
    if (st.st_size > kMaxSeed) return make_error(EINVAL, what + " is larger than 64 KiB");
    auto text = sys::read_file(path);
    if (!text.ok()) return text.error().wrap(option);
    if (text->empty()) return make_error(EINVAL, what + " is empty");
    PN_TRY(check_seed_text(text.value(), what), "");
    return text;
}

}  // namespace

void space::release_reaped(const Registry& reg, const Record& r, int parent_netns) {
    // Its netfilter sockets are closed after the registry lock is let go: the close after
    // a deletion waits for an RCU grace period, which the next creation would wait for.
    nft::SocketKeeper sockets;
    {
        auto lock = reg.lock();
        if (!lock.ok()) return;
        (void)destroy_state(reg, r);
        if (parent_netns >= 0) (void)space::remove_idle_dispatcher(reg, parent_netns);
    }
    space::give_back_free_space(reg, r);
}

Space::Space(std::unique_ptr<State> st) : st_(std::move(st)) {}
Space::Space(std::unique_ptr<Remote> remote) : remote_(std::move(remote)) {}
Space::Space(Space&&) noexcept = default;
Space& Space::operator=(Space&&) noexcept = default;

const SpaceInfo& Space::info() const { return remote_ ? remote_->info : st_->info; }
const std::vector<std::pair<std::string, double>>& Space::timings() const {
    static const std::vector<std::pair<std::string, double>> none;
    return remote_ ? none : st_->timings;
}
const std::vector<std::pair<std::string, double>>& Space::cpu_timings() const {
    static const std::vector<std::pair<std::string, double>> none;
    return remote_ ? none : st_->cpu_timings;
}

Result<Space> Space::create(const SpaceSpec& spec, const Context& ctx) {
    // Everything before the steps (checks, reading the definitions, the registry opened
    // and collected) is timed as the step "prepare".
    const auto prepare_start = Clock::now();
    const double prepare_cpu = space::cpu_ms_so_far();
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) {
        PN_TRY(check_spec(spec), "");  // the user's own view first: clearer errors
        // Whether this host holds the limits is the helper's to say, after the policy's
        // maxima and defaults (which may add limits, or refuse these first).
        auto resolv = read_seed_file(spec.resolv_conf, "--resolv-conf");
        if (!resolv.ok()) return resolv.error();
        auto hosts = read_seed_file(spec.hosts, "--hosts");
        if (!hosts.ok()) return hosts.error();
        if (!spec.hosts_text.empty()) {
            if (!spec.hosts.empty()) return make_error(EINVAL, "hosts and hosts_text given together");
            PN_TRY(check_seed_text(spec.hosts_text, "hosts_text"), "");
            hosts = spec.hosts_text;
        }
        // The caller's own network, read with the caller's rights and sent as bytes.
        auto network = space::read_user_network(spec, ctx);
        if (!network.ok()) return network.error();
        SpaceSpec sent = spec;
        sent.network_file.clear();
        sent.user_network = std::move(network).value();
        auto remote = space::remote_create(ctx, sent, std::move(resolv).value(), std::move(hosts).value());
        if (!remote.ok()) return remote.error();
        return Space(std::move(remote).value());
    }
    auto checked = check_spec(spec);
    if (!checked.ok()) return checked.error();
    // Before anything exists: a limit this host cannot hold is refused, never ignored.
    PN_TRY(space::check_limits_here(spec.limits, space::cgroup_host(ctx)), "");
    std::vector<std::string> shared = spec.shared_paths;
    if (ctx.caller == 0) {
        // Root's own: canonical, so that the union binds it without a symbolic link on the
        // way (a user's request arrives resolved by the helper, as the user).
        for (auto& dir : shared) {
            char real[PATH_MAX];
            if (::realpath(dir.c_str(), real) == nullptr) return errno_error("--share '" + dir + "'");
            dir = real;
        }
    }
    std::optional<ike::OverlayDefinition> overlay;
    // A user's own network (sent by the helper's caller, or root's own file) before the
    // administrator's overlay of that name.
    auto network = space::read_user_network(spec, ctx);
    if (!network.ok()) return network.error();
    if (!network->empty()) {
        auto host = space::host_facts_here();
        if (!host.ok()) return host.error();
        auto checked = space::check_user_network(network.value(), host.value());
        if (!checked.ok()) return checked.error();
        auto def = space::with_credentials(std::move(checked).value(), network.value(), ctx.trustdir);
        if (!def.ok()) return def.error();
        overlay = std::move(def).value();
    } else if (!spec.overlay.empty()) {
        auto def = ike::load_overlay(spec.overlay, ctx.overlaydir);
        if (!def.ok()) return def.error();
        overlay = std::move(def).value();
    }
    if (overlay) {
        // Refused before anything exists: a transport-mode SA would never come up here.
        auto transport = ike::transport_children_of(overlay->swanctl);
        if (!transport.empty()) {
            auto esp = netlink::kernel_has_esp();
            if (!esp.ok()) return esp.error().wrap("overlay '" + overlay->name + "'");
            if (!esp.value())
                return make_error(EINVAL,
                                  "overlay '" + overlay->name + "': " + transport.front() +
                                      ": mode = transport needs the kernel's ESP, which this kernel "
                                      "lacks (its user-space ESP, kernel-libipsec, does tunnel mode only)");
        }
    }
    space::FileSpaceSeed seed;
    seed.backend = spec.fs_backend;
    seed.max_layer_bytes = spec.max_layer_bytes;
    for (auto [path, out, option] : {std::tuple{&spec.resolv_conf, &seed.resolv_conf, "--resolv-conf"},
                                     std::tuple{&spec.hosts, &seed.hosts, "--hosts"}}) {
        auto text = read_seed_file(*path, option);
        if (!text.ok()) return text.error();
        *out = std::move(text).value();
    }
    if (!spec.hosts_text.empty()) {
        if (!spec.hosts.empty()) return make_error(EINVAL, "hosts and hosts_text given together");
        PN_TRY(check_seed_text(spec.hosts_text, "hosts_text"), "");
        seed.hosts = spec.hosts_text;
    }
    if (overlay && !overlay->dns.empty() && spec.resolv_conf.empty() && spec.file_space) {
        // The overlay's resolvers, in the space's own /etc/resolv.conf.
        for (const auto& d : overlay->dns) seed.resolv_conf += "nameserver " + d + "\n";
    }
    // Labels a local allocation must not hand out: the personal networks defined here
    // (a space bound to one later takes exactly its label).
    std::vector<uint16_t> avoid;
    if (!overlay || !overlay->label)
        for (const auto& [label, name] : ike::network_labels(ctx.overlaydir)) avoid.push_back(label);
    std::string what = spec.name.empty() ? "create space" : "create space '" + spec.name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    collect_locked(reg.value());

    auto st =
        std::make_unique<State>(State{std::move(reg).value(), {}, {}, {}, {}, {}, false, {}, {}, {}, {}});
    Registry& r = st->reg;
    Record& rec = st->rec;
    // What the steps hand on to later ones.
    UniqueFd glock;
    UniqueFd home;
    std::optional<Record> parent;
    std::optional<netlink::Socket> ps;
    std::optional<space::Inheritance> inh;
    auto parent_of_rec = [&] { return space::ParentRef{&r, rec.parent_netns, rec.depth}; };

    // The record, with every name the later steps use, before any kernel object exists.
    auto write_record = [&]() -> Status {
        auto locked = r.lock();
        if (!locked.ok()) return locked.error();
        glock = std::move(locked).value();
        if (!spec.name.empty() && r.find_name(spec.name))
            return make_error(EEXIST, "a space with that name exists");
        // Before anything is pinned under the run directory (see run_mounts.hpp).
        PN_TRY(space::ensure_run_mounts(r), "");
        auto here = sys::open_current_netns();
        if (!here.ok()) return here.error();
        home = std::move(here).value();
        auto home_inode = sys::inode_of_fd(home.get());
        if (!home_inode.ok()) return home_inode.error();
        rec.parent_netns = home_inode.value();
        if (auto pl = r.find_netns(rec.parent_netns)) {
            auto loaded = r.load(*pl);
            // A named space whose pin is gone everywhere has ended, and the caller's
            // namespace merely has its inode now: that record is gc's, not our parent.
            if (loaded.ok() && loaded->named) {
                auto pinned = pinned_anywhere(r, loaded.value());
                if (!pinned.ok()) return pinned.error();
                if (!pinned.value()) loaded = make_error(ENOENT, "ended");
            }
            if (loaded.ok()) {
                parent = std::move(loaded).value();
                rec.parent_label = *pl;
                rec.depth = parent->depth + 1;
            }
        }
        if (rec.depth > kMaxDepth)
            return make_error(ELOOP, "nesting deeper than " + std::to_string(kMaxDepth));
        // Refused before the record exists: under the lock, so that no other creation
        // publishes the same port until this record says it is taken.
        for (const auto& p : spec.published) rec.published.push_back(p.str());
        PN_TRY(space::check_publishable(r, rec, parent ? parent->name : ""), "");
        auto dispatch = choose_dispatch(spec.dispatch);
        if (!dispatch.ok()) return dispatch.error();
        if (overlay && overlay->label) {
            auto claimed = r.claim_label(*overlay->label);
            if (!claimed.ok()) {
                if (claimed.error().code == EEXIST) return network_taken(r, overlay->name, *overlay->label);
                return claimed.error();
            }
            rec.label = *overlay->label;
            rec.network = true;
            st->label_lock = std::move(claimed).value();
        } else {
            auto label = r.allocate_label(avoid);
            if (!label.ok()) return label.error();
            rec.label = label->first;
            st->label_lock = std::move(label->second);
        }
        rec.named = !spec.name.empty();
        rec.name = rec.named ? spec.name : "anon-" + registry::label_hex(rec.label);
        rec.owner = ctx.caller;
        rec.host_ifname = space::host_ifname(rec.label);
        rec.supervisor = ::getpid();
        rec.state = SpaceState::creating;
        rec.created = static_cast<int64_t>(std::time(nullptr));
        rec.inherit_routes = spec.inherit_routes;
        rec.inherit_services = spec.inherit_services;
        for (const auto& h : spec.hidden_routes) rec.hidden_routes.push_back(h.str());
        for (const auto& h : spec.hidden_services) rec.hidden_services.push_back(h.str());
        rec.file_space = spec.file_space;
        rec.fs_shared = shared;
        rec.fs_private_tmp = spec.private_tmp;
        rec.admin = spec.admin;
        rec.dispatch = dispatch.value();
        rec.rate_in = spec.limits.rate_in;
        rec.rate_out = spec.limits.rate_out;
        if (auto saved = r.save(rec); !saved.ok()) {
            r.remove_label_lock(rec.label);
            return saved.error();
        }
        return {};
    };
    // Everything the record names, whatever step failed and however far it got (a
    // failing step's own partial work is undone here, not by the runner).
    auto remove_through_record = [&]() -> Status { return destroy_state(r, rec); };
    // The namespace, its uplink and what lives inside it end with the namespace, which
    // ends when the State (holding its only fd) goes; parent_release deletes the host
    // veth at once, as destroy does.
    auto ends_with_namespace = []() -> Status { return {}; };
    auto release_parent = [&]() -> Status {
        return space::parent_release(parent_of_rec(), rec.label, space::Release::whole,
                                     rec.rate_in != 0 || rec.rate_out != 0);
    };

    std::vector<space::Step> steps;
    steps.push_back({"registry-record", write_record, remove_through_record});
    // Before anything of the space runs: every process of it is created in it.
    steps.push_back({"cgroup",
                     [&]() -> Status {
                         auto made = space::make_cgroup(r, rec, parent ? &*parent : nullptr, spec.limits);
                         if (!made.ok()) return made.error();
                         st->cgroup = std::move(made).value();
                         return {};
                     },
                     {}});  // removed with the record (remove_through_record)
    steps.push_back({"namespace",
                     [&]() -> Status {
                         auto ns = rec.admin ? new_admin_netns(rec.owner) : space::new_netns();
                         if (!ns.ok()) return ns.error();
                         st->netns = std::move(ns).value();
                         auto inode = sys::inode_of_fd(st->netns.get());
                         if (!inode.ok()) return inode.error();
                         rec.netns = inode.value();
                         rec.netns_cookie = space::netns_cookie(st->netns.get());
                         return {};
                     },
                     ends_with_namespace});
    // The file space's layers before the network: its fuse-overlayfs daemon (if any)
    // starts up meanwhile, and "file-space" below waits for its mount.
    space::EarlyDaemon fs_daemon;
    uint32_t reply_table = 0;  // the child's in its parent: taken with the parent state
    if (spec.file_space)
        steps.push_back(
            {"file-space-layers",
             [&]() -> Status {
                 auto fs_parent = space::caller_file_space(r);
                 PN_TRY(space::prepare_file_space(r, rec, fs_parent ? &*fs_parent : nullptr, seed), "");
                 // Saved before anything runs: a creator killed meanwhile leaves
                 // gc the layers (and a fuse-overlayfs daemon) to remove.
                 PN_TRY(r.save(rec), "");
                 auto launched = space::launch_file_space_daemon(r, rec, st->netns.get());
                 if (!launched.ok()) return launched.error();
                 fs_daemon = std::move(launched).value();
                 return r.save(rec);
             },
             [&]() -> Status {
                 fs_daemon.reset();
                 return space::release_file_space(r, rec, false);
             }});
    steps.push_back({"read-parent+parent-state",
                     [&]() -> Status {
                         auto s = netlink::Socket::open();
                         if (!s.ok()) return s.error();
                         ps.emplace(std::move(s).value());
                         auto gathered = space::gather_inheritance(*ps, spec, parent ? &*parent : nullptr);
                         if (!gathered.ok()) return gathered.error();
                         inh.emplace(std::move(gathered).value());
                         if (overlay)
                             for (const auto& a : overlay->addresses)
                                 if (auto p = IpPrefix::parse(a, false))
                                     inh->overlay_addrs.push_back(p->addr);
                         for (const auto& a : inh->host_addrs) rec.addresses.push_back(a.str());
                         auto table = space::parent_acquire(parent_of_rec(), home.get(), rec.label);
                         if (!table.ok()) return table.error();
                         reply_table = table.value();
                         return {};
                     },
                     release_parent});
    steps.push_back({"veth",
                     [&]() -> Status {
                         auto ifindex = netlink::create_veth(
                             *ps, rec.host_ifname, space::mac_of(rec.label, rec.depth, false),
                             space::kUplinkName, space::mac_of(rec.label, rec.depth, true), st->netns.get());
                         if (!ifindex.ok()) return ifindex.error();
                         rec.host_ifindex = ifindex.value();
                         return {};
                     },
                     release_parent});
    steps.push_back({"parent-routes+rules",
                     [&]() -> Status {
                         return space::parent_attach_child(*ps, rec.label, reply_table, rec.depth,
                                                           rec.host_ifindex);
                     },
                     release_parent});
    // Only with a bandwidth limit: no request at all otherwise.
    if (spec.limits.rate_in != 0 || spec.limits.rate_out != 0)
        steps.push_back(
            {"shaper",
             [&]() -> Status { return space::shape_child(*ps, rec.label, rec.host_ifindex, spec.limits); },
             release_parent});
    steps.push_back({"parent-nft",
                     [&]() -> Status {
                         // Sources on the overlay that the space hands to its parent's
                         // listeners: its own overlay addresses (a child's connection
                         // falling through) and the networks behind the overlay (a peer's).
                         std::vector<IpPrefix> peers;
                         if (overlay) {
                             for (const auto& a : inh->overlay_addrs)
                                 peers.push_back(IpPrefix{a, static_cast<int>(a.size() * 8)});
                             for (const auto& n : ike::remote_networks_of(overlay->swanctl))
                                 peers.push_back(n);
                             // Transport mode: a peer's own address (its space reaching a
                             // service of this host that the space inherits).
                             for (const auto& n : ike::transport_peers_of(overlay->swanctl))
                                 peers.push_back(n);
                         }
                         PN_TRY(space::parent_steer_child(rec, inh->host_addrs, peers), "");
                         return space::dispatch_through_ancestors(r, rec);
                     },
                     [&]() -> Status {
                         // The steering elements go with the parent state (release_parent).
                         return space::undispatch_through_ancestors(r, rec);
                     }});
    steps.push_back({"child-addresses+routes",
                     [&]() -> Status {
                         auto sw = space::NetnsSwitch::enter(st->netns.get());
                         if (!sw.ok()) return sw.error();
                         auto cs = netlink::Socket::open();
                         if (!cs.ok()) return cs.error();
                         return space::configure_child(*cs, inh.value(), rec.label, rec.depth);
                     },
                     ends_with_namespace});
    steps.push_back({"child-nft",
                     [&]() -> Status {
                         auto sw = space::NetnsSwitch::enter(st->netns.get());
                         if (!sw.ok()) return sw.error();
                         return space::inherit_services(inh.value(), spec, rec.depth);
                     },
                     ends_with_namespace});
    if (spec.file_space)
        steps.push_back({"file-space",
                         [&]() -> Status {
                             auto mnt = space::build_file_space(r, rec, st->netns.get(), &fs_daemon);
                             if (!mnt.ok()) return mnt.error();
                             PN_TRY(r.save(rec), "");
                             st->mntns = std::move(mnt).value();
                             return {};
                         },
                         [&]() -> Status {
                             st->mntns.reset();  // the layers and the daemon: file-space-layers' undo
                             return {};
                         }});
    if (!spec.share_pids)
        steps.push_back({"pid-namespace",
                         [&]() -> Status {
                             // Its /proc would be mounted in a copy of its creator's mount
                             // namespace, which inside a file space is a user's tree that
                             // root's tools would then not know as one: such a space shares
                             // its parent's PIDs (docs/ARCHITECTURE.md).
                             if (!spec.file_space && space::caller_file_space(r)) {
                                 if (spec.hostname.empty()) return {};
                                 return make_error(EINVAL,
                                                   "--hostname: a space without a file space made inside a "
                                                   "file space shares its parent's PIDs and hostname");
                             }
                             const std::string hostname =
                                 spec.hostname.empty() ? space::current_hostname() : spec.hostname;
                             auto init = space::start_init(r, rec, st->netns.get(),
                                                           st->mntns.valid() ? st->mntns.get() : -1, hostname,
                                                           parent ? &*parent : nullptr, st->cgroup.get());
                             if (!init.ok()) return init.error();
                             st->init = std::move(init).value();
                             return r.save(rec);
                         },
                         [&]() -> Status {
                             st->init = space::Init();
                             return space::stop_init(rec);
                         }});
    // The space is committed: its name and namespace indexed (a named one pinned), so no
    // other creation takes the name. With an overlay it stays `creating` (and its label
    // lock held, which keeps gc away) until the overlay is up.
    steps.push_back({"registry-commit",
                     [&]() -> Status {
                         if (rec.named) {
                             PN_TRY(space::pin_under(r, st->netns.get(), pin_path(r, rec.name)), "");
                             PN_TRY(r.index_name(rec.name, rec.label), "");
                             rec.supervisor = 0;
                         }
                         PN_TRY(r.index_netns(rec.netns, rec.label), "");
                         if (!overlay) rec.state = SpaceState::ready;
                         return r.save(rec);
                     },
                     [&]() -> Status {
                         // The indexes go with the record (remove_through_record).
                         return rec.named ? space::unpin_under(r, pin_path(r, rec.name)) : Status{};
                     }});
    if (overlay) {
        // The overlay comes up without the global lock: charon's start and each CHILD_SA
        // may take seconds (an unreachable peer, 5 s + 10 s each), and every creation and
        // destruction on the host waits for that lock.
        steps.push_back({"registry-unlock",
                         [&]() -> Status {
                             glock = UniqueFd();
                             return {};
                         },
                         [&]() -> Status {
                             if (glock.valid()) return {};  // registry-ready failed holding it
                             auto locked = r.lock();
                             if (!locked.ok()) return locked.error();
                             glock = std::move(locked).value();
                             return {};
                         }});
        steps.push_back({"overlay",
                         [&]() -> Status { return space::start_overlay(r, rec, *overlay, st->netns.get()); },
                         [&]() -> Status { return space::stop_overlay(r, rec); }});
        steps.push_back({"registry-ready",
                         [&]() -> Status {
                             auto locked = r.lock();
                             if (!locked.ok()) return locked.error();
                             glock = std::move(locked).value();
                             rec.state = SpaceState::ready;
                             return r.save(rec);
                         },
                         {}});
    }
    st->timings.emplace_back("prepare",
                             std::chrono::duration<double, std::milli>(Clock::now() - prepare_start).count());
    st->cpu_timings.emplace_back("prepare", space::cpu_ms_so_far() - prepare_cpu);
    space::StepRunner runner(st->timings, &st->cpu_timings);
    if (auto made = runner.run(std::move(steps)); !made.ok()) return made.error().wrap(what);
    if (rec.named) {
        r.remove_label_lock(rec.label);
        st->label_lock.reset();
    } else {
        st->supervising = true;
    }
    glock = UniqueFd();
    st->info = info_of(r, rec);
    return Space(std::move(st));
}

Result<Space> Space::open(const std::string& name, const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    PN_TRY(validate_name(name), "");
    if (space::needs_helper()) {
        auto remote = space::remote_open(ctx, name);
        if (!remote.ok()) return remote.error();
        return Space(std::move(remote).value());
    }
    std::string what = "open space '" + name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    auto rec = load_pinned(reg.value(), name, what);
    if (!rec.ok()) return rec.error();
    UniqueFd fd = std::move(rec->second);
    Record& r = rec->first;
    // Its creator is still bringing its overlay up (outside the global lock).
    if (r.state == SpaceState::creating) return make_error(EBUSY, what + ": it is still being created");
    // Its PID namespace cannot be entered again once its init has ended (the kernel
    // forbids new processes there): refused, and destroy removes what is left.
    space::Init init;
    if (r.pidns != 0) {
        auto opened = space::open_init(r);
        if (!opened.ok())
            return opened.error().wrap(what + (opened.error().code == ESRCH
                                                   ? " ('pnet destroy " + name + "' removes what is left)"
                                                   : std::string()));
        init = std::move(opened).value();
    }
    UniqueFd mnt;
    if (r.file_space) {
        auto lock = reg->lock();
        if (!lock.ok()) return lock.error().wrap(what);
        auto before = std::pair(r.mntns, r.mntns_id);
        auto m = space::join_file_space(reg.value(), r, fd.get());
        if (!m.ok()) return m.error().wrap(what);
        if (std::pair(r.mntns, r.mntns_id) != before) PN_TRY(reg->save(r), what);
        mnt = std::move(m).value();
    }
    // Its commands are created in its cgroup; one that is gone (removed by hand) is
    // refused rather than run outside it.
    auto cgroup = space::open_cgroup_leaf(r);
    if (!cgroup.ok()) return cgroup.error().wrap(what);
    auto st = std::make_unique<State>(State{std::move(reg).value(),
                                            r,
                                            {},
                                            std::move(fd),
                                            std::move(mnt),
                                            {},
                                            false,
                                            std::move(init),
                                            {},
                                            {},
                                            std::move(cgroup).value()});
    st->info = info_of(st->reg, st->rec);
    return Space(std::move(st));
}

// The release is handed to a reaper even when no process is left: the namespace then
// dies as soon as our fd is closed, the kernel deletes the uplink in its own cleanup
// worker, and the caller does not wait out the ~35 ms of RCU grace periods that a
// synchronous link deletion costs (the same as `unshare --net`, whose namespace is
// also torn down after it exits). `pnet gc` waits for releases in progress.
Space::~Space() {
    if (!st_ || !st_->supervising) return;
    // Its charon would keep the namespace alive: it goes first.
    (void)space::stop_overlay(st_->reg, st_->rec);
    st_->netns.reset();
    st_->mntns.reset();
    // Its init ends once nothing of the space is left (the pipe it watches closed).
    st_->init = space::Init();
    (void)space::spawn_reaper(st_->reg, st_->rec, st_->label_lock.get());  // else gc adopts it
}

Status Space::enter() {
    if (remote_)
        return make_error(EPERM, "enter space '" + remote_->info.name +
                                     "': only root can move a thread into a space; run a command in it");
    PN_TRY(sys::enter_netns(st_->netns.get()), "enter space '" + st_->info.name + "'");
    return {};
}

Status Space::join(bool into_cgroup) {
    if (remote_)
        return make_error(EPERM, "join space '" + remote_->info.name +
                                     "': only root can move a process into a space; run a command in it");
    const std::string what = "join space '" + st_->info.name + "'";
    // Into its cgroup first (root writes the pid, by the fd it opened under the subtree).
    if (into_cgroup)
        PN_TRY(space::move_into_cgroup(st_->cgroup.get(), ::getpid()), what + ": enter its cgroup");
    PN_TRY(sys::enter_netns(st_->netns.get()), what);
    if (st_->init.pidns.valid()) {
        // Its hostname, and its PID namespace for every process started from now on (the
        // kernel moves a process's future children only).
        if (::setns(st_->init.utsns.get(), CLONE_NEWUTS) != 0)
            return errno_error(what + ": setns(CLONE_NEWUTS)");
        if (::setns(st_->init.pidns.get(), CLONE_NEWPID) != 0)
            return errno_error(what + ": setns(CLONE_NEWPID)");
    }
    const int mntns = st_->mntns.valid() ? st_->mntns.get() : st_->init.mntns.get();
    if (mntns >= 0 && ::setns(mntns, CLONE_NEWNS) != 0) return errno_error(what + ": setns(CLONE_NEWNS)");
    return {};
}

Result<int> Space::run(const std::vector<std::string>& argv) { return run(argv, RunOptions{}); }

Result<int> Space::run(const std::vector<std::string>& argv, const RunOptions& options) {
    std::string what = "run in space '" + info().name + "'";
    if (argv.empty()) return make_error(EINVAL, what + ": empty command");
    if (remote_) {
        if (options.before_exec != nullptr)
            return make_error(EINVAL,
                              what + ": a before-exec function needs root (the helper runs the command)");
        return space::remote_run(*remote_, argv, options.env);
    }
    // Everything the child needs is built before fork (sys::spawn): allocating after it is
    // unsafe.
    sys::SpawnOptions o;
    o.what = what;
    o.program = argv[0];
    o.argv = argv;
    o.search_path = true;  // with the command's own PATH
    if (options.env != nullptr) {
        for (const auto& e : *options.env)
            if (e.rfind("PERSONALNET_SPACE=", 0) != 0) o.env.push_back(e);
    } else {
        for (char** e = environ; *e != nullptr; ++e)
            if (std::strncmp(*e, "PERSONALNET_SPACE=", 18) != 0) o.env.emplace_back(*e);
    }
    o.env.push_back("PERSONALNET_SPACE=" + st_->info.name);
    // The command inherits what its caller did not mark close-on-exec, except in a file
    // space: there, a descriptor opened outside would bypass its copy-on-write.
    o.close_other_fds = st_->rec.file_space && !options.keep_descriptors;
    o.netns = st_->netns.get();
    o.netns_what = "join its network namespace";
    o.cgroup = st_->cgroup.get();
    if (st_->mntns.valid())
        o.mntns = st_->mntns.get();
    else if (st_->init.mntns.valid())
        o.mntns = st_->init.mntns.get();  // a copy of its creator's with the space's own /proc
    else if (st_->reg.context().caller_mntns >= 0)
        // The helper left its caller's file space for the host's mount namespace: a space
        // without files of its own shares its caller's, not the host's.
        o.mntns = st_->reg.context().caller_mntns;
    if (options.process_group > 0) o.parent_sets_group = options.process_group;
    // Forked into its PID namespace, with its hostname.
    if (st_->init.pidns.valid()) {
        o.pidns = st_->init.pidns.get();
        o.utsns = st_->init.utsns.get();
    }
    o.mntns_what = "join its mount namespace";
    o.exec_what = "cannot run '" + argv[0] + "'";
    char cwd[PATH_MAX] = "/";  // kept by path when entering a file space
    if (!options.cwd.empty() && options.cwd.size() < sizeof cwd)
        std::strcpy(cwd, options.cwd.c_str());
    else if (::getcwd(cwd, sizeof cwd) == nullptr)
        std::strcpy(cwd, "/");

    // No command in a space may type into the terminal it was started from (TIOCSTI):
    // what it pushed would be read by the outer shell once the space ends.
    const seccomp::TtyFilter tty_filter;

    struct sigaction ign = {};
    struct sigaction relay = {};
    struct sigaction dfl = {};
    struct sigaction old_int = {};
    struct sigaction old_quit = {};
    struct sigaction old_term = {};
    struct sigaction old_hup = {};
    struct sigaction old_chld = {};
    ign.sa_handler = SIG_IGN;
    relay.sa_handler = relay_signal;
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGINT, &ign, &old_int);
    ::sigaction(SIGQUIT, &ign, &old_quit);
    ::sigaction(SIGTERM, &relay, &old_term);
    ::sigaction(SIGHUP, &relay, &old_hup);
    // A caller that ignores SIGCHLD (or asked for SA_NOCLDWAIT) would have the kernel reap
    // the command before waitpid() sees its status: the default while we wait for it.
    ::sigaction(SIGCHLD, nullptr, &old_chld);
    const bool chld_reaped = old_chld.sa_handler == SIG_IGN || (old_chld.sa_flags & SA_NOCLDWAIT) != 0;
    if (chld_reaped) ::sigaction(SIGCHLD, &dfl, nullptr);
    // Also the child's first step: the command starts with the caller's dispositions.
    auto restore_signals = [&] {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGQUIT, &old_quit, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
        ::sigaction(SIGHUP, &old_hup, nullptr);
        if (chld_reaped) ::sigaction(SIGCHLD, &old_chld, nullptr);
    };
    o.steps.push_back({"restore its signal dispositions", [&] {
                           restore_signals();
                           return 0;
                       }});
    if (options.before_exec != nullptr)
        o.steps.push_back(
            {"prepare '" + argv[0] + "' (before exec)", [&] { return options.before_exec(options.arg); }});
    // Only now, with the rights before_exec left: a path in a file space is its owner's to
    // change, so root never follows it for them.
    o.steps.push_back({"enter its working directory", [&] {
                           if (::chdir(cwd) != 0) (void)::chdir("/");
                           return 0;
                       }});
    // After before_exec: the helper's commands have no_new_privs by then; root's own are
    // installed with CAP_SYS_ADMIN, so set-uid programs keep working in them.
    o.steps.push_back({"install the TIOCSTI filter (seccomp)", [&] { return tty_filter.install(); }});
    // Set before the caller's signals are unblocked, so that none is lost to the relay.
    o.forked = [](pid_t pid) { g_running_child = pid; };

    auto pid = sys::spawn(o);
    int status = pid.ok() ? sys::wait_child(pid.value()) : 0;
    g_running_child = 0;
    restore_signals();
    if (!pid.ok()) return pid.error();
    if (status < 0) return errno_error(what + ": wait for '" + argv[0] + "'");
    return sys::exit_code(status);
}

Result<std::vector<SpaceInfo>> list_spaces(const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) return space::remote_list(ctx);
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap("list spaces");
    collect_locked(reg.value());
    std::vector<SpaceInfo> out;
    WatcherMemo watchers;
    for (uint16_t label : reg->labels()) {
        auto rec = reg->load(label);
        if (!rec.ok() || rec->destroyed || !caller_may_manage(reg.value(), rec.value())) continue;
        out.push_back(info_of(reg.value(), rec.value(), &watchers));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

namespace {

// The record of an unnamed space by the name list_spaces gives it, if the caller may
// manage it (else, as for a space that does not exist, ENOENT: nothing about another
// user's unnamed spaces is told).
Result<Record> load_unnamed(const Registry& reg, uint16_t label, const std::string& what) {
    collect_locked(reg);
    auto rec = reg.load(label);
    if (!rec.ok() || rec->named || rec->destroyed || !caller_may_manage(reg, rec.value()))
        return make_error(ENOENT, what + ": no such space");
    return rec;
}

// The record of a space as show_space and space_usage name it.
Result<Record> load_shown(const Registry& reg, const std::string& name, const std::string& what) {
    if (auto label = unnamed_label(name)) return load_unnamed(reg, *label, what);
    PN_TRY(validate_name(name), "");
    auto rec = load_pinned(reg, name, what);
    if (!rec.ok()) return rec.error();
    return std::move(rec->first);
}

// Its cgroup's and its uplink's counters (what cannot be read stays -1).
ResourceUsage usage_of(const Registry& reg, const Record& rec) {
    ResourceUsage u;
    space::read_usage(rec, u);
    if (auto used = space::uplink_usage(reg, rec); used.ok()) {
        u.rx_bytes = used->rx_bytes;
        u.rx_packets = used->rx_packets;
        u.tx_bytes = used->tx_bytes;
        u.tx_packets = used->tx_packets;
    }
    return u;
}

}  // namespace

Result<SpaceInfo> show_space(const std::string& name, const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) {
        if (!unnamed_label(name)) PN_TRY(validate_name(name), "");
        return space::remote_show(ctx, name);
    }
    // Read only: the record (and a named space's pin), without joining (and so perhaps
    // assembling again) the space's file space the way open() does.
    std::string what = "show space '" + name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    auto rec = load_shown(reg.value(), name, what);
    if (!rec.ok()) return rec.error();
    SpaceInfo info = info_of(reg.value(), rec.value());
    info.usage = usage_of(reg.value(), rec.value());
    if (info.dispatch == Dispatch::bpf) {
        auto n = space::dispatch_counters(reg.value(), rec.value());
        if (n.ok()) {
            info.dispatched_in = static_cast<int64_t>(n->in);
            info.dispatched_out = static_cast<int64_t>(n->out);
        }
    }
    if (!info.overlay.empty()) {
        auto status = space::overlay_status(reg.value(), rec.value());
        if (status.ok()) {
            info.overlay_sas = status->lines;
            for (const auto& [address, up] : status->peers) info.peers.push_back({address, up});
        } else {
            info.overlay_sas = {"status unavailable: " + status.error().message()};
            for (const auto& p : rec->overlay_peers) info.peers.push_back({p, false});
        }
    }
    return info;
}

Result<ResourceUsage> space_usage(const SpaceInfo& space, const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    // A user's: through the helper, which reads the parent namespace's counters.
    if (space::needs_helper()) {
        auto info = space::remote_show(ctx, space.name);
        if (!info.ok()) return info.error();
        return info->usage;
    }
    std::string what = "usage of space '" + space.name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    auto rec = reg->load(space.label);
    // The same space still: not a later one that was given the label.
    if (!rec.ok() || rec->destroyed || rec->name != space.name || rec->created != space.created ||
        !caller_may_manage(reg.value(), rec.value()))
        return make_error(ENOENT, what + ": it is gone");
    return usage_of(reg.value(), rec.value());
}

// Waits until the creator of the space with this label lets its label lock go (it
// holds it from the record's writing until the space is ready or undone).
void wait_for_creator(const Registry& reg, uint16_t label) {
    for (;;) {
        auto held = reg.try_lock_label(label);
        if (!held.ok() || held->has_value()) return;  // its lock gone, or ours now: the creator is done
        ::usleep(10000);
    }
}

// `pnet destroy`'s fast path, for a named space with no process in it (but those of its
// own PID namespace) and no child space: it releases what a user sees at once (its
// reply rule, nft elements and published ports, dispatch maps, the parent's state after
// its last child, its file space's layers moved out of the way, its pin and name, so that
// the name can be used again at once; the reply tree's interior rules above its leaf,
// which lead only to it, go with its reaper), but waits for nothing the kernel finishes by
// itself: its init is killed, not waited for (the kernel ends every process of its PID
// namespace with it, and the init's exit tears the file space's mount namespace down,
// an RCU grace period, in its own time), and its veth is left to the kernel, which
// deletes it when the namespace dies, in its own cleanup worker (a veth's removal waits
// out RCU grace periods, ~35 ms here; `ip netns del` does not wait either). The record,
// marked destroyed and listed nowhere, keeps its label, its label lock held by a reaper
// that waits for the uplink to go and then removes what is left (the cgroup, the layers
// in the trash, root's store when unused: its last unmount syncs and discards, the
// record); gc does if the reaper dies (`pnet gc` waits for it). A piece that cannot be
// released here is named and the space kept for a retry. Caller holds the registry lock.
// false: not eligible (a process would keep the namespace, and the uplink with it,
// alive), so destroy it synchronously.
Result<bool> destroy_through_reaper(const Registry& reg, Record r, Keep keep) {
    if (!r.named || r.state != SpaceState::ready || r.netns == 0 || !r.overlay.empty()) return false;
    if (::access(reg.path("parents/" + std::to_string(r.netns)).c_str(), F_OK) == 0) return false;
    // Kept files wait for the init's end: the next space of this name mounts the same
    // upper layer, which overlayfs refuses while the old union is still mounted.
    bool ending = false;
    if (keep == Keep::files) {
        PN_TRY(space::stop_init(r), "end the space's init");
    } else {
        auto killed = space::kill_init(r);
        if (!killed.ok()) return killed.error().wrap("end the space's init");
        ending = killed.value();
    }
    if (space::netns_has_processes_outside(r.netns, ending ? r.pidns : 0, {r.fs_daemon})) {
        // A process outside its PID namespace: once the init is gone, what is left shares
        // its creator's PIDs; it is cut off at once instead.
        PN_TRY(space::stop_init(r), "end the space's init");
        if (space::netns_has_processes(r.netns, {r.fs_daemon})) return false;
    }
    auto lock = reg.hold_label(r.label);
    if (!lock.ok()) return false;
    // Reached first: the release below removes the parent's pin when r is its last child.
    auto parent = space::parent_of_reaped(reg, r);
    // Its netfilter sockets go to the reaper: their last close, after the deletions,
    // waits for an RCU grace period (nft::SocketKeeper).
    nft::SocketKeeper sockets;
    space::Leftovers left;
    left.note(space::undispatch_through_ancestors(reg, r),
              "stop dispatching label " + registry::label_hex(r.label));
    left.note(space::parent_release(space::ParentRef{&reg, r.parent_netns, r.depth}, r.label,
                                    space::Release::leave_to_reaper, r.rate_in != 0 || r.rate_out != 0),
              "release uplink " + r.host_ifname);
    // In root's store its layers are only moved into the trash, and the store stays
    // mounted: the reaper removes them, and unmounts it.
    left.note(space::release_file_space(reg, r, keep == Keep::files, space::LayerRelease::by_reaper),
              "release file space");
    PN_TRY(left.result(), "");
    PN_TRY(space::unpin_under(reg, pin_path(reg, r.name)), "unpin");
    reg.forget_name(r.name, r.label);
    if (r.mntns != 0) reg.forget_mntns(r.mntns, r.label);
    r.mntns = r.mntns_id = 0;
    r.fs_daemon = 0;
    r.named = false;
    r.destroyed = true;
    r.file_space = false;  // released above; the reaper gives the store's free blocks back
    if (keep == Keep::files) r.fs_layers.clear();  // kept: nothing to give back
    r.supervisor = 0;
    PN_TRY(reg.save(r), "");
    if (space::spawn_reaper(reg, r, lock->get(), parent.ok() ? parent->get() : -1, sockets.fds(r.netns)).ok())
        return true;
    PN_TRY(destroy_state(reg, r), "");  // no reaper: wait for the uplink's removal here after all
    if (parent.ok()) PN_TRY(space::remove_idle_dispatcher(reg, parent->get()), "");
    return true;
}

Status destroy_space(const std::string& name, const Context& ctx, Keep keep) {
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) {
        PN_TRY(validate_name(name), "");
        return space::remote_destroy(ctx, name, keep);
    }
    PN_TRY(validate_name(name), "");
    std::string what = "destroy space '" + name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    collect_locked(reg.value());
    auto lock = reg->lock();
    if (!lock.ok()) return lock.error().wrap(what);
    if (auto label = reg->find_name(name)) {
        auto creating = reg->load(*label);
        if (creating.ok() && creating->state == SpaceState::creating &&
            caller_may_manage(reg.value(), *creating)) {
            // Its creator committed it and is bringing its overlay up without the global
            // lock: wait for the creation to end, as a destroy waited on the lock before,
            // then destroy what it made (or find it undone, or gc a killed creator's).
            lock = UniqueFd();
            wait_for_creator(reg.value(), *label);
            collect_locked(reg.value());
            auto relocked = reg->lock();
            if (!relocked.ok()) return relocked.error().wrap(what);
            lock = std::move(relocked).value();
        }
    }
    if (!reg->find_name(name) && keep == Keep::nothing) {
        // No space, but perhaps its stored changes from before a reboot.
        auto removed = space::remove_stored_file_space(reg.value(), name);
        if (!reg->any_record()) (void)space::release_run_mounts(reg.value());
        if (!removed.ok()) return removed.error().wrap(what);
        return {};
    }
    auto rec = load_owned(reg.value(), name, what);
    if (!rec.ok()) return rec.error();
    auto handed = destroy_through_reaper(reg.value(), rec.value(), keep);
    if (!handed.ok()) return handed.error().wrap(what);
    if (handed.value()) return {};
    PN_TRY(destroy_state(reg.value(), rec.value(), keep), what);
    lock = UniqueFd();  // the trim below needs no lock: nobody waits for it
    space::give_back_free_space(reg.value(), rec.value());
    return {};
}

// Waits (up to a few seconds) for supervisors and reapers that are releasing a space
// whose processes are all gone, so that a full collection reports a settled state.
// Must run without the registry lock: they need it to finish.
void wait_for_releases(const Registry& reg) {
    constexpr auto kPatience = std::chrono::seconds(5);
    auto deadline = Clock::now() + kPatience;
    ProcessesOnce procs;
    for (uint16_t label : reg.locked_labels()) {
        auto rec = reg.load(label);
        // A space whose only process is its fuse-overlayfs is releasing: the daemon ends
        // with the space's file space. A destroyed one is releasing whatever it shows: the
        // processes of its killed PID namespace may still be ending.
        if (!rec.ok() || rec->named || rec->state != SpaceState::ready) continue;
        if (!rec->destroyed && procs.has_processes(rec->netns, {rec->fs_daemon, space::init_pid_here(*rec)}))
            continue;
        while (Clock::now() < deadline) {
            auto held = reg.try_lock_label(label);
            if (!held.ok() || held->has_value()) break;  // gone, or its owner is done
            ::usleep(10000);
        }
    }
}

Result<std::vector<FileChange>> diff_space(const std::string& name, const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) {
        PN_TRY(validate_name(name), "");
        return space::remote_diff(ctx, name);
    }
    PN_TRY(validate_name(name), "");
    std::string what = "diff space '" + name + "'";
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap(what);
    auto rec = load_owned(reg.value(), name, what);
    if (!rec.ok()) return rec.error();
    auto changes = space::file_space_changes(rec.value());
    if (!changes.ok()) return changes.error().wrap(what);
    return changes;
}

Status collect_garbage(bool full, const Context& ctx) {
    PN_TRY(sys::require_supported_kernel(), "");
    if (space::needs_helper()) return space::remote_gc(ctx, full);
    if (full && ::access((ctx.rundir + "/" + holders::kHeld).c_str(), F_OK) == 0) {
        // Held spaces whose holders died (a batch job's slurmstepd killed): first, with
        // the holders' lock and without the registry's, as every take and release does.
        auto held = holders::lock(ctx.rundir, holders::kHeld);
        if (!held.ok()) return held.error().wrap("collect garbage");
        PN_TRY(space::destroy_dead_holds(ctx), "collect garbage");
    }
    auto reg = Registry::open(ctx);
    if (!reg.ok()) return reg.error().wrap("collect garbage");
    if (full) wait_for_releases(reg.value());
    // One netfilter socket per namespace for every release, closed once at the end: each
    // close after a deletion waits out an RCU grace period (nft::SocketKeeper), which was
    // most of the time gc took for each dead space.
    nft::SocketKeeper sockets;
    space::Leftovers left;  // one space left behind does not stop the collection of others
    collect_locked(reg.value(), full ? &left : nullptr);
    if (!full) return {};
    auto lock = reg->lock();
    if (!lock.ok()) return lock.error().wrap("collect garbage");
    for (const char* dir : {"spaces", "names", "netns", "mntns"}) sys::remove_stale_temps(reg->path(dir));
    space::sweep_discarded_layers(reg.value());
    auto locked = reg->locked_labels();
    ProcessesOnce procs;
    for (uint16_t label : reg->labels()) {
        if (std::find(locked.begin(), locked.end(), label) != locked.end()) continue;  // supervised
        auto rec = reg->load(label);
        if (!rec.ok()) continue;
        Result<bool> alive = true;
        if (rec->named)
            alive = pinned_anywhere(reg.value(), rec.value());
        else
            alive = procs.has_processes(rec->netns,
                                        {rec->fs_daemon, rec->ike_daemon, space::init_pid_here(*rec)});
        if (!alive.ok()) {
            left.note(alive.error(), "collect space '" + rec->name + "'");
            continue;
        }
        if (!alive.value())
            left.note(destroy_state(reg.value(), rec.value()), "collect space '" + rec->name + "'");
    }
    // The watchers of parents that still have children (one was killed).
    left.note(space::restart_watchers(reg.value()), "");
    if (!left.empty()) return left.result().error().wrap("collect garbage");
    // Stores a release inside a file space had to leave mounted (root's child in a user's
    // space, released by its reaper after the user's space went).
    space::release_unused_stores(reg.value(), 0);
    // An invocation killed between removing the last record and releasing the run
    // directory's mounts leaves them to us.
    if (!reg->any_record() && reg->locked_labels().empty())
        PN_TRY(space::release_run_mounts(reg.value()), "release the run directory's mounts");
    return {};
}

}  // namespace personalnet
