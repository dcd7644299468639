// Namespace plumbing for the space code: switching the calling thread's network
// namespace with guaranteed return, pinning namespaces by bind mount, and finding
// the processes that live in one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/core/fd.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Enters a network namespace for the lifetime of the object and returns to the
// original one on destruction (aborts if it cannot: continuing in the wrong
// namespace would configure the wrong host).
class NetnsSwitch {
public:
    static Result<NetnsSwitch> enter(int target_fd);
    NetnsSwitch(NetnsSwitch&& o) noexcept : home_(std::move(o.home_)) {}
    NetnsSwitch(const NetnsSwitch&) = delete;
    NetnsSwitch& operator=(const NetnsSwitch&) = delete;
    NetnsSwitch& operator=(NetnsSwitch&&) = delete;
    ~NetnsSwitch();

private:
    explicit NetnsSwitch(UniqueFd home) : home_(std::move(home)) {}
    UniqueFd home_;
};

// Creates a new network namespace without entering it (the calling thread stays
// where it is) and returns an fd on it.
Result<UniqueFd> new_netns();
// The same, owned by a new user namespace in which uid and gid map to themselves (and
// nothing else is mapped): processes of that user that join it hold capabilities over
// the network namespace only (--admin). Made by a short-lived child.
Result<UniqueFd> new_netns_in_user_namespace(uid_t uid, gid_t gid);

// Bind-mounts the namespace behind ns_fd onto path (created O_EXCL).
Status pin_netns(int ns_fd, const std::string& path);
// Detaches the pin mount and removes the file; ENOENT tolerated.
Status unpin(const std::string& path);
// Inode of the namespace pinned at path, 0 if path is not a pin.
uint64_t pinned_inode(const std::string& path);
// Inode of the namespace behind fd (an O_PATH descriptor will do), 0 if it is no namespace.
uint64_t nsfs_inode(int fd);

// True if any process other than the caller has its network namespace at inode.
// ignore: daemons of the space (fuse-overlayfs, the IKE keeper), whose children do not
// count either.
bool netns_has_processes(uint64_t inode, std::initializer_list<pid_t> ignore = {});
// The same, not counting the processes of PID namespace ending_pidns (0: none), whose
// init has just been killed: the kernel is ending every one of them.
bool netns_has_processes_outside(uint64_t inode, uint64_t ending_pidns, std::initializer_list<pid_t> ignore);

// The processes of every network namespace, from one walk over /proc, for asking
// netns_has_processes of many spaces at once (gc): one walk each cost processes x spaces
// (4000 dead spaces: 16 million stats). A process that enters a namespace after the walk
// is not seen; callers ask about spaces no process is known to enter (unnamed ones, whose
// only way in is through a process or descriptor of theirs).
class ProcessesByNetns {
public:
    static ProcessesByNetns scan();
    // As netns_has_processes.
    bool has_processes(uint64_t inode, std::initializer_list<pid_t> ignore = {}) const;

private:
    std::unordered_map<uint64_t, std::vector<pid_t>> members_;
    bool complete_ = false;  // false: /proc could not be read (then every namespace has some)
};

}  // namespace personalnet::space
