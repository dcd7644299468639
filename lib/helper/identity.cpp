#include "lib/helper/identity.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace personalnet::helper {

Result<Identity> Identity::of_caller() {
    Identity id;
    id.uid = ::getuid();
    id.gid = ::getgid();
    int n = ::getgroups(0, nullptr);
    if (n < 0) return errno_error("read the caller's groups");
    id.groups.resize(static_cast<size_t>(n));
    n = ::getgroups(n, id.groups.data());
    if (n < 0) return errno_error("read the caller's groups");
    id.groups.resize(static_cast<size_t>(n));
    return id;
}

namespace {

constexpr int kAdminCaps[] = {CAP_NET_ADMIN, CAP_NET_BIND_SERVICE};
constexpr uint64_t kAdminMask = (uint64_t{1} << CAP_NET_ADMIN) | (uint64_t{1} << CAP_NET_BIND_SERVICE);

bool is_admin_cap(int cap) { return cap == CAP_NET_ADMIN || cap == CAP_NET_BIND_SERVICE; }

// The calling thread's capability sets, as 64-bit masks; -1 on failure.
int read_caps(uint64_t& eff, uint64_t& prm, uint64_t& inh) noexcept {
    __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) return -1;
    eff = data[0].effective | (uint64_t{data[1].effective} << 32);
    prm = data[0].permitted | (uint64_t{data[1].permitted} << 32);
    inh = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
    return 0;
}

}  // namespace

Result<Becoming> Becoming::prepare(const Identity& who, bool admin) {
    Becoming b;
    b.who_ = who;
    b.admin_ = admin;
    b.empty_ = ::cap_init();  // every set empty
    if (b.empty_ == nullptr) return errno_error("prepare to drop capabilities");
    if (admin) {
        b.admin_caps_ = ::cap_init();
        if (b.admin_caps_ == nullptr) return errno_error("prepare the --admin capabilities");
        for (cap_flag_t set : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE})
            if (::cap_set_flag(b.admin_caps_, set, 2, kAdminCaps, CAP_SET) != 0)
                return errno_error("prepare the --admin capabilities");
    }
    return b;
}

Becoming::Becoming(Becoming&& o) noexcept
    : who_(std::move(o.who_)), admin_(o.admin_), empty_(o.empty_), admin_caps_(o.admin_caps_) {
    o.empty_ = nullptr;
    o.admin_caps_ = nullptr;
}

Becoming& Becoming::operator=(Becoming&& o) noexcept {
    if (this != &o) {
        if (empty_ != nullptr) ::cap_free(empty_);
        if (admin_caps_ != nullptr) ::cap_free(admin_caps_);
        who_ = std::move(o.who_);
        admin_ = o.admin_;
        empty_ = o.empty_;
        admin_caps_ = o.admin_caps_;
        o.empty_ = nullptr;
        o.admin_caps_ = nullptr;
    }
    return *this;
}

Becoming::~Becoming() {
    if (empty_ != nullptr) ::cap_free(empty_);
    if (admin_caps_ != nullptr) ::cap_free(admin_caps_);
}

// Real, effective, saved and file-system ids are all the caller's.
int Becoming::check_ids() const noexcept {
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0) return errno;
    if (ru != who_.uid || eu != who_.uid || su != who_.uid || rg != who_.gid || eg != who_.gid ||
        sg != who_.gid)
        return EPERM;
    // setfsuid returns the previous value; asking for an impossible one changes nothing.
    if (static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != who_.uid) return EPERM;
    if (static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) != who_.gid) return EPERM;
    return 0;
}

// Joining a user namespace gives every capability in it and a full bounding set, so the
// order matters: join, cut the bounding set to the two, keep the permitted set across
// the change of ids, then narrow every set to the two and raise them as ambient.
int Becoming::become_admin() const noexcept {
    int net = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (net < 0) return errno;
    int user = ::ioctl(net, NS_GET_USERNS);
    int err = user < 0 ? errno : 0;
    ::close(net);
    if (err != 0) return err;
    struct stat st {};
    if (::fstat(user, &st) != 0 || st.st_ino == 0xEFFFFFFDU) {  // the initial one: not an --admin space
        ::close(user);
        return EPERM;
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) err = errno;
    if (err == 0 && ::setns(user, CLONE_NEWUSER) != 0) err = errno;
    ::close(user);
    if (err != 0) return err;
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
        if (!is_admin_cap(cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return errno;
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno;
    // Only the primary group is mapped in the space's user namespace.
    if (::setgroups(1, &who_.gid) != 0) return errno;
    if (::setresgid(who_.gid, who_.gid, who_.gid) != 0) return errno;
    if (::setresuid(who_.uid, who_.uid, who_.uid) != 0) return errno;
    if (::cap_set_proc(admin_caps_) != 0) return errno;
    for (int cap : kAdminCaps)
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return errno;
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return errno;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (int e = check_ids(); e != 0) return e;
    uint64_t eff = 0, prm = 0, inh = 0;
    if (read_caps(eff, prm, inh) != 0) return errno;
    if (eff != kAdminMask || prm != kAdminMask || inh != kAdminMask) return EPERM;
    return 0;
}

int Becoming::become() const noexcept {
    if (admin_) return become_admin();
    // The bounding set first: dropping from it needs CAP_SETPCAP, gone after setresuid.
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return errno;
    if (::setgroups(who_.groups.size(), who_.groups.data()) != 0) return errno;
    if (::setresgid(who_.gid, who_.gid, who_.gid) != 0) return errno;
    if (::setresuid(who_.uid, who_.uid, who_.uid) != 0) return errno;
    // setresuid away from root empties permitted and effective, but not inheritable.
    if (::cap_set_proc(empty_) != 0) return errno;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;

    // Trust, but verify: a kernel or libc that silently kept something is an error.
    if (int e = check_ids(); e != 0) return e;
    if (who_.uid != 0) {
        uint64_t eff = 0, prm = 0, inh = 0;
        if (read_caps(eff, prm, inh) != 0) return errno;
        if (eff != 0 || prm != 0 || inh != 0) return EPERM;
    }
    return 0;
}

}  // namespace personalnet::helper
