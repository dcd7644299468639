// The calling process's mount table, read from /proc/self/mountinfo, and how a file
// space treats each mount.
#pragma once

#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::fs {

struct MountEntry {
    std::string point;   // mount point, unescaped
    std::string fstype;  // "ext4", "proc", "fuse.sshfs", ...
    // A FUSE file system an ordinary user mounted (fusermount: "user_id=UID" with UID not
    // 0). Its daemon is the user's: it may answer root slowly or never, and its mount point
    // is a name the user chose. File spaces leave such mounts out entirely.
    bool user_mount = false;
    // What of its file system is mounted there (mountinfo's root field, unescaped): "/"
    // for a whole file system, "net:[4026532000]" for a network namespace bound (nsfs).
    std::string root;
};

// The visible mounts, parents before children as the kernel lists them; of several
// mounts stacked on one point only the top one (the last listed) is kept.
Result<std::vector<MountEntry>> read_mount_table();

// Parses mountinfo text (exposed for tests).
std::vector<MountEntry> parse_mountinfo(const std::string& text);

// Runtime state is bound live into a file space: kernel interfaces (/proc, /sys, /dev
// and every pseudo file system) and /run, whose sockets and pid files belong to the
// daemons running outside. Everything else holds files and is copied on write.
bool is_live_mount(const MountEntry& m);

// Whether path is dir or below it ("/" contains everything).
bool path_is_under(const std::string& path, const std::string& dir);

// A mount point as one file name for a layer directory: "/srv/data" -> "srv%2Fdata".
// Bytes other than [A-Za-z0-9._-] are %XX-escaped, so the result never holds a
// character overlayfs options cannot carry.
std::string mount_key(const std::string& point);

}  // namespace personalnet::fs
