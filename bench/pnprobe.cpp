// pnprobe: a small TCP/UDP test server and client, plus a TCP request/response latency benchmark,
// used by the integration tests, the demo and the benchmark script. Self-contained on purpose so
// that it measures the network, not the library under test.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kDefaultTimeoutMs = 3000;
constexpr long long kDefaultCount = 1000;
constexpr long long kDefaultWarmup = 100;
constexpr long long kDefaultSize = 1;
constexpr long long kMaxCount = 10'000'000;
constexpr long long kMaxSize = 16LL * 1024 * 1024;
constexpr long long kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr size_t kIoChunk = size_t{64} * 1024;
// Beyond this much unsent echo data per connection the server stops reading from it, so a client
// that never reads cannot make the server grow without bound.
constexpr size_t kMaxPending = size_t{1024} * 1024;
constexpr const char* kUsage =
    "Usage:\n"
    "  pnprobe serve tcp|udp ADDR PORT (--reply TEXT | --echo)\n"
    "  pnprobe connect tcp|udp ADDR PORT [--bind-port P] [--hold] [--timeout-ms N]\n"
    "                                    [--payload HEX]\n"
    "  pnprobe rr ADDR PORT [--count N] [--warmup N] [--size BYTES] [--spin]\n"
    "  pnprobe --help\n"
    "\n"
    "serve    print \"listening\", then answer every TCP connection or UDP datagram with\n"
    "         \"TEXT peer=ADDR:PORT\" (--reply) or echo what it receives (--echo)\n"
    "connect  connect (TCP) or send \"ping\" (UDP) and print the server's reply line;\n"
    "         --hold first prints \"connected local=ADDR:PORT\" and keeps the connection\n"
    "         open until stdin reaches EOF; UDP --payload sends those bytes instead\n"
    "         of \"ping\" (crafted IKE/ESP headers for the SPI-dispatch tests)\n"
    "rr       TCP request/response latency against a 'serve tcp ... --echo' server;\n"
    "         --spin polls the socket without sleeping (pin it to a CPU of its own), so\n"
    "         that the figure holds no wake-up\n"
    "\n"
    "ADDR is a numeric IPv4 or IPv6 address. Default timeout 3000 ms; rr defaults:\n"
    "--count 1000 --warmup 100 --size 1.\n";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "pnprobe: %s\n", msg.c_str());
    std::exit(kExitUsage);
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
    std::fprintf(stderr, "pnprobe: %s: %s\n", what.c_str(), why.c_str());
    std::exit(kExitFailure);
}

[[noreturn]] void fail_errno(const std::string& what, int err) { fail(what, std::strerror(err)); }

// Strict: the whole string must be a decimal number in [lo, hi] ("12abc", "+1", "" are rejected).
bool parse_int(std::string_view s, long long lo, long long hi, long long& out) {
    long long v = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || ptr != end || v < lo || v > hi) return false;
    out = v;
    return true;
}

long long parse_int_or_die(const char* what, std::string_view s, long long lo, long long hi) {
    long long v = 0;
    if (!parse_int(s, lo, hi, v)) usage_error("bad " + std::string(what) + " '" + std::string(s) + "'");
    return v;
}

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = AF_UNSPEC;
    bool wildcard = false;
    std::string text;  // "ADDR:PORT" as given, for messages
};

Endpoint parse_endpoint(const std::string& addr, const std::string& port_text) {
    auto port = static_cast<uint16_t>(parse_int_or_die("port", port_text, 1, 65535));
    Endpoint ep;
    ep.text = addr + ":" + port_text;
    if (addr.find(':') != std::string::npos) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, addr.c_str(), &sin6.sin6_addr) != 1)
            usage_error("bad address '" + addr + "'");
        ep.wildcard = std::memcmp(&sin6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
        std::memcpy(&ep.addr, &sin6, sizeof(sin6));
        ep.len = sizeof(sin6);
        ep.family = AF_INET6;
    } else {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        if (inet_pton(AF_INET, addr.c_str(), &sin.sin_addr) != 1) usage_error("bad address '" + addr + "'");
        ep.wildcard = sin.sin_addr.s_addr == htonl(INADDR_ANY);
        std::memcpy(&ep.addr, &sin, sizeof(sin));
        ep.len = sizeof(sin);
        ep.family = AF_INET;
    }
    return ep;
}

// "ADDR:PORT" without brackets; IPv4-mapped addresses are shown as plain IPv4 because tests
// compare against the IPv4 address the client actually used.
std::string format_sockaddr(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    uint16_t port = 0;
    if (ss.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &ss, sizeof(sin));
        inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf));
        port = ntohs(sin.sin_port);
    } else if (ss.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &ss, sizeof(sin6));
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            in_addr v4{};
            std::memcpy(&v4, &sin6.sin6_addr.s6_addr[12], sizeof(v4));
            inet_ntop(AF_INET, &v4, buf, sizeof(buf));
        } else {
            inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof(buf));
        }
        port = ntohs(sin6.sin6_port);
    } else {
        return "?";
    }
    return std::string(buf) + ":" + std::to_string(port);
}

sockaddr* as_sockaddr(sockaddr_storage& ss) { return reinterpret_cast<sockaddr*>(&ss); }
const sockaddr* as_sockaddr(const sockaddr_storage& ss) { return reinterpret_cast<const sockaddr*>(&ss); }

void set_int_opt(int fd, int level, int name, int value) {
    // Best effort: every option set this way only improves behaviour, none is required.
    (void)setsockopt(fd, level, name, &value, sizeof(value));
}

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Milliseconds left until deadline, rounded up so that poll() never returns early and spins.
int remaining_ms(int64_t deadline) {
    int64_t left = deadline - now_ns();
    if (left <= 0) return 0;
    return static_cast<int>((left + 999'999) / 1'000'000);
}

// poll() one fd until an event or the deadline; returns revents, 0 on timeout, -1 on error.
int wait_fd(int fd, short events, int64_t deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int ms = remaining_ms(deadline);
        int r = poll(&p, 1, ms);
        if (r > 0) return p.revents;
        if (r == 0) {
            if (ms == 0) return 0;
            continue;
        }
        if (errno != EINTR) return -1;
    }
}

void bind_wildcard(int fd, int family, uint16_t port, const std::string& what) {
    set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET6) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = in6addr_any;
        sin6.sin6_port = htons(port);
        std::memcpy(&ss, &sin6, sizeof(sin6));
        len = sizeof(sin6);
    } else {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_ANY);
        sin.sin_port = htons(port);
        std::memcpy(&ss, &sin, sizeof(sin));
        len = sizeof(sin);
    }
    if (bind(fd, as_sockaddr(ss), len) < 0) fail_errno(what, errno);
}

// Non-blocking connect so that the timeout is ours and the kernel's error (refused, unreachable)
// can be reported verbatim. Returns a connected, non-blocking socket.
int tcp_connect(const Endpoint& ep, int bind_port, int64_t deadline, const std::string& what) {
    int fd = socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno(what, errno);
    if (bind_port > 0) bind_wildcard(fd, ep.family, static_cast<uint16_t>(bind_port), what);
    if (connect(fd, as_sockaddr(ep.addr), ep.len) < 0) {
        if (errno != EINPROGRESS) fail_errno(what, errno);
        int ev = wait_fd(fd, POLLOUT, deadline);
        if (ev < 0) fail_errno(what, errno);
        if (ev == 0) fail(what, "timed out");
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) fail_errno(what, errno);
        if (err != 0) fail_errno(what, err);
    }
    return fd;
}

void write_stdout(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

// --- serve -----------------------------------------------------------------------------------

struct Conn {
    int fd = -1;
    std::string out;
    size_t out_off = 0;
    bool eof = false;

    size_t pending() const { return out.size() - out_off; }
};

// Returns false if the connection is broken.
bool flush_conn(Conn& c) {
    while (c.pending() > 0) {
        ssize_t n = send(c.fd, c.out.data() + c.out_off, c.pending(), MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return false;
        }
    }
    if (c.pending() == 0) {
        c.out.clear();
        c.out_off = 0;
    }
    return true;
}

// Returns false if the connection is broken.
bool read_conn(Conn& c, bool echo, std::vector<char>& buf) {
    while (!c.eof && c.pending() < kMaxPending) {
        ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
        if (n > 0) {
            if (echo) c.out.append(buf.data(), static_cast<size_t>(n));
        } else if (n == 0) {
            c.eof = true;
        } else if (errno == EINTR) {
            continue;
        } else {
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
    }
    return true;
}

void accept_all(int lfd, bool echo, const std::string& reply, std::vector<Conn>& conns, bool& paused) {
    for (;;) {
        sockaddr_storage peer{};
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, as_sockaddr(peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            // Out of descriptors or memory: back off instead of spinning on a readable listener.
            paused = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
            return;
        }
        set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
        Conn c;
        c.fd = fd;
        if (!echo) c.out = reply + " peer=" + format_sockaddr(peer) + "\n";
        if (!flush_conn(c)) {
            close(fd);
            continue;
        }
        conns.push_back(std::move(c));
    }
}

[[noreturn]] void serve_tcp(int lfd, bool echo, const std::string& reply) {
    std::vector<Conn> conns;
    std::vector<pollfd> pfds;
    std::vector<char> buf(kIoChunk);
    bool paused = false;
    for (;;) {
        pfds.clear();
        pfds.push_back({paused ? -1 : lfd, POLLIN, 0});
        for (const Conn& c : conns) {
            short ev = 0;
            if (!c.eof && c.pending() < kMaxPending) ev |= POLLIN;
            if (c.pending() > 0) ev |= POLLOUT;
            pfds.push_back({c.fd, ev, 0});
        }
        int r = poll(pfds.data(), pfds.size(), paused ? 100 : -1);
        paused = false;
        if (r < 0) {
            if (errno == EINTR) continue;
            fail_errno("poll", errno);
        }
        // Accept only after this pass: pfds[i + 1] must still describe conns[i].
        for (size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            short rev = pfds[i + 1].revents;
            if (rev == 0) continue;
            bool ok = true;
            if ((rev & (POLLIN | POLLHUP | POLLERR)) != 0) ok = read_conn(c, echo, buf);
            if (ok) ok = flush_conn(c);
            if (!ok || (c.eof && c.pending() == 0)) {
                close(c.fd);
                c.fd = -1;
            }
        }
        conns.erase(std::remove_if(conns.begin(), conns.end(), [](const Conn& c) { return c.fd < 0; }),
                    conns.end());
        if ((pfds[0].revents & POLLIN) != 0) accept_all(lfd, echo, reply, conns, paused);
    }
}

// Replies leave from the address the datagram was sent to: a wildcard-bound server on a host
// with several addresses would otherwise answer from the route's preferred source, which a
// connected UDP client drops.
[[noreturn]] void serve_udp(int fd, int family, bool echo, const std::string& reply) {
    if (family == AF_INET6) {
        set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    } else {
        set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1);
    }
    std::vector<char> buf(kIoChunk);
    for (;;) {
        sockaddr_storage peer{};
        alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))] = {};
        iovec iov{buf.data(), buf.size()};
        msghdr msg{};
        msg.msg_name = &peer;
        msg.msg_namelen = sizeof(peer);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof(cbuf);
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0) continue;  // EINTR or a transient error; a server keeps going

        bool have_src = false;
        in_pktinfo src4{};
        in6_pktinfo src6{};
        for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
                in_pktinfo got{};
                std::memcpy(&got, CMSG_DATA(cm), sizeof(got));
                if (!IN_MULTICAST(ntohl(got.ipi_addr.s_addr)) && got.ipi_addr.s_addr != INADDR_BROADCAST) {
                    src4.ipi_spec_dst = got.ipi_addr;
                    have_src = true;
                }
            } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
                in6_pktinfo got{};
                std::memcpy(&got, CMSG_DATA(cm), sizeof(got));
                if (!IN6_IS_ADDR_MULTICAST(&got.ipi6_addr)) {
                    src6.ipi6_addr = got.ipi6_addr;
                    // Only a link-local source needs the interface; pinning others would bypass routing.
                    if (IN6_IS_ADDR_LINKLOCAL(&got.ipi6_addr)) src6.ipi6_ifindex = got.ipi6_ifindex;
                    have_src = true;
                }
            }
        }

        std::string text;
        if (echo) {
            text.assign(buf.data(), static_cast<size_t>(n));
        } else {
            text = reply + " peer=" + format_sockaddr(peer) + "\n";
        }
        iovec out_iov{text.data(), text.size()};
        msghdr out{};
        out.msg_name = &peer;
        out.msg_namelen = msg.msg_namelen;
        out.msg_iov = &out_iov;
        out.msg_iovlen = 1;
        alignas(cmsghdr) char obuf[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        if (have_src) {
            out.msg_control = obuf;
            out.msg_controllen =
                family == AF_INET6 ? CMSG_SPACE(sizeof(in6_pktinfo)) : CMSG_SPACE(sizeof(in_pktinfo));
            cmsghdr* cm = CMSG_FIRSTHDR(&out);
            if (family == AF_INET6) {
                cm->cmsg_level = IPPROTO_IPV6;
                cm->cmsg_type = IPV6_PKTINFO;
                cm->cmsg_len = CMSG_LEN(sizeof(src6));
                std::memcpy(CMSG_DATA(cm), &src6, sizeof(src6));
            } else {
                cm->cmsg_level = IPPROTO_IP;
                cm->cmsg_type = IP_PKTINFO;
                cm->cmsg_len = CMSG_LEN(sizeof(src4));
                std::memcpy(CMSG_DATA(cm), &src4, sizeof(src4));
            }
        }
        if (sendmsg(fd, &out, MSG_NOSIGNAL) < 0 && have_src) {
            // The kernel may refuse a source it cannot use (e.g. a subnet broadcast); answer anyway.
            out.msg_control = nullptr;
            out.msg_controllen = 0;
            (void)sendmsg(fd, &out, MSG_NOSIGNAL);
        }
    }
}

void raise_fd_limit() {
    // Tests hold many connections open at once; the default soft limit of 1024 is too low.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_serve(bool tcp, const Endpoint& ep, bool echo, const std::string& reply) {
    const std::string what = "serve " + ep.text;
    int fd = socket(ep.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno(what, errno);
    set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (ep.family == AF_INET6 && ep.wildcard) set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    if (bind(fd, as_sockaddr(ep.addr), ep.len) < 0) fail_errno(what, errno);
    if (tcp) {
        raise_fd_limit();
        if (listen(fd, SOMAXCONN) < 0) fail_errno(what, errno);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) fail_errno(what, errno);
    }
    write_stdout("listening\n");
    if (tcp) serve_tcp(fd, echo, reply);
    serve_udp(fd, ep.family, echo, reply);
}

// --- connect ---------------------------------------------------------------------------------

// Reads one line (including '\n') before the deadline; a reply cut short by EOF is still printed.
std::string read_line(int fd, int64_t deadline, const std::string& what) {
    std::string line;
    char buf[4096];
    for (;;) {
        size_t nl = line.find('\n');
        if (nl != std::string::npos) return line.substr(0, nl + 1);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            line.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) {
            if (line.empty()) fail(what, "connection closed before reply");
            return line + "\n";
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail_errno(what, errno);
        int ev = wait_fd(fd, POLLIN, deadline);
        if (ev < 0) fail_errno(what, errno);
        if (ev == 0) fail(what, "timed out");
    }
}

void wait_stdin_eof() {
    char buf[4096];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR)) return;
    }
}

int cmd_connect_tcp(const Endpoint& ep, int bind_port, bool hold, int timeout_ms) {
    const std::string what = "connect " + ep.text;
    int fd = tcp_connect(ep, bind_port, now_ns() + int64_t{timeout_ms} * 1'000'000, what);
    if (hold) {
        sockaddr_storage local{};
        socklen_t len = sizeof(local);
        if (getsockname(fd, as_sockaddr(local), &len) < 0) fail_errno(what, errno);
        write_stdout("connected local=" + format_sockaddr(local) + "\n");
    }
    write_stdout(read_line(fd, now_ns() + int64_t{timeout_ms} * 1'000'000, what));
    if (hold) wait_stdin_eof();
    close(fd);
    return 0;
}

// "00ff1a..." -> bytes; an odd length or a non-hex digit is a usage error.
std::string parse_hex_or_die(const std::string& hex) {
    auto digit = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        usage_error("bad hex payload '" + hex + "'");
    };
    if (hex.empty() || hex.size() % 2 != 0 || hex.size() > size_t{2} * 65507)
        usage_error("bad hex payload '" + hex + "'");
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2)
        out += static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
    return out;
}

int cmd_connect_udp(const Endpoint& ep, int bind_port, int timeout_ms, const std::string& payload) {
    const std::string what = "connect " + ep.text;
    int fd = socket(ep.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno(what, errno);
    if (bind_port > 0) bind_wildcard(fd, ep.family, static_cast<uint16_t>(bind_port), what);
    // Connected, so that ICMP errors (port/host unreachable) come back as recv() errors.
    if (connect(fd, as_sockaddr(ep.addr), ep.len) < 0) fail_errno(what, errno);
    const std::string datagram = payload.empty() ? std::string("ping") : payload;
    if (send(fd, datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0) fail_errno(what, errno);
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * 1'000'000;
    std::vector<char> buf(kIoChunk);
    for (;;) {
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n >= 0) {
            write_stdout(std::string(buf.data(), static_cast<size_t>(n)));
            close(fd);
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail_errno(what, errno);
        int ev = wait_fd(fd, POLLIN, deadline);
        if (ev < 0) fail_errno(what, errno);
        if (ev == 0) fail(what, "timed out");
    }
}

// --- rr ----------------------------------------------------------------------------------------

// One request/response. The fast path is a plain send() and blocking recv(), as a naive client
// would do; poll() is only needed when the request does not fit in the socket buffer at once,
// where writing it all before reading could deadlock against the echo server.
// spin: never block, ask again at once (the wake-up of a sleeping client is then not part
// of the figure, and what is left is the path of the packets).
void round_trip(int fd, const std::vector<char>& req, std::vector<char>& resp, const std::string& what,
                bool spin) {
    size_t sent = 0;
    size_t got = 0;
    const size_t size = req.size();
    while (got < size) {
        if (sent < size) {
            ssize_t n = send(fd, req.data() + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += static_cast<size_t>(n);
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fail_errno(what, errno);
            }
        }
        int flags = sent < size || spin ? MSG_DONTWAIT : 0;
        ssize_t n = recv(fd, resp.data() + got, size - got, flags);
        if (n > 0) {
            got += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) fail(what, "connection closed by peer");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail_errno(what, errno);
        if (spin) continue;
        pollfd p{fd, static_cast<short>(POLLIN | POLLOUT), 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) fail_errno(what, errno);
    }
}

double ns_to_us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

int cmd_rr(const Endpoint& ep, long long count, long long warmup, long long size, bool spin) {
    const std::string what = "connect " + ep.text;
    int fd = tcp_connect(ep, 0, now_ns() + int64_t{kDefaultTimeoutMs} * 1'000'000, what);
    set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    // Blocking from here on: round_trip() asks for non-blocking behaviour per call where needed.
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) fail_errno(what, errno);
    std::vector<char> req(static_cast<size_t>(size), 'x');
    std::vector<char> resp(static_cast<size_t>(size));
    for (long long i = 0; i < warmup; ++i) round_trip(fd, req, resp, what, spin);
    std::vector<int64_t> samples;
    samples.reserve(static_cast<size_t>(count));
    for (long long i = 0; i < count; ++i) {
        int64_t t0 = now_ns();
        round_trip(fd, req, resp, what, spin);
        samples.push_back(now_ns() - t0);
    }
    close(fd);
    std::sort(samples.begin(), samples.end());
    const size_t n = samples.size();
    double median = n % 2 == 1 ? ns_to_us(samples[n / 2])
                               : (ns_to_us(samples[n / 2 - 1]) + ns_to_us(samples[n / 2])) / 2.0;
    // Nearest-rank percentile: the smallest sample with at least 99% of samples at or below it.
    size_t rank = (n * 99 + 99) / 100;
    double p99 = ns_to_us(samples[std::max<size_t>(rank, 1) - 1]);
    std::printf("rr count=%lld median_us=%.2f p99_us=%.2f min_us=%.2f\n", count, median, p99,
                ns_to_us(samples.front()));
    std::fflush(stdout);
    return 0;
}

// --- command line ------------------------------------------------------------------------------

struct Args {
    std::vector<std::string> positional;
    std::vector<std::pair<std::string, std::string>> options;  // name, value ("" for flags)
};

// Options may come anywhere after the subcommand; those in with_value take the next argument
// verbatim (so --reply can start with '-').
Args split_args(int argc, char** argv, const std::vector<std::string_view>& with_value,
                const std::vector<std::string_view>& flags, const std::string& cmd) {
    Args a;
    for (int i = 2; i < argc; ++i) {
        std::string_view s = argv[i];
        if (s.size() > 2 && s.substr(0, 2) == "--") {
            if (std::find(with_value.begin(), with_value.end(), s) != with_value.end()) {
                if (i + 1 >= argc) usage_error(cmd + ": " + std::string(s) + " needs a value");
                a.options.emplace_back(std::string(s), argv[++i]);
            } else if (std::find(flags.begin(), flags.end(), s) != flags.end()) {
                a.options.emplace_back(std::string(s), "");
            } else {
                usage_error(cmd + ": unknown option '" + std::string(s) + "'");
            }
        } else {
            a.positional.emplace_back(s);
        }
    }
    return a;
}

bool parse_proto(const std::string& s) {
    if (s == "tcp") return true;
    if (s != "udp") usage_error("bad protocol '" + s + "' (expected tcp or udp)");
    return false;
}

int main_serve(int argc, char** argv) {
    Args a = split_args(argc, argv, {"--reply"}, {"--echo"}, "serve");
    if (a.positional.size() != 3) usage_error("serve: expected tcp|udp ADDR PORT (--reply TEXT | --echo)");
    bool tcp = parse_proto(a.positional[0]);
    Endpoint ep = parse_endpoint(a.positional[1], a.positional[2]);
    bool echo = false;
    bool have_reply = false;
    std::string reply;
    for (const auto& [name, value] : a.options) {
        if (name == "--echo") {
            echo = true;
        } else {
            have_reply = true;
            reply = value;
        }
    }
    if (echo == have_reply) usage_error("serve: give exactly one of --reply TEXT or --echo");
    return cmd_serve(tcp, ep, echo, reply);
}

int main_connect(int argc, char** argv) {
    Args a = split_args(argc, argv, {"--bind-port", "--timeout-ms", "--payload"}, {"--hold"}, "connect");
    if (a.positional.size() != 3) {
        usage_error(
            "connect: expected tcp|udp ADDR PORT [--bind-port P] [--hold] [--timeout-ms N] [--payload HEX]");
    }
    bool tcp = parse_proto(a.positional[0]);
    Endpoint ep = parse_endpoint(a.positional[1], a.positional[2]);
    int bind_port = 0;
    bool hold = false;
    int timeout_ms = kDefaultTimeoutMs;
    std::string payload;
    for (const auto& [name, value] : a.options) {
        if (name == "--hold") {
            hold = true;
        } else if (name == "--bind-port") {
            bind_port = static_cast<int>(parse_int_or_die("port", value, 1, 65535));
        } else if (name == "--payload") {
            payload = parse_hex_or_die(value);
        } else {
            timeout_ms = static_cast<int>(parse_int_or_die("timeout", value, 1, kMaxTimeoutMs));
        }
    }
    if (tcp) {
        if (!payload.empty()) usage_error("connect: --payload is for udp");
        return cmd_connect_tcp(ep, bind_port, hold, timeout_ms);
    }
    return cmd_connect_udp(ep, bind_port, timeout_ms, payload);
}

int main_rr(int argc, char** argv) {
    Args a = split_args(argc, argv, {"--count", "--warmup", "--size"}, {"--spin"}, "rr");
    if (a.positional.size() != 2)
        usage_error("rr: expected ADDR PORT [--count N] [--warmup N] [--size BYTES] [--spin]");
    Endpoint ep = parse_endpoint(a.positional[0], a.positional[1]);
    long long count = kDefaultCount;
    long long warmup = kDefaultWarmup;
    long long size = kDefaultSize;
    bool spin = false;
    for (const auto& [name, value] : a.options) {
        if (name == "--spin") {
            spin = true;
        } else if (name == "--count") {
            count = parse_int_or_die("count", value, 1, kMaxCount);
        } else if (name == "--warmup") {
            warmup = parse_int_or_die("warmup", value, 0, kMaxCount);
        } else {
            size = parse_int_or_die("size", value, 1, kMaxSize);
        }
    }
    return cmd_rr(ep, count, warmup, size, spin);
}

}  // namespace

int main(int argc, char** argv) {
    // A peer that goes away must cost one connection, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    if (argc < 2) usage_error("missing command (try --help)");
    const std::string_view cmd = argv[1];
    if (cmd == "--help" || cmd == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "serve") return main_serve(argc, argv);
    if (cmd == "connect") return main_connect(argc, argv);
    if (cmd == "rr") return main_rr(argc, argv);
    usage_error("unknown command '" + std::string(cmd) + "' (try --help)");
}
