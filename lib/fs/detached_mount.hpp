// Mounts moved by descriptor (the new mount API): a detached copy of a tree, attached on a
// mount point that was opened without following a symbolic link.
#pragma once

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::fs {

// open_tree(dirfd, path, OPEN_TREE_CLONE | flags): flags AT_RECURSIVE for the mounts under
// it too, AT_EMPTY_PATH for dirfd itself. Errors read "CONTEXT: clone WHAT".
Result<UniqueFd> clone_mount(int dirfd, const char* path, unsigned flags, const std::string& context,
                             const std::string& what);

// move_mount of the detached tree onto the mount point target (both descriptors).
Status attach_mount(int tree, int target, const std::string& context, const std::string& what);

}  // namespace personalnet::fs
