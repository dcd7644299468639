#include "lib/core/beneath.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace personalnet::sys {

namespace {

constexpr int kMaxDepth = 256;  // deeper trees are refused rather than walked unbounded

// The names in dirfd (without "." and ".."), read through a duplicate descriptor so that
// dirfd itself stays usable.
Result<std::vector<std::string>> names_in(int dirfd) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) return errno_error("open directory");
    DIR* d = ::fdopendir(dup);
    if (d == nullptr) {
        Error e = errno_error("read directory");
        ::close(dup);
        return e;
    }
    std::vector<std::string> out;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(std::move(n));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return make_error(err, "read directory");
    return out;
}

Status clear_at(int dirfd, dev_t dev, int depth) {
    if (depth > kMaxDepth) return make_error(ELOOP, "remove: deeper than " + std::to_string(kMaxDepth));
    auto names = names_in(dirfd);
    if (!names.ok()) return names.error();
    for (const auto& n : names.value()) {
        // A directory is opened without following a link; anything else is unlinked. An
        // entry swapped in between fails the open (ELOOP, ENOTDIR) and is unlinked instead.
        UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.valid()) {
            struct stat st {};
            if (::fstat(sub.get(), &st) != 0) return errno_error("remove '" + n + "'");
            if (st.st_dev != dev)
                return make_error(EXDEV, "remove '" + n + "': another file system is mounted there");
            PN_TRY(clear_at(sub.get(), dev, depth + 1), "remove '" + n + "'");
            sub.reset();
            if (::unlinkat(dirfd, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
                return errno_error("remove '" + n + "'");
            continue;
        }
        if (errno != ELOOP && errno != ENOTDIR && errno != ENOENT && errno != EACCES)
            return errno_error("remove '" + n + "'");
        if (::unlinkat(dirfd, n.c_str(), 0) != 0 && errno != ENOENT) return errno_error("remove '" + n + "'");
    }
    return {};
}

Status walk_at(int dirfd, const std::string& rel, dev_t dev, int depth, const Visitor& visit) {
    if (depth > kMaxDepth) return make_error(ELOOP, "walk: deeper than " + std::to_string(kMaxDepth));
    auto names = names_in(dirfd);
    if (!names.ok()) return names.error().wrap("read " + (rel.empty() ? std::string("/") : rel));
    for (const auto& n : names.value()) {
        struct stat st {};
        if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
        std::string path = rel;
        path.append("/").append(n);
        bool descend = visit(dirfd, path, st);
        if (!descend || !S_ISDIR(st.st_mode) || st.st_dev != dev) continue;
        UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) continue;  // swapped for something else meanwhile: not followed
        struct stat now {};
        if (::fstat(sub.get(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) continue;
        PN_TRY(walk_at(sub.get(), path, dev, depth + 1, visit), "");
    }
    return {};
}

}  // namespace

Result<UniqueFd> open_beneath(int root, const std::string& rel, int flags) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    std::string path = rel;
    while (!path.empty() && path[0] == '/') path.erase(0, 1);
    if (path.empty()) path = ".";
    int fd = static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
    if (fd < 0) return errno_error("open '" + rel + "'");
    return UniqueFd(fd);
}

Result<UniqueFd> make_dirs_beneath(int root, const std::string& rel, mode_t mode) {
    auto cur = open_beneath(root, ".", O_PATH | O_DIRECTORY);
    if (!cur.ok()) return cur.error();
    UniqueFd dir = std::move(cur).value();
    size_t pos = 0;
    while (pos < rel.size()) {
        size_t end = rel.find('/', pos);
        std::string name = rel.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? rel.size() : end + 1;
        if (name.empty() || name == ".") continue;
        if (name == "..") return make_error(EINVAL, "'" + rel + "': '..' component");
        auto next = open_beneath(dir.get(), name, O_PATH | O_DIRECTORY);
        if (!next.ok() && next.error().code == ENOENT) {
            if (::mkdirat(dir.get(), name.c_str(), mode) != 0 && errno != EEXIST)
                return errno_error("make '" + rel + "'");
            next = open_beneath(dir.get(), name, O_PATH | O_DIRECTORY);
        }
        if (!next.ok()) {
            std::string why = "'" + rel;
            why.append("': '").append(name).append("': ").append(::strerrordesc_np(next.error().code));
            return make_error(next.error().code, why);
        }
        dir = std::move(next).value();
    }
    return dir;
}

Status clear_dir(int dirfd) {
    struct stat st {};
    if (::fstat(dirfd, &st) != 0) return errno_error("remove");
    return clear_at(dirfd, st.st_dev, 0);
}

Status walk_dir(int dirfd, const Visitor& visit) {
    struct stat st {};
    if (::fstat(dirfd, &st) != 0) return errno_error("walk");
    return walk_at(dirfd, "", st.st_dev, 0, visit);
}

}  // namespace personalnet::sys
