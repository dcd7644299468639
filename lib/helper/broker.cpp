#include "lib/helper/broker.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5
#endif

namespace personalnet::helper {

namespace {

constexpr int kStdio = 3;

Result<std::pair<sockaddr_un, socklen_t>> address_of(const std::string& name) {
    if (name.size() < 2 || name[0] != '@' || name.size() > sizeof(sockaddr_un::sun_path))
        return make_error(EINVAL, "bad broker name '" + name + "'");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, name.data() + 1, name.size() - 1);  // sun_path[0] = 0: abstract
    return std::pair{a, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())};
}

// One byte carrying the three stdio descriptors (or room for them).
struct StdioFrame {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kStdio)] = {};
    msghdr msg{};
    StdioFrame() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    StdioFrame(const StdioFrame&) = delete;
    StdioFrame& operator=(const StdioFrame&) = delete;
};

// Linux before 6.5 has no SO_PEERPIDFD: the pid SO_PEERCRED gave is pinned here, and the
// process pinned must still be the peer: alive after the pin (a pidfd names one process
// for good) with the peer's uid as its real and effective ids. What is left is a peer
// that exited and a pid reused by another process of the same user within that window:
// it would pin that process of the same user, which gains nobody anything.
Result<UniqueFd> pin_peer(const ucred& cred) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0)));
    if (!fd.valid()) return errno_error("broker: pin the peer (pid " + std::to_string(cred.pid) + ")");
    std::string status;
    UniqueFd st(::open(("/proc/" + std::to_string(cred.pid) + "/status").c_str(), O_RDONLY | O_CLOEXEC));
    char buf[4096];
    ssize_t n = st.valid() ? ::read(st.get(), buf, sizeof buf - 1) : -1;
    if (n > 0) status.assign(buf, static_cast<size_t>(n));
    std::string uid = std::to_string(cred.uid);
    bool same = status.find("\nUid:\t" + uid + "\t" + uid + "\t") != std::string::npos;
    if (!same || ::syscall(SYS_pidfd_send_signal, fd.get(), 0, nullptr, 0) != 0)
        return make_error(ESRCH, "broker: the peer (pid " + std::to_string(cred.pid) + ") is gone");
    return fd;
}

}  // namespace

std::string broker_name(pid_t session) { return "@personalnet-" + std::to_string(session); }

Result<UniqueFd> broker_listen(const std::string& name) {
    auto addr = address_of(name);
    if (!addr.ok()) return addr.error();
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return errno_error("broker: socket");
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr->first), addr->second) != 0)
        return errno_error("broker: bind " + name);
    if (::listen(s.get(), 16) != 0) return errno_error("broker: listen");
    return s;
}

Result<Peer> broker_accept(int listen_fd) {
    Peer p;
    p.conn = UniqueFd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!p.conn.valid()) return errno_error("broker: accept");
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(p.conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return errno_error("broker: peer credentials");
    int pidfd = -1;
    len = sizeof pidfd;
    if (::getsockopt(p.conn.get(), SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0) {
        p.pidfd = UniqueFd(pidfd);
    } else if (errno == ENOPROTOOPT) {
        auto pinned = pin_peer(cred);
        if (!pinned.ok()) return pinned.error();
        p.pidfd = std::move(pinned).value();
    } else {
        return errno_error("broker: peer pidfd");
    }
    p.pid = cred.pid;
    p.uid = cred.uid;
    p.gid = cred.gid;
    return p;
}

Status take_stdio(int conn) {
    StdioFrame f;
    msghdr& msg = f.msg;
    ssize_t n;
    do {
        n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return make_error(EPROTO, "broker: no stdio from the caller");
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int) * kStdio) || (msg.msg_flags & MSG_CTRUNC) != 0)
        return make_error(EPROTO, "broker: no stdio from the caller");
    int fds[kStdio];
    std::memcpy(fds, CMSG_DATA(c), sizeof fds);
    for (int i = 0; i < kStdio; ++i) {
        if (::dup2(fds[i], i) != i) return errno_error("broker: take stdio");
        if (fds[i] >= kStdio) ::close(fds[i]);
    }
    return {};
}

Result<UniqueFd> broker_connect(const std::string& name) {
    auto addr = address_of(name);
    if (!addr.ok()) return addr.error();
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return errno_error("connect to the helper's broker: socket");
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr->first), addr->second) != 0)
        return errno_error("connect to the helper's broker " + name +
                           " (it ends with the session that started this command)");
    StdioFrame f;
    msghdr& msg = f.msg;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * kStdio);
    const int fds[kStdio] = {0, 1, 2};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    if (::sendmsg(s.get(), &msg, MSG_NOSIGNAL) != 1)
        return errno_error("connect to the helper's broker: send stdio");
    return s;
}

}  // namespace personalnet::helper
