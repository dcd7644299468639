#include "tests/sim/lan.hpp"

#include <cerrno>

#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/netns.hpp"
#include "personalnet/ip.hpp"

namespace pnsim {

namespace nl = personalnet::netlink;
using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::Status;

namespace {

// An interface address with its on-link prefix length (IpPrefix::parse would mask it).
Status parse_iface(const std::string& text, IpPrefix& out) {
    auto slash = text.find('/');
    auto addr = IpAddr::parse(text.substr(0, slash));
    if (!addr || slash == std::string::npos)
        return personalnet::make_error(EINVAL, "bad address '" + text + "'");
    out = IpPrefix{*addr, std::stoi(text.substr(slash + 1))};
    return {};
}

// The host's end: its address, up. Runs inside the host's namespace.
Status configure_host(const LanHost& h) {
    auto s = nl::Socket::open();
    if (!s.ok()) return s.error();
    auto index = nl::link_index(*s, h.ifname);
    if (!index.ok()) return index.error();
    IpPrefix addr;
    PN_TRY(parse_iface(h.address, addr), "");
    PN_TRY(nl::add_address(*s, *index, addr, 0, false), "address of " + h.ifname);
    PN_TRY(nl::set_link_up(*s, *index), h.ifname + " up");
    return {};
}

}  // namespace

Status wire_lan(int lan_ns, const std::vector<LanHost>& hosts) {
    {
        auto sw = personalnet::space::NetnsSwitch::enter(lan_ns);
        if (!sw.ok()) return sw.error();
        // As simhosts does: the new links' IPv6 link-local addresses are final at once.
        PN_TRY(personalnet::sys::set_sysctl("net.ipv6.conf.default.accept_dad", "0"), "wire the LAN");
        auto s = nl::Socket::open();
        if (!s.ok()) return s.error();
        PN_TRY(nl::set_link_up(*s, 1), "lo up in the LAN");
        auto bridge = nl::create_bridge(*s, "lan0");
        if (!bridge.ok()) return bridge.error().wrap("wire the LAN");
        for (size_t i = 0; i < hosts.size(); ++i) {
            const auto n = static_cast<uint8_t>(i + 1);
            {
                auto hs = personalnet::space::NetnsSwitch::enter(hosts[i].ns);
                if (!hs.ok()) return hs.error();
                PN_TRY(personalnet::sys::set_sysctl("net.ipv6.conf.default.accept_dad", "0"), "wire the LAN");
            }
            const std::string port = "port" + std::to_string(i + 1);
            auto index = nl::create_veth(*s, port, {0x02, 0, 0, 0, 0x10, n}, hosts[i].ifname,
                                         {0x02, 0, 0, 0, 0x11, n}, hosts[i].ns);
            if (!index.ok()) return index.error().wrap("wire the LAN");
            PN_TRY(nl::set_master(*s, *index, *bridge), "wire the LAN");
            PN_TRY(nl::set_link_up(*s, *index), "wire the LAN");
        }
        PN_TRY(nl::set_link_up(*s, *bridge), "wire the LAN");
    }
    for (const auto& h : hosts) {
        auto sw = personalnet::space::NetnsSwitch::enter(h.ns);
        if (!sw.ok()) return sw.error();
        PN_TRY(configure_host(h), "wire the LAN: " + h.address);
    }
    return {};
}

Status unwire_lan(const std::vector<LanHost>& hosts) {
    Status result;
    for (const auto& h : hosts) {
        auto sw = personalnet::space::NetnsSwitch::enter(h.ns);
        if (!sw.ok()) return sw.error();
        auto s = nl::Socket::open();
        if (!s.ok()) return s.error();
        auto st = nl::delete_link(*s, h.ifname);
        if (!st.ok() && st.error().code != ENODEV && result.ok()) result = st;
    }
    return result;
}

}  // namespace pnsim
