#include "lib/registry/registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "lib/core/sys.hpp"

namespace personalnet::registry {

namespace {

constexpr const char* kSubdirs[] = {"spaces", "names", "netns", "locks", "ns", "parents", "mntns"};

template <typename T>
bool parse_number(const std::string& s, T& out, int base = 10) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

Result<uint16_t> read_label_file(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text.ok()) return text.error();
    uint16_t label = 0;
    std::string t = text.value();
    while (!t.empty() && t.back() == '\n') t.pop_back();
    if (!parse_number(t, label, 16)) return make_error(EINVAL, "bad label in " + path);
    return label;
}

}  // namespace

std::string label_hex(uint16_t label) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", label);
    return buf;
}

std::optional<uint16_t> parse_label_hex(const std::string& text) {
    uint16_t label = 0;
    if (text.size() != 4 || !parse_number(text, label, 16) || label == 0 || label_hex(label) != text)
        return std::nullopt;
    return label;
}

Result<Registry> Registry::open(const Context& ctx) {
    const std::string& rundir = ctx.rundir;
    if (rundir.empty() || rundir[0] != '/') return make_error(EINVAL, "run directory must be absolute");
    PN_TRY(sys::make_dirs(rundir, 0755), "create run directory");
    for (const char* d : kSubdirs) PN_TRY(sys::make_dirs(rundir + "/" + d, 0755), "create run directory");
    return Registry(ctx);
}

Result<Registry> Registry::open(const std::string& rundir) {
    Context ctx;
    ctx.rundir = rundir;
    return open(ctx);
}

Result<UniqueFd> Registry::lock() const {
    auto fd = sys::open_fd(path("lock"), O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
    if (!fd.ok()) return fd.error().wrap("lock registry");
    while (::flock(fd->get(), LOCK_EX) != 0)
        if (errno != EINTR) return errno_error("lock registry");
    return std::move(fd).value();
}

Result<std::pair<uint16_t, UniqueFd>> Registry::allocate_label(const std::vector<uint16_t>& avoid) const {
    uint16_t start = 0;
    if (::getrandom(&start, sizeof start, 0) != sizeof start) start = static_cast<uint16_t>(::getpid());
    for (uint32_t i = 0; i < 0x10000; ++i) {
        auto label = static_cast<uint16_t>(start + i);
        if (label_reserved(label) || std::find(avoid.begin(), avoid.end(), label) != avoid.end()) continue;
        std::string lp = path("locks/" + label_hex(label));
        if (::access(path("spaces/" + label_hex(label)).c_str(), F_OK) == 0) continue;
        int fd = ::open(lp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            return errno_error("create " + lp);
        }
        UniqueFd owned(fd);
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) continue;
        return std::make_pair(label, std::move(owned));
    }
    return make_error(ENOSPC, "allocate a space label: all labels in use");
}

Result<UniqueFd> Registry::claim_label(uint16_t label) const {
    const std::string taken = "label " + label_hex(label) + " is taken";
    if (::access(path("spaces/" + label_hex(label)).c_str(), F_OK) == 0) return make_error(EEXIST, taken);
    // A lock file nobody holds is a dead creator's, whose record (checked above) is gone;
    // taking it over is what gc would do.
    auto fd = hold_label(label);
    if (!fd.ok() && fd.error().code == EBUSY) return make_error(EEXIST, taken);
    return fd;
}

Result<UniqueFd> Registry::hold_label(uint16_t label) const {
    // Without O_EXCL: the file may be there already, held by nobody.
    std::string lp = path("locks/" + label_hex(label));
    auto fd = sys::open_fd(lp, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
    if (!fd.ok()) return fd.error().wrap("create " + lp);
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return make_error(EBUSY, "label " + label_hex(label) + " is held");
        return errno_error("lock " + lp);
    }
    return std::move(fd).value();
}

Result<std::optional<UniqueFd>> Registry::try_lock_label(uint16_t label) const {
    std::string lp = path("locks/" + label_hex(label));
    int fd = ::open(lp.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno_error("open " + lp);
    UniqueFd owned(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return std::optional<UniqueFd>{};
        return errno_error("lock " + lp);
    }
    return std::optional<UniqueFd>(std::move(owned));
}

void Registry::remove_label_lock(uint16_t label) const {
    (void)::unlink(path("locks/" + label_hex(label)).c_str());
}

static std::vector<uint16_t> labels_in(const std::string& dir) {
    std::vector<uint16_t> out;
    auto names = sys::list_dir(dir);
    if (!names.ok()) return out;
    for (const auto& n : names.value()) {
        uint16_t l = 0;
        if (parse_number(n, l, 16) && n.size() == 4) out.push_back(l);
    }
    return out;
}

std::vector<uint16_t> Registry::locked_labels() const { return labels_in(path("locks")); }
std::vector<uint16_t> Registry::labels() const { return labels_in(path("spaces")); }

bool Registry::any_record() const {
    auto any = sys::any_entry(path("spaces"), [](int, const char* name) {
        uint16_t l = 0;
        const std::string n = name;
        return n.size() == 4 && parse_number(n, l, 16);
    });
    return any.ok() && any.value();
}

Status Registry::save(const Record& r) const {
    PN_TRY(sys::write_atomic(path("spaces/" + label_hex(r.label)), r.serialize()), "save record");
    return {};
}

Result<Record> Registry::load(uint16_t label) const {
    auto text = sys::read_file(path("spaces/" + label_hex(label)));
    if (!text.ok()) return text.error().wrap("load space " + label_hex(label));
    return Record::parse(text.value());
}

Status Registry::remove(const Record& r) const {
    if (r.named || !r.name.empty()) {
        auto l = find_name(r.name);
        if (l && *l == r.label) (void)::unlink(path("names/" + r.name).c_str());
    }
    if (r.netns != 0) {
        auto l = find_netns(r.netns);
        if (l && *l == r.label) (void)::unlink(path("netns/" + std::to_string(r.netns)).c_str());
    }
    if (r.mntns != 0) forget_mntns(r.mntns, r.label);
    if (::unlink(path("spaces/" + label_hex(r.label)).c_str()) != 0 && errno != ENOENT)
        return errno_error("remove record " + label_hex(r.label));
    return {};
}

void Registry::forget_name(const std::string& name, uint16_t label) const {
    auto l = find_name(name);
    if (l && *l == label) (void)::unlink(path("names/" + name).c_str());
}

std::optional<uint16_t> Registry::find_name(const std::string& name) const {
    auto l = read_label_file(path("names/" + name));
    if (!l.ok()) return std::nullopt;
    return l.value();
}

std::optional<uint16_t> Registry::find_netns(uint64_t inode) const {
    auto l = read_label_file(path("netns/" + std::to_string(inode)));
    if (!l.ok()) return std::nullopt;
    return l.value();
}

std::optional<uint16_t> Registry::find_mntns(uint64_t inode) const {
    auto l = read_label_file(path("mntns/" + std::to_string(inode)));
    if (!l.ok()) return std::nullopt;
    return l.value();
}

Status Registry::index_mntns(uint64_t inode, uint16_t label) const {
    return sys::write_atomic(path("mntns/" + std::to_string(inode)), label_hex(label) + "\n");
}

void Registry::forget_mntns(uint64_t inode, uint16_t label) const {
    auto l = find_mntns(inode);
    if (l && *l == label) (void)::unlink(path("mntns/" + std::to_string(inode)).c_str());
}

Status Registry::index_name(const std::string& name, uint16_t label) const {
    return sys::write_atomic(path("names/" + name), label_hex(label) + "\n");
}

Status Registry::index_netns(uint64_t inode, uint16_t label) const {
    return sys::write_atomic(path("netns/" + std::to_string(inode)), label_hex(label) + "\n");
}

}  // namespace personalnet::registry
