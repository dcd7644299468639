// Paths that privileged code may rely on: no symlink and no directory that someone other
// than root could change lies on the way, so what is checked is what gets used.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::sys {

// Checks every component of the absolute path from "/" down, each opened relative to the
// one before it without following symlinks. Every component must be a directory (the
// last may be another file when allow_file), not a symlink, owned by root, and not
// writable by group or others. An intermediate directory that is root-owned and sticky
// (like /tmp) is accepted even so: others cannot remove or rename root's entries in it.
// The last component is never excused.
// EINVAL for a relative path or one with ".", ".." or empty components; ELOOP for a
// symlink; ENOTDIR for a non-directory; EPERM for a bad owner or mode; otherwise the
// errno of the failed lookup. Messages name the path and the offending component.
Status check_trusted_path(const std::string& path, bool allow_file = false);

// make_dirs for privileged code: walks path like check_trusted_path, creating missing
// directories as root:root with exactly mode (umask does not matter), and checking every
// existing or created component. Returns an O_PATH fd of the final directory. EINVAL if
// mode is group- or other-writable (the result would be untrusted).
Result<UniqueFd> make_trusted_dirs(const std::string& path, mode_t mode);

// The text of a configuration file privileged code relies on: a trusted path
// (check_trusted_path with allow_file), a regular file of at most max_size bytes.
// Errors are prefixed with what ("policy", "pam.conf") and name the path.
Result<std::string> read_trusted_file(const std::string& path, const std::string& what, off_t max_size);

}  // namespace personalnet::sys
