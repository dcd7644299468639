#include "lib/fs/overlay_root.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/beneath.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/fs/detached_mount.hpp"
#include "lib/fs/mount_table.hpp"
#include "lib/fs/run_view.hpp"

namespace personalnet::fs {

namespace {

constexpr const char* kContext = "overlay root";  // of the errors of a clone or attach

constexpr const char* kFuseOverlayfs = "/usr/bin/fuse-overlayfs";

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

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// A real mount point as one entry of overlayfs's lowerdir: ':' separates layers, ','
// options, and '\\' escapes either (the same rule on Linux 6.1 and later). Mount points
// come from the mount table, where a user's own mount may carry any name.
std::string escape_layer(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == ':' || c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

// lowerdir for the file system mounted at point ("/" for the root): the ancestors'
// layers that have one for it, nearest first, then the real one.
std::string lower_dirs(const RootLayers& layers, const std::string& point) {
    std::string lower;
    for (const auto& p : layers.parents) {
        std::string dir = point == "/" ? p + "/upper" : p + "/mounts/" + mount_key(point) + "/upper";
        if (point == "/" || exists(dir)) lower += dir + ":";
    }
    return lower + escape_layer(point);
}

std::string union_options(const RootLayers& layers, const std::string& point) {
    std::string own = point == "/" ? layers.layer : layers.layer + "/mounts/" + mount_key(point);
    return "lowerdir=" + lower_dirs(layers, point) + ",upperdir=" + own + "/upper,workdir=" + own + "/work" +
           (layers.throwaway && layers.backend == Backend::kernel ? ",volatile" : "");
}

struct Plan {
    std::vector<MountEntry> table;  // the mount table it was made from
    std::vector<std::string> cow;   // file systems that get a union of their own
    std::vector<std::string> live;  // subtrees bound live, recursively
};

// What to do with each mount of the (trusted) namespace the union is assembled in.
Result<Plan> plan_mounts(const RootLayers& layers) {
    auto table = read_mount_table();
    if (!table.ok()) return table.error();
    Plan plan;
    plan.table = table.value();
    for (const auto& m : table.value()) {
        if (m.user_mount || path_is_under(m.point, layers.rundir))
            continue;  // the run directory: bound whole below
        if (is_live_mount(m)) {
            bool covered = std::any_of(plan.live.begin(), plan.live.end(),
                                       [&](const std::string& o) { return path_is_under(m.point, o); });
            if (!covered) plan.live.push_back(m.point);
        } else if (m.point != "/") {
            plan.cow.push_back(m.point);
        }
    }
    return plan;
}

// The mount point for point inside the union (root: the union's root), by descriptor;
// nullopt when the union has no directory there that is reached without a symbolic link
// (the owner removed or replaced it in this file space: the mount is left out).
std::optional<UniqueFd> mount_point(int root, const std::string& point) {
    auto fd = sys::open_beneath(root, point, O_PATH | O_DIRECTORY);
    if (!fd.ok()) return std::nullopt;
    return std::move(fd).value();
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Status mount_unions(const RootLayers& layers, int root, const Plan& plan) {
    for (const auto& point : plan.cow) {
        std::string own = layers.layer + "/mounts/" + mount_key(point);
        PN_TRY(sys::make_dirs(own + "/upper", 0755), "overlay root: layer for " + point);
        PN_TRY(sys::make_dirs(own + "/work", 0700), "overlay root: layer for " + point);
        std::string opts = union_options(layers, point);
        PN_TRY(check_layer_path(own, "layer"), "overlay root");
        if (opts.size() >= 4096)
            return make_error(EINVAL, "overlay root: layer list for " + point + " too long");
        auto target = mount_point(root, point);
        if (!target) continue;
        if (::mount("overlay", fd_path(target->get()).c_str(), "overlay", 0, opts.c_str()) != 0)
            return errno_error("overlay root: mount a union on " + point);
    }
    return {};
}

// Switches the file-system identity (fsuid, fsgid, groups) to the owner's and back:
// path lookups and permission checks are then the owner's, not root's.
class AsOwner {
public:
    explicit AsOwner(const RootLayers& l) : active_(l.owner != 0) {
        if (!active_) return;
        ok_ = ::setgroups(l.owner_groups.size(), l.owner_groups.data()) == 0;
        ::setfsgid(l.owner_gid);
        ::setfsuid(l.owner);
        ok_ = ok_ && static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) == l.owner &&
              static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) == l.owner_gid;
    }
    AsOwner(const AsOwner&) = delete;
    AsOwner& operator=(const AsOwner&) = delete;
    ~AsOwner() {
        if (!active_) return;
        ::setfsuid(0);
        ::setfsgid(0);
        (void)::setgroups(0, nullptr);
    }
    bool ok() const { return ok_; }

private:
    bool active_;
    bool ok_ = true;
};

// Each shared directory, opened with the owner's rights without following a symbolic
// link, and cloned: what is bound is exactly the directory at the path the policy was
// checked against, and one the owner can open.
Result<std::vector<UniqueFd>> clone_shares(const RootLayers& layers, const std::vector<MountEntry>& table) {
    std::vector<UniqueFd> out;
    for (const auto& dir : layers.shared) {
        // A user's FUSE daemon may never answer (stopped, or on purpose): what lies on one
        // is not looked up at all while the space is made.
        for (const auto& m : table)
            if (m.user_mount && path_is_under(dir, m.point))
                return make_error(
                    EPERM, "share '" + dir + "': on a FUSE file system a user mounted (" + m.point + ")");
        Result<UniqueFd> fd = make_error(EPERM, "");
        {
            AsOwner as(layers);
            if (!as.ok())
                return make_error(EPERM, "overlay root: share " + dir + ": cannot take the owner's rights");
            UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
            fd = root.valid() ? sys::open_beneath(root.get(), dir, O_PATH | O_DIRECTORY)
                              : Result<UniqueFd>(errno_error("open /"));
        }
        if (!fd.ok())
            return make_error(fd.error().code, "share '" + dir +
                                                   "': not a directory its owner can open without "
                                                   "following a symbolic link (" +
                                                   std::string(::strerrordesc_np(fd.error().code)) + ")");
        char real[PATH_MAX + 1] = {};
        ssize_t n = ::readlink(fd_path(fd->get()).c_str(), real, PATH_MAX);
        if (n <= 0 || std::string(real, static_cast<size_t>(n)) != dir)
            return make_error(EAGAIN, "share '" + dir + "': moved while the space was made");
        auto tree =
            clone_mount(fd->get(), "", AT_RECURSIVE | AT_EMPTY_PATH, kContext, "shared directory " + dir);
        if (!tree.ok()) return tree.error();
        out.push_back(std::move(tree).value());
    }
    return out;
}

Status bind_live(const RootLayers& layers, int root, const Plan& plan, std::vector<UniqueFd>& shares) {
    bool took_rundir = false;
    for (const auto& point : plan.live) {
        auto target = mount_point(root, point);
        if (!target) continue;
        // Live trees are the trusted namespace's own (kernel interfaces, /run): by path.
        auto tree = clone_mount(AT_FDCWD, point.c_str(), AT_RECURSIVE, kContext, point);
        if (!tree.ok()) {
            if (tree.error().code == ENOENT) continue;
            return tree.error();
        }
        PN_TRY(attach_mount(tree->get(), target->get(), kContext, point), "");
        took_rundir = took_rundir || path_is_under(layers.rundir, point);
    }
    // A live tree holding the run directory brought a copy of it (and of this union's
    // staging mount): the peer attached later replaces it.
    if (took_rundir) {
        if (auto copy = mount_point(root, layers.rundir))
            (void)::umount2(fd_path(copy->get()).c_str(), MNT_DETACH);
    }
    if (!layers.tmp_dir.empty()) {
        auto target = sys::make_dirs_beneath(root, "/tmp", 01777);
        if (!target.ok()) return target.error().wrap("overlay root: private /tmp");
        auto tree = clone_mount(AT_FDCWD, layers.tmp_dir.c_str(), AT_RECURSIVE, kContext,
                                "private /tmp " + layers.tmp_dir);
        if (!tree.ok()) return tree.error();
        PN_TRY(attach_mount(tree->get(), target->get(), kContext, "private /tmp"), "");
    }
    for (size_t i = 0; i < layers.shared.size(); ++i) {
        const std::string& dir = layers.shared[i];
        // A shared directory under a private /tmp needs its mount point made there. Made
        // by root where missing, one component at a time, never through a symbolic link.
        auto target = sys::make_dirs_beneath(root, dir, 0755);
        if (!target.ok())
            return make_error(target.error().code, "share '" + dir + "': " + target.error().message());
        PN_TRY(attach_mount(shares[i].get(), target->get(), kContext, "shared directory " + dir), "");
    }
    return {};
}

// Hidden directories are covered after pivot_root, so that symbolic links on the way
// (/var/run -> /run) resolve inside the new root, never in the old one.
Status hide(const std::vector<std::string>& dirs) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return errno_error("overlay root: open /");
    for (const auto& dir : dirs) {
        struct open_how how {};
        how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        std::string rel = dir.substr(
            dir.find_first_not_of('/') == std::string::npos ? dir.size() : dir.find_first_not_of('/'));
        UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), rel.c_str(), &how, sizeof how)));
        if (!fd.valid()) continue;
        if (::mount("personalnet-hidden", fd_path(fd.get()).c_str(), "tmpfs",
                    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k") != 0)
            return errno_error("overlay root: hide " + dir);
    }
    return {};
}

Status check_paths(const RootLayers& layers) {
    PN_TRY(check_layer_path(layers.layer, "layer directory"), "overlay root");
    for (const auto& p : layers.parents) PN_TRY(check_layer_path(p, "parent layer"), "overlay root");
    return {};
}

Status check_layers(const RootLayers& layers) {
    PN_TRY(check_paths(layers), "");
    PN_TRY(check_layer_path(layers.rundir, "run directory"), "overlay root");
    if (!layers.tmp_dir.empty()) PN_TRY(check_layer_path(layers.tmp_dir, "private /tmp"), "overlay root");
    for (const auto& dir : layers.shared) PN_TRY(check_layer_path(dir, "shared directory"), "overlay root");
    if (layers.backend == Backend::fuse) return {};
    struct stat base {};
    if (::stat("/", &base) != 0) return errno_error("overlay root: stat /");
    for (const auto& p : layers.parents) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) return errno_error("overlay root: parent layer " + p);
        if (st.st_dev == base.st_dev)
            return make_error(EXDEV,
                              "overlay root: parent layer '" + p +
                                  "' is on the root's file system (overlayfs refuses nested lower layers)");
    }
    return {};
}

}  // namespace

Result<std::string> overlay_options(const RootLayers& layers) {
    PN_TRY(check_paths(layers), "");
    std::string opts = union_options(layers, "/");
    if (opts.size() >= 4096) return make_error(EINVAL, "overlay root: layer list longer than one page");
    return opts;
}

namespace {

// Whether the mount table read from fd (a /proc/PID/mountinfo) has a mount on point.
bool mounted_at(int fd, const std::string& point) {
    std::string text;
    char buf[4096];
    if (::lseek(fd, 0, SEEK_SET) != 0) return false;
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    for (const auto& m : parse_mountinfo(text))
        if (m.point == point) return true;
    return false;
}

}  // namespace

Result<FuseLaunch> launch_fuse_root(const RootLayers& layers, int netns) {
    PN_TRY(check_layers(layers), "");
    auto opts = overlay_options(layers);
    if (!opts.ok()) return opts.error();
    FuseLaunch l;
    l.staging = layers.layer + "/root";
    int err[2];
    if (::pipe2(err, O_CLOEXEC) != 0) return errno_error("fuse-overlayfs: pipe");
    UniqueFd err_wr(err[1]);
    l.stderr_rd = UniqueFd(err[0]);
    // Not fast_ino=1, though it halved a fresh union's first exec: a root space nested in
    // a user's then missed the user's files (UnprivilegedTest.RootNestsInAUsersSpaceAcrossStores).
    // static_nlink: a directory's link count is 1 ("unknown", as find(1) takes it) instead
    // of a count that makes the daemon read the whole directory from every layer at its
    // first lookup (all of /usr/bin to exec one program from it).
    std::string options = opts.value() + ",noacl,static_nlink";
    // Started in the foreground, detached (through an intermediate process that exits at
    // once), so that we know its pid and it belongs to no session or process of ours. Never
    // in a file space: its /usr and /etc would be the owner's union.
    sys::SpawnOptions o;
    o.what = "start fuse-overlayfs";
    o.program = kFuseOverlayfs;
    o.argv = {"fuse-overlayfs", "-f", "-o", options, l.staging};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.stdio = sys::SpawnOptions::Stdio::null;
    o.fds = {{err_wr.get(), 2}};
    o.new_session = true;
    o.detach = true;
    o.ignored_signals = {SIGPIPE};  // its stderr pipe is closed once it runs
    o.netns = netns;
    o.netns_what = "join the space's network namespace";
    o.cgroup = layers.cgroup;
    if (layers.trusted_mntns >= 0) {
        o.mntns = layers.trusted_mntns;
        o.mntns_what = "join the host's mount namespace";
    }
    auto started = sys::spawn(o);
    if (!started.ok()) return started.error();
    l.pid = started.value();
    l.watch = sys::pidfd_of(l.pid);
    if (!l.watch.valid()) {
        int e = errno;
        ::kill(l.pid, SIGKILL);
        return make_error(e, "fuse-overlayfs: watch its process");
    }
    return l;
}

Result<pid_t> await_fuse_root(FuseLaunch& l) {
    // It mounts in its own mount namespace (the host's when it was started there from a
    // file space): its mount table, which poll() marks (POLLPRI) at every change after
    // the descriptor was opened, so that no change between the open and the read is lost.
    UniqueFd table(::open((sys::proc_dir(l.pid) + "/mountinfo").c_str(), O_RDONLY | O_CLOEXEC));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool exited = !table.valid();
    while (!exited) {
        if (mounted_at(table.get(), l.staging)) return l.pid;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p[2] = {{table.get(), POLLPRI, 0}, {l.watch.get(), POLLIN, 0}};
        if (::poll(p, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        exited = (p[1].revents & POLLIN) != 0;
    }
    ::kill(l.pid, SIGKILL);
    std::string why;
    char buf[512];
    ::fcntl(l.stderr_rd.get(), F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = ::read(l.stderr_rd.get(), buf, sizeof buf)) > 0;)
        why.append(buf, static_cast<size_t>(n));
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    if (why.empty()) why = exited ? "it exited before it mounted" : "it did not mount within 5 s";
    return make_error(EIO, "fuse-overlayfs failed on " + l.staging + ": " + why);
}

Result<pid_t> start_fuse_root(const RootLayers& layers, int netns) {
    auto l = launch_fuse_root(layers, netns);
    if (!l.ok()) return l.error();
    return await_fuse_root(l.value());
}

Status enter_overlay_root(const RootLayers& layers) {
    PN_TRY(check_layers(layers), "");
    auto opts = overlay_options(layers);
    if (!opts.ok()) return opts.error();
    std::string staging = layers.layer + "/root";
    // Assembled where only root decides what paths lead to: the creator's namespace, or
    // the host's when the creator runs in a file space.
    if (layers.trusted_mntns >= 0 && ::setns(layers.trusted_mntns, CLONE_NEWNS) != 0)
        return errno_error("overlay root: enter the host's mount namespace");
    if (::chdir("/") != 0) return errno_error("overlay root: chdir /");
    auto plan = plan_mounts(layers);
    if (!plan.ok()) return plan.error().wrap("overlay root");
    auto shares = clone_shares(layers, plan->table);
    if (!shares.ok()) return shares.error();

    // The space's view of the run directory, without the pins (lib/fs/run_view).
    auto run = clone_run_view(layers.rundir);
    if (!run.ok()) return run.error().wrap("overlay root");
    // fuse-overlayfs mounted the union here: it is taken along and detached where it was
    // made, so that the daemon ends with the file space.
    UniqueFd fuse;
    if (layers.backend == Backend::fuse) {
        auto tree =
            clone_mount(AT_FDCWD, staging.c_str(), AT_RECURSIVE, kContext, "the fuse-overlayfs union");
        if (!tree.ok()) return tree.error();
        fuse = std::move(tree).value();
        (void)::umount2(staging.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }

    if (::unshare(CLONE_NEWNS) != 0) return errno_error("overlay root: unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return errno_error("overlay root: make / a slave");
    if (layers.backend == Backend::kernel) {
        if (::mount("overlay", staging.c_str(), "overlay", 0, opts->c_str()) != 0)
            return errno_error("overlay root: mount a union on " + staging);
    } else {
        UniqueFd at(::open(staging.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!at.valid()) return errno_error("overlay root: open " + staging);
        PN_TRY(attach_mount(fuse.get(), at.get(), kContext, "the fuse-overlayfs union"), "");
    }
    // The union's root; everything below it is reached from here by descriptor.
    UniqueFd root(::open(staging.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return errno_error("overlay root: open the union on " + staging);
    if (layers.backend == Backend::kernel) PN_TRY(mount_unions(layers, root.get(), plan.value()), "");
    PN_TRY(bind_live(layers, root.get(), plan.value(), shares.value()), "");
    // Under a private /tmp the run directory needs its mount point made there.
    auto run_at = sys::make_dirs_beneath(root.get(), layers.rundir, 0755);
    if (!run_at.ok()) return run_at.error().wrap("overlay root: run directory");
    PN_TRY(attach_run_view(run.value(), run_at->get()), "overlay root");

    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then
    // drops it without needing a directory to park it in.
    if (::fchdir(root.get()) != 0) return errno_error("overlay root: enter " + staging);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno_error("overlay root: pivot_root");
    if (::umount2(".", MNT_DETACH) != 0) return errno_error("overlay root: detach the old root");
    if (::chdir("/") != 0) return errno_error("overlay root: chdir /");
    PN_TRY(hide(layers.hidden), "");
    return {};
}

}  // namespace personalnet::fs
