// File spaces of port spaces: one mount namespace per space whose root is an overlay of
// the space's own layer over its ancestors' layers and the real root (lib/fs). A space
// created inside a file space must stack on the real root, not on its parent's overlay
// (overlayfs stacks two levels at most): every file space shows the real root file
// system at base/ (a plain bind, invisible on the host), and nested ones stack on that.
// The host's mount namespace itself cannot be pinned (the kernel refuses it as a loop),
// and PID 1's may not be ours to enter.
//
// Host-side state, under the run directory (see lib/registry):
//   fs/                a tmpfs, mounted with the first file space and unmounted with the
//                      last: overlayfs refuses ancestors' layers on the root file system
//   fs/LLLL/upper      the space's own layer; fs/LLLL/work, fs/LLLL/root (staging)
//   mnt/NAME           pin of a named space's mount namespace
//   base/              empty on the host; inside a file space, the real root file system
#pragma once

#include "lib/core/fd.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

// Makes rec's file space: its layer directories, and a mount namespace entered by a
// short-lived helper process. parent is the record of the space the caller runs in
// (nullptr for the host). Fills rec.fs_layers and rec.mntns, pins the namespace of a
// named space, and returns an fd on it. Caller holds the registry lock.
Result<UniqueFd> make_file_space(const registry::Registry& reg, registry::Record& rec,
                                 const registry::Record* parent);

// Removes what make_file_space made for rec (pin, layers; the tmpfs and the host pin
// with the last file space). Idempotent. Caller holds the registry lock.
Status release_file_space(const registry::Registry& reg, const registry::Record& rec);

// What rec's file space changed: walks its upper layer; a path is modified rather than
// added when a lower layer (its ancestors', then the real root) has it.
Result<std::vector<FileChange>> file_space_changes(const registry::Record& rec);

// Path of a named space's mount-namespace pin.
std::string mnt_pin_path(const registry::Registry& reg, const std::string& name);

}  // namespace personalnet::space
