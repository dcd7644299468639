#include "lib/space/run_mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/core/sys.hpp"
#include "lib/fs/run_view.hpp"

namespace personalnet::space {

namespace {

constexpr const char* kMarker = "run-mount";

Status bind_self(const std::string& path, unsigned long propagation) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return errno_error("bind " + path + " on itself");
    if (::mount(nullptr, path.c_str(), nullptr, propagation, nullptr) != 0)
        return errno_error("set the propagation of " + path);
    return {};
}

void detach_all(const std::string& path) {
    for (int i = 0; i < 8 && sys::is_mountpoint(path); ++i)
        if (::umount2(path.c_str(), MNT_DETACH) != 0) break;
}

}  // namespace

Status ensure_run_mounts(const registry::Registry& reg) {
    const std::string& run = reg.rundir();
    if (fs::is_run_view(run)) return {};  // a space's view: the host's are there
    if (!sys::is_mountpoint(run)) {
        // The marker goes first: a creator killed in between leaves it for release.
        PN_TRY(sys::write_atomic(reg.path(kMarker), "bound on itself by personalnet\n"), "run directory");
        PN_TRY(bind_self(run, MS_SHARED), "share the run directory");
    } else if (::mount(nullptr, run.c_str(), nullptr, MS_SHARED, nullptr) != 0) {
        return errno_error("share the run directory " + run);
    }
    for (const char* sub : {"fs"}) {
        std::string dir = reg.path(sub);
        PN_TRY(sys::make_dirs(dir, 0700), "run directory");
        if (!sys::is_mountpoint(dir))
            PN_TRY(bind_self(dir, MS_PRIVATE), "run directory");
        else if (::mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)  // a killed creator's bind
            return errno_error("make " + dir + " private");
    }
    return {};
}

Status release_run_mounts(const registry::Registry& reg) {
    if (inside_file_space(reg) || fs::is_run_view(reg.rundir())) return {};
    // Every owner's layer store (RUNDIR/fs/UID), then what holds them.
    if (auto owners = sys::list_dir(reg.path("fs")); owners.ok()) {
        for (const auto& uid : owners.value()) {
            if (uid.empty() || uid.find_first_not_of("0123456789") != std::string::npos) continue;
            detach_all(reg.path("fs/" + uid));
            (void)::rmdir(reg.path("fs/" + uid).c_str());
        }
    }
    for (const char* sub : {"fs", "base"}) {
        detach_all(reg.path(sub));
        (void)::rmdir(reg.path(sub).c_str());
    }
    // Only our own bind: a file system the administrator mounted there stays. The marker
    // stays too: callers in other mount namespaces may still have the bind (made in theirs,
    // or copied when theirs was made) and release it when they find no space left.
    if (::access(reg.path(kMarker).c_str(), F_OK) == 0) detach_all(reg.rundir());
    return {};
}

}  // namespace personalnet::space
