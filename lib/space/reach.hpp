// Finding a network namespace again from wherever the caller is.
//
// The registry names namespaces by inode and reaches them through pins (bind mounts under
// the run directory). A bind mount belongs to one mount namespace, though: a caller in
// another one (each `ip netns exec` makes a new one) may not see a pin made elsewhere, and
// a pin made in a mount namespace that has ended is gone with it. So "the pin is not there"
// proves nothing about the namespace. reach_netns looks wherever the kernel shows a
// reference to a network namespace (as lsns does): the caller's own, the pin, every
// process's namespace, every mount namespace's nsfs mounts, every open nsfs descriptor.
// Only when none names it is it gone, and with it everything that lived in it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Which references count.
enum class Reach {
    // Only the registry's own pin, in any mount namespace: a pin holds its namespace, so
    // its inode cannot have passed to another one. What a space is run in.
    pin,
    // Any reference. An inode names a namespace only while it lives, so a later one may
    // carry it: the caller checks identity (the parent state's cookie).
    anywhere,
};

// An fd on the network namespace with that inode, or nullopt when nothing (that counts)
// refers to it any more. pin: where the registry pinned it. An error when something
// refers to it but cannot be opened (then it is not known to be gone).
Result<std::optional<UniqueFd>> reach_netns(uint64_t inode, const std::string& pin, Reach how);

// The network namespace with that inode at mount point `point` of the mount namespace of
// process directory `proc` ("/proc/PID"), or nullopt when something else is there. The
// path is walked from that process's root without following a symbolic link, and nothing
// is opened for reading before it is known to be a namespace: that mount namespace may be
// a user's, who may put a FIFO or a link there at any moment (docs/SECURITY.md, rule 1).
Result<std::optional<UniqueFd>> reach_in_process_root(const std::string& proc, const std::string& point,
                                                      uint64_t inode);

// The network namespace behind found (an O_PATH descriptor of a path or magic link that
// `what` names) if its inode is `inode`, opened for setns; nullopt when it is another file
// or namespace. Nothing is opened for reading before it is known to be nsfs: a path in
// another mount namespace, or a descriptor of another process, may meanwhile be a FIFO
// (an open would block) or a device (an open may act).
Result<std::optional<UniqueFd>> open_if_netns(int found, uint64_t inode, const std::string& what);

// The kernel's cookie of the network namespace behind fd (SO_NETNS_COOKIE, Linux 5.14):
// unlike its inode, never reused by a later namespace. 0 if the kernel cannot tell.
uint64_t netns_cookie(int netns_fd);

}  // namespace personalnet::space
