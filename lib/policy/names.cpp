#include "lib/policy/names.hpp"

#include <cctype>

namespace personalnet::policy {

bool is_name(const std::string& s) {
    if (s.empty() || s.size() > 32 || s[0] == '-' || s == "." || s == "..") return false;
    // ASCII ranges rather than isalnum(), whose answer depends on the caller's locale.
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool is_clean_path(const std::string& s) {
    if (s.empty() || s[0] != '/') return false;
    // Control characters (NUL, newline) would cut the path short or forge lines in messages.
    for (unsigned char c : s)
        if (std::iscntrl(c) != 0) return false;
    if (s == "/") return true;
    for (size_t pos = 1;;) {
        size_t end = s.find('/', pos);
        std::string part = s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (part.empty() || part == "." || part == "..") return false;
        if (end == std::string::npos) return true;
        pos = end + 1;
    }
}

bool path_covers(const std::string& prefix, const std::string& path) {
    if (prefix == "/") return true;
    if (path.compare(0, prefix.size(), prefix) != 0) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace personalnet::policy
