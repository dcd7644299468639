#include "lib/fs/store.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"

namespace personalnet::fs {

namespace {

constexpr const char* kMkfs = "/usr/sbin/mkfs.ext4";
constexpr const char* kE2fsck = "/usr/sbin/e2fsck";
constexpr const char* kResize2fs = "/usr/sbin/resize2fs";
constexpr uint64_t kSmallImage = 512ULL << 20;
constexpr unsigned kLoopMajor = 7;
constexpr size_t kMaxStderr = 2000;

// The device of the file system mounted exactly on path, if any: a mount's root is on
// another device than the directory it covers, which path/.. reaches across the mount.
std::optional<dev_t> mounted_device(const std::string& path) {
    struct stat here {};
    struct stat parent {};
    if (::lstat(path.c_str(), &here) != 0 || ::stat((path + "/..").c_str(), &parent) != 0) return {};
    if (here.st_dev == parent.st_dev) return {};
    return here.st_dev;
}

// The file behind a loop device (its /sys/block directory), as the kernel shows it; ""
// for any other device.
std::string backing_file(const std::string& sysdir) {
    auto text = sys::read_file(sysdir + "/loop/backing_file");
    if (!text.ok()) return "";
    std::string s = std::move(text).value();
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

std::string backing_file(dev_t dev) {
    return backing_file("/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev)));
}

// Runs tool (mkfs.ext4, e2fsck, resize2fs) with args on the open image, named
// /proc/self/fd/3 in the child so that no path is looked up again. An exit status up to
// max_ok is success (e2fsck -p: 1 = errors corrected). stderr comes back in the error.
Status run_e2fs(const char* tool, const std::vector<const char*>& args, int image_fd, int max_ok = 0) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd err_rd(p[0]), err_wr(p[1]);
    sys::SpawnOptions o;
    o.what = std::string("run ") + tool;
    o.program = tool;
    o.argv.assign(args.begin(), args.end());
    o.argv.insert(o.argv.begin(), tool);
    o.argv.emplace_back("/proc/self/fd/3");
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.stdio = sys::SpawnOptions::Stdio::null;
    o.fds = {{err_wr.get(), 2}, {image_fd, 3}};
    auto pid = sys::spawn(o);
    err_wr.reset();
    if (!pid.ok()) return pid.error();
    std::string err = sys::read_to_eof(err_rd.get(), kMaxStderr);
    int status = sys::wait_child(pid.value());
    if (WIFEXITED(status) && WEXITSTATUS(status) <= max_ok) return {};
    std::replace(err.begin(), err.end(), '\n', ' ');
    while (!err.empty() && (err.back() == ' ' || err.back() == '\t')) err.pop_back();
    std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "status " + std::to_string(status);
    return make_error(EIO, std::string(tool) + " failed (" + how + ")" + (err.empty() ? "" : ": " + err));
}

// Formats the image. Below 512 MiB mke2fs would pick its "small" type (1 KiB blocks, an
// inode per 4 KiB), which grows badly: a 32 MiB image grown to 64 GiB would spend 4 GiB on
// inode tables. The default type keeps 4 KiB blocks and an inode per 16 KiB at any size.
Status run_mkfs(int image_fd, uint64_t size_bytes) {
    std::vector<const char*> args{
        "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", "-L", "personalnet"};
    if (size_bytes < kSmallImage) args.insert(args.end(), {"-T", "default"});
    return run_e2fs(kMkfs, args, image_fd);
}

// Grows the file system in the image to spec.size_bytes when it is smaller: the image is
// not mounted (the caller holds its lock and no loop device is bound to it). Checked
// first: resize2fs wants a freshly checked file system. The size is read from the
// superblock, not the file's, so that a growth that failed half-way is done again.
Status grow_image(int image_fd, const StoreSpec& spec) {
    if (!spec.grow) return {};
    auto have = image_fs_size(image_fd);
    if (!have.ok()) return have.error().wrap("image " + spec.image);
    if (have.value() >= spec.size_bytes) return {};
    const std::string what = "grow image " + spec.image + " from " + std::to_string(have.value()) + " to " +
                             std::to_string(spec.size_bytes) + " bytes";
    if (spec.size_bytes > static_cast<uint64_t>(INT64_MAX))
        return make_error(EINVAL, what + ": size too large");
    struct stat st {};
    if (::fstat(image_fd, &st) != 0) return errno_error(what + ": stat");
    if (static_cast<uint64_t>(st.st_size) < spec.size_bytes &&
        ::ftruncate(image_fd, static_cast<off_t>(spec.size_bytes)) != 0)
        return errno_error(what + ": extend");
    PN_TRY(run_e2fs(kE2fsck, {"-f", "-p"}, image_fd, 1), what);
    PN_TRY(run_e2fs(kResize2fs, {}, image_fd), what);
    if (::fsync(image_fd) != 0) return errno_error(what + ": sync");
    return {};
}

// A new image: an unnamed file (O_TMPFILE) is sized and formatted first and linked in
// under name only when complete, so a failed mkfs or a crash leaves nothing behind, and a
// racing creator's image is never overwritten (linkat fails with EEXIST). The caller
// opens it by name afterwards: a loop device's backing_file is the path of the open file,
// and this one's would stay "DIR/#INODE (deleted)".
Status create_image(int dir, const std::string& name, const StoreSpec& spec) {
    const std::string& image = spec.image;
    if (spec.size_bytes > static_cast<uint64_t>(INT64_MAX))
        return make_error(EINVAL, "create image " + image + ": size too large");
    UniqueFd fd(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid()) return errno_error("create image " + image);
    if (::fchown(fd.get(), 0, 0) != 0 || ::fchmod(fd.get(), 0600) != 0)
        return errno_error("set owner and mode of image " + image);
    if (::ftruncate(fd.get(), static_cast<off_t>(spec.size_bytes)) != 0)
        return errno_error("size image " + image);
    PN_TRY(run_mkfs(fd.get(), spec.size_bytes), "format image " + image);
    // The image holds layers that must survive a reboot: on disk before it has a name.
    if (::fsync(fd.get()) != 0) return errno_error("sync image " + image);
    if (::linkat(fd.get(), "", dir, name.c_str(), AT_EMPTY_PATH) != 0)
        return errno_error("link image " + image);
    if (::fsync(dir) != 0) return errno_error("sync the directory of image " + image);
    return {};
}

// An existing image. O_NOFOLLOW: a symlink in its place fails with ELOOP, not followed.
// Only root could have put a device or FIFO there (the directory is trusted), so opening
// before the type check is safe.
Result<UniqueFd> open_image(int dir, const std::string& name, const std::string& image) {
    UniqueFd fd(::openat(dir, name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open image " + image);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error("stat image " + image);
    if (!S_ISREG(st.st_mode)) return make_error(EPERM, "image " + image + " is not a regular file");
    if (st.st_uid != 0)
        return make_error(EPERM,
                          "image " + image + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return make_error(EPERM, "image " + image + " is writable by group or others");
    return fd;
}

// The trusted directory of the image, opened, and the image's name in it.
Result<std::pair<UniqueFd, std::string>> open_image_dir(const std::string& image) {
    size_t slash = image.rfind('/');
    std::string name = slash == std::string::npos ? "" : image.substr(slash + 1);
    if (image.empty() || image[0] != '/' || name.empty() || name == "." || name == "..")
        return make_error(EINVAL, "image '" + image + "' is not an absolute path of a file");
    std::string dir_path = slash == 0 ? "/" : image.substr(0, slash);
    PN_TRY(sys::check_trusted_path(dir_path), "image " + image);
    // Trusted: only root can change what this path leads to since the check.
    UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return errno_error("open " + dir_path);
    return std::pair{std::move(dir), name};
}

Result<UniqueFd> open_or_create_image(const StoreSpec& spec) {
    const std::string& image = spec.image;
    auto dir = open_image_dir(image);
    if (!dir.ok()) return dir.error();
    const auto& [dir_fd, name] = dir.value();
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto fd = open_image(dir_fd.get(), name, image);
        if (fd.ok() || fd.error().code != ENOENT || !spec.create) return fd;
        auto made = create_image(dir_fd.get(), name, spec);
        // EEXIST: another process linked its image in first; use that one.
        if (!made.ok() && made.error().code != EEXIST) return made.error();
    }
    return make_error(EAGAIN, "image " + image + " keeps appearing and disappearing");
}

// The loop device node; a fresh device may have none yet (a static /dev without devtmpfs).
Result<UniqueFd> open_loop(int number) {
    std::string dev = "/dev/loop" + std::to_string(number);
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0) return UniqueFd(fd);
        if (errno != ENOENT || attempt > 0) break;
        if (::mknod(dev.c_str(), S_IFBLK | 0600, makedev(kLoopMajor, number)) != 0 && errno != EEXIST)
            return errno_error("create " + dev);
    }
    return errno_error("open " + dev);
}

struct Loop {
    UniqueFd fd;
    std::string dev;
};

// Binds image_fd to a free loop device, set to clear itself on its last close.
Result<Loop> attach(int image_fd, const std::string& image) {
    UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!ctl.valid()) return errno_error("open /dev/loop-control");
    struct loop_config cfg {};
    cfg.fd = static_cast<uint32_t>(image_fd);
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::memcpy(cfg.info.lo_file_name, image.data(),
                std::min(image.size(), sizeof cfg.info.lo_file_name - 1));
    for (int attempt = 0; attempt < 16; ++attempt) {
        int number = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
        if (number < 0) return errno_error("find a free loop device");
        auto fd = open_loop(number);
        // ENXIO: removed by someone else in between.
        if (!fd.ok() && fd.error().code == ENXIO) continue;
        if (!fd.ok()) return fd.error();
        Loop loop{std::move(fd).value(), "/dev/loop" + std::to_string(number)};
        if (::ioctl(loop.fd.get(), LOOP_CONFIGURE, &cfg) == 0) return loop;
        // EBUSY: another process bound it between LOOP_CTL_GET_FREE and LOOP_CONFIGURE.
        if (errno != EBUSY) return errno_error("attach image " + image + " to " + loop.dev);
    }
    return make_error(EBUSY, "attach image " + image + ": every free loop device was taken by others");
}

// "discard": ext4 hands the blocks of deleted files to the loop device when its journal
// commits, which punches holes in the image, so removed layers give their space back to
// the host as they go (a FITRIM per release held the registry lock for ~100 ms).
Status mount_ext4(const std::string& dev, const std::string& mountpoint) {
    if (::mount(dev.c_str(), mountpoint.c_str(), "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
                "errors=remount-ro,discard") != 0)
        return errno_error("mount " + dev);
    return {};
}

// mount_bound_loop's error when no loop device is bound to the image, and how long
// mount_store waits for one being cleared to let the image go (up to 2 s).
constexpr int kNoLoopBound = EBUSY;
constexpr int kClearWaits = 200;
constexpr useconds_t kClearWaitUs = 10000;

// Mounts the loop device that is still bound to the image: its earlier mount was
// detached, but a copy of it lives on in another mount namespace. Mounting that device
// again gives the same ext4 instance.
Status mount_bound_loop(const StoreSpec& spec) {
    auto names = sys::list_dir("/sys/block");
    if (!names.ok()) return names.error();
    for (const auto& n : names.value()) {
        if (n.compare(0, 4, "loop") != 0 || backing_file("/sys/block/" + n) != spec.image) continue;
        auto fd = open_loop(std::atoi(n.c_str() + 4));
        if (!fd.ok()) continue;
        // Held open, it can no longer be cleared and bound to another file: ours still?
        if (backing_file("/sys/block/" + n) != spec.image) continue;
        return mount_ext4("/dev/" + n, spec.mountpoint);
    }
    return make_error(EBUSY, "image " + spec.image + " is locked, but no loop device is bound to it");
}

}  // namespace

bool store_mounted(const StoreSpec& spec) {
    auto dev = mounted_device(spec.mountpoint);
    return dev && !spec.image.empty() && backing_file(*dev) == spec.image;
}

Status mount_store(const StoreSpec& spec) {
    const std::string what = "mount layer store " + spec.image + " on " + spec.mountpoint;
    if (spec.image.empty()) return make_error(EINVAL, what + ": no image");
    if (store_mounted(spec)) return {};
    if (mounted_device(spec.mountpoint))
        return make_error(EBUSY, what + ": another file system is mounted there");
    PN_TRY(sys::check_trusted_path(spec.mountpoint), what);
    auto image = open_or_create_image(spec);
    if (!image.ok()) return image.error().wrap(what);
    // Two loop devices on one image would be two ext4 instances writing the same blocks.
    // The lock goes with the open file into the loop device and lasts as long as it does.
    // Locked with no loop device bound to it: one is being cleared (its last mount went,
    // and AUTOCLEAR unbinds the backing file before it lets the file go), which takes a few
    // milliseconds; a destroy right after another space's release unmounted the store met
    // it (CI). Then the lock is free again, or it is another binding's.
    for (int tries = 0;; ++tries) {
        if (::flock(image->get(), LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK) return errno_error(what + ": lock image");
        auto bound = mount_bound_loop(spec);
        if (bound.ok()) return {};
        if (bound.error().code != kNoLoopBound || tries == kClearWaits) return bound.error().wrap(what);
        ::usleep(kClearWaitUs);
    }
    PN_TRY(grow_image(image->get(), spec), what);
    auto loop = attach(image->get(), spec.image);
    if (!loop.ok()) return loop.error().wrap(what);
    auto st = mount_ext4(loop->dev, spec.mountpoint);
    if (!st.ok()) {
        (void)::ioctl(loop->fd.get(), LOOP_CLR_FD);
        return st.error().wrap(what);
    }
    // The mount holds the loop device now; with AUTOCLEAR it is freed when that goes.
    return {};
}

Status unmount_store(const std::string& mountpoint) {
    if (::umount2(mountpoint.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return {};
    if (errno == EINVAL || errno == ENOENT) return {};  // nothing mounted there, or no such directory
    return errno_error("unmount layer store on " + mountpoint);
}

Status remove_image(const StoreSpec& spec) {
    const std::string what = "remove layer store image " + spec.image;
    if (store_mounted(spec)) return make_error(EBUSY, what + ": mounted on " + spec.mountpoint);
    auto dir = open_image_dir(spec.image);
    if (!dir.ok()) return dir.error().wrap(what);
    const auto& [dir_fd, name] = dir.value();
    if (::unlinkat(dir_fd.get(), name.c_str(), 0) != 0) {
        if (errno == ENOENT) return {};
        return errno_error(what);
    }
    if (::fsync(dir_fd.get()) != 0) return errno_error(what + ": sync its directory");
    return {};
}

Status trim_store(const std::string& mountpoint) {
    const std::string what = "give the free space of the layer store on " + mountpoint + " back";
    UniqueFd fd(::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error(what);
    if (::syncfs(fd.get()) != 0) return errno_error(what + ": syncfs");
    struct fstrim_range range {};
    range.len = UINT64_MAX;
    if (::ioctl(fd.get(), FITRIM, &range) != 0) {
        if (errno == EOPNOTSUPP || errno == ENOTTY) return {};
        return errno_error(what + ": FITRIM");
    }
    return {};
}

Result<uint64_t> image_fs_size(int image_fd) {
    // The ext4 superblock, at byte 1024: s_blocks_count_lo at 0x4, s_log_block_size at
    // 0x18, s_magic at 0x38, s_feature_incompat at 0x60, s_blocks_count_hi at 0x150.
    unsigned char sb[1024];
    errno = 0;
    if (::pread(image_fd, sb, sizeof sb, 1024) != static_cast<ssize_t>(sizeof sb))
        return errno != 0 ? errno_error("read the superblock")
                          : make_error(EIO, "read the superblock: short");
    auto le32 = [&](size_t at) {
        return static_cast<uint32_t>(sb[at]) | static_cast<uint32_t>(sb[at + 1]) << 8 |
               static_cast<uint32_t>(sb[at + 2]) << 16 | static_cast<uint32_t>(sb[at + 3]) << 24;
    };
    if (sb[0x38] != 0x53 || sb[0x39] != 0xEF) return make_error(EINVAL, "not an ext4 file system");
    constexpr uint32_t kIncompat64bit = 0x80;
    uint64_t blocks = le32(0x4);
    if ((le32(0x60) & kIncompat64bit) != 0) blocks |= static_cast<uint64_t>(le32(0x150)) << 32;
    uint32_t log = le32(0x18);
    if (log > 6) return make_error(EINVAL, "ext4 superblock: block size 2^" + std::to_string(10 + log));
    return blocks << (10 + log);
}

}  // namespace personalnet::fs
