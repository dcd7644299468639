// Validation of user-supplied names, shared directories and service specifications, and
// the words of the file-space backends and dispatchers. In core (declared in the public
// personalnet/space.hpp) because the helper's request parser, the policy and the PAM
// configuration check the same values as the library without depending on lib/space.
#include <netinet/in.h>
#include <sys/stat.h>

#include <charconv>
#include <optional>
#include <utility>

#include "lib/core/quote.hpp"
#include "personalnet/space.hpp"

namespace personalnet {

namespace {
constexpr size_t kMaxNameLen = 32;

bool name_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

}  // namespace

Status validate_name(const std::string& name) {
    if (name.empty()) return make_error(EINVAL, "bad space name '': empty");
    if (name.size() > kMaxNameLen)
        return make_error(EINVAL, "bad space name " + quoted(name) + ": longer than 32 characters");
    for (char c : name)
        if (!name_char_ok(c))
            return make_error(EINVAL,
                              "bad space name " + quoted(name) + ": only letters, digits, '_', '-', '.'");
    if (name[0] == '-' || name[0] == '.')
        return make_error(EINVAL, "bad space name " + quoted(name) + ": must not start with '-' or '.'");
    if (name.rfind("anon-", 0) == 0)
        return make_error(EINVAL,
                          "bad space name " + quoted(name) + ": 'anon-' is reserved for unnamed spaces");
    return {};
}

Status validate_shared_path(const std::string& path) {
    std::string what = "bad shared directory " + quoted(path);
    if (path.empty() || path[0] != '/') return make_error(EINVAL, what + ": not absolute");
    for (unsigned char c : path)
        if (c == ',' || c == ':' || c == '\\' || c < 0x20 || c == 0x7f)
            return make_error(EINVAL, what + ": holds a character a file space cannot share");
    for (size_t pos = 0; pos != std::string::npos;) {
        size_t next = path.find('/', pos + 1);
        std::string part =
            path.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        if (part == "." || part == "..") return make_error(EINVAL, what + ": '.' and '..' are not allowed");
        pos = next;
    }
    if (path == "/") return make_error(EINVAL, what + ": the whole tree cannot be shared");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(EINVAL, what + ": not an existing directory");
    return {};
}

std::string Service::str() const {
    return std::string(proto == IPPROTO_UDP ? "udp/" : "tcp/") + std::to_string(port);
}

std::optional<Service> Service::parse(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos) return std::nullopt;
    std::string proto = text.substr(0, slash), port = text.substr(slash + 1);
    Service s;
    if (proto == "tcp")
        s.proto = IPPROTO_TCP;
    else if (proto == "udp")
        s.proto = IPPROTO_UDP;
    else
        return std::nullopt;
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
        return std::nullopt;
    s.port = static_cast<uint16_t>(value);
    return s;
}

}  // namespace personalnet
