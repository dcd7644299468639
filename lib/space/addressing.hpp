// The fixed addressing plan of a parent<->child uplink, derived from depth and label.
//
// Depth d (1 = child of the host) selects the link-local /24 169.254.(100+d).0: the
// parent side is .1 and the child side .2, so a space nested in a space never sees its
// own uplink's next hop on its downlink. IPv6 uses fe80::1/fe80::2 on every link and a
// ULA (fd50:6e65:7400:d::1) as the parent's service address, because a DNAT target must
// not be link-local. The child's uplink additionally carries the parent's own addresses.
#pragma once

#include <cstdint>
#include <string>

#include "lib/core/limits.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/ip.hpp"

namespace personalnet::space {

inline constexpr uint32_t kMarkTag = 0x50000000;
inline constexpr uint32_t kMarkTagMask = 0xff000000;
inline constexpr uint32_t kRulePrefGate = 9;            // unmarked packets skip the per-child rules
inline constexpr uint32_t kRulePrefChild = 10;          // marked: jump to the reply tree
inline constexpr uint32_t kRulePrefLocal = 100;         // where the local-table rule moves to
inline constexpr uint32_t kRulePrefServiceReply = 101;  // from the service address: kServiceReplyTable
// The reply tree (lib/space/reply_tree.hpp): the bits of a label each level decides,
// its levels, its gate, its root, and its end (after 1 + 4 + ... + 4^7 blocks).
inline constexpr unsigned kReplyTreeBits = 2;
inline constexpr unsigned kReplyTreeLevels = 16 / kReplyTreeBits;
inline constexpr uint32_t kRulePrefTreeGate = 39999;
inline constexpr uint32_t kRulePrefTree = 40000;
inline constexpr uint32_t kRulePrefTreeEnd = kRulePrefTree + 21845;
inline constexpr uint32_t kServiceReplyTable = 0x50000000;  // label 0 is reserved: no child's table
inline constexpr uint32_t kInheritedMetric = 4096;          // user routes (metric 0/1024) win
inline constexpr uint8_t kRouteProto = 200;                 // marks routes personalnet installed
inline constexpr const char* kUplinkName = "up0";
inline constexpr int kLoopbackIndex = 1;  // lo is the first device of every namespace

inline uint32_t mark_of(uint16_t label) { return kMarkTag | label; }
// A child's reply table in its parent, as versions before the pool of slots
// (lib/space/reply_tables.hpp) derived it from the label; kept to release their children.
// The kernel finds a table by its id in a hash of 256 buckets (the id's low byte), each a
// list with the newest table first: an id whose low byte is 253-255 would sit in front of
// the default, main and local tables, which nearly every packet looks up, and at 1000
// children ~4 did in each (siblings-bench: fib_get_table in the profile). So the low byte
// is label % 251, and the label above it keeps the ids unique.
inline uint32_t legacy_table_of(uint16_t label) {
    return kMarkTag | (uint32_t{label} << 8U) | (label % 251U);
}
inline std::string host_ifname(uint16_t label) { return "pn" + registry::label_hex(label) + "h"; }
// The ifb device that shapes what a child with a bandwidth limit sends (lib/space/shaper).
inline std::string shaper_ifname(uint16_t label) { return "pn" + registry::label_hex(label) + "s"; }
// Whether a device name is one host_ifname() gives: a child's host-side veth.
inline bool is_host_ifname(const std::string& name) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    return name.size() == 7 && name.starts_with("pn") && name[6] == 'h' && hex(name[2]) && hex(name[3]) &&
           hex(name[4]) && hex(name[5]);
}
// Whether a device name is one shaper_ifname() gives.
inline bool is_shaper_ifname(const std::string& name) {
    return name.size() == 7 && name[6] == 's' && is_host_ifname(name.substr(0, 6) + "h");
}

inline IpAddr link4(int depth, uint8_t host) {
    return IpAddr::v4(169, 254, static_cast<uint8_t>(100 + depth), host);
}
inline IpAddr link6(uint8_t host) {  // fe80::host
    IpAddr a;
    a.family = AF_INET6;
    a.bytes[0] = 0xfe;
    a.bytes[1] = 0x80;
    a.bytes[15] = host;
    return a;
}
inline IpAddr service6(int depth) {  // fd50:6e65:7400:d::1
    IpAddr a;
    a.family = AF_INET6;
    const uint8_t head[] = {0xfd, 0x50, 0x6e, 0x65, 0x74, 0x00};
    for (int i = 0; i < 6; ++i) a.bytes[i] = head[i];
    a.bytes[7] = static_cast<uint8_t>(depth);
    a.bytes[15] = 1;
    return a;
}
inline netlink::Mac mac_of(uint16_t label, int depth, bool child_side) {
    return {0x02,
            0x70,
            0x6e,
            static_cast<uint8_t>((child_side ? 0x80 : 0) | (depth & 0x7f)),
            static_cast<uint8_t>(label >> 8),
            static_cast<uint8_t>(label & 0xff)};
}

// Addresses personalnet itself puts on links; never inherited as "host" addresses.
inline bool is_internal(const IpAddr& a) {
    if (a.family == AF_INET) return a.bytes[0] == 169 && a.bytes[1] == 254;
    if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80) return true;  // fe80::/10
    return a.bytes[0] == 0xfd && a.bytes[1] == 0x50 && a.bytes[2] == 0x6e && a.bytes[3] == 0x65 &&
           a.bytes[4] == 0x74 && a.bytes[5] == 0x00;
}

}  // namespace personalnet::space
