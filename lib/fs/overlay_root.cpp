#include "lib/fs/overlay_root.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/fs/mount_table.hpp"

namespace personalnet::fs {

namespace {

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

// lowerdir for the file system mounted at point ("/" for the root): the ancestors'
// layers that have one for it, nearest first, then the real one.
std::string lower_dirs(const RootLayers& layers, const std::string& point) {
    std::string lower;
    for (const auto& p : layers.parents) {
        std::string dir = point == "/" ? p + "/upper" : p + "/mounts/" + mount_key(point) + "/upper";
        if (point == "/" || exists(dir)) lower += dir + ":";
    }
    std::string real = layers.base == "/" ? point : (point == "/" ? layers.base : layers.base + point);
    return lower + real;
}

std::string union_options(const RootLayers& layers, const std::string& point) {
    std::string own = point == "/" ? layers.layer : layers.layer + "/mounts/" + mount_key(point);
    return "lowerdir=" + lower_dirs(layers, point) + ",upperdir=" + own + "/upper,workdir=" + own + "/work" +
           (layers.throwaway && layers.backend == Backend::kernel ? ",volatile" : "");
}

struct Plan {
    std::vector<std::string> cow;   // file systems that get a union of their own
    std::vector<std::string> live;  // subtrees bound live, recursively
};

// What to do with each mount of the caller's namespace. Copy-on-write candidates come
// from the real root tree (the base), so that a nested file space stacks on the real
// file systems rather than on its parent's unions; live ones from the caller's tree.
Result<Plan> plan_mounts(const RootLayers& layers) {
    auto table = read_mount_table();
    if (!table.ok()) return table.error();
    Plan plan;
    bool nested = layers.base != "/";
    for (const auto& m : table.value()) {
        if (nested && path_is_under(m.point, layers.base)) {
            std::string point = m.point.substr(layers.base.size());
            if (point.empty() || path_is_under(point, layers.rundir) || is_live_mount({point, m.fstype}))
                continue;
            plan.cow.push_back(point);
            continue;
        }
        if (path_is_under(m.point, layers.rundir)) continue;  // bound as a whole below
        if (is_live_mount(m)) {
            bool covered = std::any_of(plan.live.begin(), plan.live.end(),
                                       [&](const std::string& o) { return path_is_under(m.point, o); });
            if (!covered) plan.live.push_back(m.point);
        } else if (!nested && m.point != "/") {
            plan.cow.push_back(m.point);
        }
    }
    return plan;
}

Status mount_unions(const RootLayers& layers, const std::string& staging, const Plan& plan) {
    for (const auto& point : plan.cow) {
        std::string own = layers.layer + "/mounts/" + mount_key(point);
        PN_TRY(sys::make_dirs(own + "/upper", 0755), "overlay root: layer for " + point);
        PN_TRY(sys::make_dirs(own + "/work", 0700), "overlay root: layer for " + point);
        std::string opts = union_options(layers, point);
        PN_TRY(check_layer_path(own, "layer"), "overlay root");
        if (opts.size() >= 4096)
            return make_error(EINVAL, "overlay root: layer list for " + point + " too long");
        if (::mount("overlay", (staging + point).c_str(), "overlay", 0, opts.c_str()) != 0) {
            if (errno == ENOENT) continue;  // the mount point was deleted in this file space
            return errno_error("overlay root: mount a union on " + point);
        }
    }
    return {};
}

Status bind_live(const RootLayers& layers, const std::string& staging, const Plan& plan) {
    bool took_rundir = false;
    for (const auto& point : plan.live) {
        if (::mount(point.c_str(), (staging + point).c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            if (errno == ENOENT) continue;
            return errno_error("overlay root: bind " + point);
        }
        took_rundir = took_rundir || path_is_under(layers.rundir, point);
    }
    // A live tree holding the run directory brought a copy of it (and of this union's
    // staging mount): the peer bound later replaces it.
    if (took_rundir) (void)::umount2((staging + layers.rundir).c_str(), MNT_DETACH);
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
    return {};
}

Status attach(int tree, const std::string& target, const std::string& what) {
    if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return errno_error("overlay root: attach " + what + " on " + target);
    return {};
}

// Hidden directories are covered after pivot_root, so that symbolic links on the way
// (/var/run -> /run) resolve inside the new root, never in the old one.
Status hide(const std::vector<std::string>& dirs) {
    for (const auto& dir : dirs) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (::mount("personalnet-hidden", dir.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    "mode=0755,size=4k") != 0)
            return errno_error("overlay root: hide " + dir);
    }
    return {};
}

Status check_paths(const RootLayers& layers) {
    PN_TRY(check_layer_path(layers.layer, "layer directory"), "overlay root");
    PN_TRY(check_layer_path(layers.base, "base"), "overlay root");
    for (const auto& p : layers.parents) PN_TRY(check_layer_path(p, "parent layer"), "overlay root");
    return {};
}

Status check_layers(const RootLayers& layers) {
    PN_TRY(check_paths(layers), "");
    PN_TRY(check_layer_path(layers.rundir, "run directory"), "overlay root");
    for (const auto& dir : layers.shared) PN_TRY(check_layer_path(dir, "shared directory"), "overlay root");
    if (layers.backend == Backend::fuse) return {};
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
    return {};
}

}  // namespace

Result<std::string> overlay_options(const RootLayers& layers) {
    PN_TRY(check_paths(layers), "");
    std::string opts = union_options(layers, "/");
    if (opts.size() >= 4096) return make_error(EINVAL, "overlay root: layer list longer than one page");
    return opts;
}

Result<pid_t> start_fuse_root(const RootLayers& layers, int netns) {
    PN_TRY(check_layers(layers), "");
    auto opts = overlay_options(layers);
    if (!opts.ok()) return opts.error();
    std::string staging = layers.layer + "/root";
    int err[2], report[2];
    if (::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0)
        return errno_error("fuse-overlayfs: pipe");
    UniqueFd err_rd(err[0]), err_wr(err[1]), report_rd(report[0]), report_wr(report[1]);
    std::string options = opts.value() + ",noacl";
    const char* argv[] = {"fuse-overlayfs", "-f", "-o", options.c_str(), staging.c_str(), nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};
    // Started in the foreground through an intermediate process that exits at once, so
    // that we know its pid and it belongs to no session or process of ours.
    pid_t mid = ::fork();
    if (mid < 0) return errno_error("fuse-overlayfs: fork");
    if (mid == 0) {
        ::setsid();
        pid_t daemon = ::fork();
        if (daemon == 0) {
            if (::setns(netns, CLONE_NEWNET) != 0) ::_exit(126);
            int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(err_wr.get(), 2);
            sys::close_fds_from(3, -1);
            ::signal(SIGPIPE, SIG_IGN);  // its stderr pipe is closed once it runs
            ::execve(kFuseOverlayfs, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
            ::_exit(127);
        }
        (void)!::write(report_wr.get(), &daemon, sizeof daemon);
        ::_exit(0);
    }
    err_wr.reset();
    report_wr.reset();
    int status = 0;
    while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t daemon = -1;
    if (::read(report_rd.get(), &daemon, sizeof daemon) != sizeof daemon || daemon <= 0)
        return make_error(EIO, "fuse-overlayfs: could not start it");
    UniqueFd watch = sys::pidfd_of(daemon);
    if (!watch.valid()) return errno_error("fuse-overlayfs: watch its process");
    for (int waited = 0; waited < 5000; ++waited) {
        if (sys::is_mountpoint(staging)) return daemon;
        if (sys::wait_exit(watch.get(), 1)) break;  // it exited
    }
    ::kill(daemon, SIGKILL);
    std::string why;
    char buf[512];
    ::fcntl(err_rd.get(), F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = ::read(err_rd.get(), buf, sizeof buf)) > 0;) why.append(buf, static_cast<size_t>(n));
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    if (why.empty()) why = "it did not mount within 5 s";
    return make_error(EIO, "fuse-overlayfs failed on " + staging + ": " + why);
}

Status enter_overlay_root(const RootLayers& layers) {
    PN_TRY(check_layers(layers), "");
    auto opts = overlay_options(layers);
    if (!opts.ok()) return opts.error();
    std::string staging = layers.layer + "/root";
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return errno_error("overlay root: read working directory");
    auto plan = plan_mounts(layers);
    if (!plan.ok()) return plan.error().wrap("overlay root");

    // Cloned before unsharing: the copy of a shared mount joins its peer group, so pins
    // made under the run directory inside show outside, and the other way round.
    UniqueFd run(static_cast<int>(
        ::open_tree(AT_FDCWD, layers.rundir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
    if (!run.valid()) return errno_error("overlay root: clone the run directory " + layers.rundir);

    if (::unshare(CLONE_NEWNS) != 0) return errno_error("overlay root: unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return errno_error("overlay root: make / a slave");
    UniqueFd base;
    if (layers.expose_base) {
        base.reset(
            static_cast<int>(::open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
        if (!base.valid()) return errno_error("overlay root: clone the real root");
    }
    if (layers.backend == Backend::kernel) {
        if (::mount("overlay", staging.c_str(), "overlay", 0, opts->c_str()) != 0)
            return errno_error("overlay root: mount a union on " + staging);
        PN_TRY(mount_unions(layers, staging, plan.value()), "");
    }
    PN_TRY(bind_live(layers, staging, plan.value()), "");
    // Under a private /tmp the run directory needs its mount point made there.
    PN_TRY(sys::make_dirs(staging + layers.rundir, 0755), "overlay root: run directory");
    PN_TRY(attach(run.get(), staging + layers.rundir, "the run directory"), "");
    if (base.valid()) PN_TRY(attach(base.get(), staging + layers.rundir + "/base", "the real root"), "");

    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then
    // drops it without needing a directory to park it in.
    if (::chdir(staging.c_str()) != 0) return errno_error("overlay root: enter " + staging);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno_error("overlay root: pivot_root");
    if (::umount2(".", MNT_DETACH) != 0) return errno_error("overlay root: detach the old root");
    if (::chdir("/") != 0) return errno_error("overlay root: chdir /");
    PN_TRY(hide(layers.hidden), "");
    if (::chdir(cwd) != 0) (void)::chdir("/");
    return {};
}

}  // namespace personalnet::fs
