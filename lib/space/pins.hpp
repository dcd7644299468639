// Making, finding and removing the registry's pins from wherever the caller runs.
//
// A pin is a bind mount of a network namespace under the run directory (RUNDIR/ns/NAME for
// a named space, RUNDIR/parents/INODE/ns for a namespace with children). Pins live in the
// host's mount namespace (and in those that share its run directory, as `ip netns exec`'s
// copies do), never in a space's: a space's mount namespace has a view of the run
// directory without them (lib/fs/run_view). Root's tools running inside a space reach
// them through the host's mount namespace (host_mntns): they look pins up from its root
// directory, and make and remove them in a short-lived child that joins it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/reach.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

class Pins {
public:
    // The pins of reg's run directory as this process reaches them (worked out once per
    // mount namespace the process is in).
    static Result<const Pins*> of(const registry::Registry& reg);

    // Bind-mounts the namespace behind netns_fd onto path (created O_EXCL).
    Status pin(int netns_fd, const std::string& path) const;
    // Detaches the pin and removes the file; ENOENT tolerated.
    Status unpin(const std::string& path) const;
    // Inode of the namespace pinned at path, 0 if path is no pin.
    uint64_t inode(const std::string& path) const;
    // The namespace pinned at path if its inode is `inode` (opened for setns), else nullopt.
    Result<std::optional<UniqueFd>> open(const std::string& path, uint64_t inode) const;

    // Whether the pins are in this process's own mount namespace.
    bool here() const { return !host_root_.valid(); }

private:
    UniqueFd host_mntns_;  // both invalid: here
    UniqueFd host_root_;   // the host's root directory, O_PATH
};

// The same through Pins::of(reg), for one call.
Status pin_under(const registry::Registry& reg, int netns_fd, const std::string& path);
Status unpin_under(const registry::Registry& reg, const std::string& path);
// An error when the host's pins cannot be reached from here.
Result<uint64_t> pinned_inode_under(const registry::Registry& reg, const std::string& path);

// The namespace `inode` through its pin at path (Pins::open), or else wherever reach_netns
// finds it (`how`): pins in other mount namespaces, and with Reach::anywhere any reference.
Result<std::optional<UniqueFd>> reach_pinned(const registry::Registry& reg, uint64_t inode,
                                             const std::string& path, Reach how);

// A named space's network namespace through its pin: the host's (reach_pinned), or the
// one in the mount namespace its init started in, which the init keeps after every process
// in it has ended (a space made under `ip netns exec` or `unshare -m`). nullopt: no pin
// holds it any more.
Result<std::optional<UniqueFd>> reach_named(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
