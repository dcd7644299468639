// The oldest Linux personalnet runs on, and the one check of it (README.md, "Kernel",
// lists what needs which version).
#pragma once

#include <string>

#include "personalnet/error.hpp"

namespace personalnet::sys {

// Linux 5.10: overlayfs's "volatile" (a throwaway file space's upper layer), besides
// openat2 (5.6), close_range (5.9), pidfd_open (5.3) and open_tree/move_mount (5.2).
// Newer features are used when present and not needed: tcx (6.6, else the nftables
// dispatcher), SO_PEERPIDFD (6.5), NS_GET_MNTNS_ID (6.8), SO_NETNS_COOKIE (5.14).
constexpr int kMinKernelMajor = 5;
constexpr int kMinKernelMinor = 10;

// Whether a kernel release as uname(2) gives it ("6.1.0-21-amd64") is at least
// major.minor. A release that does not start with two numbers is not known to be older:
// true.
bool kernel_at_least(const std::string& release, int major, int minor);

// Refuses a kernel older than the minimum, in one line ("personalnet needs Linux 5.10 or
// later; this kernel is 5.4.0"). uname is asked once per process.
Status require_supported_kernel();

}  // namespace personalnet::sys
