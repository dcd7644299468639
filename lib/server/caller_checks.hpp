// What the helper's server learns about its caller, and the checks it makes as the
// caller (never as root) before anything is made for them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/helper/identity.hpp"
#include "lib/policy/policy.hpp"
#include "personalnet/error.hpp"

namespace personalnet::server {

// How long a check made as the caller may take: the caller controls what it looks at
// (a directory on their own FUSE mount whose daemon they stopped, or the checking child
// itself, which runs as them and which they may SIGSTOP).
inline constexpr int kCheckSeconds = 5;

// The caller as the policy sees them: uid, gid, user name and group names.
policy::Caller describe(const helper::Identity& who);

// A seed file's text as a path the library can read: a sealed memory file, so no file
// is left anywhere and nobody else can change it. keep holds its descriptor.
Result<std::string> as_memfd(const std::string& text, std::vector<UniqueFd>& keep);

// A directory the caller wants to share, resolved by a child that became the caller: the
// canonical path of a directory the caller can read and enter, so that the policy's
// share paths are checked against what would really be shared (not a symbolic link
// under an allowed prefix), and the helper never tells anything about what the caller
// cannot see. The child gets kCheckSeconds and is SIGKILLed then; the helper does not
// wait for a child stuck in an unkillable wait (a FUSE request already read by a stopped
// daemon): it is reaped when the helper ends. Never called under a lock.
Result<std::string> resolve_as_caller(const helper::Becoming& as_caller, const std::string& dir,
                                      int caller_pidfd);

// The pid of the process a pidfd refers to (its fdinfo's Pid line), or -1 when it has
// exited.
pid_t pid_of(int pidfd);

}  // namespace personalnet::server
