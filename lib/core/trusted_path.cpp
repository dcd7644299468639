#include "lib/core/trusted_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "lib/core/sys.hpp"

namespace personalnet::sys {

namespace {

// The names below "/" of a canonical absolute path. Anything else is refused rather than
// normalised: ".." would walk back out of a checked directory.
Result<std::vector<std::string>> components(const std::string& path) {
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos)
        return make_error(EINVAL, "untrusted path '" + path + "': not an absolute path");
    std::vector<std::string> names;
    if (path == "/") return names;
    for (size_t pos = 1;;) {
        size_t end = path.find('/', pos);
        std::string name = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (name.empty() || name == "." || name == "..")
            return make_error(EINVAL, "untrusted path '" + path + "': empty, '.' or '..' component");
        names.push_back(std::move(name));
        if (end == std::string::npos) return names;
        pos = end + 1;
    }
}

// Checks the object fd refers to, so that what is judged is exactly what was opened.
Status check_component(int fd, const std::string& path, const std::string& shown, bool last,
                       bool allow_file) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error("path '" + path + "': stat '" + shown + "'");
    auto refuse = [&](int code, const std::string& why) {
        return make_error(code, "untrusted path '" + path + "': '" + shown + "' " + why);
    };
    if (S_ISLNK(st.st_mode)) return refuse(ELOOP, "is a symbolic link");
    if (!S_ISDIR(st.st_mode) && !(last && allow_file)) return refuse(ENOTDIR, "is not a directory");
    if (st.st_uid != 0) return refuse(EPERM, "is owned by uid " + std::to_string(st.st_uid) + ", not root");
    // In a root-owned sticky directory others may add entries but not remove or rename
    // root's, so the next component (checked in turn) cannot be swapped under us.
    bool sticky = !last && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
    if (sticky) return {};
    if ((st.st_mode & S_IWOTH) != 0) return refuse(EPERM, "is writable by others");
    if ((st.st_mode & S_IWGRP) != 0) return refuse(EPERM, "is writable by group");
    return {};
}

// The error of a failed system call on one component, from errno.
Error step_error(const std::string& path, const char* step, const std::string& shown) {
    return errno_error("path '" + path + "': " + step + " '" + shown + "'");
}

// A directory just made by mkdirat, set to root:root and exactly mode. fchown and fchmod
// refuse O_PATH descriptors, hence O_RDONLY first. The parent is trusted, so the
// directory cannot have been replaced since it was made.
Result<UniqueFd> settle_new_dir(int dir, const std::string& name, const std::string& path,
                                const std::string& shown, mode_t mode) {
    UniqueFd made(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!made.valid()) return step_error(path, "open", shown);
    if (::fchown(made.get(), 0, 0) != 0 || ::fchmod(made.get(), mode) != 0)
        return step_error(path, "set owner and mode of", shown);
    UniqueFd opath(::openat(made.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!opath.valid()) return step_error(path, "open", shown);
    return opath;
}

// Opens name in dir without following a symlink (O_PATH: a symlink, FIFO or device is
// opened without side effects, and fstat then tells what it is). With create, a missing
// directory is made root:root with exactly *create.
Result<UniqueFd> open_component(int dir, const std::string& name, const std::string& path,
                                const std::string& shown, const mode_t* create) {
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = ::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) return UniqueFd(fd);
        if (errno != ENOENT || create == nullptr) return step_error(path, "open", shown);
        if (::mkdirat(dir, name.c_str(), *create) == 0)
            return settle_new_dir(dir, name, path, shown, *create);
        // EEXIST: made by someone else since our openat; open and check theirs.
        if (errno != EEXIST) return step_error(path, "create", shown);
    }
    return make_error(EAGAIN, "path '" + path + "': '" + shown + "' keeps appearing and disappearing");
}

Result<UniqueFd> walk(const std::string& path, bool allow_file, const mode_t* create) {
    auto names = components(path);
    if (!names.ok()) return names.error();
    UniqueFd cur(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cur.valid()) return errno_error("path '" + path + "': open '/'");
    auto st = check_component(cur.get(), path, "/", names->empty(), false);
    if (!st.ok()) return st.error();
    std::string shown;
    for (size_t i = 0; i < names->size(); ++i) {
        shown += "/" + (*names)[i];
        bool last = i + 1 == names->size();
        auto next = open_component(cur.get(), (*names)[i], path, shown, create);
        if (!next.ok()) return next.error();
        st = check_component(next->get(), path, shown, last, allow_file);
        if (!st.ok()) return st.error();
        cur = std::move(next).value();
    }
    return cur;
}

}  // namespace

Status check_trusted_path(const std::string& path, bool allow_file) {
    auto fd = walk(path, allow_file, nullptr);
    if (!fd.ok()) return fd.error();
    return {};
}

Result<UniqueFd> make_trusted_dirs(const std::string& path, mode_t mode) {
    if ((mode & ~07777) != 0 || (mode & (S_IWGRP | S_IWOTH)) != 0) {
        char octal[16];
        (void)std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        const char* why = (mode & ~07777) != 0 ? " is not a permission mode"
                                               : " would make it untrusted (group or others may write)";
        return make_error(EINVAL, "path '" + path + "': mode " + octal + why);
    }
    return walk(path, false, &mode);
}

Result<std::string> read_trusted_file(const std::string& path, const std::string& what, off_t max_size) {
    PN_TRY(check_trusted_path(path, true), what);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno_error(what + ": " + path);
    const bool mib = max_size >= (off_t{1} << 20) && max_size % (off_t{1} << 20) == 0;
    const std::string too_large =
        what + ": " + path + " is larger than " +
        (mib ? std::to_string(max_size >> 20) + " MiB" : std::to_string(max_size) + " bytes");
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, what + ": " + path + " is not a regular file");
    if (st.st_size > max_size) return make_error(EFBIG, too_large);
    auto text = read_file(path);
    if (!text.ok()) return text.error().wrap(what);
    if (static_cast<off_t>(text.value().size()) > max_size) return make_error(EFBIG, too_large);  // it grew
    return text;
}

}  // namespace personalnet::sys
