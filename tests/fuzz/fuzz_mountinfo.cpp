#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "lib/fs/mount_table.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_mountinfo";

// A mount point as the kernel writes it into mountinfo: blanks and '\' as \ooo. Every
// other whitespace byte is escaped too, since the parser splits at any.
std::string escape(const std::string& point) {
    std::string out;
    for (char c : point) {
        auto b = static_cast<unsigned char>(c);
        if (std::isspace(b) != 0 || c == '\\') {
            out += '\\';
            out += static_cast<char>('0' + (b >> 6));
            out += static_cast<char>('0' + ((b >> 3) & 7));
            out += static_cast<char>('0' + (b & 7));
        } else {
            out += c;
        }
    }
    return out;
}

// mount_key's promise: only [A-Za-z0-9._-] and %XX, which decode to the point without
// its leading '/' (so two points never share a layer directory).
std::string broken_key(const std::string& point) {
    const std::string key = fs::mount_key(point);
    std::string decoded;
    for (size_t i = 0; i < key.size(); ++i) {
        auto c = static_cast<unsigned char>(key[i]);
        if (std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-') {
            decoded += key[i];
        } else if (c == '%' && i + 2 < key.size() &&
                   std::isxdigit(static_cast<unsigned char>(key[i + 1])) != 0 &&
                   std::isxdigit(static_cast<unsigned char>(key[i + 2])) != 0) {
            decoded += static_cast<char>(std::strtol(key.substr(i + 1, 2).c_str(), nullptr, 16));
            i += 2;
        } else {
            return "mount_key gives '" + key + "'";
        }
    }
    if (decoded != (point[0] == '/' ? point.substr(1) : point))
        return "mount_key '" + key + "' does not decode to the point";
    return {};
}

}  // namespace

int fuzz_mountinfo(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::vector<fs::MountEntry> table = fs::parse_mountinfo(text);
    std::string rewritten;
    for (size_t i = 0; i < table.size(); ++i) {
        const fs::MountEntry& e = table[i];
        if (e.point.empty() || e.fstype.empty())
            return violated(kTarget, "an empty mount point or type", text);
        // Only the top one of stacked mounts is kept.
        for (size_t j = i + 1; j < table.size(); ++j)
            if (table[j].point == e.point) return violated(kTarget, "'" + e.point + "' listed twice", text);
        if (std::string why = broken_key(e.point); !why.empty()) return violated(kTarget, why, text);
        (void)fs::is_live_mount(e);
        rewritten += "1 1 0:1 / " + escape(e.point) + " rw - " + e.fstype + " none rw\n";
    }
    // The table written out again as mountinfo parses to itself.
    const std::vector<fs::MountEntry> again = fs::parse_mountinfo(rewritten);
    bool same = again.size() == table.size();
    for (size_t i = 0; same && i < table.size(); ++i)
        same = again[i].point == table[i].point && again[i].fstype == table[i].fstype;
    if (!same) return violated(kTarget, "the table written out parses differently:\n" + rewritten, text);
    return 0;
}

}  // namespace personalnet::fuzz
