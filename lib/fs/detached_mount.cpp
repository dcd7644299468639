#include "lib/fs/detached_mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

namespace personalnet::fs {

Result<UniqueFd> clone_mount(int dirfd, const char* path, unsigned flags, const std::string& context,
                             const std::string& what) {
    UniqueFd tree(static_cast<int>(::open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags)));
    if (!tree.valid()) return errno_error(context + ": clone " + what);
    return tree;
}

Status attach_mount(int tree, int target, const std::string& context, const std::string& what) {
    if (::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        return errno_error(context + ": attach " + what);
    return {};
}

}  // namespace personalnet::fs
