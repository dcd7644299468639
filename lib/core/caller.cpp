#include "lib/core/caller.hpp"

#include <unistd.h>

#include <atomic>

namespace personalnet::sys {

namespace {
// -1 (no override) or the helper's caller; set once, early, before any thread exists.
std::atomic<long long> g_caller{-1};
std::atomic<int> g_caller_mntns{-1};
}  // namespace

uid_t caller_uid() {
    long long c = g_caller.load(std::memory_order_relaxed);
    return c < 0 ? ::getuid() : static_cast<uid_t>(c);
}

void set_caller_uid(uid_t uid) { g_caller.store(uid, std::memory_order_relaxed); }

int caller_mntns() { return g_caller_mntns.load(std::memory_order_relaxed); }
void set_caller_mntns(int fd) { g_caller_mntns.store(fd, std::memory_order_relaxed); }

}  // namespace personalnet::sys
