// The helper's channel: a stream socket carrying messages (lib/helper/request.hpp), each
// preceded by its length as 4 bytes in network order.
#pragma once

#include "lib/helper/request.hpp"

namespace personalnet::helper {

// The helper's end is always this descriptor.
inline constexpr int kChannelFd = 3;

// EINVAL (check_framing) for a message the other end could not decode: a value over
// 64 KiB or holding a NUL byte, a bad key, more than 1 MiB in all. Nothing is sent then.
Status send_message(int fd, const Message& m);
// ECONNRESET "closed" when the other end closed the channel between messages, EPROTO when
// it closed it within one: nobody is left to answer. EINVAL for a message read whole that
// does not decode (the channel is still in step: an answer can follow), EMSGSIZE for a
// length over kMaxMessage (its body was not read: answer once, then close).
Result<Message> receive_message(int fd);

}  // namespace personalnet::helper
