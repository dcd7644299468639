// Whether this kernel does ESP itself (issue 4: the datapath is chosen at start-up).
//
// A kernel without ESP (like the development and CI machines: no CONFIG_INET_ESP, no
// loadable modules) still answers XFRM netlink but refuses an ESP state with
// EPROTONOSUPPORT ("Requested type not found"); there charon's kernel-libipsec does ESP
// in user space instead. The probe adds one ESP state in a throwaway network namespace,
// entered by a thread of its own, so nothing of it is ever visible.
#pragma once

#include "personalnet/error.hpp"

namespace personalnet::netlink {

// true: the kernel installs ESP states; false: it has no ESP. An error when the probe
// itself fails (no XFRM netlink at all, no permission to make a network namespace).
Result<bool> kernel_has_esp();

// Empties the XFRM databases (every SA and every policy, not the per-socket ones) of the
// calling thread's network namespace. For a port space bound to an overlay, whose
// kernel XFRM state belongs to its charon alone: SAs outlive a daemon that was killed.
Status flush_xfrm();

}  // namespace personalnet::netlink
