#include "lib/helper/identity.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
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

Result<Becoming> Becoming::prepare(const Identity& who) {
    Becoming b;
    b.who_ = who;
    b.empty_ = ::cap_init();  // every set empty
    if (b.empty_ == nullptr) return errno_error("prepare to drop capabilities");
    return b;
}

Becoming::Becoming(Becoming&& o) noexcept : who_(std::move(o.who_)), empty_(o.empty_) { o.empty_ = nullptr; }

Becoming& Becoming::operator=(Becoming&& o) noexcept {
    if (this != &o) {
        if (empty_ != nullptr) ::cap_free(empty_);
        who_ = std::move(o.who_);
        empty_ = o.empty_;
        o.empty_ = nullptr;
    }
    return *this;
}

Becoming::~Becoming() {
    if (empty_ != nullptr) ::cap_free(empty_);
}

int Becoming::become() const noexcept {
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
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0) return errno;
    if (ru != who_.uid || eu != who_.uid || su != who_.uid || rg != who_.gid || eg != who_.gid ||
        sg != who_.gid)
        return EPERM;
    // setfsuid returns the previous value; asking for an impossible one changes nothing.
    if (static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != who_.uid) return EPERM;
    if (static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) != who_.gid) return EPERM;
    if (who_.uid != 0) {
        __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        if (::syscall(SYS_capget, &hdr, data) != 0) return errno;
        for (const auto& d : data)
            if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return EPERM;
    }
    return 0;
}

}  // namespace personalnet::helper
