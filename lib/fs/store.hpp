// The layer store: the file system that holds file-space layers.
//
// Layers need a file system of their own, since overlayfs refuses a lower layer that
// lies inside another lower layer such as "/"; and a named space's layers must survive a
// host reboot, which a tmpfs does not. So they live in an ext4 file system inside a
// sparse image file, attached to a loop device and mounted on demand. The loop device is
// set to clear itself, so it goes away with the last user of the mount.
//
// Each owner has an image of their own (lib/space/filespace), whose size is what the
// owner's layers may hold: a write beyond it fails with ENOSPC in that image alone. An
// image is made at its spec's size; a larger size later grows it at its next cold mount
// (resize2fs, offline); it never shrinks.
#pragma once

#include <cstdint>
#include <string>

#include "personalnet/error.hpp"

namespace personalnet::fs {

constexpr uint64_t kDefaultStoreBytes = 64ULL << 30;

struct StoreSpec {
    std::string image;                         // absolute path of the image file
    std::string mountpoint;                    // absolute path of an existing directory
    uint64_t size_bytes = kDefaultStoreBytes;  // sparse: costs only what is written
    bool create = true;                        // false: a missing image is ENOENT
    bool grow = true;                          // grow a smaller image to size_bytes
};

// Mounts the store on spec.mountpoint (nosuid, nodev, noatime), creating and formatting
// the image if it is missing; a no-op when the store is already mounted there. The
// image's directory and the mountpoint must pass sys::check_trusted_path; an existing
// image must be a regular file owned by root and not writable by group or others (EPERM
// otherwise, ELOOP for a symlink). A new image appears under its name only once it is
// formatted, so a failure or crash leaves none behind. EBUSY if another file system is
// mounted on the mountpoint. If a loop device is still bound to the image (an earlier
// mount was detached but lives on in another mount namespace), that device is mounted
// again: a second one would be a second ext4 instance on the same blocks. Callers that
// may race serialise with a lock of their own; a race for the loop device or for creating
// the image is nonetheless handled.
// An image whose file system is smaller than spec.size_bytes (and spec.grow) is grown
// when it is mounted cold (no loop device bound to it): the file is extended, checked
// (e2fsck -f -p) and resized (resize2fs) before it is attached. A mounted one is left as
// it is until then.
Status mount_store(const StoreSpec& spec);

// Whether the store backed by spec.image is mounted exactly on spec.mountpoint.
bool store_mounted(const StoreSpec& spec);

// Detaches whatever is mounted on mountpoint (lazily); nothing mounted is not an error.
// The loop device is freed with the mount's last user (e.g. a space's mount namespace).
Status unmount_store(const std::string& mountpoint);

// Removes spec.image, the image of a store no longer mounted on spec.mountpoint (EBUSY if
// it is); a missing image is not an error. A loop device still bound to it (a mount that
// lives on in another mount namespace) keeps the file's blocks until it goes, and a new
// image made meanwhile is another file: the two are never mixed.
Status remove_image(const StoreSpec& spec);

// Gives the blocks freed on the store mounted on mountpoint back to the host's file
// system: syncfs (ext4 frees blocks when its journal commits), then FITRIM, which the
// loop device turns into holes punched in the image. Not an error where the device cannot
// discard (EOPNOTSUPP).
Status trim_store(const std::string& mountpoint);

// The size of the file system in the image, from its superblock (bytes): what the image
// can hold, metadata included.
Result<uint64_t> image_fs_size(int image_fd);

}  // namespace personalnet::fs
