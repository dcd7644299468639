// A file space's root: a kernel overlay over the real root, entered by a process.
//
// Groundwork for file spaces (issue 3); not yet used by Space. The layers are stacked
// flat: a file space nested N deep mounts one overlay whose lower layers are its
// ancestors' upper directories, nearest first, then the real root. Kernel overlayfs
// allows only two levels of overlay-on-overlay, so nesting overlays is not an option.
// It also refuses a lower layer below another lower layer of the same file system
// (ELOOP), so ancestors' layers cannot live on the root file system: they need a file
// system of their own (the upper of a file space without ancestors may).
#pragma once

#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::fs {

struct RootLayers {
    std::string upper;                 // this file space's own directory: writes land here
    std::string work;                  // overlayfs work directory, on the same file system
    std::vector<std::string> parents;  // ancestors' upper directories, nearest first
    std::string base = "/";            // the real root, lowest layer
    std::vector<std::string> shared;   // host directories bound live (read-write), not copied
    bool private_tmp = false;          // an empty tmpfs on /tmp (before the shared binds)
    std::string expose_base;           // if set: where the base is bound inside (non-recursively),
                                       // so that nested file spaces can stack on it flat
};

// The overlayfs mount options for layers: "lowerdir=P1:P2:/,upperdir=U,workdir=W".
// EINVAL when a path is relative or holds a character overlayfs options cannot carry
// (',', ':', '\\', control characters) or the options exceed one page.
Result<std::string> overlay_options(const RootLayers& layers);

// Moves the calling process into a new mount namespace whose root is the overlay of
// layers, mounted on the directory staging (which must exist; it is left empty in the
// caller's namespace). The mounts under the old root (/proc, /sys, /dev, /run, ...) are
// bound at the same places, so they stay live; mount events of the old namespace still
// reach the new one (slave), ours never go back. The working directory is kept by path.
//
// EXDEV, before anything changes, when a parent layer is on the base's file system.
// For a freshly forked, single-threaded child about to exec: it changes the process's
// mount namespace and root for good. Needs CAP_SYS_ADMIN.
Status enter_overlay_root(const RootLayers& layers, const std::string& staging);

}  // namespace personalnet::fs
