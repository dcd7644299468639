// The helper's channel: a stream socket carrying messages (lib/helper/request.hpp), each
// preceded by its length as 4 bytes in network order.
#pragma once

#include "lib/helper/request.hpp"

namespace personalnet::helper {

// The helper's end is always this descriptor.
inline constexpr int kChannelFd = 3;

Status send_message(int fd, const Message& m);
// ECONNRESET "closed" when the other end closed the channel between messages; EINVAL
// for a message longer than kMaxMessage or one that does not decode.
Result<Message> receive_message(int fd);

}  // namespace personalnet::helper
