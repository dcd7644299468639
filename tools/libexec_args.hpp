// Checks of the arguments of the programs the library runs as root (pnreaper, pnkeeper,
// pnassemble, pnstore):
// they are started by the library with descriptors named on argv, and they refuse
// anything else rather than guess.
#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "lib/registry/registry.hpp"

namespace personalnet::cli {

// A descriptor named on argv: a decimal number above 2 that is open in this process.
inline std::optional<int> open_fd_arg(const std::string& arg) {
    int fd = -1;
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), fd);
    if (ec != std::errc{} || end != arg.data() + arg.size() || fd < 3) return std::nullopt;
    if (::fcntl(fd, F_GETFD) < 0) return std::nullopt;
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);  // handed to nothing this program starts
    return fd;
}

// A namespace descriptor named on argv, or "-" for none (-1); nullopt for anything else,
// including an open descriptor that is not a namespace (nsfs).
inline std::optional<int> namespace_fd_arg(const std::string& arg) {
    if (arg == "-") return -1;
    auto fd = open_fd_arg(arg);
    struct statfs fs {};
    if (!fd || ::fstatfs(*fd, &fs) != 0 || fs.f_type != NSFS_MAGIC) return std::nullopt;
    return fd;
}

// A space's label as the library writes it: four lower-case hex digits, not 0 (no space's).
inline std::optional<uint16_t> label_arg(const std::string& arg) {
    unsigned label = 0;
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), label, 16);
    if (arg.size() != 4 || ec != std::errc{} || end != arg.data() + arg.size() || label == 0)
        return std::nullopt;
    if (registry::label_hex(static_cast<uint16_t>(label)) != arg) return std::nullopt;  // lower case only
    return static_cast<uint16_t>(label);
}

// Whether fd is the file at path (the same inode; path not followed if a symbolic link).
inline bool fd_is_file(int fd, const std::string& path) {
    struct stat a {
    }, b{};
    return ::fstat(fd, &a) == 0 && ::lstat(path.c_str(), &b) == 0 && S_ISREG(b.st_mode) &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// An absolute path without "." or ".." components or empty ones (a directory the
// library named, not one to be resolved).
inline bool plain_absolute_path(const std::string& p) {
    if (p.size() < 2 || p[0] != '/' || p.back() == '/') return false;
    size_t start = 1;
    for (;;) {
        size_t slash = p.find('/', start);
        std::string part = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part.empty() || part == "." || part == "..") return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
}

}  // namespace personalnet::cli
