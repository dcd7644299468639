// Session files of pam_personalnet (see sessions.hpp).
#include "lib/pam/sessions.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "lib/core/sys.hpp"

namespace personalnet::pam {

namespace {

std::string dir_of(const std::string& rundir, const std::string& name) { return rundir + "/pam/" + name; }

// The start time of pid in clock ticks since boot (field 22 of /proc/PID/stat), "" if
// the process is gone. Together with the pid it names one process, even after reuse.
std::string start_time(pid_t pid) {
    auto stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) return "";
    // The command name (field 2) may contain blanks and parentheses: count after the last ')'.
    size_t pos = stat->rfind(')');
    if (pos == std::string::npos) return "";
    for (int field = 2; field < 22; ++field) {
        pos = stat->find(' ', pos + 1);
        if (pos == std::string::npos) return "";
    }
    size_t end = stat->find(' ', pos + 1);
    return stat->substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
}

}  // namespace

Result<UniqueFd> lock_sessions(const std::string& rundir) {
    const std::string dir = rundir + "/pam";
    PN_TRY(sys::make_dirs(dir, 0755), "session lock");
    auto fd = sys::open_fd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!fd.ok()) return fd.error().wrap("session lock");
    while (::flock(fd->get(), LOCK_EX) != 0)
        if (errno != EINTR) return errno_error("session lock: flock " + dir);
    return fd;
}

Status add_session(const std::string& rundir, const std::string& name, pid_t pid) {
    const std::string dir = dir_of(rundir, name);
    PN_TRY(sys::make_dirs(dir, 0755), "record session of '" + name + "'");
    std::string started = start_time(pid);
    if (started.empty())
        return make_error(ESRCH, "record session of '" + name + "': no process " + std::to_string(pid));
    PN_TRY(sys::write_atomic(dir + "/" + std::to_string(pid), started + "\n"),
           "record session of '" + name + "'");
    return {};
}

Result<bool> remove_session(const std::string& rundir, const std::string& name, pid_t pid) {
    const std::string path = dir_of(rundir, name) + "/" + std::to_string(pid);
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    return errno_error("forget session: unlink " + path);
}

Result<int> live_sessions(const std::string& rundir, const std::string& name) {
    const std::string dir = dir_of(rundir, name);
    auto entries = sys::list_dir(dir);
    if (!entries.ok()) {
        if (entries.error().code == ENOENT) return 0;
        return entries.error().wrap("count sessions of '" + name + "'");
    }
    sys::remove_stale_temps(dir);
    int live = 0;
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
            ++live;
            continue;
        }
        (void)::unlink(path.c_str());  // crashed without closing
    }
    if (live == 0) (void)::rmdir(dir.c_str());
    return live;
}

}  // namespace personalnet::pam
