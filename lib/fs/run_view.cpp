#include "lib/fs/run_view.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "lib/fs/detached_mount.hpp"

namespace personalnet::fs {

namespace {

constexpr const char* kContext = "run directory view";

// A directory beneath the view's root (root's own tree, a clone of the host's), never
// through a symbolic link.
Result<UniqueFd> dir_beneath(int root, const char* name) {
    struct open_how how {};
    how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
    int fd = static_cast<int>(::syscall(SYS_openat2, root, name, &how, sizeof how));
    if (fd < 0) return errno_error(std::string("run directory view: open ") + name);
    return UniqueFd(fd);
}

// An empty read-only tmpfs, detached.
Result<UniqueFd> empty_cover() {
    UniqueFd fs(static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
    if (!fs.valid()) return errno_error("run directory view: fsopen(tmpfs)");
    if (::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "size", "4k", 0) != 0 ||
        ::syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
        ::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        return errno_error("run directory view: make a tmpfs");
    UniqueFd mnt(static_cast<int>(
        ::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC,
                  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
    if (!mnt.valid()) return errno_error("run directory view: fsmount(tmpfs)");
    return mnt;
}

}  // namespace

Result<RunView> clone_run_view(const std::string& rundir) {
    RunView v;
    auto run =
        clone_mount(AT_FDCWD, rundir.c_str(), 0, kContext, rundir);  // the mount alone: no pin comes along
    if (!run.ok()) return run.error();
    v.run = std::move(run).value();
    auto stores = clone_mount(AT_FDCWD, (rundir + "/fs").c_str(), AT_RECURSIVE, kContext, rundir + "/fs");
    if (!stores.ok()) return stores.error();
    v.stores = std::move(stores).value();
    return v;
}

Status attach_run_view(RunView& view, int at) {
    PN_TRY(attach_mount(view.run.get(), at, kContext, "the run directory"), "");
    // The clone of a shared mount joins its peer group: out of it, so that pins made on
    // the host do not reach the space (and nothing made here reaches the host).
    struct mount_attr attr {};
    attr.propagation = MS_PRIVATE;
    if (::syscall(SYS_mount_setattr, view.run.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
        return errno_error("run directory view: make it private");
    auto fs_at = dir_beneath(view.run.get(), "fs");
    if (!fs_at.ok()) return fs_at.error();
    PN_TRY(attach_mount(view.stores.get(), fs_at->get(), kContext, "the layer stores"), "");
    auto ns_at = dir_beneath(view.run.get(), "ns");
    if (!ns_at.ok()) return ns_at.error();
    auto cover = empty_cover();
    if (!cover.ok()) return cover.error();
    return attach_mount(cover->get(), ns_at->get(), kContext, "the cover of ns/");
}

bool is_run_view(const std::string& rundir) {
    struct stat run {};
    struct stat ns {};
    return ::stat(rundir.c_str(), &run) == 0 && ::stat((rundir + "/ns").c_str(), &ns) == 0 &&
           run.st_dev != ns.st_dev;
}

}  // namespace personalnet::fs
