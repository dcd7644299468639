// How a fuzz target reports a broken property: enough on stderr to act on without a
// debugger, the input's bytes included (libFuzzer also saves the input itself).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace personalnet::fuzz {

// Lowercase hex, cut after limit bytes so that a 1 MiB input does not flood the log.
inline std::string hex(std::string_view bytes, size_t limit = 512) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes.size() && i < limit; ++i) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

// Prints the broken property and the input; returns the target's failure value.
inline int violated(const char* target, const std::string& what, std::string_view input) {
    std::fprintf(stderr, "%s: property violated: %s\n  input (hex): %s\n", target, what.c_str(),
                 hex(input).c_str());
    return 1;
}

}  // namespace personalnet::fuzz
