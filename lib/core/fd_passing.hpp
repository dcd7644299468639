// One message with at most one descriptor (SCM_RIGHTS) on a unix socket: how a short-lived
// child in another mount namespace hands back what it opened or cloned there.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace personalnet::sys {

// Sends len bytes of data with fd (none when fd < 0), retried on EINTR; the bytes sent,
// or -1 with errno. Allocates nothing: a forked child may call it.
ssize_t send_with_fd(int sock, const void* data, size_t len, int fd);

// Receives one message into buf (at most len bytes) and the descriptor that came with it
// in *fd (close-on-exec; -1 when none did), retried on EINTR; flags as recvmsg's. The
// bytes received, or -1 with errno.
ssize_t receive_with_fd(int sock, void* buf, size_t len, int* fd, int flags = 0);

}  // namespace personalnet::sys
