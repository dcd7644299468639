// rtnetlink through libmnl. Each request is built in a caller-owned buffer by a small
// builder that records overflow instead of writing past it, sent with NLM_F_ACK, and
// answered by exactly one exchange() loop that handles replies, dumps and ACKs alike.
#include "lib/netlink/netlink.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/veth.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "lib/core/byte_buffer.hpp"
#include "lib/core/nlack.hpp"

namespace personalnet::netlink {

struct Socket::Impl {
    mnl_socket* nl = nullptr;
    uint32_t portid = 0;
    uint32_t seq = 0;
    ByteBuffer rx = ByteBuffer(32768);  // a dump page is at most 32 KiB

    ~Impl() {
        if (nl != nullptr) (void)mnl_socket_close(nl);
    }
};

Socket::Socket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

Result<Socket> Socket::open() {
    auto impl = std::make_unique<Impl>();
    impl->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (impl->nl == nullptr) return errno_error("open rtnetlink socket");
    int one = 1;
    // Short ACKs and the kernel's error text; both optional, so failures are ignored.
    (void)mnl_socket_setsockopt(impl->nl, NETLINK_CAP_ACK, &one, sizeof one);
    (void)mnl_socket_setsockopt(impl->nl, NETLINK_EXT_ACK, &one, sizeof one);
    // Lets dumps be filtered by the kernel (list_routes asks for one table). Required:
    // without it the kernel would silently ignore the filter.
    if (mnl_socket_setsockopt(impl->nl, NETLINK_GET_STRICT_CHK, &one, sizeof one) < 0)
        return errno_error("enable strict rtnetlink checking");
    if (mnl_socket_bind(impl->nl, 0, MNL_SOCKET_AUTOPID) < 0) return errno_error("bind rtnetlink socket");
    impl->portid = mnl_socket_get_portid(impl->nl);
    return Socket(std::move(impl));
}

namespace {

// One request under construction. Attribute writes are bounds-checked by libmnl; an
// attribute that does not fit marks the request as overflowed and exchange() refuses it.
class Request {
public:
    Request(uint16_t type, uint16_t flags) : buf_(MNL_SOCKET_BUFFER_SIZE) {
        nlh_ = mnl_nlmsg_put_header(buf_.data());
        nlh_->nlmsg_type = type;
        nlh_->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    }
    template <typename T>
    T* header() {
        return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
    }
    void put(uint16_t type, const void* data, size_t len) {
        if (!mnl_attr_put_check(nlh_, buf_.size(), type, len, data)) overflow_ = true;
    }
    void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
    void put_str(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
    void put_addr(uint16_t type, const IpAddr& a) { put(type, a.bytes.data(), a.size()); }
    nlattr* nest_start(uint16_t type) {
        nlattr* n = mnl_attr_nest_start_check(nlh_, buf_.size(), type);
        if (n == nullptr) overflow_ = true;
        return n;
    }
    void nest_end(nlattr* n) {
        if (n != nullptr) mnl_attr_nest_end(nlh_, n);
    }
    nlmsghdr* nlh() { return nlh_; }
    bool overflowed() const { return overflow_; }

private:
    ByteBuffer buf_;
    nlmsghdr* nlh_;
    bool overflow_ = false;
};

using OnMessage = std::function<Status(const nlmsghdr*)>;

// Sends the request and reads until its ACK (or NLMSG_DONE for a dump), passing every
// other message of this exchange to on_msg. Messages of other sequence numbers
// (multicast notifications, stale replies) are skipped.
Status exchange(Socket& s, Request& req, const std::string& what, const OnMessage& on_msg = {}) {
    if (req.overflowed()) return make_error(EMSGSIZE, what + ": request too large");
    auto* impl = s.impl();
    nlmsghdr* nlh = req.nlh();
    nlh->nlmsg_seq = ++impl->seq;
    if (mnl_socket_sendto(impl->nl, nlh, nlh->nlmsg_len) < 0) return errno_error(what + ": send");
    std::optional<Error> failed;  // from a callback; the rest of the dump is still drained
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(impl->nl, impl->rx.data(), impl->rx.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(what + ": receive");
        }
        int left = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(impl->rx.data()); mnl_nlmsg_ok(m, left);
             m = mnl_nlmsg_next(m, &left)) {
            if (m->nlmsg_seq != nlh->nlmsg_seq || m->nlmsg_pid != impl->portid) continue;
            if (m->nlmsg_type == NLMSG_DONE) {
                if (failed) return *failed;
                return {};
            }
            if (m->nlmsg_type == NLMSG_ERROR) {
                Error e = nlack::error_of(m, what);
                if (e.code != 0) return e;
                if (failed) return *failed;
                return {};
            }
            if (on_msg && !failed) {
                auto st = on_msg(m);
                if (!st.ok()) failed = st.error().wrap(what);
            }
        }
    }
}

// Attributes of a message after its family header, indexed by type (nested ones too).
template <size_t N>
struct Attrs {
    std::array<const nlattr*, N + 1> a{};
    const nlattr* operator[](size_t t) const { return t <= N ? a[t] : nullptr; }
};

template <size_t N>
Attrs<N> parse_attrs(const nlmsghdr* m, size_t header_len) {
    Attrs<N> out;
    const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(m, header_len));
    const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
    for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
         attr = mnl_attr_next(attr)) {
        uint16_t t = mnl_attr_get_type(attr);
        if (t <= N) out.a[t] = attr;
    }
    return out;
}

template <size_t N>
Attrs<N> parse_nested(const nlattr* nest) {
    Attrs<N> out;
    const auto* attr = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
    const auto* tail = reinterpret_cast<const char*>(nest) + nest->nla_len;
    for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
         attr = mnl_attr_next(attr)) {
        uint16_t t = mnl_attr_get_type(attr);
        if (t <= N) out.a[t] = attr;
    }
    return out;
}

std::string attr_str(const nlattr* a) {
    if (a == nullptr) return {};
    const char* p = static_cast<const char*>(mnl_attr_get_payload(a));
    return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

std::optional<uint32_t> attr_u32(const nlattr* a) {
    if (a == nullptr || mnl_attr_get_payload_len(a) < sizeof(uint32_t)) return std::nullopt;
    return mnl_attr_get_u32(a);
}

std::optional<IpAddr> attr_addr(const nlattr* a, int family) {
    if (a == nullptr) return std::nullopt;
    IpAddr ip;
    ip.family = family;
    if (mnl_attr_get_payload_len(a) != ip.size()) return std::nullopt;
    std::memcpy(ip.bytes.data(), mnl_attr_get_payload(a), ip.size());
    return ip;
}

Status check_family(int family, const std::string& what) {
    if (family != AF_INET && family != AF_INET6) return make_error(EAFNOSUPPORT, what + ": not an IP family");
    return {};
}

// One change request (add or delete) of an IPv4/IPv6 object, acknowledged.
Status change(Socket& s, Request req, int family, const std::string& what) {
    PN_TRY(check_family(family, what), "");
    return exchange(s, req, what);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Links.

namespace {

Link link_of(const nlmsghdr* m) {
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
    auto at = parse_attrs<IFLA_MAX>(m, sizeof *ifi);
    Link l;
    l.index = ifi->ifi_index;
    l.up = (ifi->ifi_flags & IFF_UP) != 0;
    l.name = attr_str(at[IFLA_IFNAME]);
    if (at[IFLA_LINKINFO] != nullptr)
        l.kind = attr_str(parse_nested<IFLA_INFO_MAX>(at[IFLA_LINKINFO])[IFLA_INFO_KIND]);
    return l;
}

}  // namespace

Result<std::vector<Link>> list_links(Socket& s) {
    Request req(RTM_GETLINK, NLM_F_DUMP);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    std::vector<Link> out;
    auto st = exchange(s, req, "list links", [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type == RTM_NEWLINK) out.push_back(link_of(m));
        return {};
    });
    if (!st.ok()) return st.error();
    return out;
}

Result<int> link_index(Socket& s, const std::string& name) {
    std::string what = "find link '" + name + "'";
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_GETLINK, 0);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    req.put_str(IFLA_IFNAME, name);
    uint32_t ext = RTEXT_FILTER_SKIP_STATS;  // no need for the counters
    req.put_u32(IFLA_EXT_MASK, ext);
    int index = 0;
    auto st = exchange(s, req, what, [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type == RTM_NEWLINK)
            index = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m))->ifi_index;
        return {};
    });
    if (!st.ok()) return st.error();
    if (index <= 0) return make_error(ENODEV, what);
    return index;
}

Result<int> create_veth(Socket& s, const std::string& host_name, const Mac& host_mac,
                        const std::string& peer_name, const Mac& peer_mac, int peer_netns_fd) {
    std::string what = "create veth '" + host_name + "'";
    if (host_name.empty() || host_name.size() >= IFNAMSIZ || peer_name.empty() ||
        peer_name.size() >= IFNAMSIZ)
        return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    req.put_str(IFLA_IFNAME, host_name);
    req.put(IFLA_ADDRESS, host_mac.data(), host_mac.size());
    nlattr* info = req.nest_start(IFLA_LINKINFO);
    req.put_str(IFLA_INFO_KIND, "veth");
    nlattr* data = req.nest_start(IFLA_INFO_DATA);
    // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's own attributes.
    nlattr* peer = req.nest_start(VETH_INFO_PEER);
    ifinfomsg peer_hdr{};
    peer_hdr.ifi_family = AF_UNSPEC;
    // The header is not an attribute: append it raw, then let the attributes follow.
    auto* raw = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(req.nlh()));
    std::memcpy(raw, &peer_hdr, sizeof peer_hdr);
    req.nlh()->nlmsg_len += MNL_ALIGN(sizeof peer_hdr);
    req.put_str(IFLA_IFNAME, peer_name);
    req.put(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
    req.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
    req.nest_end(peer);
    req.nest_end(data);
    req.nest_end(info);
    PN_TRY(exchange(s, req, what), "");
    auto index = link_index(s, host_name);
    if (!index.ok()) return index.error().wrap(what);
    return index.value();
}

Status delete_link(Socket& s, int ifindex) {
    Request req(RTM_DELLINK, 0);
    auto* ifi = req.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return exchange(s, req, "delete link #" + std::to_string(ifindex));
}

Status delete_link(Socket& s, const std::string& name) {
    std::string what = "delete link '" + name + "'";
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_DELLINK, 0);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    req.put_str(IFLA_IFNAME, name);
    return exchange(s, req, what);
}

Status set_link_up(Socket& s, int ifindex) {
    Request req(RTM_NEWLINK, 0);
    auto* ifi = req.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return exchange(s, req, "bring up link #" + std::to_string(ifindex));
}

Result<int> create_bridge(Socket& s, const std::string& name) {
    std::string what = "create bridge '" + name + "'";
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    req.put_str(IFLA_IFNAME, name);
    nlattr* info = req.nest_start(IFLA_LINKINFO);
    req.put_str(IFLA_INFO_KIND, "bridge");
    req.nest_end(info);
    PN_TRY(exchange(s, req, what), "");
    auto index = link_index(s, name);
    if (!index.ok()) return index.error().wrap(what);
    return index.value();
}

Status set_master(Socket& s, int ifindex, int master_ifindex) {
    Request req(RTM_NEWLINK, 0);
    auto* ifi = req.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    req.put_u32(IFLA_MASTER, static_cast<uint32_t>(master_ifindex));
    return exchange(
        s, req, "make link #" + std::to_string(ifindex) + " a port of #" + std::to_string(master_ifindex));
}

Status Socket::wait_link_gone(int ifindex) {
    int group = RTNLGRP_LINK;
    if (mnl_socket_setsockopt(impl_->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        return errno_error("subscribe to link events");
    int fd = mnl_socket_get_fd(impl_->nl);
    // Notifications that arrive while a status request is in flight are skipped by
    // exchange(), so the link's existence is re-checked on every quiet second instead of
    // relying on seeing its RTM_DELLINK.
    for (;;) {
        Request req(RTM_GETLINK, 0);
        auto* ifi = req.header<ifinfomsg>();
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        req.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        auto st = exchange(*this, req, "check link #" + std::to_string(ifindex));
        if (!st.ok() && st.error().code == ENODEV) return {};
        if (!st.ok() && st.error().code != ENOBUFS) return st;
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            int pr = ::poll(&p, 1, 1000);
            if (pr < 0 && errno == EINTR) continue;
            if (pr < 0) return errno_error("wait for link events");
            if (pr == 0) break;  // quiet: re-check
            ssize_t n = mnl_socket_recvfrom(impl_->nl, impl_->rx.data(), impl_->rx.size());
            if (n < 0 && errno == ENOBUFS) break;  // events lost: re-check
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error("read link events");
            int left = static_cast<int>(n);
            for (auto* m = reinterpret_cast<const nlmsghdr*>(impl_->rx.data()); mnl_nlmsg_ok(m, left);
                 m = mnl_nlmsg_next(m, &left)) {
                if (m->nlmsg_type == RTM_DELLINK &&
                    static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m))->ifi_index == ifindex)
                    return {};
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Addresses.

Status add_address(Socket& s, int ifindex, const IpPrefix& prefix, int scope, bool nodad, bool prefix_route) {
    std::string what = "add address " + prefix.str() + " to link #" + std::to_string(ifindex);
    PN_TRY(check_family(prefix.addr.family, what), "");
    Request req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    auto* ifa = req.header<ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(prefix.addr.family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(prefix.len);
    ifa->ifa_scope = static_cast<uint8_t>(scope);
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    req.put_addr(IFA_LOCAL, prefix.addr);
    req.put_addr(IFA_ADDRESS, prefix.addr);
    uint32_t flags = nodad ? IFA_F_NODAD : 0;
    if (!prefix_route) flags |= IFA_F_NOPREFIXROUTE;
    req.put_u32(IFA_FLAGS, flags);
    return exchange(s, req, what);
}

Status delete_address(Socket& s, int ifindex, const IpPrefix& prefix) {
    std::string what = "delete address " + prefix.str() + " from link #" + std::to_string(ifindex);
    PN_TRY(check_family(prefix.addr.family, what), "");
    Request req(RTM_DELADDR, 0);
    auto* ifa = req.header<ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(prefix.addr.family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(prefix.len);
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    req.put_addr(IFA_LOCAL, prefix.addr);
    req.put_addr(IFA_ADDRESS, prefix.addr);
    return exchange(s, req, what);
}

Result<std::vector<Address>> list_addresses(Socket& s, int family) {
    Request req(RTM_GETADDR, NLM_F_DUMP);
    req.header<ifaddrmsg>()->ifa_family = static_cast<uint8_t>(family);
    std::vector<Address> out;
    auto st = exchange(s, req, "list addresses", [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type != RTM_NEWADDR) return {};
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(m));
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return {};
        auto at = parse_attrs<IFA_MAX>(m, sizeof *ifa);
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
        // point-to-point links (and the only one for IPv6).
        auto addr = attr_addr(at[IFA_LOCAL] != nullptr ? at[IFA_LOCAL] : at[IFA_ADDRESS], ifa->ifa_family);
        if (!addr) return {};
        Address a;
        a.ifindex = static_cast<int>(ifa->ifa_index);
        a.prefix = IpPrefix{*addr, ifa->ifa_prefixlen};
        a.scope = ifa->ifa_scope;
        a.flags = attr_u32(at[IFA_FLAGS]).value_or(ifa->ifa_flags);
        out.push_back(a);
        return {};
    });
    if (!st.ok()) return st.error();
    return out;
}

// ---------------------------------------------------------------------------------------
// Routes.

namespace {

Request route_request(uint16_t type, uint16_t flags, const Route& r) {
    Request req(type, flags);
    auto* rtm = req.header<rtmsg>();
    rtm->rtm_family = static_cast<uint8_t>(r.family);
    rtm->rtm_dst_len = static_cast<uint8_t>(r.dst.len);
    rtm->rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rtm->rtm_protocol = r.protocol;
    rtm->rtm_scope = r.scope;
    rtm->rtm_type = r.type;
    if (r.onlink) rtm->rtm_flags |= RTNH_F_ONLINK;
    req.put_u32(RTA_TABLE, r.table);
    if (r.dst.len > 0) req.put_addr(RTA_DST, r.dst.addr);
    if (r.gateway) req.put_addr(RTA_GATEWAY, *r.gateway);
    if (r.prefsrc) req.put_addr(RTA_PREFSRC, *r.prefsrc);
    if (r.oif > 0) req.put_u32(RTA_OIF, static_cast<uint32_t>(r.oif));
    if (r.metric > 0) req.put_u32(RTA_PRIORITY, r.metric);
    return req;
}

std::string route_name(const Route& r) {
    std::string s = r.dst.len == 0 ? std::string("default") : r.dst.str();
    if (r.table != RT_TABLE_MAIN) s += " table " + std::to_string(r.table);
    return s;
}

}  // namespace

Status add_route(Socket& s, const Route& r) {
    return change(s, route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r), r.family,
                  "add route " + route_name(r));
}

Status replace_route(Socket& s, const Route& r) {
    return change(s, route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r), r.family,
                  "replace route " + route_name(r));
}

Status delete_route(Socket& s, const Route& r) {
    return change(s, route_request(RTM_DELROUTE, 0, r), r.family, "delete route " + route_name(r));
}

Result<std::vector<Route>> list_routes(Socket& s, int family, uint32_t table) {
    std::string what = "list routes";
    PN_TRY(check_family(family, what), "");
    Request req(RTM_GETROUTE, NLM_F_DUMP);
    req.header<rtmsg>()->rtm_family = static_cast<uint8_t>(family);
    req.put_u32(RTA_TABLE, table);
    std::vector<Route> out;
    auto st = exchange(s, req, what, [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type != RTM_NEWROUTE) return {};
        const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
        if (rtm->rtm_family != family) return {};
        auto at = parse_attrs<RTA_MAX>(m, sizeof *rtm);
        Route r;
        r.family = family;
        r.table = attr_u32(at[RTA_TABLE]).value_or(rtm->rtm_table);
        if (r.table != table) return {};
        r.dst.addr.family = family;
        if (auto d = attr_addr(at[RTA_DST], family)) r.dst.addr = *d;
        r.dst.len = rtm->rtm_dst_len;
        r.gateway = attr_addr(at[RTA_GATEWAY], family);
        r.prefsrc = attr_addr(at[RTA_PREFSRC], family);
        r.oif = static_cast<int>(attr_u32(at[RTA_OIF]).value_or(0));
        r.metric = attr_u32(at[RTA_PRIORITY]).value_or(0);
        r.protocol = rtm->rtm_protocol;
        r.scope = rtm->rtm_scope;
        r.type = rtm->rtm_type;
        r.onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
        out.push_back(r);
        return {};
    });
    if (!st.ok() && st.error().code == ENOENT) return std::vector<Route>{};  // no such table (IPv4)
    if (!st.ok()) return st.error();
    return out;
}

// ---------------------------------------------------------------------------------------
// Rules.

namespace {

Request rule_request(uint16_t type, uint16_t flags, const Rule& r) {
    Request req(type, flags);
    auto* frh = req.header<fib_rule_hdr>();
    frh->family = static_cast<uint8_t>(r.family);
    frh->action = r.nop ? FR_ACT_NOP : r.goto_priority ? FR_ACT_GOTO : FR_ACT_TO_TBL;
    if (!r.goto_priority && !r.nop) frh->table = r.table < 256 ? static_cast<uint8_t>(r.table) : 0;
    if (r.invert) frh->flags |= FIB_RULE_INVERT;
    if (r.src) {
        frh->src_len = static_cast<uint8_t>(r.src->len);
        req.put_addr(FRA_SRC, r.src->addr);
    }
    // Always explicit, so that pref 0 (the kernel's local-table rule) can be named.
    req.put_u32(FRA_PRIORITY, r.priority);
    if (r.protocol != 0) req.put(FRA_PROTOCOL, &r.protocol, sizeof r.protocol);
    if (r.goto_priority)
        req.put_u32(FRA_GOTO, *r.goto_priority);
    else if (!r.nop)
        req.put_u32(FRA_TABLE, r.table);
    if (r.fwmark) {
        req.put_u32(FRA_FWMARK, *r.fwmark);
        req.put_u32(FRA_FWMASK, r.fwmask);
    }
    return req;
}

std::string rule_name(const Rule& r) {
    std::string s = "rule pref " + std::to_string(r.priority);
    if (r.fwmark) s += " fwmark " + std::to_string(*r.fwmark);
    if (r.src) s += " from " + r.src->str();
    if (r.nop)
        s += " nop";
    else
        s += r.goto_priority ? " goto " + std::to_string(*r.goto_priority)
                             : " table " + std::to_string(r.table);
    return s;
}

}  // namespace

Status add_rule(Socket& s, const Rule& r) {
    return change(s, rule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r), r.family,
                  "add " + rule_name(r));
}

Status delete_rule(Socket& s, const Rule& r) {
    return change(s, rule_request(RTM_DELRULE, 0, r), r.family, "delete " + rule_name(r));
}

Result<std::vector<Rule>> list_rules(Socket& s, int family) {
    std::string what = "list rules";
    PN_TRY(check_family(family, what), "");
    Request req(RTM_GETRULE, NLM_F_DUMP);
    req.header<fib_rule_hdr>()->family = static_cast<uint8_t>(family);
    std::vector<Rule> out;
    auto st = exchange(s, req, what, [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type != RTM_NEWRULE) return {};
        const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(m));
        auto at = parse_attrs<FRA_MAX>(m, sizeof *frh);
        Rule r;
        r.family = frh->family;
        r.priority = attr_u32(at[FRA_PRIORITY]).value_or(0);
        r.table = attr_u32(at[FRA_TABLE]).value_or(frh->table);
        r.fwmark = attr_u32(at[FRA_FWMARK]);
        r.fwmask = attr_u32(at[FRA_FWMASK]).value_or(0xffffffff);
        r.invert = (frh->flags & FIB_RULE_INVERT) != 0;
        if (at[FRA_SRC] != nullptr)
            if (auto a = attr_addr(at[FRA_SRC], frh->family)) r.src = IpPrefix{*a, frh->src_len};
        if (frh->action == FR_ACT_GOTO) r.goto_priority = attr_u32(at[FRA_GOTO]);
        r.nop = frh->action == FR_ACT_NOP;
        if (at[FRA_PROTOCOL] != nullptr) r.protocol = mnl_attr_get_u8(at[FRA_PROTOCOL]);
        out.push_back(r);
        return {};
    });
    if (!st.ok()) return st.error();
    return out;
}

// ---------------------------------------------------------------------------------------
// Neighbours.

Status add_neighbor(Socket& s, int ifindex, const IpAddr& addr, const Mac& mac) {
    std::string what = "add neighbour " + addr.str() + " on link #" + std::to_string(ifindex);
    PN_TRY(check_family(addr.family, what), "");
    Request req(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
    auto* nd = req.header<ndmsg>();
    nd->ndm_family = static_cast<uint8_t>(addr.family);
    nd->ndm_ifindex = ifindex;
    nd->ndm_state = NUD_PERMANENT;
    req.put_addr(NDA_DST, addr);
    req.put(NDA_LLADDR, mac.data(), mac.size());
    return exchange(s, req, what);
}

// ---------------------------------------------------------------------------------------
// Traffic control (the bandwidth shaper: lib/space/shaper).

Result<int> create_ifb(Socket& s, const std::string& name) {
    std::string what = "create ifb '" + name + "'";
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    auto* ifi = req.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_flags = IFF_UP;  // up as made: one request less
    ifi->ifi_change = IFF_UP;
    req.put_str(IFLA_IFNAME, name);
    nlattr* info = req.nest_start(IFLA_LINKINFO);
    req.put_str(IFLA_INFO_KIND, "ifb");
    req.nest_end(info);
    PN_TRY(exchange(s, req, what), "");
    auto index = link_index(s, name);
    if (!index.ok()) return index.error().wrap(what);
    return index.value();
}

Status set_root_tbf(Socket& s, int ifindex, const Tbf& tbf) {
    std::string what = "shape link #" + std::to_string(ifindex) + " (tbf)";
    if (tbf.rate_bytes == 0 || tbf.burst_bytes == 0 || tbf.limit_bytes == 0)
        return make_error(EINVAL, what + ": zero rate, burst or limit");
    // Replaces whatever root qdisc is there, so a retry after a killed creation works.
    Request req(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
    auto* t = req.header<tcmsg>();
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    t->tcm_handle = TC_H_MAKE(1U << 16, 0);
    t->tcm_parent = TC_H_ROOT;
    req.put_str(TCA_KIND, "tbf");
    nlattr* opts = req.nest_start(TCA_OPTIONS);
    tc_tbf_qopt q{};
    // The rate in bytes per second; above 32 bits it goes in TCA_TBF_RATE64. The link
    // layer is said, so the kernel needs no rate table (it computes lengths itself).
    q.rate.rate = tbf.rate_bytes > 0xffffffffULL ? 0xffffffffU : static_cast<uint32_t>(tbf.rate_bytes);
    q.rate.linklayer = TC_LINKLAYER_ETHERNET;
    q.limit = tbf.limit_bytes;
    q.buffer = 1;  // replaced by TCA_TBF_BURST, which the kernel converts itself
    req.put(TCA_TBF_PARMS, &q, sizeof q);
    if (tbf.rate_bytes > 0xffffffffULL) {
        uint64_t r = tbf.rate_bytes;
        req.put(TCA_TBF_RATE64, &r, sizeof r);
    }
    req.put_u32(TCA_TBF_BURST, tbf.burst_bytes);
    req.nest_end(opts);
    return exchange(s, req, what);
}

Status add_ingress_redirect(Socket& s, int ifindex, int to_ifindex) {
    std::string what =
        "redirect link #" + std::to_string(ifindex) + "'s ingress to #" + std::to_string(to_ifindex);
    {
        Request req(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
        auto* t = req.header<tcmsg>();
        t->tcm_family = AF_UNSPEC;
        t->tcm_ifindex = ifindex;
        t->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
        t->tcm_parent = TC_H_CLSACT;
        req.put_str(TCA_KIND, "clsact");
        PN_TRY(exchange(s, req, what + ": clsact"), "");
    }
    // u32 with one key of mask 0 matches every packet (this kernel has no matchall).
    // The kernel picks the filter's handle.
    Request req(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
    auto* t = req.header<tcmsg>();
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
    t->tcm_info = TC_H_MAKE(1U << 16, htons(ETH_P_ALL));  // priority 1, every protocol
    req.put_str(TCA_KIND, "u32");
    nlattr* opts = req.nest_start(TCA_OPTIONS);
    std::array<char, sizeof(tc_u32_sel) + sizeof(tc_u32_key)> sel_bytes{};
    tc_u32_sel sel{};
    sel.flags = TC_U32_TERMINAL;
    sel.nkeys = 1;  // the key that follows: all zero, mask 0
    std::memcpy(sel_bytes.data(), &sel, sizeof sel);
    req.put(TCA_U32_SEL, sel_bytes.data(), sel_bytes.size());
    nlattr* acts = req.nest_start(TCA_U32_ACT);
    nlattr* act = req.nest_start(1);  // the first (only) action
    req.put_str(TCA_ACT_KIND, "mirred");
    nlattr* aopts = req.nest_start(TCA_ACT_OPTIONS);
    tc_mirred m{};
    m.action = TC_ACT_STOLEN;  // the ifb hands it back to this device's receive path
    m.eaction = TCA_EGRESS_REDIR;
    m.ifindex = static_cast<uint32_t>(to_ifindex);
    req.put(TCA_MIRRED_PARMS, &m, sizeof m);
    req.nest_end(aopts);
    req.nest_end(act);
    req.nest_end(acts);
    req.nest_end(opts);
    return exchange(s, req, what);
}

Result<std::vector<std::string>> list_qdiscs(Socket& s, int ifindex) {
    std::string what = "list qdiscs of link #" + std::to_string(ifindex);
    Request req(RTM_GETQDISC, NLM_F_DUMP);
    req.header<tcmsg>()->tcm_family = AF_UNSPEC;
    std::vector<std::string> out;
    auto st = exchange(s, req, what, [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type != RTM_NEWQDISC) return {};
        const auto* t = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(m));
        if (t->tcm_ifindex != ifindex) return {};
        out.push_back(attr_str(parse_attrs<TCA_MAX>(m, sizeof *t)[TCA_KIND]));
        return {};
    });
    if (!st.ok()) return st.error();
    return out;
}

Result<LinkStats> link_stats(Socket& s, const std::string& name) {
    std::string what = "read the counters of '" + name + "'";
    if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, what + ": bad interface name");
    Request req(RTM_GETLINK, 0);
    req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    req.put_str(IFLA_IFNAME, name);
    std::optional<LinkStats> got;
    auto st = exchange(s, req, what, [&](const nlmsghdr* m) -> Status {
        if (m->nlmsg_type != RTM_NEWLINK) return {};
        auto at = parse_attrs<IFLA_MAX>(m, sizeof(ifinfomsg));
        const nlattr* a = at[IFLA_STATS64];
        if (a == nullptr || mnl_attr_get_payload_len(a) < sizeof(rtnl_link_stats64)) return {};
        rtnl_link_stats64 st64{};
        std::memcpy(&st64, mnl_attr_get_payload(a), sizeof st64);
        got = LinkStats{st64.rx_bytes, st64.rx_packets, st64.tx_bytes, st64.tx_packets};
        return {};
    });
    if (!st.ok()) return st.error();
    if (!got) return make_error(ENODATA, what + ": no IFLA_STATS64");
    return *got;
}

}  // namespace personalnet::netlink
