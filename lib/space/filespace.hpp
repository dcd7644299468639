// File spaces of port spaces: one mount namespace per space whose root is a union of
// the space's own layer over its ancestors' layers and the real root (lib/fs). A space
// created inside a file space stacks on the real root, not on its parent's union
// (overlayfs stacks two levels at most): every file space shows the real root tree at
// base/ of the run directory (see run_mounts.hpp), and nested ones stack on that.
//
// Nothing pins a file space's mount namespace: it lives while processes run in it.
// Joining a named space finds a process of its file space, or assembles the union
// again from its layers, which persist in the layer store (lib/fs/store) until the space
// is destroyed. Each owner has a store of their own, an image sized to what their layers
// may hold: STATEDIR/layers-UID.ext4 (root's: STATEDIR/layers.ext4, the one store of
// earlier versions) mounted on RUNDIR/fs/UID while a space uses it. Layer directories in
// an owner's store:
//   named/NAME/   a named space's layer (upper/, work/, root/, mounts/, parents, owner)
//   anon/LLLL/    an unnamed space's layer, removed with it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/fs/overlay_root.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

// What a new file space starts with besides its parent's files.
struct FileSpaceSeed {
    FsBackend backend = FsBackend::automatic;
    std::string resolv_conf;  // contents for /etc/resolv.conf ("" keeps the parent's)
    std::string hosts;        // contents for /etc/hosts
    // The size of the owner's image in the layer store, what all the owner's layers may
    // hold (bytes; 0 = the default, 64 GiB): a new image is made that large, a smaller one
    // grows to it at its next cold mount.
    uint64_t max_layer_bytes = 0;
};

// Directories whose sockets would carry name lookups out of the space (host caches and
// resolvers): covered by an empty directory inside every file space.
const std::vector<std::string>& hidden_directories();

// The file space the caller runs in, if any.
std::optional<registry::Record> caller_file_space(const registry::Registry& reg);

// For root's own calls from inside a file space: the mount namespace to start root's
// daemons and assemble unions in instead (docs/SECURITY.md, rule 2), that of the nearest
// ancestor process outside every file space (the mkportspace, pnet or login service that
// started the caller's tree). An invalid fd when this process is not in a file space.
Result<UniqueFd> host_mntns(const registry::Registry& reg);

// pnstore's work (tools/pnstore.cpp), in the host's mount namespace: owner's layer store
// mounted there (made or grown to size_bytes; 0: taken as it is), and a clone of that mount
// to attach in the file space that asked for it.
Result<UniqueFd> clone_owner_store(const registry::Registry& reg, uid_t owner, uint64_t size_bytes);

// Makes rec's layer directory (or takes up the stored one of a named space made before),
// below parent's layers (parent: the file space the caller runs in, or nullptr), and
// fills rec's file-space fields. Caller holds the registry lock.
Status prepare_file_space(const registry::Registry& reg, registry::Record& rec,
                          const registry::Record* parent, const FileSpaceSeed& seed);

// A fuse-overlayfs daemon started ahead of build_file_space.
using EarlyDaemon = std::optional<fs::FuseLaunch>;

// For the fuse backend, starts rec's daemon now (its pid recorded in rec), so that it
// starts up while the creation does other work; build_file_space waits for its mount.
// Nothing for the kernel backend. After prepare_file_space; caller holds the registry lock.
Result<EarlyDaemon> launch_file_space_daemon(const registry::Registry& reg, registry::Record& rec, int netns);

// Assembles rec's union in a new mount namespace, held by the returned fd; records it in
// rec (mntns, mntns_id) and the registry's index. Caller holds the registry lock.
// netns: the space's network namespace (where a fuse-overlayfs daemon runs).
// early: the daemon launch_file_space_daemon started (then awaited here), or nullptr.
Result<UniqueFd> build_file_space(const registry::Registry& reg, registry::Record& rec, int netns,
                                  EarlyDaemon* early = nullptr);

// The live mount namespace of rec's file space, or a new one assembled from its layers.
// Caller holds the registry lock and saves rec.
Result<UniqueFd> join_file_space(const registry::Registry& reg, registry::Record& rec, int netns);

// Gives the blocks of rec's removed layer back to the host (FITRIM on its owner's store,
// if still mounted). Best effort, and without the registry lock: the store is mounted
// with "discard", which returns most of them as its journal commits; this catches the
// rest at once, without making other callers wait for it.
void give_back_free_space(const registry::Registry& reg, const registry::Record& rec);

// Removes what was discarded into the trash of rec's store (destroy's fast path moved its
// layers there), without the trim: give_back_free_space does that after the lock. Caller
// holds the registry lock.
void remove_discarded_layers(const registry::Registry& reg, const registry::Record& rec);
// Removes what discarded layers still hold (their removal failed while a space's processes
// wrote through a union that outlived it), in every mounted owner's store. Caller holds
// the registry lock.
void sweep_discarded_layers(const registry::Registry& reg);
// Unmounts every owner's layer store that no record's layers use any more (a user's image
// with no layer left is removed too). A release inside a file space leaves this to the
// next one outside (root's child in a user's space); a full collection does it as well.
void release_unused_stores(const registry::Registry& reg, uint16_t except);

// Removes what prepare/build made for rec: its layer directory (a named space's stored
// changes too, unless keep_stored; moved aside first, see sweep_discarded_layers), a
// staging mount left by a killed creator; trims the owner's store, and unmounts it when
// no space in the registry uses it any more (removing its image when it holds no layer).
// by_reaper (destroy's fast path): in root's store, its layers are only moved into the
// store's trash, and the store is not unmounted, for the space's reaper to do after
// (destroy_state: the removal takes as long as the layers are large, and the last unmount
// of root's ext4 syncs and discards in the caller, ~25 ms here). A user's are removed at
// once, and their store unmounted when unused, as before: that is what lets a changed
// limit apply to their next space. Idempotent. Caller holds the registry lock.
enum class LayerRelease { now, by_reaper };
Status release_file_space(const registry::Registry& reg, const registry::Record& rec,
                          bool keep_stored = false, LayerRelease when = LayerRelease::now);

// Removes the stored changes of a named space that no longer exists (after a reboot):
// ENOENT when there are none. A user's are in their own store; root's in root's, or else
// in the one other owner's store that holds that name (EEXIST if several do). Caller
// holds the registry lock.
Status remove_stored_file_space(const registry::Registry& reg, const std::string& name);

// What rec's file space changed: walks its upper layers; a path is modified rather than
// added when a lower layer (its ancestors', then the real file system) has it.
Result<std::vector<FileChange>> file_space_changes(const registry::Record& rec);

}  // namespace personalnet::space
