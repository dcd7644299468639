// Walking a tree a user can change, as root, without following what the user planted
// (docs/SECURITY.md, rule 1): every step is taken relative to a directory descriptor with
// openat2(2), symbolic links refused (RESOLVE_NO_SYMLINKS) and ".." kept beneath the
// starting directory (RESOLVE_BENEATH); what is found is acted on by its descriptor.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::sys {

// openat2(root, rel, flags | O_CLOEXEC) with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS. rel may start with '/' (taken relative to root). ELOOP when a
// component is a symbolic link.
Result<UniqueFd> open_beneath(int root, const std::string& rel, int flags);

// The directory rel beneath root as an O_PATH descriptor, made (mkdirat, mode, owned by
// the caller) where missing, one component at a time, none of them a symbolic link.
Result<UniqueFd> make_dirs_beneath(int root, const std::string& rel, mode_t mode);

// Removes everything inside the directory dirfd (not the directory itself), never
// following a symbolic link and never leaving dirfd's file system: each entry is removed
// with unlinkat relative to the descriptor of the directory holding it, and
// subdirectories are opened with O_NOFOLLOW before they are entered.
Status clear_dir(int dirfd);

// Calls visit(dirfd, name, st) for every entry of the directory dirfd, recursively and
// depth-first (a directory before its entries), with lstat semantics; subdirectories are
// entered by descriptor with O_NOFOLLOW and only on the same file system. rel is the
// entry's path below the starting directory ("/a/b"). A visit returning false skips a
// directory's entries.
using Visitor = std::function<bool(int dirfd, const std::string& rel, const struct stat& st)>;
Status walk_dir(int dirfd, const Visitor& visit);

}  // namespace personalnet::sys
