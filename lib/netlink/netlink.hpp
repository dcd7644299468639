// rtnetlink through libmnl: links, veth pairs, addresses, routes, rules, neighbours.
//
// A Socket talks to the network namespace that was current when it was opened
// (netlink sockets are bound to their creator's netns), so the space code opens
// one socket per namespace and never needs to switch namespaces to configure it.
// Every request asks for an ACK (NETLINK_CAP_ACK + NETLINK_EXT_ACK); a kernel
// error becomes an Error with errno, our context and the kernel's extack text.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::netlink {

using Mac = std::array<uint8_t, 6>;

class Socket {
public:
    // Opens NETLINK_ROUTE in the current network namespace.
    static Result<Socket> open();
    Socket(Socket&&) noexcept;
    Socket& operator=(Socket&&) noexcept;
    ~Socket();

    // Subscribes to RTNLGRP_LINK and blocks until an RTM_DELLINK for ifindex arrives
    // or the link is found to be gone. Use a dedicated socket for this.
    Status wait_link_gone(int ifindex);

    struct Impl;
    Impl* impl() { return impl_.get(); }

private:
    explicit Socket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

struct Link {
    int index = 0;
    std::string name;
    std::string kind;  // "veth", "" when unknown
    bool up = false;
};

struct Address {
    int ifindex = 0;
    IpPrefix prefix;
    int scope = 0;       // RT_SCOPE_*
    uint32_t flags = 0;  // IFA_F_*
};

struct Route {
    int family = AF_INET;
    IpPrefix dst;  // len 0 = default
    std::optional<IpAddr> gateway;
    std::optional<IpAddr> prefsrc;
    int oif = 0;
    uint32_t table = 254;  // RT_TABLE_MAIN
    uint32_t metric = 0;
    uint8_t protocol = 4;  // RTPROT_STATIC
    uint8_t scope = 0;     // RT_SCOPE_UNIVERSE
    uint8_t type = 1;      // RTN_UNICAST
    bool onlink = false;   // RTNH_F_ONLINK
};

struct Rule {
    int family = AF_INET;
    uint32_t priority = 0;
    uint32_t table = 0;  // FRA_TABLE when action is "to table"
    std::optional<uint32_t> fwmark;
    uint32_t fwmask = 0xffffffff;
    std::optional<IpPrefix> src;            // "from PREFIX" (FRA_SRC); from all when unset
    bool invert = false;                    // FIB_RULE_INVERT ("not")
    std::optional<uint32_t> goto_priority;  // FR_ACT_GOTO target instead of a table lookup
    bool nop = false;                       // FR_ACT_NOP: matches, does nothing (a goto target)
    // FRA_PROTOCOL (RTPROT_*). The kernel treats rules that differ only in it as distinct
    // when checking NLM_F_EXCL, so a rule meant to equal a kernel default must say kernel.
    uint8_t protocol = 0;
};

// Links.
Result<std::vector<Link>> list_links(Socket& s);
Result<int> link_index(Socket& s, const std::string& name);  // ENODEV if absent
// Creates a veth pair: host_name in the socket's namespace, peer_name directly in
// the namespace given by peer_netns_fd. Both get the given MACs. Returns the host
// side's ifindex. Fails with EEXIST if host_name exists.
Result<int> create_veth(Socket& s, const std::string& host_name, const Mac& host_mac,
                        const std::string& peer_name, const Mac& peer_mac, int peer_netns_fd);
Status delete_link(Socket& s, int ifindex);
Status delete_link(Socket& s, const std::string& name);  // ENODEV if absent
Status set_link_up(Socket& s, int ifindex);
// A bridge device (no STP: its ports forward as soon as they are up), and a link made a
// port of one (IFLA_MASTER). Used to put several simulated hosts on one LAN.
Result<int> create_bridge(Socket& s, const std::string& name);
Status set_master(Socket& s, int ifindex, int master_ifindex);

// Addresses. nodad sets IFA_F_NODAD (IPv6); prefix_route=false sets IFA_F_NOPREFIXROUTE
// (no on-link route for the prefix: personalnet's links route by explicit next hops, and
// a kernel route per link would make every dump of the parent's main table O(children)).
Status add_address(Socket& s, int ifindex, const IpPrefix& prefix, int scope, bool nodad,
                   bool prefix_route = true);
Status delete_address(Socket& s, int ifindex, const IpPrefix& prefix);  // EADDRNOTAVAIL if absent
Result<std::vector<Address>> list_addresses(Socket& s, int family);     // AF_UNSPEC for both

// Routes.
Status add_route(Socket& s, const Route& r);      // NLM_F_CREATE|NLM_F_EXCL
Status replace_route(Socket& s, const Route& r);  // NLM_F_CREATE|NLM_F_REPLACE
Status delete_route(Socket& s, const Route& r);
// Only the given table is dumped (kernel-side filter), so the cost does not grow with
// the number of other tables.
Result<std::vector<Route>> list_routes(Socket& s, int family, uint32_t table);

// Policy-routing rules.
Status add_rule(Socket& s, const Rule& r);
Status delete_rule(Socket& s, const Rule& r);  // ENOENT if absent
Result<std::vector<Rule>> list_rules(Socket& s, int family);

// Neighbours: a permanent entry (no ARP/ND needed on our point-to-point veths).
Status add_neighbor(Socket& s, int ifindex, const IpAddr& addr, const Mac& mac);

// Traffic control, for the bandwidth shaper (lib/space/shaper).
// An ifb device (the upload shaper's queue), up. EEXIST if the name is taken.
Result<int> create_ifb(Socket& s, const std::string& name);
// A token bucket as the link's root qdisc (replacing any): rate in bytes per second,
// burst (the bucket) and limit (the queue behind it) in bytes.
struct Tbf {
    uint64_t rate_bytes = 0;
    uint32_t burst_bytes = 0;
    uint32_t limit_bytes = 0;
};
Status set_root_tbf(Socket& s, int ifindex, const Tbf& tbf);
// A clsact qdisc on the link with one filter on its ingress (u32, matching everything)
// whose mirred action redirects every received packet to to_ifindex's egress (an ifb,
// which hands it back to the link's receive path once its own qdisc let it go).
Status add_ingress_redirect(Socket& s, int ifindex, int to_ifindex);
// The kinds of the link's qdiscs ("tbf", "clsact", "noqueue", ...).
Result<std::vector<std::string>> list_qdiscs(Socket& s, int ifindex);
// A link's counters (IFLA_STATS64), by one RTM_GETLINK. ENODEV if absent.
struct LinkStats {
    uint64_t rx_bytes = 0, rx_packets = 0, tx_bytes = 0, tx_packets = 0;
};
Result<LinkStats> link_stats(Socket& s, const std::string& name);

}  // namespace personalnet::netlink
