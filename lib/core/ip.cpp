#include "personalnet/ip.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace personalnet {

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family != AF_INET && family != AF_INET6) return "?";
    ::inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpAddr> IpAddr::parse(const std::string& text) {
    IpAddr a;
    if (text.find(':') != std::string::npos) {
        if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) != 1) return std::nullopt;
        a.family = AF_INET6;
    } else {
        if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) != 1) return std::nullopt;
        a.family = AF_INET;
    }
    return a;
}

IpAddr IpAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddr r;
    r.family = AF_INET;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
}

std::string IpPrefix::str() const { return addr.str() + "/" + std::to_string(len); }

std::optional<IpPrefix> IpPrefix::parse(const std::string& text, bool strict) {
    IpPrefix p;
    auto slash = text.find('/');
    auto a = IpAddr::parse(text.substr(0, slash));
    if (!a) return std::nullopt;
    p.addr = *a;
    int max = static_cast<int>(a->size() * 8);
    if (slash == std::string::npos) {
        p.len = max;
        return p;
    }
    std::string l = text.substr(slash + 1);
    int len = -1;
    auto [ptr, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || ptr != l.data() + l.size() || len < 0 || len > max)
        return std::nullopt;
    p.len = len;
    for (int bit = len; bit < max; ++bit) {
        if ((p.addr.bytes[bit / 8] >> (7 - bit % 8)) & 1) {
            if (strict) return std::nullopt;
            p.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(1u << (7 - bit % 8)));
        }
    }
    return p;
}

}  // namespace personalnet
