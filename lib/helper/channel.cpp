#include "lib/helper/channel.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace personalnet::helper {

namespace {

Status write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error("helper channel: send");
        p += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

// Reads exactly n bytes; 0 bytes at the very start of a message is a clean close.
Result<bool> read_all(int fd, char* p, size_t n, bool at_start) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno_error("helper channel: read");
        if (r == 0) {
            if (got == 0 && at_start) return false;
            return make_error(EPROTO, "helper channel: message cut short");
        }
        got += static_cast<size_t>(r);
    }
    return true;
}

}  // namespace

Status send_message(int fd, const Message& m) {
    PN_TRY(check_framing(m), "");
    std::string body = encode(m);
    uint32_t len = htonl(static_cast<uint32_t>(body.size()));
    std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
    frame += body;
    return write_all(fd, frame.data(), frame.size());
}

Result<Message> receive_message(int fd) {
    uint32_t len = 0;
    auto head = read_all(fd, reinterpret_cast<char*>(&len), sizeof len, true);
    if (!head.ok()) return head.error();
    if (!head.value()) return make_error(ECONNRESET, "helper channel: closed");
    len = ntohl(len);
    if (len > kMaxMessage)
        return make_error(EMSGSIZE, "bad message: " + std::to_string(len) + " bytes, larger than 1 MiB");
    std::string body(len, '\0');
    auto rest = read_all(fd, body.data(), len, false);
    if (!rest.ok()) return rest.error();
    return decode(body);
}

}  // namespace personalnet::helper
