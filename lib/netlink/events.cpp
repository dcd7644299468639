#include "lib/netlink/events.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <vector>

#include "lib/core/byte_buffer.hpp"

namespace personalnet::netlink {

namespace {

uint32_t route_table(const nlmsghdr* m) {
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
    uint32_t table = rtm->rtm_table;
    // A table above 255 is only in RTA_TABLE.
    mnl_attr_parse(
        m, sizeof *rtm,
        [](const nlattr* a, void* data) {
            if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                *static_cast<uint32_t*>(data) = mnl_attr_get_u32(a);
            return MNL_CB_OK;
        },
        &table);
    return table;
}

// A socket filter that drops, in the kernel, the route notifications of tables other than
// main: the reply tables and the local table change with every child made or removed.
// When thousands of children's namespaces end together their notifications overflowed the
// socket, and an overflow (ENOBUFS) must be answered by following every child, under the
// registry lock that gc then waited for (seconds, again and again). Netlink messages are
// in host byte order, which BPF_H loads as network order: hence htons.
constexpr size_t kTypeOffset = offsetof(nlmsghdr, nlmsg_type);
constexpr size_t kTableOffset = NLMSG_HDRLEN + offsetof(rtmsg, rtm_table);
const std::array<sock_filter, 7> kMainTableRoutesOnly = {{
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, kTypeOffset),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, 2),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kTableOffset),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RT_TABLE_MAIN, 0, 1), BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),  // keep
    BPF_STMT(BPF_RET | BPF_K, 0),                                                                      // drop
}};
// Room for bursts of relevant notifications too (the watcher runs as root).
constexpr int kEventBuffer = 4 << 20;

}  // namespace

bool inherited_change(const nlmsghdr* m) {
    switch (m->nlmsg_type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
            return m->nlmsg_len >= NLMSG_LENGTH(sizeof(ifaddrmsg));
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
            return m->nlmsg_len >= NLMSG_LENGTH(sizeof(rtmsg)) && route_table(m) == RT_TABLE_MAIN;
        default:
            return false;
    }
}

struct Events::Impl {
    mnl_socket* nl = nullptr;
    ByteBuffer rx = ByteBuffer(32768);
    ~Impl() {
        if (nl != nullptr) (void)mnl_socket_close(nl);
    }
};

Events::Events(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Events::Events(Events&&) noexcept = default;
Events& Events::operator=(Events&&) noexcept = default;
Events::~Events() = default;

Result<Events> Events::open() {
    auto impl = std::make_unique<Impl>();
    impl->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (impl->nl == nullptr) return errno_error("open rtnetlink event socket");
    if (mnl_socket_bind(impl->nl, 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error("bind rtnetlink event socket");
    const sock_fprog prog{static_cast<unsigned short>(kMainTableRoutesOnly.size()),
                          const_cast<sock_filter*>(kMainTableRoutesOnly.data())};
    if (::setsockopt(mnl_socket_get_fd(impl->nl), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0)
        return errno_error("filter rtnetlink events");
    // Without CAP_NET_ADMIN only up to the system's rmem_max: what that gives is enough.
    const int size = kEventBuffer;
    if (::setsockopt(mnl_socket_get_fd(impl->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)::setsockopt(mnl_socket_get_fd(impl->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    for (int group : {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE})
        if (mnl_socket_setsockopt(impl->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
            return errno_error("subscribe to address and route events");
    return Events(std::move(impl));
}

int Events::fd() const { return mnl_socket_get_fd(impl_->nl); }

Result<bool> Events::drain() {
    bool changed = false;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(impl_->nl, impl_->rx.data(), impl_->rx.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return changed;
        if (n < 0 && errno == ENOBUFS) {
            changed = true;  // the kernel dropped some: look again, whatever they were
            continue;
        }
        if (n < 0) return errno_error("read address and route events");
        int left = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(impl_->rx.data()); mnl_nlmsg_ok(m, left);
             m = mnl_nlmsg_next(m, &left))
            if (inherited_change(m)) changed = true;
    }
}

}  // namespace personalnet::netlink
