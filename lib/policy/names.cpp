#include "lib/policy/names.hpp"

#include <cctype>

namespace personalnet::policy {

bool is_name(const std::string& s) {
    if (s.empty() || s.size() > 32 || s[0] == '-' || s == "." || s == "..") return false;
    for (unsigned char c : s)
        if (std::isalnum(c) == 0 && c != '_' && c != '.' && c != '-') return false;
    return true;
}

bool is_clean_path(const std::string& s) {
    if (s.empty() || s[0] != '/') return false;
    if (s == "/") return true;
    for (size_t pos = 1;;) {
        size_t end = s.find('/', pos);
        std::string part = s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) return false;
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
