// pnpkt: crafted frames and UDP datagram measurements for the SPI-dispatch tests and
// benchmark (issue 7). Self-contained on purpose, like pnprobe: it measures the
// network, not the library under test.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr const char* kUsage =
    "Usage:\n"
    "  pnpkt frame IFNAME HEX [HEX...]\n"
    "  pnpkt urr ADDR PORT HEX [COUNT]\n"
    "  pnpkt flood ADDR PORT HEX MS\n"
    "  pnpkt count PORT MS\n"
    "  pnpkt listen MS PORT [PORT...]\n"
    "  pnpkt --help\n"
    "\n"
    "frame  send each HEX as one whole Ethernet frame out of IFNAME (AF_PACKET)\n"
    "urr    from local UDP port PORT, send the datagram HEX to ADDR:PORT and wait (spinning)\n"
    "       for any answer, COUNT times (default 2000, after 200 unmeasured); prints\n"
    "       'urr count=N median_us=X p99_us=Y'\n"
    "flood  from local UDP port PORT, send HEX to ADDR:PORT as fast as possible for MS\n"
    "       milliseconds; prints 'sent N'\n"
    "count  print 'ready', then count the datagrams arriving on UDP PORT (any address,\n"
    "       IPv4 or IPv6) for MS milliseconds; prints 'received N'\n"
    "listen print 'ready', then for MS milliseconds print 'udp PORT HEX' for each datagram\n"
    "       on the UDP PORTs (IPv4 and IPv6) and 'esp HEX' for each ESP packet (IP\n"
    "       protocol 50, from its SPI on)\n";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "pnpkt: %s\n", msg.c_str());
    std::exit(kExitUsage);
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "pnpkt: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(kExitFailure);
}

long long number(const char* what, std::string_view s, long long lo, long long hi) {
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi)
        usage_error("bad " + std::string(what) + " '" + std::string(s) + "'");
    return v;
}

std::vector<char> hex_bytes(const std::string& hex) {
    auto nibble = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        usage_error("bad hex '" + hex + "'");
    };
    if (hex.empty() || hex.size() % 2) usage_error("bad hex '" + hex + "' (want an even number of digits)");
    std::vector<char> out;
    for (size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    return out;
}

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int cmd_frame(const std::string& ifname, const std::vector<std::string>& frames) {
    unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0) usage_error("no device '" + ifname + "'");
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("AF_PACKET socket");
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(index);
    to.sll_halen = 6;
    for (const auto& h : frames) {
        auto bytes = hex_bytes(h);
        if (bytes.size() < 14) usage_error("frame shorter than an Ethernet header: '" + h + "'");
        std::memcpy(to.sll_addr, bytes.data(), 6);
        if (::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
            fail("send a frame on " + ifname);
    }
    ::close(fd);
    return 0;
}

// A UDP socket bound to the wildcard address's port and connected to addr:port.
int udp_pair(const std::string& addr, uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        if (inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) != 1) usage_error("bad address '" + addr + "'");
        len = sizeof(*sin);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1)
            usage_error("bad address '" + addr + "'");
        len = sizeof(*sin6);
    }
    int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("UDP socket");
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage local{};
    local.ss_family = static_cast<sa_family_t>(family);
    if (family == AF_INET)
        reinterpret_cast<sockaddr_in*>(&local)->sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6*>(&local)->sin6_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), len) < 0)
        fail("bind UDP port " + std::to_string(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) fail("connect to " + addr);
    return fd;
}

int cmd_urr(const std::string& addr, uint16_t port, const std::vector<char>& payload, long long count) {
    int fd = udp_pair(addr, port);
    constexpr long long kWarmup = 200;
    std::vector<int64_t> samples;
    samples.reserve(static_cast<size_t>(count));
    char buf[2048];
    for (long long i = 0; i < kWarmup + count; ++i) {
        int64_t t0 = now_ns();
        if (::send(fd, payload.data(), payload.size(), 0) < 0) fail("send to " + addr);
        // Spin rather than sleep: the client's own wake-up would otherwise be most of
        // what is measured, and vary most.
        for (int64_t give_up = t0 + 2'000'000'000;;) {
            if (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) break;
            if (errno != EAGAIN || now_ns() > give_up) {
                if (errno == EAGAIN) errno = ETIMEDOUT;
                fail("no answer from " + addr);
            }
        }
        if (i >= kWarmup) samples.push_back(now_ns() - t0);
    }
    std::sort(samples.begin(), samples.end());
    auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
    size_t n = samples.size();
    double median = n % 2 ? us(samples[n / 2]) : (us(samples[n / 2 - 1]) + us(samples[n / 2])) / 2;
    std::printf("urr count=%zu median_us=%.2f p99_us=%.2f\n", n, median, us(samples[(n * 99) / 100]));
    ::close(fd);
    return 0;
}

int cmd_flood(const std::string& addr, uint16_t port, const std::vector<char>& payload, long long ms) {
    int fd = udp_pair(addr, port);
    // Batches of 64 per system call, so that the path's cost, not the sender's system
    // calls, decides the rate.
    constexpr int kBatch = 64;
    iovec iov{const_cast<char*>(payload.data()), payload.size()};
    std::vector<mmsghdr> msgs(kBatch);
    for (auto& m : msgs) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    long long sent = 0;
    int64_t end = now_ns() + ms * 1'000'000;
    while (now_ns() < end) {
        int n = ::sendmmsg(fd, msgs.data(), kBatch, 0);
        if (n > 0) sent += n;  // ENOBUFS: the queue is full; try again
    }
    std::printf("sent %lld\n", sent);
    ::close(fd);
    return 0;
}

// A UDP socket on the port of every local address, IPv4 and IPv6.
int bind_udp(uint16_t port) {
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("UDP socket");
    int off = 0, big = 8 << 20;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)) < 0)
        fail("bind UDP port " + std::to_string(port));
    return fd;
}

int cmd_count(uint16_t port, long long ms) {
    int fd = bind_udp(port);
    std::printf("ready\n");
    std::fflush(stdout);
    // Batches of 64 per system call, so that the receiver keeps up with the path.
    constexpr int kBatch = 64;
    std::vector<std::array<char, 2048>> bufs(kBatch);
    std::vector<iovec> iovs(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (int i = 0; i < kBatch; ++i) {
        iovs[i] = {bufs[i].data(), bufs[i].size()};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    long long received = 0;
    int64_t end = now_ns() + ms * 1'000'000;
    for (int64_t left; (left = end - now_ns()) > 0;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left / 1'000'000) + 1) <= 0) continue;
        for (int n; (n = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr)) > 0;) received += n;
    }
    std::printf("received %lld\n", received);
    ::close(fd);
    return 0;
}

std::string hex_of(const char* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        auto b = static_cast<unsigned char>(p[i]);
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

int cmd_listen(long long ms, const std::vector<uint16_t>& ports) {
    std::vector<pollfd> fds;
    std::vector<std::string> what;
    for (uint16_t port : ports) {
        fds.push_back({bind_udp(port), POLLIN, 0});
        what.push_back("udp " + std::to_string(port));
    }
    for (int family : {AF_INET, AF_INET6}) {
        int fd = ::socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
        if (fd < 0) fail("raw ESP socket");
        fds.push_back({fd, POLLIN, 0});
        what.push_back(family == AF_INET ? "esp4" : "esp6");
    }
    std::printf("ready\n");
    std::fflush(stdout);
    char buf[4096];
    int64_t end = now_ns() + ms * 1'000'000;
    for (int64_t left; (left = end - now_ns()) > 0;) {
        if (::poll(fds.data(), fds.size(), static_cast<int>(left / 1'000'000) + 1) <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            ssize_t n;
            while ((n = ::recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
                size_t skip = 0;
                if (what[i] == "esp4")
                    skip = static_cast<size_t>(buf[0] & 0x0f) * 4;  // IPv4 raw sockets get the header
                if (what[i].starts_with("esp")) {
                    std::printf(
                        "esp %s\n",
                        hex_of(buf + skip, static_cast<size_t>(n) - std::min<size_t>(skip, n)).c_str());
                } else {
                    std::printf("%s %s\n", what[i].c_str(), hex_of(buf, static_cast<size_t>(n)).c_str());
                }
            }
        }
        std::fflush(stdout);
    }
    for (auto& p : fds) ::close(p.fd);
    std::printf("done\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.empty()) usage_error("missing command (try --help)");
    if (a[0] == "--help" || a[0] == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    auto port = [&](const std::string& s) { return static_cast<uint16_t>(number("port", s, 1, 65535)); };
    if (a[0] == "frame" && a.size() >= 3) return cmd_frame(a[1], {a.begin() + 2, a.end()});
    if (a[0] == "urr" && (a.size() == 4 || a.size() == 5))
        return cmd_urr(a[1], port(a[2]), hex_bytes(a[3]),
                       a.size() == 5 ? number("count", a[4], 1, 10'000'000) : 2000);
    if (a[0] == "flood" && a.size() == 5)
        return cmd_flood(a[1], port(a[2]), hex_bytes(a[3]), number("milliseconds", a[4], 1, 600'000));
    if (a[0] == "listen" && a.size() >= 3) {
        std::vector<uint16_t> ports;
        for (size_t i = 2; i < a.size(); ++i) ports.push_back(port(a[i]));
        return cmd_listen(number("milliseconds", a[1], 1, 600'000), ports);
    }
    if (a[0] == "count" && a.size() == 3)
        return cmd_count(port(a[1]), number("milliseconds", a[2], 1, 600'000));
    usage_error("bad command line for '" + a[0] + "' (try --help)");
}
