// Hand-built Ethernet frames for the SPI-dispatch tests: IKE and ESP as a peer would
// send them, and the malformed, fragmented and unusual ones a dispatcher must not get
// wrong. Bytes are kept in std::string; hex() turns a frame into pnpkt's argument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pntest::frames {

inline std::string bytes(std::initializer_list<int> v) {
    std::string s;
    for (int b : v) s += static_cast<char>(b);
    return s;
}
inline std::string be16(uint16_t v) { return bytes({v >> 8, v & 0xff}); }
inline std::string from_hex(const std::string& h) {
    std::string s;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        s += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return s;
}
inline std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string h;
    for (unsigned char c : s) {
        h += d[c >> 4];
        h += d[c & 15];
    }
    return h;
}

inline uint32_t sum16(const std::string& s, uint32_t acc = 0) {
    for (size_t i = 0; i < s.size(); i += 2)
        acc += (static_cast<uint8_t>(s[i]) << 8) | (i + 1 < s.size() ? static_cast<uint8_t>(s[i + 1]) : 0);
    return acc;
}
inline uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc & 0xffff);
}

// Host B (02:00:00:00:00:0b) to host A (02:00:00:00:00:0a), as the topology wires them,
// unless other MACs are given.
inline std::string ethernet(uint16_t type, const std::string& payload,
                            const std::string& macs = bytes({2, 0, 0, 0, 0, 0xa, 2, 0, 0, 0, 0, 0xb})) {
    return macs + be16(type) + payload;
}

inline const std::string kA6 = from_hex("fd000009000000000000000000000001");
inline const std::string kB6 = from_hex("fd000009000000000000000000000002");

// An IPv4 header (with options, a fragment field) in front of payload.
inline const std::string kA4 = bytes({10, 9, 0, 1}), kB4 = bytes({10, 9, 0, 2});
inline std::string ipv4(uint8_t proto, const std::string& payload, uint16_t frag = 0,
                        const std::string& options = "", uint16_t id = 1, const std::string& src = kB4,
                        const std::string& dst = kA4) {
    std::string h = bytes({0x40 | static_cast<int>((20 + options.size()) / 4), 0}) +
                    be16(static_cast<uint16_t>(20 + options.size() + payload.size())) + be16(id) +
                    be16(frag) + bytes({64, proto, 0, 0}) + src + dst + options;
    uint16_t c = fold(sum16(h));
    h[10] = static_cast<char>(c >> 8);
    h[11] = static_cast<char>(c & 0xff);
    return h + payload;
}

// A UDP datagram from B's sport to A's dport; checksum 0 (none) for IPv4, computed over
// the pseudo-header for IPv6 (where it is mandatory).
inline std::string udp(uint16_t sport, uint16_t dport, const std::string& data, bool v6 = false) {
    std::string u = be16(sport) + be16(dport) + be16(static_cast<uint16_t>(8 + data.size())) + be16(0) + data;
    if (v6) {
        std::string pseudo =
            kB6 + kA6 + bytes({0, 0}) + be16(static_cast<uint16_t>(u.size())) + bytes({0, 0, 0, 17});
        uint16_t c = fold(sum16(u, sum16(pseudo)));
        if (c == 0) c = 0xffff;
        u[6] = static_cast<char>(c >> 8);
        u[7] = static_cast<char>(c & 0xff);
    }
    return u;
}

// An IPv6 header; `chain` is the extension headers (their first next-header is
// first_next) followed by the transport payload.
inline std::string ipv6(uint8_t first_next, const std::string& chain) {
    return bytes({0x60, 0, 0, 0}) + be16(static_cast<uint16_t>(chain.size())) + bytes({first_next, 64}) +
           kB6 + kA6 + chain;
}
// An 8-byte hop-by-hop or destination-options header (PadN) followed by `next`.
inline std::string ext_options(uint8_t next) { return bytes({next, 0, 1, 4, 0, 0, 0, 0}); }
inline std::string ext_fragment(uint8_t next, uint16_t offset8, bool more, uint32_t id) {
    return bytes({next, 0}) + be16(static_cast<uint16_t>((offset8 << 3) | (more ? 1 : 0))) +
           bytes({static_cast<int>(id >> 24), static_cast<int>((id >> 16) & 0xff),
                  static_cast<int>((id >> 8) & 0xff), static_cast<int>(id & 0xff)});
}

inline constexpr uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd;
inline constexpr uint8_t kUdp = 17, kEsp = 50, kHopByHop = 0, kDestOpts = 60, kFragment = 44;

}  // namespace pntest::frames
