#include "lib/fs/overlay_root.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <sstream>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"

namespace personalnet::fs {

namespace {

// overlayfs splits its options at ',' and its layer list at ':', and '\\' escapes;
// rather than escaping we refuse such paths (personalnet chooses the layer paths).
Status check_layer_path(const std::string& path, const char* what) {
    if (path.empty() || path[0] != '/')
        return make_error(EINVAL, std::string(what) + " '" + path + "' is not absolute");
    for (unsigned char c : path)
        if (c == ',' || c == ':' || c == '\\' || c < 0x20 || c == 0x7f)
            return make_error(EINVAL,
                              std::string(what) + " '" + path + "' holds a character overlayfs cannot take");
    return {};
}

// Distinct mount points below "/" in the order the kernel lists them (parents before
// children), from /proc/self/mountinfo; field 5 is the mount point, octal-escaped.
Result<std::vector<std::string>> submounts() {
    auto info = sys::read_file("/proc/self/mountinfo");
    if (!info.ok()) return info.error();
    std::vector<std::string> out;
    std::istringstream lines(info.value());
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        if (!(fields >> id >> parent >> devno >> root >> point)) continue;
        std::string decoded;
        for (size_t i = 0; i < point.size(); ++i) {
            bool octal = point[i] == '\\' && i + 3 < point.size() &&
                         std::all_of(point.begin() + static_cast<long>(i) + 1,
                                     point.begin() + static_cast<long>(i) + 4,
                                     [](char c) { return c >= '0' && c <= '7'; });
            if (!octal) {
                decoded += point[i];
                continue;
            }
            decoded += static_cast<char>((point[i + 1] - '0') * 64 + (point[i + 2] - '0') * 8 +
                                         (point[i + 3] - '0'));
            i += 3;
        }
        if (decoded != "/" && std::find(out.begin(), out.end(), decoded) == out.end()) out.push_back(decoded);
    }
    return out;
}

bool is_under(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           (dir == "/" || path[dir.size()] == '/'));
}

}  // namespace

Result<std::string> overlay_options(const RootLayers& layers) {
    PN_TRY(check_layer_path(layers.upper, "upper directory"), "overlay root");
    PN_TRY(check_layer_path(layers.work, "work directory"), "overlay root");
    PN_TRY(check_layer_path(layers.base, "base"), "overlay root");
    std::string lower;
    for (const auto& p : layers.parents) {
        PN_TRY(check_layer_path(p, "parent layer"), "overlay root");
        lower += p + ":";
    }
    lower += layers.base;
    std::string opts = "lowerdir=" + lower + ",upperdir=" + layers.upper + ",workdir=" + layers.work;
    if (opts.size() >= 4096) return make_error(EINVAL, "overlay root: layer list longer than one page");
    return opts;
}

Status enter_overlay_root(const RootLayers& layers, const std::string& staging) {
    auto opts = overlay_options(layers);
    if (!opts.ok()) return opts.error();
    PN_TRY(check_layer_path(staging, "staging directory"), "overlay root");
    for (const auto& dir : layers.shared) PN_TRY(check_layer_path(dir, "shared directory"), "overlay root");
    if (!layers.expose_base.empty())
        PN_TRY(check_layer_path(layers.expose_base, "base exposure"), "overlay root");
    struct stat base {};
    if (::stat(layers.base.c_str(), &base) != 0) return errno_error("overlay root: base " + layers.base);
    for (const auto& p : layers.parents) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return errno_error("overlay root: parent layer " + p);
        if (st.st_dev == base.st_dev)
            return make_error(EXDEV, "overlay root: parent layer '" + p +
                                         "' is on the file system of the base '" + layers.base +
                                         "' (overlayfs refuses nested lower layers)");
    }
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return errno_error("overlay root: read working directory");
    auto mounts = submounts();  // before unsharing: the same list either way
    if (!mounts.ok()) return mounts.error().wrap("overlay root: read mount table");

    if (::unshare(CLONE_NEWNS) != 0) return errno_error("overlay root: unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return errno_error("overlay root: make / a slave");
    if (::mount("overlay", staging.c_str(), "overlay", 0, opts->c_str()) != 0)
        return errno_error("overlay root: mount overlay on " + staging);

    // Bind the top-level submounts (recursively, so /dev/pts comes with /dev). One that
    // contains the staging directory would bring a copy of the new root along: detach it.
    for (const auto& m : mounts.value()) {
        bool covered = std::any_of(mounts->begin(), mounts->end(),
                                   [&](const std::string& o) { return o != m && is_under(m, o); });
        if (covered || is_under(m, staging)) continue;
        std::string target = staging + m;
        if (::mount(m.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            if (errno == ENOENT) continue;  // the mount point was deleted in this file space
            return errno_error("overlay root: bind " + m);
        }
        if (is_under(staging, m)) (void)::umount2((staging + staging).c_str(), MNT_DETACH);
    }

    if (layers.private_tmp &&
        ::mount("tmpfs", (staging + "/tmp").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
        return errno_error("overlay root: private /tmp");
    for (const auto& dir : layers.shared) {
        std::string target = staging + dir;
        // A shared directory under a private /tmp needs its mount point made there.
        PN_TRY(sys::make_dirs(target, 0755), "overlay root: share " + dir);
        if (::mount(dir.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            return errno_error("overlay root: share " + dir);
    }

    if (!layers.expose_base.empty()) {
        std::string target = staging + layers.expose_base;
        if (::mount(layers.base.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
            return errno_error("overlay root: expose the base at " + layers.expose_base);
    }

    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then
    // drops it without needing a directory to park it in.
    if (::chdir(staging.c_str()) != 0) return errno_error("overlay root: enter " + staging);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno_error("overlay root: pivot_root");
    if (::umount2(".", MNT_DETACH) != 0) return errno_error("overlay root: detach the old root");
    if (::chdir(cwd) != 0 && ::chdir("/") != 0) return errno_error("overlay root: chdir");
    return {};
}

}  // namespace personalnet::fs
