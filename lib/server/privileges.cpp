#include "lib/server/privileges.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace personalnet::server {

namespace {

// Why each is needed: docs/ARCHITECTURE.md, "Unprivileged use" (keep the two in step).
constexpr cap_value_t kSession[] = {
    CAP_SYS_ADMIN,         // namespaces (unshare, setns), mounts, loop devices, bpf links, tc
    CAP_SYS_CHROOT,        // with CAP_SYS_ADMIN: joining a mount namespace (the command, the union)
    CAP_NET_ADMIN,         // veth, addresses, routes, rules, nft, sysctls, XFRM; charon's TUN and XFRM
    CAP_NET_RAW,           // charon (its kernel interfaces open raw and packet sockets)
    CAP_NET_BIND_SERVICE,  // charon's IKE ports 500/4500; an --admin command keeps it (ambient)
    CAP_BPF,               // the eBPF dispatcher: load the program, create and update its maps
    CAP_PERFMON,           // with CAP_BPF: the verifier's checks for a tc program's pointer use
    CAP_SYS_RESOURCE,      // libbpf raising RLIMIT_MEMLOCK on kernels without memcg accounting
    CAP_SYS_PTRACE,        // /proc/PID/ns of the caller's and a space's processes (ownership, liveness)
    CAP_KILL,              // signal 0 to a broker peer's pidfd; stopping daemons of a space
    CAP_DAC_OVERRIDE,      // the owner's layers and shares: the union's copy-up as the mounter
    CAP_DAC_READ_SEARCH,   // walking the owner's upper layers (diff, discard)
    CAP_FOWNER,            // copy-up and discard of the owner's files (times, modes, sticky dirs)
    CAP_FSETID,            // copy-up keeping set-gid bits
    CAP_CHOWN,             // layers and stores handed to their owner; copy-up keeping ownership
    CAP_SETFCAP,           // copy-up of a file with file capabilities (security.capability)
    CAP_MKNOD,             // whiteouts (character device 0:0) on kernels that ask for it
    CAP_SETUID,            // becoming the caller (commands, checks as the caller); --admin uid_map
    CAP_SETGID,            // the caller's groups and gid; --admin gid_map
    CAP_SETPCAP,           // emptying the command's bounding set; trimming the helper's at start
};
// Destroying and collecting: undo what a session made, as the owner's layers need.
// Joining a mount namespace (the store mounted from the host's) takes SYS_CHROOT too.
constexpr cap_value_t kTeardown[] = {
    CAP_SYS_ADMIN,    CAP_SYS_CHROOT,      CAP_NET_ADMIN,  CAP_BPF,
    CAP_PERFMON,      CAP_SYS_RESOURCE,    CAP_SYS_PTRACE, CAP_KILL,
    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
};
// show: the parent's namespace (setns) for the dispatcher's counters, charon's socket.
constexpr cap_value_t kShow[] = {CAP_SYS_ADMIN, CAP_BPF, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};
// diff: the layer store mounted if it is not, the owner's upper layer walked.
constexpr cap_value_t kDiff[] = {CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE};

}  // namespace

Operation operation_of(helper::Op op) {
    switch (op) {
        case helper::Op::list:
        case helper::Op::networks:  // reads the overlay directory (root's), as list reads the registry
            return Operation::list;
        case helper::Op::show:
            return Operation::show;
        case helper::Op::diff:
            return Operation::diff;
        case helper::Op::destroy:
            return Operation::destroy;
        case helper::Op::gc:
            return Operation::gc;
        case helper::Op::create:
        case helper::Op::open:
        case helper::Op::run:
            break;
    }
    return Operation::session;
}

std::span<const cap_value_t> needed_by(Operation op) {
    switch (op) {
        case Operation::show:
            return kShow;
        case Operation::diff:
            return kDiff;
        case Operation::list:  // collects dead spaces, as destroy does
        case Operation::destroy:
        case Operation::gc:
            return kTeardown;
        case Operation::session:
            break;
    }
    return kSession;
}

// The session needs every capability any operation needs (it serves nested requests
// through its broker): it is the union.
std::span<const cap_value_t> helper_caps() { return kSession; }

Status trim_bounding_set() {
    auto keep = helper_caps();
    // Up to the last capability this kernel knows (PR_CAPBSET_READ fails beyond it).
    for (cap_value_t c = 0; ::prctl(PR_CAPBSET_READ, c) >= 0; ++c) {
        if (std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
        if (::prctl(PR_CAPBSET_DROP, c) != 0)
            return errno_error("drop capability " + std::to_string(c) + " from the bounding set");
    }
    return {};
}

Status keep_only(Operation op) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return errno_error("clear the ambient capabilities");
    // Of what it needs, what it has: a system (a container) may have taken some away
    // from root already, and a set cannot grow.
    cap_t now = ::cap_get_proc();
    if (now == nullptr) return errno_error("read capabilities");
    std::vector<cap_value_t> keep;
    for (cap_value_t c : needed_by(op)) {
        cap_flag_value_t has = CAP_CLEAR;
        if (::cap_get_flag(now, c, CAP_PERMITTED, &has) == 0 && has == CAP_SET) keep.push_back(c);
    }
    ::cap_free(now);
    cap_t caps = ::cap_init();  // every set empty
    if (caps == nullptr) return errno_error("drop capabilities");
    int n = static_cast<int>(keep.size());
    bool ok = (n == 0 || (::cap_set_flag(caps, CAP_PERMITTED, n, keep.data(), CAP_SET) == 0 &&
                          ::cap_set_flag(caps, CAP_EFFECTIVE, n, keep.data(), CAP_SET) == 0)) &&
              ::cap_set_proc(caps) == 0;
    int err = errno;
    ::cap_free(caps);
    if (!ok) return make_error(err, "drop capabilities");
    return {};
}

}  // namespace personalnet::server
