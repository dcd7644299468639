#include "lib/space/filespace.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "lib/core/beneath.hpp"
#include "lib/core/fd_passing.hpp"
#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/fs/mount_table.hpp"
#include "lib/fs/overlay_root.hpp"
#include "lib/fs/root_layers_wire.hpp"
#include "lib/fs/run_view.hpp"
#include "lib/fs/store.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/pidns.hpp"
#include "lib/space/run_mounts.hpp"

#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)  // Linux 6.8; absent from older headers
#endif

namespace personalnet::space {

namespace {

// Each owner's layers are in an image of their own (lib/fs/store), sized to what the
// owner's layers may hold (SpaceSpec::max_layer_bytes): STATEDIR/layers-UID.ext4 mounted
// on RUNDIR/fs/UID. Root's is STATEDIR/layers.ext4, the image all users shared before:
// the layers an earlier version stored there are root's to take up or remove.
std::string store_dir(const registry::Registry& reg, uid_t owner) {
    return reg.path("fs/" + std::to_string(owner));
}

fs::StoreSpec store_spec(const registry::Registry& reg, uid_t owner) {
    std::string name = owner == 0 ? "layers.ext4" : "layers-" + std::to_string(owner) + ".ext4";
    return fs::StoreSpec{reg.context().statedir + "/" + name, store_dir(reg, owner)};
}

std::string layer_dir(const registry::Registry& reg, const registry::Record& rec) {
    return store_dir(reg, rec.owner) +
           (rec.named ? "/named/" + rec.name : "/anon/" + registry::label_hex(rec.label));
}

// The owner of the store a layer directory lies in (RUNDIR/fs/UID/...).
std::optional<uid_t> store_owner(const registry::Registry& reg, const std::string& layer) {
    std::string prefix = reg.path("fs/");
    if (layer.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    size_t end = std::min(layer.find('/', prefix.size()), layer.size());
    const char* first = layer.data() + prefix.size();
    const char* last = layer.data() + end;
    uid_t uid = 0;
    if (first == last || *first < '0' || *first > '9') return std::nullopt;
    auto [ptr, ec] = std::from_chars(first, last, uid);
    if (ec != std::errc{} || ptr != last) return std::nullopt;
    return uid;
}

// The store's root is root's alone (0700): layers hold users' files, and a user who could
// reach them from the host could swap a directory in one for a link while root walks it.
Status close_store_root(const std::string& mountpoint) {
    UniqueFd root(::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!root.valid() || ::fstat(root.get(), &st) != 0) return errno_error("layer store: open " + mountpoint);
    if ((st.st_mode & 07777) != 0700 && ::fchmod(root.get(), 0700) != 0)
        return errno_error("layer store: chmod " + mountpoint);
    return {};
}

// Mounts owner's store. size_bytes: the size of a new image, and what a smaller one grows
// to at a cold mount; 0 to take the image as it is and make none (ENOENT when missing).
Status ensure_store(const registry::Registry& reg, uid_t owner, uint64_t size_bytes);

constexpr int kStoreSocketFd = 3;  // pnstore's end of the socket it answers on

// The answer of pnstore (tools/pnstore.cpp): its Status (encode_status), with the clone of
// the store's mount when it is OK. Invalid when none came back.
Status receive_store(int sock, UniqueFd& tree, const std::string& what) {
    char text[4096];
    int fd = -1;
    ssize_t n = sys::receive_with_fd(sock, text, sizeof text, &fd);
    if (n < 0) return errno_error(what + ": no answer from pnstore");
    if (fd >= 0) tree = UniqueFd(fd);
    return sys::decode_status(std::string(text, static_cast<size_t>(n)), what + ": pnstore");
}

// Root's own call from inside a file space (docs/SECURITY.md, rule 2): the store is
// mounted in the host's mount namespace, where STATEDIR is not hidden, by pnstore started
// there (it runs the library: mkfs, mount, the registry), and a clone of that mount is
// attached here, where the layer is made.
Status ensure_store_via_host(const registry::Registry& reg, uid_t owner, uint64_t size_bytes, int host) {
    const std::string what = "layer store of uid " + std::to_string(owner) + " (from the host's namespace)";
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return errno_error(what + ": socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    const Context& ctx = reg.context();
    sys::SpawnOptions o;
    o.what = what;
    o.program = ctx.libexecdir + "/pnstore";
    o.argv = {"pnstore",
              ctx.rundir,
              ctx.statedir,
              std::to_string(owner),
              std::to_string(size_bytes),
              std::to_string(kStoreSocketFd)};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.fds = {{theirs.get(), kStoreSocketFd}};
    o.mntns = host;  // pnstore is found there too: the libexec directory of the host
    o.mntns_what = "enter the host's mount namespace";
    auto pid = sys::spawn(o);
    theirs.reset();  // pnstore's end is its alone: its exit ends the answer
    if (!pid.ok()) return pid.error();
    UniqueFd tree;
    Status answer = receive_store(mine.get(), tree, what);
    int status = sys::wait_child(pid.value());
    if (!answer.ok()) return answer.error();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return make_error(EIO,
                          what + ": pnstore exited with status " + std::to_string(sys::exit_code(status)));
    if (!tree.valid()) return make_error(EIO, what + ": no mount came back");
    auto point = sys::make_trusted_dirs(store_dir(reg, owner), 0700);
    if (!point.ok()) return point.error().wrap(what);
    if (::move_mount(tree.get(), "", AT_FDCWD, store_dir(reg, owner).c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return errno_error(what + ": attach it on " + store_dir(reg, owner));
    return {};
}

Status ensure_store(const registry::Registry& reg, uid_t owner, uint64_t size_bytes) {
    fs::StoreSpec spec = store_spec(reg, owner);
    const std::string what = "layer store of uid " + std::to_string(owner);
    if (fs::store_mounted(spec)) return close_store_root(spec.mountpoint);
    auto host = host_mntns(reg);
    if (!host.ok()) return host.error().wrap(what);
    if (host->valid()) return ensure_store_via_host(reg, owner, size_bytes, host->get());
    if (size_bytes == 0) {
        if (::access(spec.image.c_str(), F_OK) != 0) return errno_error(what + ": " + spec.image);
        spec.create = spec.grow = false;
    } else {
        spec.size_bytes = size_bytes;
    }
    auto dir = sys::make_trusted_dirs(reg.context().statedir, 0755);
    if (!dir.ok()) return dir.error().wrap(what);
    auto point = sys::make_trusted_dirs(spec.mountpoint, 0700);
    if (!point.ok()) return point.error().wrap(what);
    PN_TRY(fs::mount_store(spec), what);
    PN_TRY(close_store_root(spec.mountpoint), "");
    // Made while there is room: discard_layer moves layers there, also from a full store.
    (void)sys::make_trusted_dirs(spec.mountpoint + "/trash", 0700);
    return {};
}

// Where layers live: the run directory's mounts, then owner's store on them (see
// ensure_store for size_bytes).
Status ensure_layer_mounts(const registry::Registry& reg, uid_t owner, uint64_t size_bytes) {
    PN_TRY(ensure_run_mounts(reg), "");
    // The one store of an earlier version, still mounted on RUNDIR/fs itself: it is root's
    // image now, mounted on RUNDIR/fs/0 like the others.
    fs::StoreSpec legacy = store_spec(reg, 0);
    legacy.mountpoint = reg.path("fs");
    if (fs::store_mounted(legacy)) PN_TRY(fs::unmount_store(legacy.mountpoint), "layer store");
    PN_TRY(ensure_store(reg, owner, size_bytes), "");
    return {};
}

// The stores of layers (a space's and its ancestors', which may be other owners'), as
// they are: none is made or grown.
Status ensure_stores_of(const registry::Registry& reg, const std::vector<std::string>& layers) {
    std::vector<uid_t> done;
    for (const auto& l : layers) {
        auto owner = store_owner(reg, l);
        if (!owner || std::find(done.begin(), done.end(), *owner) != done.end()) continue;
        PN_TRY(ensure_store(reg, *owner, 0), "");
        done.push_back(*owner);
    }
    return {};
}

bool empty_or_missing(const std::string& dir) {
    auto names = sys::list_dir(dir);
    return names.ok() ? names->empty() : names.error().code == ENOENT;
}

// Removes what discarded layers left in the store mounted on store (see discard_layer);
// with trim, gives the blocks back too. True when its trash is empty now.
bool empty_trash(const std::string& store, bool trim = true) {
    std::string trash = store + "/trash";
    if (auto names = sys::list_dir(trash); names.ok() && !names->empty()) {
        for (const auto& n : names.value()) (void)sys::remove_tree((trash + '/').append(n));
        if (trim) (void)fs::trim_store(store);
    }
    return empty_or_missing(trash);
}

// Unmounts owner's store when no space in the registry but except (being released) has a
// layer there, so that the owner's next creation mounts it cold (where it can grow); its
// image goes too when it holds no layer at all (a smaller limit then applies to the next),
// except root's.
// Best effort: a store left mounted is only mounted.
void release_store_if_unused(const registry::Registry& reg, uid_t owner, uint16_t except) {
    if (inside_file_space(reg)) return;  // a clone of the host's mount: it goes with the namespace
    for (uint16_t label : reg.labels()) {
        if (label == except) continue;
        auto rec = reg.load(label);
        if (!rec.ok()) {
            if (rec.error().code == ENOENT) continue;
            return;  // unreadable: it may use the store
        }
        if (rec->destroyed) continue;  // its layer is gone: only its record waits for a reaper
        for (const auto& l : rec->fs_layers)
            if (store_owner(reg, l) == owner) return;
    }
    fs::StoreSpec spec = store_spec(reg, owner);
    if (!fs::store_mounted(spec)) return;
    // What a discarded layer's union still wrote: gone now, or the store stays for gc.
    if (!empty_trash(spec.mountpoint)) return;
    bool empty = empty_or_missing(spec.mountpoint + "/named") && empty_or_missing(spec.mountpoint + "/anon");
    if (!fs::unmount_store(spec.mountpoint).ok()) return;
    (void)::rmdir(spec.mountpoint.c_str());
    // Root's image stays (its size never changes, and making it again would cost every
    // root creation a mkfs); a user's goes, so that a smaller limit applies to the next.
    if (empty && owner != 0) (void)fs::remove_image(spec);
}

}  // namespace

// release_store_if_unused for every owner's store mounted here: a store a release inside a
// file space left (root's child in a user's space) goes with the next release outside.
void release_unused_stores(const registry::Registry& reg, uint16_t except) {
    auto owners = sys::list_dir(reg.path("fs"));
    if (!owners.ok()) return;
    for (const auto& o : owners.value())
        if (auto uid = store_owner(reg, reg.path("fs/" + o))) release_store_if_unused(reg, *uid, except);
}

namespace {

std::string join_lines(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

// Writes contents as /etc/NAME of the upper layer. The upper etc/ takes the mode and
// owner of the parent's /etc, as the union shows an upper directory's own.
Status seed_etc(const std::string& upper, const char* name, const std::string& contents) {
    if (contents.empty()) return {};
    struct stat etc {};
    if (::stat("/etc", &etc) != 0) return errno_error("stat /etc");
    std::string dir = upper + "/etc";
    if (::mkdir(dir.c_str(), etc.st_mode & 07777) == 0) {
        if (::chown(dir.c_str(), etc.st_uid, etc.st_gid) != 0 ||
            ::chmod(dir.c_str(), etc.st_mode & 07777) != 0)
            return errno_error("set up " + dir);
    } else if (errno != EEXIST) {
        return errno_error("create " + dir);
    }
    PN_TRY(sys::write_atomic(dir + "/" + name, contents), std::string("seed /etc/") + name);
    return {};
}

uint64_t mntns_id_of(int fd) {
    uint64_t id = 0;
    return ::ioctl(fd, NS_GET_MNTNS_ID, &id) == 0 ? id : 0;
}

// Whether fd is rec's mount namespace: the inode matches, and the kernel's unique id
// too where the kernel has one (inodes are reused).
bool is_recorded_ns(int fd, const registry::Record& rec) {
    auto ino = sys::inode_of_fd(fd);
    return ino.ok() && ino.value() == rec.mntns && (rec.mntns_id == 0 || mntns_id_of(fd) == rec.mntns_id);
}

// The record of the file space whose mount namespace fd is, if the registry has one.
std::optional<registry::Record> recorded_file_space(const registry::Registry& reg, int fd) {
    auto ino = sys::inode_of_fd(fd);
    if (!ino.ok()) return std::nullopt;
    auto label = reg.find_mntns(ino.value());
    if (!label) return std::nullopt;
    auto rec = reg.load(*label);
    if (!rec.ok() || !rec->file_space || !is_recorded_ns(fd, rec.value())) return std::nullopt;
    return std::move(rec).value();
}

// A process running in rec's file space: its mount namespace, found through /proc.
std::optional<UniqueFd> find_live_ns(const registry::Record& rec) {
    if (rec.mntns == 0) return std::nullopt;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return std::nullopt;
    std::optional<UniqueFd> found;
    while (struct dirent* e = ::readdir(proc)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::string path = std::string("/proc/") + e->d_name + "/ns/mnt";
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || st.st_ino != rec.mntns) continue;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        UniqueFd ns(fd);
        if (!is_recorded_ns(ns.get(), rec)) continue;
        found = std::move(ns);
        break;
    }
    ::closedir(proc);
    return found;
}

constexpr std::chrono::seconds kAssembleTimeout{10};

// pnassemble's descriptors (tools/pnassemble.cpp).
constexpr int kLayersFd = 3, kReportFd = 4, kHoldFd = 5, kTrustedMntnsFd = 6;

// The union's layers for pnassemble, in a sealed memfd.
Result<UniqueFd> layers_memfd(const fs::RootLayers& layers) {
    UniqueFd fd(::memfd_create("personalnet-layers", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd.valid()) return errno_error("memfd_create");
    const std::string text = fs::encode_root_layers(layers);
    for (size_t done = 0; done < text.size();) {
        ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_error("write the union's layers");
        done += static_cast<size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
        ::lseek(fd.get(), 0, SEEK_SET) != 0)
        return errno_error("seal the union's layers");
    return fd;
}

// Runs pnassemble, which enters the union, reports, and waits until the creator holds
// its mount namespace, and takes that namespace.
Result<UniqueFd> enter_in_helper(const Context& ctx, const fs::RootLayers& layers) {
    auto spec = layers_memfd(layers);
    if (!spec.ok()) return spec.error();
    int report[2], hold[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd report_rd(report[0]), report_wr(report[1]);
    if (::pipe2(hold, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd hold_rd(hold[0]), hold_wr(hold[1]);
    sys::SpawnOptions o;
    o.what = "assemble the union";
    o.program = ctx.libexecdir + "/pnassemble";
    o.argv = {"pnassemble", std::to_string(kLayersFd), std::to_string(kReportFd), std::to_string(kHoldFd),
              layers.trusted_mntns >= 0 ? std::to_string(kTrustedMntnsFd) : "-"};
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    o.fds = {{spec->get(), kLayersFd}, {report_wr.get(), kReportFd}, {hold_rd.get(), kHoldFd}};
    if (layers.trusted_mntns >= 0) o.fds.emplace_back(layers.trusted_mntns, kTrustedMntnsFd);
    auto spawned = sys::spawn(o);
    if (!spawned.ok()) return spawned.error();
    pid_t pid = spawned.value();
    report_wr.reset();
    hold_rd.reset();
    // Bounded: the creator holds the registry lock, and a file system under the union
    // (a shared directory's) may hang; the helper is killed rather than waited for.
    std::string verdict;
    bool timed_out = true;
    for (auto deadline = std::chrono::steady_clock::now() + kAssembleTimeout;
         std::chrono::steady_clock::now() < deadline;) {
        pollfd p = {report_rd.get(), POLLIN, 0};
        int n = ::poll(&p, 1, 100);
        if (n < 0 && errno != EINTR) break;
        if (n > 0) {
            verdict = sys::read_to_eof(report_rd.get());
            timed_out = false;
            break;
        }
    }
    if (timed_out) {
        ::kill(pid, SIGKILL);
        (void)sys::wait_child(pid);
        return make_error(ETIMEDOUT, "assembling the union took more than " +
                                         std::to_string(kAssembleTimeout.count()) +
                                         " s (a hung file system under it?); refused");
    }
    auto told = sys::decode_status(verdict, "assemble the union: pnassemble");
    Result<UniqueFd> ns =
        told.ok() ? sys::open_fd(sys::proc_dir(pid) + "/ns/mnt", O_RDONLY) : Result<UniqueFd>(told.error());
    hold_wr.reset();  // lets the helper exit
    (void)sys::wait_child(pid);
    return ns;
}

constexpr const char* kOpaqueMarker = ".wh..wh..opq";  // fuse-overlayfs: an opaque directory

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

// Whether the layers below the upper one show path: the nearest layer that has an entry
// decides (a whiteout there hides it); the real file system comes last. Each layer is
// looked into by descriptor, never through a symbolic link: a user's link in a layer
// would otherwise have root tell what exists where the link leads.
bool exists_below(const std::vector<int>& lowers, int real, const std::string& path) {
    auto look = [&](int dir, struct stat& st) {
        auto fd = sys::open_beneath(dir, path, O_PATH | O_NOFOLLOW);
        return fd.ok() && ::fstat(fd->get(), &st) == 0;
    };
    for (int dir : lowers) {
        struct stat st {};
        if (look(dir, st)) return !is_whiteout(st);
    }
    struct stat st {};
    return real >= 0 && look(real, st);
}

// Opens dir (a layer directory, or the real mount point) for walking; -1 if absent.
UniqueFd open_dir(const std::string& dir) {
    return UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Changes in one upper directory; paths are reported under point. Walked by descriptor
// (lib/core/beneath): an entry the user swapped for a link while we walk is not followed.
Status walk_upper(const std::string& upper, const std::vector<std::string>& lower_paths,
                  const std::string& point, std::vector<FileChange>& out) {
    std::string prefix = point == "/" ? "" : point;
    UniqueFd top = open_dir(upper);
    if (!top.valid()) return errno_error("read the file space's layer");
    std::vector<UniqueFd> held;
    std::vector<int> lowers;
    for (const auto& l : lower_paths) {
        held.push_back(open_dir(l));
        if (held.back().valid()) lowers.push_back(held.back().get());
    }
    UniqueFd real = open_dir(point);
    auto visit = [&](int, const std::string& rel, const struct stat& st) {
        size_t slash = rel.rfind('/');
        std::string n = rel.substr(slash + 1);
        if (n == kOpaqueMarker) return false;
        // fuse-overlayfs may write a whiteout as an empty ".wh.NAME" file.
        bool wh_file = n.compare(0, 4, ".wh.") == 0;
        std::string path = wh_file ? rel.substr(0, slash + 1) + n.substr(4) : rel;
        bool below = exists_below(lowers, real.get(), path);
        if (wh_file || is_whiteout(st)) {
            if (below) out.push_back({'D', prefix + path});
            return false;
        }
        if (S_ISDIR(st.st_mode)) {
            if (!below) out.push_back({'A', prefix + path});
            return true;
        }
        out.push_back({below ? 'M' : 'A', prefix + path});
        return false;
    };
    PN_TRY(sys::walk_dir(top.get(), visit), "read the file space's layer");
    return {};
}

std::string decode_key(const std::string& key) {
    std::string out = "/";
    for (size_t i = 0; i < key.size(); ++i) {
        if (key[i] == '%' && i + 2 < key.size()) {
            out += static_cast<char>(std::strtol(key.substr(i + 1, 2).c_str(), nullptr, 16));
            i += 2;
        } else {
            out += key[i];
        }
    }
    return out;
}

// A space's fuse-overlayfs outlives neither the space's file space nor the space: it is
// stopped with the space (and checked by its command line, as pids are reused).
void stop_daemon(const registry::Record& rec) {
    if (rec.fs_daemon <= 0 || rec.fs_layers.empty()) return;
    UniqueFd watch = sys::pidfd_of(rec.fs_daemon);
    if (!watch.valid()) return;  // gone
    auto cmd = sys::read_file(sys::proc_dir(rec.fs_daemon) + "/cmdline");
    if (!cmd.ok()) return;
    // An empty command line: it is already exiting (its union is gone); wait for that.
    if (!cmd->empty()) {
        if (cmd->rfind("fuse-overlayfs", 0) != 0 ||
            cmd->find(rec.fs_layers.front() + "/root") == std::string::npos)
            return;  // the pid was reused
        // Its writes go straight to the upper layer, so nothing is lost by SIGKILL; SIGTERM
        // takes it over a second to wind down its threads.
        if (::kill(rec.fs_daemon, SIGKILL) != 0) return;
    }
    (void)sys::wait_exit(watch.get(), 2000);
}

// Moves a layer out of the way (a rename within the store) and removes it there (unless
// !remove_now: the space's reaper does, remove_discarded_layers): its name is free at once, and a
// space's processes still writing through a union that outlives the space cannot keep
// the removal from finishing. What they leave behind is removed by the next full gc
// (sweep_discarded_layers).
Status discard_layer(const std::string& dir, bool remove_now = true) {
    size_t slash = dir.rfind('/');
    size_t above = slash == std::string::npos || slash == 0 ? std::string::npos : dir.rfind('/', slash - 1);
    if (above == std::string::npos) return make_error(EINVAL, "layer '" + dir + "' is not in the store");
    std::string trash = dir.substr(0, above) + "/trash";
    auto made = sys::make_trusted_dirs(trash, 0700);
    // A full store has no block for the trash directory (ensure_store made it ahead, but
    // an earlier version's store may lack it): removed where it is.
    if (!made.ok() && made.error().code == ENOSPC) return sys::remove_tree(dir);
    if (!made.ok()) return made.error();
    static unsigned serial = 0;
    std::string target = trash + "/" + dir.substr(slash + 1) + "." + std::to_string(::getpid()) + "." +
                         std::to_string(++serial) + "." + std::to_string(::time(nullptr));
    if (::rename(dir.c_str(), target.c_str()) != 0) {
        if (errno == ENOENT) return {};
        return errno_error("move " + dir + " aside");
    }
    if (remove_now) (void)sys::remove_tree(target);  // best effort: see above
    return {};
}

// The owner's ids and groups, looked up here (in the trusted namespace, before the helper
// forks): shared directories are opened with them.
Status owner_identity(uid_t owner, fs::RootLayers& layers) {
    layers.owner = owner;
    if (owner == 0) return {};
    std::vector<char> buf(16384);
    struct passwd pw {
    }, *found = nullptr;
    if (::getpwuid_r(owner, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return make_error(ENOENT, "no user with uid " + std::to_string(owner));
    layers.owner_gid = pw.pw_gid;
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
        groups.resize(static_cast<size_t>(n));
        if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0)
            return make_error(E2BIG, "the groups of uid " + std::to_string(owner));
    }
    groups.resize(static_cast<size_t>(n));
    layers.owner_groups = std::move(groups);
    return {};
}

}  // namespace

const std::vector<std::string>& hidden_directories() {
    static const std::vector<std::string> dirs = {"/run/nscd", "/var/run/nscd", "/run/systemd/resolve",
                                                  "/run/avahi-daemon"};
    return dirs;
}

std::optional<registry::Record> caller_file_space(const registry::Registry& reg) {
    // The helper serving a process inside a file space stays in the host's namespace and
    // is told the caller's (its context's caller_mntns); anyone else asks about its own.
    Result<UniqueFd> self =
        reg.context().caller_mntns >= 0
            ? sys::open_fd("/proc/self/fd/" + std::to_string(reg.context().caller_mntns), O_RDONLY)
            : sys::open_fd("/proc/self/ns/mnt", O_RDONLY);
    if (!self.ok()) return std::nullopt;
    return recorded_file_space(reg, self->get());
}

namespace {

// Whether the mount namespace fd is one the registry recorded for a file space.
bool is_file_space_ns(const registry::Registry& reg, int fd) {
    return recorded_file_space(reg, fd).has_value();
}

// Whether process pid sees rundir through a space's view (fs::is_run_view, from its root:
// a space without a file space, whose files are the host's).
bool is_view_of(pid_t pid, const std::string& rundir) {
    auto root = sys::open_fd(sys::proc_dir(pid) + "/root", O_PATH | O_DIRECTORY);
    if (!root.ok()) return true;  // not known to hold the pins
    auto run = sys::open_beneath(root->get(), rundir, O_PATH | O_DIRECTORY);
    auto ns = sys::open_beneath(root->get(), rundir + "/ns", O_PATH | O_DIRECTORY);
    struct stat a {};
    struct stat b {};
    if (!run.ok() || !ns.ok() || ::fstat(run->get(), &a) != 0 || ::fstat(ns->get(), &b) != 0) return true;
    return a.st_dev != b.st_dev;
}

pid_t parent_of(pid_t pid) {
    auto stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) return 0;
    size_t close = stat->rfind(')');
    long ppid = 0;
    if (close == std::string::npos || std::sscanf(stat->c_str() + close + 1, " %*c %ld", &ppid) != 1)
        return 0;
    return static_cast<pid_t>(ppid);
}

}  // namespace

Result<UniqueFd> clone_owner_store(const registry::Registry& reg, uid_t owner, uint64_t size_bytes) {
    PN_TRY(ensure_store(reg, owner, size_bytes), "");
    UniqueFd tree(static_cast<int>(
        ::open_tree(AT_FDCWD, store_dir(reg, owner).c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree.valid()) return errno_error("clone the mount of " + store_dir(reg, owner));
    return tree;
}

Result<UniqueFd> host_mntns(const registry::Registry& reg) {
    const bool file_space = inside_file_space(reg);
    // Or the copy of the host's namespace that the init of a space without a file space
    // made (its view of the run directory has no pins): that init started in the host's.
    if (!file_space && !fs::is_run_view(reg.rundir())) return UniqueFd();
    for (pid_t pid = ::getppid(); file_space && pid > 1; pid = parent_of(pid)) {
        auto fd = sys::open_fd("/proc/" + std::to_string(pid) + "/ns/mnt", O_RDONLY);
        if (fd.ok() && !is_file_space_ns(reg, fd->get()) && !is_view_of(pid, reg.rundir())) return fd;
    }
    // Inside a space's PID namespace the ancestors outside it are not shown (getppid() is
    // 0): its init (pninit, pid 1 here, the registry's) keeps the mount namespace it was
    // started in, the host's, at a descriptor of its own (tools/pninit.cpp).
    struct stat self {};
    struct stat init {};
    if (::stat("/proc/self/ns/pid", &self) == 0 && ::stat("/proc/1/ns/pid", &init) == 0 &&
        self.st_ino == init.st_ino) {
        for (uint16_t label : reg.labels()) {
            auto rec = reg.load(label);
            if (!rec.ok() || rec->pidns != self.st_ino) continue;
            auto fd = sys::open_fd("/proc/1/fd/" + std::to_string(kInitStartMntnsFd), O_RDONLY);
            if (fd.ok() && ::ioctl(fd->get(), NS_GET_NSTYPE) == CLONE_NEWNS &&
                !is_file_space_ns(reg, fd->get()))
                return fd;
            break;
        }
    }
    return make_error(ESRCH,
                      "no process outside the file space among this one's ancestors "
                      "(its union is assembled in the host's mount namespace)");
}

bool inside_file_space(const registry::Registry& reg) {
    auto self = sys::open_fd("/proc/self/ns/mnt", O_RDONLY);
    return self.ok() && is_file_space_ns(reg, self->get());
}

Status prepare_file_space(const registry::Registry& reg, registry::Record& rec,
                          const registry::Record* parent, const FileSpaceSeed& seed) {
    // The owner's image, of the owner's size (a new one, or a smaller one grown when it is
    // mounted cold); root's, and an unlimited user's, of the default size.
    uint64_t size = seed.max_layer_bytes != 0 ? seed.max_layer_bytes : fs::kDefaultStoreBytes;
    PN_TRY(ensure_layer_mounts(reg, rec.owner, size), "file space");
    if (parent != nullptr) PN_TRY(ensure_stores_of(reg, parent->fs_layers), "file space");
    bool fuse = seed.backend == FsBackend::fuse || (seed.backend == FsBackend::automatic && ::geteuid() != 0);
    rec.fs_backend = fuse ? FsBackend::fuse : FsBackend::kernel;
    std::string dir = layer_dir(reg, rec);
    std::vector<std::string> parents;
    if (parent != nullptr) parents = parent->fs_layers;
    std::string parents_file = dir + "/parents";
    std::string owner_file = dir + "/owner";
    // A refused stored layer is left as it is: the record names no layer yet, so the
    // failed creation's undo does not remove it.
    if (rec.named) {
        // A stored layer is its owner's: another user never gets its files (a layer kept
        // by an earlier version, without an owner, is root's).
        auto stored_owner = sys::read_file(owner_file);
        bool kept = ::access(parents_file.c_str(), F_OK) == 0;
        if (kept &&
            (stored_owner.ok() ? stored_owner.value() != std::to_string(rec.owner) + "\n" : rec.owner != 0))
            return make_error(
                EPERM, "file space: the stored file space of '" + rec.name + "' belongs to another user");
        auto stored = sys::read_file(parents_file);
        if (stored.ok() && stored.value() != join_lines(parents))
            return make_error(EEXIST, "file space: the stored file space of '" + rec.name +
                                          "' was made inside another space; remove it with `pnet destroy " +
                                          rec.name + "`");
    }
    rec.fs_layers = {dir};
    rec.fs_layers.insert(rec.fs_layers.end(), parents.begin(), parents.end());
    if (parent != nullptr) {
        // What the parent binds live, its children see live too.
        for (const auto& d : parent->fs_shared)
            if (std::find(rec.fs_shared.begin(), rec.fs_shared.end(), d) == rec.fs_shared.end())
                rec.fs_shared.push_back(d);
        if (!rec.fs_private_tmp) rec.fs_tmp_layer = parent->fs_tmp_layer;
    }
    if (rec.fs_private_tmp) rec.fs_tmp_layer = dir;
    if (!rec.named) PN_TRY(sys::remove_tree(dir), "file space: clear a stale layer");
    // Root-owned all the way down, no symbolic link on the way (see trusted_path.hpp).
    for (auto [sub, mode] : {std::pair{"/upper", 0755}, std::pair{"/work", 0700}, std::pair{"/root", 0755}}) {
        auto made = sys::make_trusted_dirs(dir + sub, static_cast<mode_t>(mode));
        if (!made.ok()) return made.error().wrap("file space");
    }
    PN_TRY(sys::write_atomic(owner_file, std::to_string(rec.owner) + "\n"), "file space");
    PN_TRY(sys::write_atomic(parents_file, join_lines(parents)), "file space");
    if (rec.fs_private_tmp) {
        // The space's own /tmp, empty at creation, in its layer: its children bind the same
        // directory (from the store, a trusted path) rather than a mount of the parent's.
        PN_TRY(sys::remove_tree(dir + "/tmp"), "file space: clear the private /tmp");
        auto made = sys::make_trusted_dirs(dir + "/tmp", 0755);
        if (!made.ok()) return made.error().wrap("file space: private /tmp");
        if (::chmod((dir + "/tmp").c_str(), 01777) != 0) return errno_error("file space: private /tmp");
    }
    PN_TRY(seed_etc(dir + "/upper", "resolv.conf", seed.resolv_conf), "file space");
    PN_TRY(seed_etc(dir + "/upper", "hosts", seed.hosts), "file space");
    return {};
}

namespace {

// What assembling rec's union takes: its layers, and the descriptors they name.
struct Assembly {
    fs::RootLayers layers;
    UniqueFd host;  // the trusted mount namespace (layers.trusted_mntns), if any
};

Result<Assembly> assembly_of(const registry::Registry& reg, const registry::Record& rec) {
    if (rec.fs_layers.empty()) return make_error(EINVAL, "file space: no layers recorded");
    Assembly a;
    fs::RootLayers& layers = a.layers;
    layers.layer = rec.fs_layers.front();
    layers.parents.assign(rec.fs_layers.begin() + 1, rec.fs_layers.end());
    layers.backend = rec.fs_backend == FsBackend::fuse ? fs::Backend::fuse : fs::Backend::kernel;
    layers.shared = rec.fs_shared;
    if (!rec.fs_tmp_layer.empty()) layers.tmp_dir = rec.fs_tmp_layer + "/tmp";
    layers.rundir = reg.rundir();
    layers.throwaway = !rec.named;
    layers.hidden = hidden_directories();
    layers.hidden.push_back(reg.context().statedir);
    PN_TRY(owner_identity(rec.owner, layers), "file space");
    // A creator inside a file space (root's own call there) assembles the union in the
    // host's namespace all the same: never one whose contents a user controls.
    auto host = host_mntns(reg);
    if (!host.ok()) return host.error().wrap("file space");
    a.host = std::move(host).value();
    if (a.host.valid()) layers.trusted_mntns = a.host.get();
    for (const auto& p : layers.parents)
        if (::access(p.c_str(), F_OK) != 0)
            return make_error(ENOENT, "file space: the layer of an ancestor is gone (" + p + ")");
    return a;
}

// Starts the fuse-overlayfs daemon of the assembly (rec's), in the space's cgroup.
Result<fs::FuseLaunch> launch_daemon(Assembly& a, registry::Record& rec, int netns) {
    auto cgroup = open_cgroup_leaf(rec);
    if (!cgroup.ok()) return cgroup.error().wrap("file space");
    a.layers.cgroup = cgroup->get();
    auto launched = fs::launch_fuse_root(a.layers, netns);
    a.layers.cgroup = -1;
    if (!launched.ok()) return launched.error().wrap("file space");
    rec.fs_daemon = launched->pid;
    return launched;
}

}  // namespace

Result<EarlyDaemon> launch_file_space_daemon(const registry::Registry& reg, registry::Record& rec,
                                             int netns) {
    if (rec.fs_backend != FsBackend::fuse) return EarlyDaemon();
    auto a = assembly_of(reg, rec);
    if (!a.ok()) return a.error();
    auto launched = launch_daemon(a.value(), rec, netns);
    if (!launched.ok()) return launched.error();
    return EarlyDaemon(std::move(launched).value());
}

Result<UniqueFd> build_file_space(const registry::Registry& reg, registry::Record& rec, int netns,
                                  EarlyDaemon* early) {
    auto a = assembly_of(reg, rec);
    if (!a.ok()) return a.error();
    const fs::RootLayers& layers = a->layers;
    std::string staging = layers.layer + "/root";
    if (layers.backend == fs::Backend::fuse) {
        EarlyDaemon now;
        if (early == nullptr || !early->has_value()) {
            auto launched = launch_daemon(a.value(), rec, netns);
            if (!launched.ok()) return launched.error();
            now.emplace(std::move(launched).value());
            early = &now;
        }
        auto daemon = fs::await_fuse_root(**early);
        early->reset();
        if (!daemon.ok()) return daemon.error().wrap("file space");
    }
    auto ns = enter_in_helper(reg.context(), layers);
    // The daemon's mount belongs in the new namespace only: the helper detached it here
    // (and this covers a helper that failed before).
    if (layers.backend == fs::Backend::fuse && layers.trusted_mntns < 0)
        (void)::umount2(staging.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    if (!ns.ok()) return ns.error().wrap("file space");
    auto inode = sys::inode_of_fd(ns->get());
    if (!inode.ok()) return inode.error().wrap("file space");
    if (rec.mntns != 0 && rec.mntns != inode.value()) reg.forget_mntns(rec.mntns, rec.label);
    rec.mntns = inode.value();
    rec.mntns_id = mntns_id_of(ns->get());
    PN_TRY(reg.index_mntns(rec.mntns, rec.label), "file space");
    return ns;
}

Result<UniqueFd> join_file_space(const registry::Registry& reg, registry::Record& rec, int netns) {
    if (auto live = find_live_ns(rec)) return std::move(*live);
    PN_TRY(ensure_run_mounts(reg), "file space");
    PN_TRY(ensure_stores_of(reg, rec.fs_layers), "file space");
    return build_file_space(reg, rec, netns);
}

Status release_file_space(const registry::Registry& reg, const registry::Record& rec, bool keep_stored,
                          LayerRelease when) {
    if (!rec.file_space || rec.fs_layers.empty()) return {};
    const std::string& dir = rec.fs_layers.front();
    auto owner = store_owner(reg, dir);
    // Only root's store (and the layer in its trash) is left: a user's unmount is what
    // lets a changed limit apply at the next creation, and removes an image with no layer
    // left.
    const bool leave_store = when == LayerRelease::by_reaper && owner && *owner == 0;
    stop_daemon(rec);
    if (rec.named && keep_stored) {
        (void)::umount2((dir + "/root").c_str(), MNT_DETACH);
        if (!leave_store) release_unused_stores(reg, rec.label);
        return {};
    }
    if (rec.named && owner) {  // its changes are stored: the store must be there to remove them
        auto st = ensure_layer_mounts(reg, *owner, 0);
        if (!st.ok() && st.error().code != ENOENT) return st.error().wrap("release file space");
    }
    if (::access(dir.c_str(), F_OK) == 0) {
        (void)::umount2((dir + "/root").c_str(), MNT_DETACH);  // a creator killed mid-way
        // Its blocks go back to the host as the store's journal commits ("discard"); a
        // user's image (small, sized to their limit) is trimmed at once too, before its
        // store may be unmounted below. Root's 64 GiB one takes long to trim: that is
        // done after the lock (give_back_free_space).
        PN_TRY(discard_layer(dir, !leave_store), "remove the file space's layers");
        if (owner && *owner != 0) (void)fs::trim_store(store_dir(reg, *owner));
    }
    if (!leave_store) release_unused_stores(reg, rec.label);
    return {};
}

void give_back_free_space(const registry::Registry& reg, const registry::Record& rec) {
    // Also a destroyed space's, whose file space was released before its reaper ran.
    if (rec.fs_layers.empty()) return;
    auto owner = store_owner(reg, rec.fs_layers.front());
    if (!owner) return;
    fs::StoreSpec spec = store_spec(reg, *owner);
    if (fs::store_mounted(spec)) (void)fs::trim_store(spec.mountpoint);
}

void remove_discarded_layers(const registry::Registry& reg, const registry::Record& rec) {
    if (rec.fs_layers.empty()) return;
    auto owner = store_owner(reg, rec.fs_layers.front());
    if (!owner) return;
    fs::StoreSpec spec = store_spec(reg, *owner);
    if (fs::store_mounted(spec)) (void)empty_trash(spec.mountpoint, false);
}

void sweep_discarded_layers(const registry::Registry& reg) {
    auto owners = sys::list_dir(reg.path("fs"));
    if (!owners.ok()) return;
    for (const auto& o : owners.value())
        if (store_owner(reg, reg.path("fs/" + o))) (void)empty_trash(reg.path("fs/" + o));
}

namespace {

// Owners with an image in the state directory besides root (layers-UID.ext4), by uid.
std::vector<uid_t> image_owners(const std::string& statedir) {
    std::vector<uid_t> out;
    auto names = sys::list_dir(statedir);
    if (!names.ok()) return out;
    for (const auto& n : names.value()) {
        if (n.size() <= 12 || n.compare(0, 7, "layers-") != 0 || n.compare(n.size() - 5, 5, ".ext4") != 0)
            continue;
        uid_t uid = 0;
        auto [ptr, ec] = std::from_chars(n.data() + 7, n.data() + n.size() - 5, uid);
        if (ec == std::errc{} && ptr == n.data() + n.size() - 5 && uid != 0 && n[7] != '0')
            out.push_back(uid);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Status remove_stored_file_space(const registry::Registry& reg, const std::string& name) {
    // A user's in their own image; root's in root's, or else another owner's if exactly
    // one holds a stored layer of that name.
    uid_t caller = reg.context().caller;
    std::vector<uid_t> owners{caller};
    if (caller == 0)
        for (uid_t uid : image_owners(reg.context().statedir)) owners.push_back(uid);
    std::vector<uid_t> holders;
    for (uid_t owner : owners) {
        if (owner != caller && !holders.empty() && holders.front() == caller) break;
        auto st = ensure_layer_mounts(reg, owner, 0);
        if (!st.ok() && st.error().code == ENOENT) continue;  // no image
        if (!st.ok()) return st.error().wrap("stored file space");
        std::string dir = store_dir(reg, owner) + "/named/" + name;
        // In a user's image all is the user's; in root's (the one store of an earlier
        // version) a user's layer says so in its owner file.
        auto stored = sys::read_file(dir + "/owner");
        if (::access(dir.c_str(), F_OK) == 0 &&
            (caller == 0 || (stored.ok() && stored.value() == std::to_string(caller) + "\n")))
            holders.push_back(owner);
        else
            release_store_if_unused(reg, owner, 0);  // mounted only to look
    }
    if (holders.empty()) return make_error(ENOENT, "no such space");  // another user's: not theirs to know of
    if (holders.front() != caller && holders.size() > 1) {
        std::string uids;
        for (uid_t uid : holders) uids += (uids.empty() ? "" : ", ") + std::to_string(uid);
        return make_error(EEXIST, "stored file spaces of '" + name + "' are kept by several users (uids " +
                                      uids + "); remove it as its owner");
    }
    uid_t owner = holders.front();
    PN_TRY(discard_layer(store_dir(reg, owner) + "/named/" + name),
           "remove the stored file space of '" + name + "'");
    if (owner != 0) (void)fs::trim_store(store_dir(reg, owner));  // see release_file_space
    release_unused_stores(reg, 0);
    return {};
}

Result<std::vector<FileChange>> file_space_changes(const registry::Record& rec) {
    if (!rec.file_space || rec.fs_layers.empty()) return make_error(ENOENT, "the space has no file space");
    const std::string& dir = rec.fs_layers.front();
    std::vector<std::string> lowers;
    for (size_t i = 1; i < rec.fs_layers.size(); ++i) lowers.push_back(rec.fs_layers[i] + "/upper");
    std::vector<FileChange> out;
    PN_TRY(walk_upper(dir + "/upper", lowers, "/", out), "");
    auto keys = sys::list_dir(dir + "/mounts");
    if (keys.ok()) {
        for (const auto& key : keys.value()) {
            std::vector<std::string> below;
            for (size_t i = 1; i < rec.fs_layers.size(); ++i)
                below.push_back(rec.fs_layers[i] + "/mounts/" + key + "/upper");
            std::string upper = dir + "/mounts/";
            upper.append(key).append("/upper");
            PN_TRY(walk_upper(upper, below, decode_key(key), out), "");
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
}

}  // namespace personalnet::space
