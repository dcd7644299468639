// A value the user gave, for an error message: in single quotes, control characters
// escaped (\xNN), cut after max characters.
#pragma once

#include <cstdio>
#include <string>

namespace personalnet {

inline std::string quoted(const std::string& s, size_t max = std::string::npos) {
    std::string out = "'";
    for (unsigned char c : s.substr(0, max)) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + (s.size() > max ? "...'" : "'");
}

}  // namespace personalnet
