// ViciClient against a scripted fake daemon on the other end of a socketpair: the
// sorting of interleaved events, timeouts, hangups and broken framing, which a real
// charon will not produce on demand. The real daemon is in vici_charon_test.cpp.
#include "lib/ike/vici_client.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "lib/core/fd.hpp"
#include "lib/ike/vici_packet.hpp"

namespace pn_unit {
namespace {

using namespace std::chrono_literals;
using personalnet::UniqueFd;
using personalnet::ike::encode_packet;
using personalnet::ike::Packet;
using personalnet::ike::PacketType;
using personalnet::ike::ViciClient;
using personalnet::ike::ViciMessage;
using Clock = std::chrono::steady_clock;

// The daemon's end: blocking reads and writes of whole packets.
class DaemonEnd {
public:
    explicit DaemonEnd(int fd) : fd_(fd) {}

    bool read_exact(std::string& out, size_t n) {
        out.resize(n);
        size_t off = 0;
        while (off < n) {
            ssize_t r = ::read(fd_, out.data() + off, n - off);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
            off += static_cast<size_t>(r);
        }
        return true;
    }
    // The next packet; false on hangup or a packet that does not parse.
    bool read(Packet& p) {
        std::string head, body;
        if (!read_exact(head, 4)) return false;
        size_t len = 0;
        for (char c : head) len = (len << 8) | static_cast<uint8_t>(c);
        if (!read_exact(body, len)) return false;
        auto d = personalnet::ike::decode_packet(body);
        if (!d.ok()) return false;
        p = std::move(d).value();
        return true;
    }
    // Reads one packet and records a complaint unless it is of that type and name.
    void expect(PacketType type, const std::string& name) {
        Packet p;
        if (!read(p)) {
            complaint += "hangup instead of " + name + "; ";
        } else if (p.type != type || p.name != name) {
            complaint += "unexpected packet '" + p.name + "'; ";
        }
    }
    void send_raw(const std::string& bytes) {
        size_t off = 0;
        while (off < bytes.size()) {
            ssize_t w = ::write(fd_, bytes.data() + off, bytes.size() - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return;
            off += static_cast<size_t>(w);
        }
    }
    void send(PacketType type, const std::string& name = {}, const ViciMessage& m = {}) {
        send_raw(encode_packet(Packet{type, name, m}).value());
    }
    // Blocks until the client closes its end.
    void wait_hangup() {
        Packet p;
        while (read(p)) {
        }
    }

    std::string complaint;

private:
    int fd_;
};

// Runs script on a thread as the daemon; client() is the other end.
class FakeDaemon {
public:
    explicit FakeDaemon(std::function<void(DaemonEnd&)> script) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
        client_fd_.reset(sv[0]);
        daemon_fd_.reset(sv[1]);
        thread_ = std::thread([this, script = std::move(script)] {
            DaemonEnd end(daemon_fd_.get());
            script(end);
            complaint_ = end.complaint;
            daemon_fd_.reset();  // hang up: the client sees EOF from here on
        });
    }
    ~FakeDaemon() { join(); }
    ViciClient client() { return ViciClient::adopt(std::move(client_fd_), "fake"); }
    // Waits for the script; returns what it complained about.
    std::string join() {
        if (thread_.joinable()) thread_.join();
        return complaint_;
    }

private:
    UniqueFd client_fd_;
    UniqueFd daemon_fd_;
    std::thread thread_;
    std::string complaint_;
};

ViciMessage kv(const std::string& k, const std::string& v) {
    ViciMessage m;
    m.set(k, v);
    return m;
}

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

TEST(ViciClient, RequestReturnsItsResponseAndQueuesFollowedEvents) {
    FakeDaemon d([](DaemonEnd& e) {
        e.expect(PacketType::kEventRegister, "ike-updown");
        e.send(PacketType::kEventConfirm);
        e.expect(PacketType::kCmdRequest, "version");
        e.send(PacketType::kEvent, "ike-updown", kv("up", "yes"));
        e.send(PacketType::kEvent, "not-followed", kv("x", "y"));
        e.send(PacketType::kCmdResponse, {}, kv("daemon", "charon"));
        e.wait_hangup();
    });
    {
        ViciClient c = d.client();
        ASSERT_TRUE(c.follow("ike-updown", 1s).ok());
        auto r = c.request("version", {}, 1s);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(r->get("daemon"), "charon");
        auto ev = c.wait_event("ike-updown", 0ms);  // already queued: no wait needed
        ASSERT_TRUE(ev.ok()) << ev.error().message();
        EXPECT_TRUE(ev->is_yes("up"));
        auto again = c.wait_event("ike-updown", 50ms);
        ASSERT_FALSE(again.ok());
        EXPECT_EQ(again.error().code, ETIMEDOUT);
        EXPECT_TRUE(c.usable()) << "a timeout with no exchange in flight is harmless";
        auto unfollowed = c.wait_event("child-updown", 1s);
        ASSERT_FALSE(unfollowed.ok());
        EXPECT_EQ(unfollowed.error().code, EINVAL);
    }
    EXPECT_EQ(d.join(), "");
}

TEST(ViciClient, UnknownCommandsAndEventsAndDaemonRefusals) {
    FakeDaemon d([](DaemonEnd& e) {
        e.expect(PacketType::kCmdRequest, "frobnicate");
        e.send(PacketType::kCmdUnknown);
        e.expect(PacketType::kEventRegister, "no-such-event");
        e.send(PacketType::kEventUnknown);
        e.expect(PacketType::kCmdRequest, "load-conn");
        ViciMessage no;
        no.set("success", "no").set("errmsg", "invalid value for: auth");
        e.send(PacketType::kCmdResponse, {}, no);
        e.expect(PacketType::kCmdRequest, "load-conn");
        e.send(PacketType::kCmdResponse, {}, kv("success", "yes"));
        e.wait_hangup();
    });
    {
        ViciClient c = d.client();
        auto unknown = c.request("frobnicate", {}, 1s);
        ASSERT_FALSE(unknown.ok());
        EXPECT_EQ(unknown.error().code, EOPNOTSUPP);
        EXPECT_TRUE(has(unknown.error().message(), "vici 'fake': command 'frobnicate' unknown"))
            << unknown.error().message();
        auto ev = c.follow("no-such-event", 1s);
        ASSERT_FALSE(ev.ok());
        EXPECT_EQ(ev.error().code, EOPNOTSUPP);
        auto refused = c.call("load-conn", {}, 1s);
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error().code, EREMOTEIO);
        EXPECT_TRUE(has(refused.error().message(), "load-conn: charon: invalid value for: auth"))
            << refused.error().message();
        EXPECT_TRUE(c.call("load-conn", {}, 1s).ok());
        EXPECT_TRUE(c.usable());
    }
    EXPECT_EQ(d.join(), "");
}

TEST(ViciClient, StreamedCommandCollectsItsEventsAndUnregisters) {
    FakeDaemon d([](DaemonEnd& e) {
        e.expect(PacketType::kEventRegister, "child-updown");
        e.send(PacketType::kEventConfirm);
        e.expect(PacketType::kEventRegister, "list-sa");
        e.send(PacketType::kEventConfirm);
        e.expect(PacketType::kCmdRequest, "list-sas");
        e.send(PacketType::kEvent, "list-sa", kv("n", "1"));
        e.send(PacketType::kEvent, "child-updown", kv("up", "yes"));
        e.send(PacketType::kEvent, "list-sa", kv("n", "2"));
        e.send(PacketType::kCmdResponse);
        e.expect(PacketType::kEventUnregister, "list-sa");
        e.send(PacketType::kEventConfirm);
        e.wait_hangup();
    });
    {
        ViciClient c = d.client();
        ASSERT_TRUE(c.follow("child-updown", 1s).ok());
        auto r = c.streamed("list-sas", {}, "list-sa", 1s);
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_EQ(r->events.size(), 2U);
        EXPECT_EQ(r->events[0].get("n"), "1");
        EXPECT_EQ(r->events[1].get("n"), "2");
        auto stale = c.wait_event("list-sa", 10ms);
        ASSERT_FALSE(stale.ok());
        EXPECT_EQ(stale.error().code, EINVAL) << "the stream's event is no longer followed";
        auto up = c.next_event(0ms);
        ASSERT_TRUE(up.ok()) << up.error().message();
        EXPECT_EQ(up->name, "child-updown");
    }
    EXPECT_EQ(d.join(), "");
}

// What pnkeeper does (issue 17): follows the four SA events, polls the client's socket
// beside other descriptors and drains what arrived with next_event(0ms), which looks once
// although its deadline has passed.
TEST(ViciClient, FollowedSaEventsWakeAPollAndDrainWithoutWaiting) {
    const char* kinds[] = {"ike-updown", "ike-rekey", "child-updown", "child-rekey"};
    FakeDaemon d([&](DaemonEnd& e) {
        for (const char* k : kinds) {
            e.expect(PacketType::kEventRegister, k);
            e.send(PacketType::kEventConfirm);
        }
        e.send(PacketType::kEvent, "child-rekey", kv("n", "1"));
        e.send(PacketType::kEvent, "ike-rekey", kv("n", "2"));
        e.wait_hangup();
    });
    {
        ViciClient c = d.client();
        for (const char* k : kinds) ASSERT_TRUE(c.follow(k, 1s).ok()) << k;
        // Events may already sit in the client (read with the last confirmation) or still
        // be on the socket: a drain finds the first, a poll on fd() wakes for the second.
        std::vector<std::string> got;
        for (int round = 0; round < 20 && got.size() < 2; ++round) {
            for (;;) {
                auto e = c.next_event(0ms);
                if (!e.ok()) {
                    EXPECT_EQ(e.error().code, ETIMEDOUT) << e.error().message();
                    break;
                }
                got.push_back(e->name);
            }
            if (got.size() < 2) {
                pollfd p{c.fd(), POLLIN, 0};
                (void)::poll(&p, 1, 100);
            }
        }
        EXPECT_EQ(got, (std::vector<std::string>{"child-rekey", "ike-rekey"}));
        EXPECT_TRUE(c.usable());
    }
    EXPECT_EQ(d.join(), "");
}

TEST(ViciClient, PacketsSplitIntoSingleBytesAreReassembled) {
    FakeDaemon d([](DaemonEnd& e) {
        e.expect(PacketType::kCmdRequest, "version");
        ViciMessage m;
        m.set("daemon", "charon").section("s").set_list("l", {"a", "b"});
        std::string bytes = encode_packet(Packet{PacketType::kCmdResponse, {}, m}).value();
        for (char ch : bytes) {
            e.send_raw(std::string(1, ch));
            std::this_thread::sleep_for(1ms);
        }
        e.wait_hangup();
    });
    {
        ViciClient c = d.client();
        auto r = c.request("version", {}, 2s);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(r->get("daemon"), "charon");
        EXPECT_EQ(r->find_section("s")->list("l").size(), 2U);
    }
    EXPECT_EQ(d.join(), "");
}

TEST(ViciClient, TimeoutInAnExchangeMakesTheConnectionUnusable) {
    FakeDaemon d([](DaemonEnd& e) {
        e.expect(PacketType::kCmdRequest, "initiate");
        e.wait_hangup();  // never answers
    });
    {
        ViciClient c = d.client();
        auto t0 = Clock::now();
        auto r = c.request("initiate", {}, 150ms);
        auto took = Clock::now() - t0;
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ETIMEDOUT);
        EXPECT_TRUE(has(r.error().message(), "timed out waiting for the response to 'initiate'"))
            << r.error().message();
        EXPECT_GE(took, 150ms);
        EXPECT_LT(took, 1s);
        EXPECT_FALSE(c.usable());
        auto next = c.request("version", {}, 1s);
        ASSERT_FALSE(next.ok());
        EXPECT_EQ(next.error().code, ENOTCONN);
        EXPECT_TRUE(has(next.error().message(), "unusable after an earlier error")) << next.error().message();
    }
    EXPECT_EQ(d.join(), "");
}

TEST(ViciClient, HangupAndBrokenFramingAreErrors) {
    FakeDaemon hangup([](DaemonEnd& e) { e.expect(PacketType::kCmdRequest, "version"); });
    {
        ViciClient c = hangup.client();
        auto r = c.request("version", {}, 1s);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ECONNRESET);
        EXPECT_TRUE(has(r.error().message(), "daemon closed the connection")) << r.error().message();
    }
    EXPECT_EQ(hangup.join(), "");

    FakeDaemon oversize([](DaemonEnd& e) {
        e.expect(PacketType::kCmdRequest, "version");
        e.send_raw(std::string("\xff\xff\xff\xff", 4));
        e.wait_hangup();
    });
    {
        ViciClient c = oversize.client();
        auto r = c.request("version", {}, 1s);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, EBADMSG);
        EXPECT_FALSE(c.usable());
    }
    EXPECT_EQ(oversize.join(), "");

    FakeDaemon wrong_reply([](DaemonEnd& e) {
        e.expect(PacketType::kCmdRequest, "version");
        e.send(PacketType::kEventConfirm);
        e.wait_hangup();
    });
    {
        ViciClient c = wrong_reply.client();
        auto r = c.request("version", {}, 1s);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, EBADMSG);
        EXPECT_TRUE(has(r.error().message(), "got EVENT_CONFIRM in reply to command 'version'"))
            << r.error().message();
        EXPECT_FALSE(c.usable());
    }
    EXPECT_EQ(wrong_reply.join(), "");
}

class ViciConnect : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pnvici-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        (void)::unlink((dir_ + "/sock").c_str());
        EXPECT_EQ(::rmdir(dir_.c_str()), 0) << std::strerror(errno);
    }
    // A Unix socket bound at dir_/sock; listening only if asked.
    UniqueFd bind_socket(bool listening) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::string p = dir_ + "/sock";
        std::memcpy(a.sun_path, p.c_str(), p.size());
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
        if (listening) {
            EXPECT_EQ(::listen(fd.get(), 4), 0);
        }
        return fd;
    }
    std::string dir_;
};

TEST_F(ViciConnect, ErrorsNameTheSocketPath) {
    std::string path = dir_ + "/sock";
    auto missing = ViciClient::connect(path, 1s);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_TRUE(has(missing.error().message(), "connect to vici socket '" + path + "'"))
        << missing.error().message();

    UniqueFd bound = bind_socket(false);
    auto refused = ViciClient::connect(path, 1s);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ECONNREFUSED);
    EXPECT_TRUE(has(refused.error().message(), "'" + path + "'")) << refused.error().message();

    auto t0 = Clock::now();
    auto waited = ViciClient::wait_connect(path, 150ms);
    ASSERT_FALSE(waited.ok());
    EXPECT_EQ(waited.error().code, ETIMEDOUT);
    EXPECT_GE(Clock::now() - t0, 140ms);
    EXPECT_TRUE(has(waited.error().message(), "Connection refused")) << waited.error().message();

    auto too_long = ViciClient::connect("/" + std::string(200, 'x'), 1s);
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().code, ENAMETOOLONG);
}

TEST_F(ViciConnect, WaitConnectSucceedsOnceTheDaemonListens) {
    std::string path = dir_ + "/sock";
    UniqueFd listener;
    std::thread late([&] {
        std::this_thread::sleep_for(100ms);
        listener = bind_socket(true);
    });
    auto c = ViciClient::wait_connect(path, 3s);
    late.join();
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_TRUE(c->usable());
    EXPECT_EQ(c->path(), path);
}

}  // namespace
}  // namespace pn_unit
