// Thin, error-carrying wrappers over the system calls the library uses.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::sys {

Result<std::string> read_file(const std::string& path);
// Reads fd until end of file (or an error), keeping at most limit bytes: a child's
// report or stderr through a pipe.
std::string read_to_eof(int fd, size_t limit = 1 << 20);
// Writes the whole string (O_WRONLY|O_TRUNC, no create) — for /proc/sys and similar.
Status write_existing(const std::string& path, const std::string& data);
// Writes via a temporary file PATH.tmp.PID and rename(2), mode 0644.
Status write_atomic(const std::string& path, const std::string& data);
// Removes the temporary files of write_atomic() left in dir by a writer killed between
// create and rename. Call only while holding the lock that serialises the writers.
void remove_stale_temps(const std::string& dir);
// net.ipv4.conf.X.forwarding style key, written under /proc/sys in the current netns.
Status set_sysctl(const std::string& key, const std::string& value);
Result<std::string> get_sysctl(const std::string& key);  // value without the newline

Status make_dirs(const std::string& path, mode_t mode);
// Removes path and everything below it without crossing into other mounts or following
// symbolic links; a missing path is not an error.
Status remove_tree(const std::string& path);
// Whether a mount sits on path (its mount differs from that of path/..).
bool is_mountpoint(const std::string& path);
// Whether the calling process is in the initial user namespace (where root is root).
bool in_initial_user_namespace();
Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode = 0);
// Directory entries (no "." or ".."), unsorted.
Result<std::vector<std::string>> list_dir(const std::string& path);
// Whether an entry of the directory (not "." or "..") makes `wanted` true, reading a few
// entries at a time and stopping at the first: asking "is any X left?" of a directory of
// thousands costs a read of one block, not a listing. false when the directory is absent.
Result<bool> any_entry(const std::string& path,
                       const std::function<bool(int dir_fd, const char* name)>& wanted);

// The current network namespace, as an fd and an inode number.
Result<UniqueFd> open_current_netns();
// The calling thread's network namespace's inode (a stat, no descriptor).
Result<ino_t> current_netns_inode();
Result<ino_t> inode_of_fd(int fd);
Status enter_netns(int fd);

// A pidfd on pid (invalid if it is gone): signals and waits then reach that process even
// if the pid is reused meanwhile.
UniqueFd pidfd_of(pid_t pid);
// Waits up to timeout_ms for the process behind pidfd to exit; true if it did.
bool wait_exit(int pidfd, int timeout_ms);

// True if the process exists (kill(pid, 0) semantics; EPERM counts as alive).
bool pid_alive(pid_t pid);

// "/proc/N" for the process this process numbers pid (a child it started): N is pid,
// unless /proc belongs to another PID namespace than this process's (the set-uid helper
// started inside a space's PID namespace has left for the host's mount namespace, and
// its /proc, but no process can leave its PID namespace); then N is the number of the
// process whose NSpid has pid at this process's level.
std::string proc_dir(pid_t pid);
// The NSpid numbers of the process whose /proc directory is dir, outermost (that /proc's
// PID namespace) first; empty when it cannot be read.
std::vector<long> nspids(const std::string& dir);

// Closes every descriptor above 2 except keep (may be -1).
void close_fds_from(int first, int keep);

}  // namespace personalnet::sys
