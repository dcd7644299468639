#include "lib/space/filespace.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/core/sys.hpp"
#include "lib/fs/overlay_root.hpp"
#include "lib/space/netns.hpp"

namespace personalnet::space {

namespace {

std::string layer_dir(const registry::Registry& reg, uint16_t label) {
    return reg.path("fs/" + registry::label_hex(label));
}

// The layers need a file system of their own; a tmpfs is mounted on fs/ unless one is.
Status ensure_layer_fs(const registry::Registry& reg) {
    std::string dir = reg.path("fs");
    PN_TRY(sys::make_dirs(dir, 0700), "create layer directory");
    PN_TRY(sys::make_dirs(reg.path("base"), 0700), "create layer directory");
    struct statfs fs {};
    struct stat here = {};
    struct stat above = {};
    if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC && ::stat(dir.c_str(), &here) == 0 &&
        ::stat(reg.rundir().c_str(), &above) == 0 && here.st_dev != above.st_dev)
        return {};
    if (::mount("personalnet-layers", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0)
        return errno_error("mount a tmpfs for file-space layers on " + dir);
    return {};
}

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
    return type == FTW_DP ? ::rmdir(path) : ::unlink(path);
}

Status remove_tree(const std::string& path) {
    if (::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && errno != ENOENT)
        return errno_error("remove " + path);
    return {};
}

// The helper: enters the overlay root, reports, and waits until the creator holds its
// mount namespace. Runs in a forked child; never returns.
[[noreturn]] void helper(const fs::RootLayers& layers, const std::string& staging, int report_fd,
                         int hold_fd) {
    std::string verdict = "OK";
    auto st = fs::enter_overlay_root(layers, staging);
    if (!st.ok()) verdict = std::to_string(st.error().code) + " " + st.error().message();
    (void)!::write(report_fd, verdict.data(), verdict.size());
    ::close(report_fd);
    char c;
    while (::read(hold_fd, &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
}

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

// Whether the layers below the upper one show path: the nearest layer that has an entry
// decides (a whiteout there hides it); the real root comes last.
bool exists_below(const registry::Record& rec, const std::string& path) {
    for (size_t i = 1; i < rec.fs_layers.size(); ++i) {
        struct stat st {};
        if (::lstat((rec.fs_layers[i] + path).c_str(), &st) == 0) return !is_whiteout(st);
    }
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

Result<std::vector<FileChange>> file_space_changes(const registry::Record& rec) {
    if (!rec.file_space || rec.fs_layers.empty()) return make_error(ENOENT, "the space has no file space");
    const std::string& upper = rec.fs_layers.front();
    std::vector<FileChange> out;
    std::vector<std::string> pending = {""};
    while (!pending.empty()) {
        std::string rel = pending.back();
        pending.pop_back();
        auto names = sys::list_dir(upper + rel);
        if (!names.ok()) return names.error().wrap("read the file space's layer");
        for (const auto& n : names.value()) {
            std::string path = rel;
            path += '/';
            path += n;
            struct stat st {};
            if (::lstat((upper + path).c_str(), &st) != 0) continue;
            bool below = exists_below(rec, path);
            if (is_whiteout(st)) {
                if (below) out.push_back({'D', path});
            } else if (S_ISDIR(st.st_mode)) {
                if (!below) out.push_back({'A', path});
                pending.push_back(path);
            } else {
                out.push_back({below ? 'M' : 'A', path});
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
}

std::string mnt_pin_path(const registry::Registry& reg, const std::string& name) {
    return reg.path("mnt/" + name);
}

Result<UniqueFd> make_file_space(const registry::Registry& reg, registry::Record& rec,
                                 const registry::Record* parent) {
    bool inside = parent != nullptr && parent->file_space;
    PN_TRY(ensure_layer_fs(reg), "file space");
    std::string dir = layer_dir(reg, rec.label);
    fs::RootLayers layers;
    layers.upper = dir + "/upper";
    layers.work = dir + "/work";
    if (inside) {
        layers.parents = parent->fs_layers;
        layers.base = reg.path("base");  // the real root file system, exposed by the parent
    }
    layers.shared = {reg.rundir()};
    layers.shared.insert(layers.shared.end(), rec.fs_shared.begin(), rec.fs_shared.end());
    layers.private_tmp = rec.fs_private_tmp;
    layers.expose_base = reg.path("base");
    for (const auto& d : {layers.upper, layers.work, dir + "/root"})
        PN_TRY(sys::make_dirs(d, 0755), "file space");
    rec.fs_layers = {layers.upper};
    rec.fs_layers.insert(rec.fs_layers.end(), layers.parents.begin(), layers.parents.end());

    int report[2], hold[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("file space: pipe");
    UniqueFd report_rd(report[0]), report_wr(report[1]);
    if (::pipe2(hold, O_CLOEXEC) != 0) return errno_error("file space: pipe");
    UniqueFd hold_rd(hold[0]), hold_wr(hold[1]);
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("file space: fork");
    if (pid == 0) {
        report_rd.reset();
        hold_wr.reset();
        helper(layers, dir + "/root", report_wr.get(), hold_rd.get());
    }
    report_wr.reset();
    hold_rd.reset();
    std::string verdict;
    char buf[512];
    for (ssize_t n; (n = ::read(report_rd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        verdict.append(buf, static_cast<size_t>(n));
    }
    Result<UniqueFd> ns = make_error(EIO, "file space: helper gave no answer");
    if (verdict == "OK") {
        ns = sys::open_fd("/proc/" + std::to_string(pid) + "/ns/mnt", O_RDONLY);
    } else if (!verdict.empty()) {
        int code = std::atoi(verdict.c_str());
        ns = make_error(code > 0 ? code : EIO, "file space: " + verdict.substr(verdict.find(' ') + 1));
    }
    hold_wr.reset();  // lets the helper exit
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!ns.ok()) return ns.error();
    auto inode = sys::inode_of_fd(ns->get());
    if (!inode.ok()) return inode.error().wrap("file space");
    rec.mntns = inode.value();
    if (rec.named) PN_TRY(pin_netns(ns->get(), mnt_pin_path(reg, rec.name)), "pin the file space");
    return std::move(ns).value();
}

Status release_file_space(const registry::Registry& reg, const registry::Record& rec) {
    if (!rec.file_space) return {};
    if (rec.named) PN_TRY(unpin(mnt_pin_path(reg, rec.name)), "unpin the file space");
    PN_TRY(remove_tree(layer_dir(reg, rec.label)), "remove the file space's layers");
    auto left = sys::list_dir(reg.path("fs"));
    if (left.ok() && left->empty()) {
        // The last file space: the layer tmpfs goes too.
        if (::umount2(reg.path("fs").c_str(), MNT_DETACH) != 0 && errno != EINVAL)
            return errno_error("unmount " + reg.path("fs"));
        (void)::rmdir(reg.path("fs").c_str());
        (void)::rmdir(reg.path("base").c_str());
    }
    return {};
}

}  // namespace personalnet::space
