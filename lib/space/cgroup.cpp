#include "lib/space/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>

#include "lib/core/cgroup_self.hpp"
#include "lib/core/sys.hpp"

namespace personalnet::space {

using registry::Record;
using registry::Registry;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kLeaf = "procs";
constexpr const char* kControllers[4] = {"cpu", "memory", "pids", "io"};
constexpr const char* kOptions[4] = {"--cpu", "--memory", "--pids", "--io-weight"};

bool wants(const ResourceLimits& l, int i) {
    switch (i) {
        case 0:
            return l.cpu_milli != 0;
        case 1:
            return l.memory_bytes != 0;
        case 2:
            return l.pids != 0;
        default:
            return l.io_weight != 0;
    }
}

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(path);
    for (std::string c; std::getline(in, c, '/');)
        if (!c.empty()) out.push_back(c);
    return out;
}

Result<UniqueFd> open_dir_at(int dir, const std::string& name) {
    UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open cgroup " + name);
    return fd;
}

Status write_at(int dir, const std::string& file, const std::string& value) {
    UniqueFd fd(::openat(dir, file.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + file);
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        return errno_error("write '" + value + "' to " + file);
    return {};
}

Result<std::string> read_at(int dir, const std::string& file) {
    UniqueFd fd(::openat(dir, file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + file);
    return sys::read_to_eof(fd.get(), 1 << 20);
}

// The value of "key N" in a flat-keyed file (cpu.stat, cgroup.events); -1 if absent.
int64_t keyed(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    for (std::string k, v; in >> k >> v;)
        if (k == key) return std::atoll(v.c_str());
    return -1;
}

int64_t single(int dir, const char* file) {
    auto text = read_at(dir, file);
    if (!text.ok() || text->empty() || text->front() < '0' || text->front() > '9') return -1;
    return std::atoll(text->c_str());
}

// Enables the controllers limits need for the children of dir.
Status enable(int dir, const ResourceLimits& l) {
    std::string want;
    for (int i = 0; i < 4; ++i)
        if (wants(l, i)) want += std::string(want.empty() ? "+" : " +") + kControllers[i];
    if (want.empty()) return {};
    return write_at(dir, "cgroup.subtree_control", want);
}

// The directory at rel (components under the cgroup2 mount), opened component by component
// without following a link. create: made where missing, with the controllers limits
// need enabled on the way down (for the children of each directory but the last).
Result<UniqueFd> open_path(const std::string& mount, const std::string& rel, const ResourceLimits& l,
                           bool create) {
    UniqueFd dir(::open(mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return errno_error("open " + mount);
    const std::string what = "cgroup " + mount + "/" + rel;
    for (const auto& c : components(rel)) {
        if (c == "." || c == "..") return make_error(EINVAL, what + ": '.' or '..' in it");
        if (create) PN_TRY(enable(dir.get(), l), what);
        if (create && ::mkdirat(dir.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
            return errno_error("make " + what);
        auto next = open_dir_at(dir.get(), c);
        if (!next.ok()) return next.error();
        dir = std::move(next).value();
    }
    return dir;
}

// The subtree as a path under the mount; EINVAL when it is not under it.
Result<std::string> subtree_rel(const CgroupHost& host) {
    const std::string& m = host.mount;
    if (host.subtree.compare(0, m.size(), m) != 0 || host.subtree.size() <= m.size() + 1 ||
        host.subtree[m.size()] != '/')
        return make_error(EINVAL,
                          "cgroup directory " + host.subtree + " is not under the cgroup2 mount " + m);
    return host.subtree.substr(m.size() + 1);
}

bool is_label(const std::string& c) {
    return c.size() == 4 && c.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Waits up to ms for the cgroup at dir to have no process left (cgroup.events).
bool wait_unpopulated(int dir, int ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        auto events = read_at(dir, "cgroup.events");
        if (!events.ok() || keyed(events.value(), "populated") == 0) return true;
        if (Clock::now() >= deadline) return false;
        ::usleep(1000);
    }
}

Status remove_dir_at(int parent, const std::string& name, const std::string& what) {
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return errno_error("remove cgroup " + what);
    return {};
}

// Processes in the cgroup at dir and below it.
int64_t count_processes(int dir) {
    int64_t n = 0;
    if (auto procs = read_at(dir, "cgroup.procs"); procs.ok())
        for (char c : procs.value()) n += c == '\n';
    UniqueFd copy(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = copy.valid() ? ::fdopendir(copy.get()) : nullptr;
    if (d == nullptr) return n;
    copy.release();
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        UniqueFd sub(::openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.valid()) n += count_processes(sub.get());
    }
    ::closedir(d);
    return n;
}

// rec's cgroup directory and (second) its parent directory.
Result<std::pair<UniqueFd, UniqueFd>> open_space_dir(const Record& rec) {
    const CgroupHost host = cgroup_host(Context());
    if (host.mount.empty()) return make_error(ENOENT, "no cgroup2 here");
    UniqueFd parent;
    UniqueFd cur(::open(host.mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cur.valid()) return errno_error("open " + host.mount);
    for (const auto& c : components(rec.cgroup)) {
        auto next = open_dir_at(cur.get(), c);
        if (!next.ok()) return next.error();
        parent = std::move(cur);
        cur = std::move(next).value();
    }
    return std::pair{std::move(cur), std::move(parent)};
}

}  // namespace

namespace {

// personalnet's own subtree: "personalnet" for the installed run directory; a registry
// elsewhere (a simulated host's, a test's) gets one named after its run directory, so
// that two registries' spaces of one label never meet in one cgroup.
std::string default_subtree(const std::string& mount, const Context& ctx) {
    if (ctx.rundir == Context().rundir) return mount + "/personalnet";
    std::string name = "personalnet";
    for (char c : ctx.rundir) name += c == '/' ? '-' : c;
    return mount + "/" + name.substr(0, 255);
}

}  // namespace

CgroupHost cgroup_host(const Context& ctx) {
    static const std::pair<std::string, std::vector<std::string>> found = [] {
        std::string mount = sys::cgroup2_mount();
        std::vector<std::string> controllers;
        if (!mount.empty())
            if (auto text = sys::read_file(mount + "/cgroup.controllers"); text.ok())
                controllers = words(*text);
        return std::pair{mount, controllers};
    }();
    CgroupHost host;
    host.mount = found.first;
    host.controllers = found.second;
    if (!host.mount.empty())
        host.subtree = ctx.cgroupdir.empty() ? default_subtree(host.mount, ctx) : ctx.cgroupdir;
    return host;
}

Status check_limits_here(const ResourceLimits& limits, const CgroupHost& host, const char* const names[4]) {
    if (names == nullptr) names = kOptions;
    for (int i = 0; i < 4; ++i) {
        if (!wants(limits, i)) continue;
        if (host.mount.empty())
            return make_error(EOPNOTSUPP, std::string(names[i]) + " needs cgroup v2's " + kControllers[i] +
                                              " controller, and this host has no cgroup2 mounted");
        bool have = false;
        for (const auto& c : host.controllers) have = have || c == kControllers[i];
        if (have) continue;
        std::string list;
        for (const auto& c : host.controllers) list += (list.empty() ? "" : " ") + c;
        return make_error(EOPNOTSUPP, std::string(names[i]) + " needs cgroup v2's " + kControllers[i] +
                                          " controller, which this host does not have (cgroup2 at " +
                                          host.mount + " has: " + (list.empty() ? "none" : list) + ")");
    }
    return {};
}

namespace {

// The controllers to enable down to a space's cgroup: those its limits need and, where
// this host has it, the memory controller, so that `pnet show` reports every space's
// memory (its accounting is on at the top anyway; no limit is set by enabling it).
ResourceLimits enabled_for(const ResourceLimits& l, const CgroupHost& host) {
    ResourceLimits e = l;
    for (const auto& c : host.controllers)
        if (c == "memory" && e.memory_bytes == 0) e.memory_bytes = 1;  // a marker, never written
    return e;
}

}  // namespace

Result<UniqueFd> make_cgroup(const Registry& reg, Record& rec, const Record* parent,
                             const ResourceLimits& l) {
    const CgroupHost host = cgroup_host(reg.context());
    PN_TRY(check_limits_here(l, host), "");
    const ResourceLimits enabled = enabled_for(l, host);
    if (host.mount.empty()) return UniqueFd();  // spaces work without one; usage is unknown
    const std::string name = registry::label_hex(rec.label);
    // Inside the parent's (the kernel then holds it within the parent's limits), else at
    // the top of the subtree. Recorded relative to the mount, so that whoever removes it
    // (gc, a reaper, a destroy from anywhere) finds it whatever its own Context says.
    std::string base;
    if (parent != nullptr && !parent->cgroup.empty()) {
        base = parent->cgroup;
    } else {
        auto rel = subtree_rel(host);
        if (!rel.ok()) return rel.error();
        base = rel.value();
    }
    rec.cgroup = base + "/" + name;
    rec.cpu_milli = l.cpu_milli;
    rec.memory_max = l.memory_bytes;
    rec.pids_max = l.pids;
    rec.io_weight = l.io_weight;
    // Named in the record before it exists: gc finds it after a killed creation.
    PN_TRY(reg.save(rec), "");
    const std::string what = "cgroup " + host.mount + "/" + rec.cgroup;
    auto dir = open_path(host.mount, base, enabled, true);
    if (!dir.ok()) return dir.error().wrap(what);
    UniqueFd cur = std::move(dir).value();
    PN_TRY(enable(cur.get(), enabled), what);
    if (::mkdirat(cur.get(), name.c_str(), 0755) != 0) {
        if (errno != EEXIST) return errno_error("make " + what);
        // A cgroup left by a space of this label that gc could not remove (its processes
        // gone since): empty now, or in use.
        if (auto old = open_dir_at(cur.get(), name); old.ok())
            (void)::unlinkat(old->get(), kLeaf, AT_REMOVEDIR);
        if (::unlinkat(cur.get(), name.c_str(), AT_REMOVEDIR) != 0 ||
            ::mkdirat(cur.get(), name.c_str(), 0755) != 0)
            return make_error(EEXIST, "make " + what + ": it exists and is in use");
    }
    auto opened = open_dir_at(cur.get(), name);
    if (!opened.ok()) return opened.error().wrap(what);
    UniqueFd space = std::move(opened).value();
    if (l.cpu_milli)
        PN_TRY(write_at(space.get(), "cpu.max", std::to_string(uint64_t{l.cpu_milli} * 100) + " 100000"),
               what);
    if (l.memory_bytes) {
        PN_TRY(write_at(space.get(), "memory.max", std::to_string(l.memory_bytes)), what);
        // The limit is the space's memory, not memory plus swap; absent without swap accounting.
        if (auto st = write_at(space.get(), "memory.swap.max", "0"); !st.ok() && st.error().code != ENOENT)
            return st.error().wrap(what);
    }
    if (l.pids) PN_TRY(write_at(space.get(), "pids.max", std::to_string(l.pids)), what);
    if (l.io_weight)
        PN_TRY(write_at(space.get(), "io.weight", "default " + std::to_string(l.io_weight)), what);
    if (::mkdirat(space.get(), kLeaf, 0755) != 0) return errno_error("make " + what + "/" + kLeaf);
    auto leaf = open_dir_at(space.get(), kLeaf);
    if (!leaf.ok()) return leaf.error().wrap(what);
    return leaf;
}

Result<UniqueFd> open_helpers_cgroup(const Context& ctx) {
    const CgroupHost host = cgroup_host(ctx);
    if (host.mount.empty()) return UniqueFd();
    auto rel = subtree_rel(host);
    if (!rel.ok()) return rel.error();
    const std::string what = "cgroup " + host.subtree + "/" + kHelpersLeaf;
    auto dir = open_path(host.mount, rel.value() + "/" + kHelpersLeaf, ResourceLimits{}, true);
    if (!dir.ok()) return dir.error().wrap(what);
    return dir;
}

Result<UniqueFd> open_cgroup_leaf(const Record& rec) {
    if (rec.cgroup.empty()) return UniqueFd();
    auto dirs = open_space_dir(rec);
    if (!dirs.ok()) return dirs.error().wrap("the space's cgroup");
    auto leaf = open_dir_at(dirs->first.get(), kLeaf);
    if (!leaf.ok()) return leaf.error().wrap("the space's cgroup");
    return leaf;
}

Status move_into_cgroup(int leaf, pid_t pid) {
    if (leaf < 0) return {};
    return write_at(leaf, "cgroup.procs", std::to_string(pid));
}

Status remove_cgroup(const Registry& reg, const Record& rec) {
    if (rec.cgroup.empty()) return {};
    const std::string what = rec.cgroup;
    auto dirs = open_space_dir(rec);
    if (!dirs.ok())
        return dirs.error().code == ENOENT ? Status{} : dirs.error().wrap("remove cgroup " + what);
    auto& [space, parent] = dirs.value();
    if (auto leaf = open_dir_at(space.get(), kLeaf); leaf.ok()) {
        // Daemons that end with the space (fuse-overlayfs after its unmount) may take a
        // moment; whatever is left after that is ended: nothing of a space outlives it.
        if (!wait_unpopulated(leaf->get(), 2000)) {
            (void)write_at(leaf->get(), "cgroup.kill", "1");
            if (!wait_unpopulated(leaf->get(), 2000))
                return make_error(EBUSY, "remove cgroup " + what + ": processes are left in it");
        }
        PN_TRY(remove_dir_at(space.get(), kLeaf, what + "/" + kLeaf), "");
    }
    auto path = components(rec.cgroup);
    // A child space's cgroup keeps it: it goes with the last of them (below).
    if (::unlinkat(parent.get(), path.back().c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT &&
        errno != EBUSY && errno != ENOTEMPTY)
        return errno_error("remove cgroup " + what);
    // Ancestors whose spaces are gone and that stayed only for this one.
    for (size_t n = path.size() - 1; n > 0 && is_label(path[n - 1]); --n) {
        Record up;
        for (size_t i = 0; i < n; ++i) up.cgroup += (i ? "/" : "") + path[i];
        uint16_t label = static_cast<uint16_t>(std::strtoul(path[n - 1].c_str(), nullptr, 16));
        if (auto r = reg.load(label); r.ok() && r->cgroup == up.cgroup) break;  // its space lives
        auto up_dirs = open_space_dir(up);
        if (!up_dirs.ok()) break;
        (void)::unlinkat(up_dirs->first.get(), kLeaf, AT_REMOVEDIR);
        if (::unlinkat(up_dirs->second.get(), path[n - 1].c_str(), AT_REMOVEDIR) != 0) break;
    }
    return {};
}

void read_usage(const Record& rec, ResourceUsage& usage) {
    if (rec.cgroup.empty()) return;
    auto dirs = open_space_dir(rec);
    if (!dirs.ok()) return;
    const int dir = dirs->first.get();
    if (auto stat = read_at(dir, "cpu.stat"); stat.ok()) usage.cpu_usec = keyed(stat.value(), "usage_usec");
    usage.memory_bytes = single(dir, "memory.current");
    usage.memory_peak = single(dir, "memory.peak");
    usage.processes = count_processes(dir);
}

}  // namespace personalnet::space
