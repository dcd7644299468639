// IP addresses and prefixes (IPv4 and IPv6) as plain values.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace personalnet {

struct IpAddr {
    int family = AF_UNSPEC;           // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes

    size_t size() const { return family == AF_INET ? 4 : 16; }
    bool operator==(const IpAddr&) const = default;
    std::string str() const;
    static std::optional<IpAddr> parse(const std::string& text);
    static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
};

struct IpPrefix {
    IpAddr addr;
    int len = 0;

    bool operator==(const IpPrefix&) const = default;
    std::string str() const;  // "10.0.0.0/8"
    // Accepts "ADDR/LEN" or a bare address (host prefix). Rejects host bits set
    // when strict is true ("10.0.0.1/8").
    static std::optional<IpPrefix> parse(const std::string& text, bool strict = true);
};

}  // namespace personalnet
