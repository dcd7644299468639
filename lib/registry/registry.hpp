// The registry: what spaces exist, under a run directory (default /run/personalnet).
//
// Layout (all under rundir, root-owned, 0755 dirs / 0644 files):
//   lock                 flock(LOCK_EX) serialises every change to spaces and parents
//   spaces/LLLL          one record per space, keyed by its 16-bit label (hex)
//   names/NAME           label of the named space NAME
//   netns/INODE          label of the space whose network namespace has that inode
//   mntns/INODE          label of the space whose file space has that mount namespace
//   locks/LLLL           held (flock) by the process creating or supervising an unnamed
//                        space; a lock that can be taken means its owner died
//   ns/NAME              bind mount of a named space's network namespace (the pin), in
//                        the host's mount namespace only (lib/space/pins)
//   parents/INODE/       state of a namespace that has child spaces (see lib/space)
//   fs/                  the layer store (lib/fs/store) holding file-space layers
// Records are written atomically (temporary file + rename), so a reader never sees
// half a record, and every change happens under the lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/labels.hpp"
#include "personalnet/context.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space_enums.hpp"

namespace personalnet::registry {

// What the registry knows of a space. Written as one "key=value" line per field, in the
// order of the field table in record.cpp, which both writes and reads them.
struct Record {
    uint16_t label = 0;
    std::string name;  // user-chosen, or "anon-LLLL" for unnamed spaces
    bool named = false;
    uid_t owner = 0;
    uint16_t parent_label = 0;  // 0: the registry's root (the namespace mkportspace ran in)
    uint64_t parent_netns = 0;  // inode of the parent's network namespace
    uint64_t netns = 0;         // inode of the space's network namespace
    int depth = 1;
    std::string host_ifname;  // parent-side veth
    pid_t supervisor = 0;
    SpaceState state = SpaceState::creating;  // creating or ready (never unsupervised)
    int64_t created = 0;                      // unix seconds
    bool inherit_routes = true;
    bool inherit_services = true;
    std::vector<std::string> hidden_routes;
    std::vector<std::string> hidden_services;
    std::vector<std::string> addresses;  // the parent's addresses carried by the uplink
    int host_ifindex = 0;
    bool file_space = false;              // has a mount namespace with an overlay root
    std::optional<FsBackend> fs_backend;  // kernel (overlayfs) or fuse (fuse-overlayfs)
    std::vector<std::string> fs_layers;   // its layer directory, then its ancestors', nearest first
    uint64_t mntns = 0;                   // inode of its mount namespace (while it lives)
    uint64_t mntns_id = 0;                // the kernel's unique id of it (0: kernel too old)
    pid_t fs_daemon = 0;                  // its fuse-overlayfs process (fuse backend)
    std::vector<std::string> fs_shared;   // host directories bound live into it
    bool fs_private_tmp = false;          // its own empty /tmp
    std::string fs_tmp_layer;             // the layer whose tmp/ is its /tmp (its own
                                          // with fs_private_tmp, or an ancestor's)
    std::string overlay;                  // the overlay network it is bound to ("" none)
    // The overlay is a personal network (its definition has personalnet.label): this space's
    // label is the network's, and its parents hand it IKE_SA_INIT requests for that label.
    bool network = false;
    std::vector<std::string> overlay_peers;  // the overlay's peer addresses (literal remote_addrs)
    // Where the overlay's definition was read, and whether it is the owner's own network
    // (a user definition, counted against the owner's max_networks) or the administrator's.
    std::string overlay_source;
    bool user_network = false;
    std::optional<Datapath> datapath;            // kernel (XFRM) or libipsec, with an overlay
    pid_t ike_daemon = 0;                        // its charon
    std::vector<std::string> overlay_addresses;  // its own addresses in the overlay (on its lo)
    std::vector<std::string> overlay_networks;   // the networks behind the overlay (remote_ts)
    bool admin = false;  // its network namespace is owned by a user namespace of the owner's
    // How its parents dispatch its IKE/ESP: bpf (and nft) or nft; none in a record written
    // before dispatchers were chosen (nft).
    std::optional<Dispatch> dispatch;
    // The ports it publishes on its parent's addresses (PublishedPort::str()): the
    // parent's nft elements for them are found by the space's mark, so this list is for
    // `pnet show` and for refusing another space the same port.
    std::vector<std::string> published;
    // Destroyed and no longer named: its reaper releases the rest once the kernel has
    // torn the namespace down (`pnet destroy`'s fast path). Listed nowhere meanwhile.
    bool destroyed = false;
    // The kernel's cookie of its network namespace (SO_NETNS_COOKIE; 0 in older records or
    // when the kernel cannot tell): an unnamed space, which has no pin, is reached wherever
    // its inode shows and acted on only when the cookie matches (the parent's watcher).
    uint64_t netns_cookie = 0;
    // Its PID namespace (0: it shares its parent's) and the namespace's pid 1 (pninit), as
    // the creator's PID namespace numbers it; with the namespace's inode it is told from a
    // later process of that pid. Its hostname (its UTS namespace, held by that init).
    uint64_t pidns = 0;
    pid_t init_pid = 0;
    // The PID namespace whose numbers init_pid is in (the creator's /proc), by its inode; 0
    // when unknown (an older record, or a creator whose /proc was another namespace's).
    uint64_t init_pid_ns = 0;
    std::string hostname;
    // Its bandwidth limit (SpaceSpec::limits, bits per second; 0: none): a shaper on its
    // uplink, and an ifb device in the parent namespace that destroy and gc remove.
    uint64_t rate_in = 0;
    uint64_t rate_out = 0;
    // Its cgroup (issue 22), as a path under the cgroup2 mount: its parent's, or the
    // subtree's (Context::cgroupdir), then its label ("personalnet/00a1/00b2"); "" when
    // the host has no cgroup v2. Its limits, as made (0: none).
    std::string cgroup;
    uint32_t cpu_milli = 0;
    uint64_t memory_max = 0;
    uint32_t pids_max = 0;
    uint32_t io_weight = 0;

    bool operator==(const Record&) const = default;
    std::string serialize() const;
    static Result<Record> parse(const std::string& text);
};

std::string label_hex(uint16_t label);
// The inverse: a label from exactly what label_hex gives (four lowercase hex digits, not
// 0); nothing for anything else (a temporary file's name, say).
std::optional<uint16_t> parse_label_hex(const std::string& text);
// Labels 0 and 0xc000-0xcfff are reserved (host IKE daemon, kernel default SPI range):
// lib/core/labels.hpp, shared with overlay definitions.
using personalnet::label_reserved;

class Registry {
public:
    // Opens (creating if needed) the registry at the context's run directory; what is
    // done through it acts in that context (reg.context(): directories, caller).
    static Result<Registry> open(const Context& ctx);
    // The same, at rundir, for the installed layout's other settings.
    static Result<Registry> open(const std::string& rundir);
    const std::string& rundir() const { return ctx_.rundir; }
    const Context& context() const { return ctx_; }
    std::string path(const std::string& rel) const { return ctx_.rundir + "/" + rel; }

    // Takes the registry-wide lock; released when the returned fd is closed.
    Result<UniqueFd> lock() const;

    // Picks a free label and returns it with its lock file held (LOCK_EX), never one in
    // avoid (the personal networks' labels of the overlay definitions: the caller reads
    // them, the registry reads no definition). Call with the registry lock held.
    Result<std::pair<uint16_t, UniqueFd>> allocate_label(const std::vector<uint16_t>& avoid = {}) const;
    // Takes exactly label's lock file (LOCK_EX), for a space bound to a personal network,
    // whose label is the network's. EEXIST when a record has that label or someone holds
    // its lock (the caller names the holder: load(label)). Call with the registry lock held.
    Result<UniqueFd> claim_label(uint16_t label) const;
    // Makes (if need be) and takes label's lock file without blocking, whatever its record
    // says: a named space's, when it is handed to a reaper. EBUSY when someone holds it.
    Result<UniqueFd> hold_label(uint16_t label) const;
    // Re-takes the lock file of a label without blocking; nullopt if someone holds it.
    Result<std::optional<UniqueFd>> try_lock_label(uint16_t label) const;
    void remove_label_lock(uint16_t label) const;
    // Labels whose lock file exists (creations in progress and supervised spaces).
    std::vector<uint16_t> locked_labels() const;

    Status save(const Record& r) const;
    Result<Record> load(uint16_t label) const;  // ENOENT if absent
    Status remove(const Record& r) const;       // record + name + netns index
    std::vector<uint16_t> labels() const;       // every record
    // Whether there is any record: what labels().empty() says, without reading the whole
    // directory (asked at each release, and gc releases thousands).
    bool any_record() const;

    std::optional<uint16_t> find_name(const std::string& name) const;
    std::optional<uint16_t> find_netns(uint64_t inode) const;
    Status index_name(const std::string& name, uint16_t label) const;
    void forget_name(const std::string& name, uint16_t label) const;  // if it still names label
    Status index_netns(uint64_t inode, uint16_t label) const;
    // Mount namespaces of file spaces; an entry may outlive its namespace (the inode can
    // then be reused), so check the record's mntns_id too.
    std::optional<uint16_t> find_mntns(uint64_t inode) const;
    Status index_mntns(uint64_t inode, uint16_t label) const;
    void forget_mntns(uint64_t inode, uint16_t label) const;  // if it still names label

private:
    explicit Registry(Context ctx) : ctx_(std::move(ctx)) {}
    Context ctx_;
};

}  // namespace personalnet::registry
