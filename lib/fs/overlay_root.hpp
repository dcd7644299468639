// A file space's root: a copy-on-write union over the real root, entered by a process.
//
// The layers are stacked flat: a file space nested N deep mounts one union whose lower
// layers are its ancestors' upper directories, nearest first, then the real root.
// Kernel overlayfs allows only two levels of overlay-on-overlay, so nesting unions is
// not an option; it also refuses a lower layer inside another lower layer (ELOOP), so
// the layers live on a file system of their own (lib/fs/store).
//
// A layer directory holds upper/ and work/ for the root, root/ (where the union is
// assembled), and mounts/KEY/{upper,work} for every other file system mounted under
// "/" that is copied on write too (KEY from mount_key()).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::fs {

enum class Backend { kernel, fuse };

struct RootLayers {
    std::string layer;                 // this file space's layer directory
    std::vector<std::string> parents;  // ancestors' layer directories, nearest first
    Backend backend = Backend::kernel;
    std::vector<std::string> shared;  // host directories bound live (read-write), not copied
    std::string tmp_dir;              // a layer's tmp/ bound on /tmp (--private-tmp, also
                                      // inherited); empty: the host's /tmp, live
    std::string rundir;               // a view of it without the pins (lib/fs/run_view)
    std::vector<std::string> hidden;  // directories covered by an empty read-only tmpfs
    bool throwaway = false;           // the layer dies with the union: overlayfs may skip its
                                      // syncs ("volatile"), as a crash loses nothing of worth
    // Whose rights the shared directories are opened with: a directory that the owner
    // cannot open (or that is no longer where the policy saw it) is not shared.
    uid_t owner = 0;
    gid_t owner_gid = 0;
    std::vector<gid_t> owner_groups;
    // A mount namespace built by root from trusted paths (the host's) to assemble the union
    // in, when the creator itself runs in a file space; -1: the creator's own.
    int trusted_mntns = -1;
    // The space's cgroup (a directory fd) fuse-overlayfs is created in; -1: the caller's.
    int cgroup = -1;
};

// The union's mount options for the root: "lowerdir=P1/upper:...:/,upperdir=U,workdir=W".
// EINVAL when a path is relative or holds a character overlayfs options cannot carry
// (',', ':', '\\', control characters) or the options exceed one page.
Result<std::string> overlay_options(const RootLayers& layers);

// Starts the fuse-overlayfs daemon for layers on layers.layer/root in the caller's mount
// namespace (layers.trusted_mntns if set: never in a file space) and returns its pid; it
// has mounted when this returns. enter_overlay_root (below) takes the mount into its new
// namespace and detaches it where it was made: the daemon exits when the last mount of
// the union is gone (its own namespace holds none). It runs in the network namespace
// netns (the space's), so that it counts as one of the space's processes, not its
// parent's.
Result<pid_t> start_fuse_root(const RootLayers& layers, int netns);

// start_fuse_root in two halves, so that the daemon starts up while its creator does
// other work: launch_fuse_root starts it and returns at once; await_fuse_root returns its
// pid once it has mounted (or kills it and says why it did not). A launch that is never
// awaited is the caller's to stop (its pid is known from the start).
struct FuseLaunch {
    pid_t pid = 0;
    UniqueFd watch;      // its pidfd
    UniqueFd stderr_rd;  // its stderr: the reason when it fails to mount
    std::string staging;
};
Result<FuseLaunch> launch_fuse_root(const RootLayers& layers, int netns);
Result<pid_t> await_fuse_root(FuseLaunch& launch);

// Moves the calling process into a new mount namespace whose root is the union of
// layers. Mounts of pseudo and runtime file systems (/proc, /sys, /dev, /run, ...) are
// bound live; other file systems under "/" get a union of their own (kernel backend;
// fuse-overlayfs sees through mount points by itself); users' own FUSE mounts are left
// out. Mount events of the old namespace still reach the new one (slave); ours never go
// back, except under rundir.
//
// The union's contents are the owner's: every mount point in it is reached by descriptor
// from the union's root, never through a symbolic link (one found where a mount goes
// leaves that mount out, or refuses a shared directory). The working directory is "/".
//
// EXDEV, before anything changes, when a parent layer is on the root's file system.
// For a single-threaded process of its own (tools/pnassemble.cpp): it changes the
// process's mount namespace and root for good. Needs CAP_SYS_ADMIN.
Status enter_overlay_root(const RootLayers& layers);

}  // namespace personalnet::fs
