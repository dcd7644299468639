// Validation of user-supplied names, shared directories, service specifications and
// published ports, and the words of the file-space backends and dispatchers. In core (declared in the public
// personalnet/space.hpp) because the helper's request parser, the policy and the PAM
// configuration check the same values as the library without depending on lib/space.
#include <netinet/in.h>
#include <sys/stat.h>

#include <charconv>
#include <optional>
#include <string_view>
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

Status validate_hostname(const std::string& h) {
    const std::string bad = "bad hostname " + quoted(h) + ": ";
    if (h.empty()) return make_error(EINVAL, bad + "empty");
    if (h.size() > 64) return make_error(EINVAL, bad + "longer than 64 characters");
    for (char c : h)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return make_error(EINVAL, bad + "only letters, digits and '-'");
    if (h.front() == '-' || h.back() == '-')
        return make_error(EINVAL, bad + "must not start or end with '-'");
    return {};
}

std::optional<uint16_t> unnamed_label(const std::string& name) {
    if (name.size() != 9 || name.rfind("anon-", 0) != 0) return std::nullopt;
    uint16_t label = 0;
    for (char c : name.substr(5)) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        label = static_cast<uint16_t>(label * 16 + d);
    }
    return label;
}

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

namespace {

// A port number as the command line and the helper's requests write it: 1-5 decimal
// digits, 1-65535 (no sign, no blank: from_chars takes neither).
std::optional<uint16_t> port_number(std::string_view text) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || text.size() > 5 || ec != std::errc() || p != text.data() + text.size() ||
        value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<uint16_t>(value);
}

}  // namespace

std::string PublishedPort::str() const {
    std::string out = Service{proto, port}.str();
    if (mapped()) out += ":" + std::to_string(inner);
    return out;
}

std::optional<PublishedPort> PublishedPort::parse(const std::string& text) {
    const auto colon = text.find(':');
    auto service = Service::parse(text.substr(0, colon));
    if (!service) return std::nullopt;
    PublishedPort p{service->proto, service->port, service->port};
    if (colon != std::string::npos) {
        auto inner = port_number(std::string_view(text).substr(colon + 1));
        if (!inner) return std::nullopt;
        p.inner = *inner;
    }
    return p;
}

Status validate_published(const std::vector<PublishedPort>& ports) {
    for (size_t i = 0; i < ports.size(); ++i) {
        const PublishedPort& p = ports[i];
        if (p.port == 0 || p.inner == 0 || (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP))
            return make_error(EINVAL, "bad published port " + quoted(p.str()));
        if (p.proto == IPPROTO_UDP && (p.port == 500 || p.port == 4500))
            return make_error(EINVAL, "cannot publish " + quoted(p.str()) +
                                          ": UDP ports 500 and 4500 carry IKE and ESP, which the parent "
                                          "hands to spaces by SPI");
        for (size_t j = 0; j < i; ++j)
            if (ports[j].proto == p.proto && ports[j].port == p.port)
                return make_error(EINVAL, "cannot publish " + quoted(p.str()) + ": " +
                                              Service{p.proto, p.port}.str() + " is already published as " +
                                              quoted(ports[j].str()));
    }
    return {};
}

}  // namespace personalnet
