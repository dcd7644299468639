// Becoming the caller again: what the set-uid helper does in the child that execs the
// caller's command, after joining the space and before exec.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::helper {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups

    // The calling process's real uid, real gid and supplementary groups.
    static Result<Identity> of_caller();
};

// Prepared before fork(), so that become() allocates nothing and calls only
// async-signal-safe functions in the child of a process that may have had threads.
class Becoming {
public:
    // admin: the space is an --admin one; the command joins the user namespace that owns
    // its network namespace and keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE there only.
    static Result<Becoming> prepare(const Identity& who, bool admin = false);
    Becoming(Becoming&&) noexcept;
    Becoming& operator=(Becoming&&) noexcept;
    Becoming(const Becoming&) = delete;
    Becoming& operator=(const Becoming&) = delete;
    ~Becoming();

    // In the child: empties the bounding and ambient capability sets, takes the caller's
    // groups, gid and uid (real, effective, saved and file-system), clears the
    // inheritable, permitted and effective sets, sets no_new_privs, and checks the
    // result. Returns 0, or the errno of the step that failed (the child must not exec).
    // For an --admin space, the same inside the space's user namespace except that the
    // two network capabilities stay in every set, ambient included, so they survive exec.
    int become() const noexcept;

private:
    Becoming() = default;
    int become_admin() const noexcept;
    int check_ids() const noexcept;
    Identity who_;
    bool admin_ = false;
    cap_t empty_ = nullptr;
    cap_t admin_caps_ = nullptr;
};

}  // namespace personalnet::helper
