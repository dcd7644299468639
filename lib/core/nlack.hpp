// Decoding of netlink acknowledgements, shared by the rtnetlink and nfnetlink modules.
// Uses only the kernel's UAPI headers, so lib/core stays free of third-party headers.
#pragma once

#include <linux/netlink.h>

#include <string>

#include "personalnet/error.hpp"

namespace personalnet::nlack {

// The kernel's extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR message whose
// total length is nlh->nlmsg_len, "" when there is none.
std::string extack_of(const nlmsghdr* nlh);

// NLMSG_ERROR with a non-zero error as an Error carrying errno, context and extack.
Error error_of(const nlmsghdr* nlh, const std::string& context);

}  // namespace personalnet::nlack
