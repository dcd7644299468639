// The layer store: the file system that holds file-space layers.
//
// Layers need a file system of their own, since overlayfs refuses a lower layer that
// lies inside another lower layer such as "/"; and a named space's layers must survive a
// host reboot, which a tmpfs does not. So they live in an ext4 file system inside a
// sparse image file, attached to a loop device and mounted on demand. The loop device is
// set to clear itself, so it goes away with the last user of the mount.
#pragma once

#include <cstdint>
#include <string>

#include "personalnet/error.hpp"

namespace personalnet::fs {

struct StoreSpec {
    std::string image;                  // absolute path of the image file
    std::string mountpoint;             // absolute path of an existing directory
    uint64_t size_bytes = 64ULL << 30;  // sparse: costs only what is written
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
Status mount_store(const StoreSpec& spec);

// Whether the store backed by spec.image is mounted exactly on spec.mountpoint.
bool store_mounted(const StoreSpec& spec);

// Detaches whatever is mounted on mountpoint (lazily); nothing mounted is not an error.
// The loop device is freed with the mount's last user (e.g. a space's mount namespace).
Status unmount_store(const std::string& mountpoint);

}  // namespace personalnet::fs
