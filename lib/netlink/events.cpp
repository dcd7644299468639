#include "lib/netlink/events.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
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
