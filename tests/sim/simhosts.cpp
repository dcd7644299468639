#include "tests/sim/simhosts.hpp"

#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/netns.hpp"

namespace pnsim {

namespace nl = personalnet::netlink;
using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::Status;

namespace {

// An interface address with its on-link prefix length (IpPrefix::parse would mask it).
IpPrefix iface(const char* addr, int len) { return IpPrefix{*IpAddr::parse(addr), len}; }

Status configure_a(int b_ns) {
    auto s = nl::Socket::open();
    if (!s.ok()) return s.error();
    PN_TRY(nl::set_link_up(*s, 1), "lo up in A");
    auto ifa = nl::create_veth(*s, "eth0", {0x02, 0, 0, 0, 0, 0xa}, "eth0", {0x02, 0, 0, 0, 0, 0xb}, b_ns);
    if (!ifa.ok()) return ifa.error().wrap("veth A-B");
    PN_TRY(nl::add_address(*s, *ifa, iface("10.9.0.1", 24), 0, false), "address of A");
    PN_TRY(nl::add_address(*s, *ifa, iface("fd00:9::1", 64), 0, true), "address of A");
    PN_TRY(nl::set_link_up(*s, *ifa), "eth0 up in A");
    nl::Route r;
    r.dst = *IpPrefix::parse("10.7.0.0/16");
    r.gateway = IpAddr::parse("10.9.0.2");
    r.oif = *ifa;
    r.onlink = true;
    PN_TRY(nl::add_route(*s, r), "route of A");
    return {};
}

Status configure_b() {
    auto s = nl::Socket::open();
    if (!s.ok()) return s.error();
    PN_TRY(nl::set_link_up(*s, 1), "lo up in B");
    auto ifb = nl::link_index(*s, "eth0");
    if (!ifb.ok()) return ifb.error();
    PN_TRY(nl::add_address(*s, *ifb, iface("10.9.0.2", 24), 0, false), "address of B");
    PN_TRY(nl::add_address(*s, *ifb, iface("fd00:9::2", 64), 0, true), "address of B");
    PN_TRY(nl::add_address(*s, 1, *IpPrefix::parse("10.7.0.1/32"), 0, false), "address of B");
    PN_TRY(nl::set_link_up(*s, *ifb), "eth0 up in B");
    return {};
}

}  // namespace

// Interfaces created afterwards in the current namespace skip duplicate address
// detection, so their link-local addresses are final at once (a snapshot taken right
// after wiring must not change when DAD completes a second later).
Status skip_dad() { return personalnet::sys::set_sysctl("net.ipv6.conf.default.accept_dad", "0"); }

Status wire_hosts(int a_ns, int b_ns) {
    {
        auto sw = personalnet::space::NetnsSwitch::enter(b_ns);
        if (!sw.ok()) return sw.error();
        PN_TRY(skip_dad(), "wire host B");
    }
    {
        auto sw = personalnet::space::NetnsSwitch::enter(a_ns);
        if (!sw.ok()) return sw.error();
        PN_TRY(skip_dad(), "wire host A");
        PN_TRY(configure_a(b_ns), "wire host A");
    }
    auto sw = personalnet::space::NetnsSwitch::enter(b_ns);
    if (!sw.ok()) return sw.error();
    PN_TRY(configure_b(), "wire host B");
    return {};
}

}  // namespace pnsim
