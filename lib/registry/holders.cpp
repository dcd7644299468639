// Holders of named spaces (see holders.hpp).
#include "lib/registry/holders.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "lib/core/sys.hpp"
#include "personalnet/space.hpp"

namespace personalnet::holders {

namespace {

std::string kind_dir(const std::string& rundir, const char* kind) { return rundir + "/" + kind; }
std::string dir_of(const std::string& rundir, const char* kind, const std::string& name) {
    return kind_dir(rundir, kind) + "/" + name;
}

// The start time of pid in clock ticks since boot (field 22 of /proc/PID/stat), "" if
// the process is gone or a zombie. Together with the pid it names one process, even after reuse.
std::string start_time(pid_t pid) {
    auto stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) return "";
    // The command name (field 2) may contain blanks and parentheses: count after the last ')'.
    size_t pos = stat->rfind(')');
    if (pos == std::string::npos) return "";
    // A zombie holds nothing: it is dead, only not reaped yet (its parent may be slow to).
    if (pos + 2 < stat->size() && ((*stat)[pos + 2] == 'Z' || (*stat)[pos + 2] == 'X')) return "";
    for (int field = 2; field < 22; ++field) {
        pos = stat->find(' ', pos + 1);
        if (pos == std::string::npos) return "";
    }
    size_t end = stat->find(' ', pos + 1);
    return stat->substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
}

}  // namespace

Result<UniqueFd> lock(const std::string& rundir, const char* kind) {
    const std::string dir = kind_dir(rundir, kind);
    PN_TRY(sys::make_dirs(dir, 0755), std::string(kind) + " lock");
    auto fd = sys::open_fd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!fd.ok()) return fd.error().wrap(std::string(kind) + " lock");
    while (::flock(fd->get(), LOCK_EX) != 0)
        if (errno != EINTR) return errno_error(std::string(kind) + " lock: flock " + dir);
    return fd;
}

Status add(const std::string& rundir, const char* kind, const std::string& name, pid_t pid) {
    const std::string dir = dir_of(rundir, kind, name);
    PN_TRY(sys::make_dirs(dir, 0755), "record holder of '" + name + "'");
    std::string started = start_time(pid);
    if (started.empty())
        return make_error(ESRCH, "record holder of '" + name + "': no process " + std::to_string(pid));
    PN_TRY(sys::write_atomic(dir + "/" + std::to_string(pid), started + "\n"),
           "record holder of '" + name + "'");
    return {};
}

Result<bool> remove(const std::string& rundir, const char* kind, const std::string& name, pid_t pid) {
    const std::string path = dir_of(rundir, kind, name) + "/" + std::to_string(pid);
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    return errno_error("forget holder: unlink " + path);
}

Result<int> live(const std::string& rundir, const char* kind, const std::string& name) {
    const std::string dir = dir_of(rundir, kind, name);
    auto entries = sys::list_dir(dir);
    if (!entries.ok()) {
        if (entries.error().code == ENOENT) return 0;
        return entries.error().wrap("count holders of '" + name + "'");
    }
    sys::remove_stale_temps(dir);
    int alive = 0;
    for (const auto& entry : entries.value()) {
        pid_t pid = 0;
        auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), pid);
        if (ec != std::errc{} || end != entry.data() + entry.size()) continue;  // a temp file
        std::string path = dir;
        path += '/';
        path += entry;
        auto recorded = sys::read_file(path);
        std::string now = start_time(pid);
        if (recorded.ok() && !now.empty() && recorded.value() == now + "\n") {
            ++alive;
            continue;
        }
        (void)::unlink(path.c_str());  // crashed without closing
    }
    if (alive == 0) (void)::rmdir(dir.c_str());
    return alive;
}

Status keep_unheld(const std::string& rundir, const char* kind, const std::string& name) {
    PN_TRY(sys::make_dirs(dir_of(rundir, kind, name), 0755), "keep '" + name + "' for collection");
    return {};
}

Result<std::vector<std::string>> names(const std::string& rundir, const char* kind) {
    auto entries = sys::list_dir(kind_dir(rundir, kind));
    if (!entries.ok()) {
        if (entries.error().code == ENOENT) return std::vector<std::string>{};
        return entries.error().wrap(std::string("list ") + kind + " holders");
    }
    std::vector<std::string> out;
    for (auto& e : entries.value())
        if (validate_name(e).ok()) out.push_back(std::move(e));  // skips temp files
    return out;
}

}  // namespace personalnet::holders
