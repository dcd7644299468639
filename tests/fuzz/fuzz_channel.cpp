#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "lib/helper/channel.hpp"
#include "lib/helper/request.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_channel";

// A message as send_message frames it: its length in 4 bytes, network order, then it.
std::string frame(const helper::Message& m) {
    const std::string body = helper::encode(m);
    const uint32_t len = htonl(static_cast<uint32_t>(body.size()));
    return std::string(reinterpret_cast<const char*>(&len), sizeof len) + body;
}

}  // namespace

int fuzz_channel(const uint8_t* data, size_t size) {
    const std::string_view stream(reinterpret_cast<const char*>(data), size);
    // A memory file stands for the socket: receive_message only reads it.
    const int fd = ::memfd_create("fuzz_channel", MFD_CLOEXEC);
    if (fd < 0) return violated(kTarget, "memfd_create failed (not the input's fault)", stream);
    for (size_t done = 0; done < size;) {
        ssize_t w = ::write(fd, data + done, size - done);
        if (w <= 0) {
            ::close(fd);
            return violated(kTarget, "cannot write the stream (not the input's fault)", stream);
        }
        done += static_cast<size_t>(w);
    }
    ::lseek(fd, 0, SEEK_SET);
    int rc = 0;
    for (size_t at = 0;;) {
        auto m = helper::receive_message(fd);
        const auto now = static_cast<size_t>(::lseek(fd, 0, SEEK_CUR));
        if (!m.ok()) {
            // channel.hpp's contract on why reading stopped, from where it stopped.
            const size_t left = size - at;
            uint32_t len = 0;
            if (left >= sizeof len) std::memcpy(&len, data + at, sizeof len);
            len = ntohl(len);
            int want = 0;
            if (left == 0)
                want = ECONNRESET;  // closed between messages
            else if (left < sizeof len)
                want = EPROTO;  // closed within the length
            else if (len > helper::kMaxMessage)
                want = EMSGSIZE;  // the body is not read
            else if (left - sizeof len < len)
                want = EPROTO;  // closed within the body
            else
                want = EINVAL;  // read whole, does not decode
            if (m.error().code != want)
                rc = violated(kTarget,
                              "at byte " + std::to_string(at) + " of " + std::to_string(size) + ": '" +
                                  m.error().message() + "' (errno " + std::to_string(m.error().code) +
                                  ", want " + std::to_string(want) + ")",
                              stream);
            break;
        }
        // What the helper accepted, the library could have sent.
        if (auto framing = helper::check_framing(m.value()); !framing.ok()) {
            rc = violated(kTarget, "a message read breaks check_framing: " + framing.error().message(),
                          stream);
            break;
        }
        // Each message read is the bytes it took, framed the way the sender frames it.
        if (now <= at || stream.substr(at, now - at) != frame(m.value())) {
            rc = violated(kTarget,
                          "the message read from bytes " + std::to_string(at) + "-" + std::to_string(now) +
                              " frames differently: " + hex(frame(m.value())),
                          stream);
            break;
        }
        at = now;
    }
    ::close(fd);
    return rc;
}

}  // namespace personalnet::fuzz
