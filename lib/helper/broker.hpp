// The helper inside a space. A command the helper started runs with no_new_privs, so
// exec'ing the set-uid helper gains it nothing; creating a space from inside a space, or
// managing one, goes instead to the broker that the helper's session keeps listening on
// an abstract socket in the space's network namespace (only processes in that namespace
// can reach it). Its name is in the command's PERSONALNET_BROKER ("@personalnet-<pid>").
// A connection hands over the caller's stdio first (SCM_RIGHTS), then speaks the same
// messages as the helper's descriptor 3.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::helper {

// "@personalnet-<pid>" for the session helper with that pid.
std::string broker_name(pid_t session);

// Listening socket for name (abstract, "@..."), in the calling thread's network namespace.
Result<UniqueFd> broker_listen(const std::string& name);

struct Peer {
    UniqueFd conn;
    UniqueFd pidfd;  // the connecting process, pinned
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};
// Accepts one connection and reads who made it (SO_PEERCRED, SO_PEERPIDFD).
Result<Peer> broker_accept(int listen_fd);
// Receives the three stdio descriptors a client sent and puts them on 0, 1 and 2.
Status take_stdio(int conn);

// The client's side: connects to name and hands over this process's stdio.
Result<UniqueFd> broker_connect(const std::string& name);

}  // namespace personalnet::helper
