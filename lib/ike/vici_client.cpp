#include "lib/ike/vici_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace personalnet::ike {

namespace {

constexpr auto kConnectRetry = std::chrono::milliseconds(10);

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

Status check_success(const ViciMessage& response, const std::string& what) {
    const std::string* success = response.find("success");
    if (success == nullptr || *success == "yes") return {};
    std::string errmsg = response.get("errmsg", "no reason given");
    return make_error(EREMOTEIO, what + ": charon: " + errmsg);
}

Result<ViciClient> ViciClient::connect(const std::string& socket_path, Timeout timeout) {
    const std::string ctx = "connect to vici socket " + quote(socket_path);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
        return make_error(ENAMETOOLONG, ctx + ": path empty or longer than " +
                                            std::to_string(sizeof addr.sun_path - 1) + " bytes");
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return errno_error(ctx + ": socket");
    const Deadline deadline = Clock::now() + timeout;
    for (;;) {
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
        // A Unix stream connect never goes in progress; EAGAIN means the listener's
        // backlog is full, which clears as the daemon accepts.
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return errno_error(ctx);
        if (Clock::now() >= deadline)
            return make_error(ETIMEDOUT,
                              ctx + ": backlog stayed full for " + std::to_string(timeout.count()) + " ms");
        std::this_thread::sleep_for(kConnectRetry);
    }
    return ViciClient(std::move(fd), socket_path);
}

Result<ViciClient> ViciClient::wait_connect(const std::string& socket_path, Timeout timeout) {
    const Deadline deadline = Clock::now() + timeout;
    for (;;) {
        auto remaining = std::chrono::duration_cast<Timeout>(deadline - Clock::now());
        auto c = connect(socket_path, std::max(remaining, Timeout(0)));
        if (c.ok()) return c;
        int code = c.error().code;
        if (code != ENOENT && code != ECONNREFUSED && code != ETIMEDOUT) return c.error();
        if (Clock::now() + kConnectRetry >= deadline)
            return make_error(ETIMEDOUT, "vici socket " + quote(socket_path) + " did not accept within " +
                                             std::to_string(timeout.count()) +
                                             " ms (last: " + c.error().message() + ")");
        std::this_thread::sleep_for(kConnectRetry);
    }
}

ViciClient ViciClient::adopt(UniqueFd fd, std::string label) {
    // Every wait goes through poll() with the deadline; a blocking send could overrun it.
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
    return ViciClient(std::move(fd), std::move(label));
}

Error ViciClient::fail(int code, const std::string& what) const {
    return make_error(code, "vici " + quote(path_) + ": " + what);
}

Status ViciClient::check_usable() const {
    if (!fd_.valid()) return fail(EBADF, "not connected");
    if (!broken_.empty())
        return fail(ENOTCONN, "connection unusable after an earlier error (" + broken_ + ")");
    return {};
}

Error ViciClient::poison(const Error& e) {
    if (broken_.empty()) broken_ = e.message();
    return e;
}

Status ViciClient::wait_fd(short events, Deadline deadline, const std::string& waiting_for) {
    for (;;) {
        // A deadline already passed still looks once (a timeout of 0: what is there now),
        // so that a caller draining events with next_event(0ms) gets them.
        auto left = std::chrono::ceil<Timeout>(deadline - Clock::now());
        pollfd p{fd_.get(), events, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::clamp<Timeout::rep>(left.count(), 0, 1 << 30)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error{errno, "vici " + quote(path_) + ": poll", {}};
        if (n > 0) return {};
        if (left.count() <= 0) return fail(ETIMEDOUT, "timed out waiting for " + waiting_for);
    }
}

Status ViciClient::send_packet(const Packet& p, Deadline deadline) {
    auto bytes = encode_packet(p);
    if (!bytes.ok()) return bytes.error().wrap("vici " + quote(path_) + ": send " + quote(p.name));
    const std::string& b = bytes.value();
    size_t off = 0;
    while (off < b.size()) {
        ssize_t n = ::send(fd_.get(), b.data() + off, b.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            Status w = wait_fd(POLLOUT, deadline, "the socket to take " + quote(p.name));
            // Half a packet sent: the daemon would read our next bytes as its rest.
            if (!w.ok()) return off == 0 ? w : Status(poison(w.error()));
            continue;
        }
        return poison(Error{errno, "vici " + quote(path_) + ": send " + quote(p.name), {}});
    }
    return {};
}

Result<Packet> ViciClient::read_packet(Deadline deadline, const std::string& waiting_for) {
    for (;;) {
        if (inbuf_.size() >= kSegmentHeader) {
            auto len = segment_length(inbuf_);
            if (!len.ok()) return poison(len.error().wrap("vici " + quote(path_)));
            if (inbuf_.size() - kSegmentHeader >= len.value()) {
                auto p = decode_packet(std::string_view(inbuf_).substr(kSegmentHeader, len.value()));
                inbuf_.erase(0, kSegmentHeader + len.value());
                if (!p.ok()) return poison(p.error().wrap("vici " + quote(path_)));
                return p;
            }
        }
        PN_TRY(wait_fd(POLLIN, deadline, waiting_for), "");
        char buf[16384];
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n > 0) {
            inbuf_.append(buf, static_cast<size_t>(n));
        } else if (n == 0) {
            return poison(
                fail(ECONNRESET, "daemon closed the connection while we waited for " + waiting_for));
        } else if (errno != EINTR && errno != EAGAIN) {
            return poison(Error{errno, "vici " + quote(path_) + ": receive", {}});
        }
    }
}

void ViciClient::queue_event(Packet&& p) {
    if (followed_.count(p.name) == 0) return;  // a late event of a stream that has ended
    if (queued_.size() >= kMaxQueued) {
        queued_.pop_front();
        ++dropped_;
    }
    queued_.push_back(ViciEvent{std::move(p.name), std::move(p.message)});
}

Result<Packet> ViciClient::read_reply(Deadline deadline, const std::string& waiting_for,
                                      std::string_view stream_event, std::vector<ViciMessage>* collected) {
    for (;;) {
        auto p = read_packet(deadline, waiting_for);
        // The reply is still on its way: taking the next one for it would pair every
        // later exchange with its predecessor's answer.
        if (!p.ok()) return poison(p.error());
        if (p->type != PacketType::kEvent) return p;
        if (collected != nullptr && p->name == stream_event) {
            collected->push_back(std::move(p->message));
        } else {
            queue_event(std::move(p).value());
        }
    }
}

Result<ViciMessage> ViciClient::request(std::string_view command, const ViciMessage& args, Timeout timeout) {
    PN_TRY(check_usable(), "");
    const Deadline deadline = Clock::now() + timeout;
    Packet req{PacketType::kCmdRequest, std::string(command), args};
    PN_TRY(send_packet(req, deadline), "");
    auto reply = read_reply(deadline, "the response to " + quote(command));
    if (!reply.ok()) return reply.error();
    switch (reply->type) {
        case PacketType::kCmdResponse:
            return std::move(reply->message);
        case PacketType::kCmdUnknown:
            return fail(EOPNOTSUPP, "command " + quote(command) + " unknown to the daemon");
        default:
            return poison(fail(EBADMSG, "got " + packet_type_name(static_cast<uint8_t>(reply->type)) +
                                            " in reply to command " + quote(command)));
    }
}

Result<ViciMessage> ViciClient::call(std::string_view command, const ViciMessage& args, Timeout timeout) {
    auto r = request(command, args, timeout);
    if (!r.ok()) return r;
    PN_TRY(check_success(r.value(), "vici " + quote(path_) + ": " + std::string(command)), "");
    return r;
}

Status ViciClient::register_event(PacketType type, std::string_view event, Deadline deadline) {
    PN_TRY(check_usable(), "");
    const bool reg = type == PacketType::kEventRegister;
    const std::string what = (reg ? "register for event " : "unregister from event ") + quote(event);
    PN_TRY(send_packet(Packet{type, std::string(event), {}}, deadline), "");
    auto reply = read_reply(deadline, "the daemon to confirm: " + what);
    if (!reply.ok()) return reply.error();
    switch (reply->type) {
        case PacketType::kEventConfirm:
            if (reg) {
                followed_.emplace(event);
            } else {
                if (auto it = followed_.find(event); it != followed_.end()) followed_.erase(it);
            }
            return {};
        case PacketType::kEventUnknown:
            return fail(EOPNOTSUPP, what + ": no such event");
        default:
            return poison(
                fail(EBADMSG, "got " + packet_type_name(static_cast<uint8_t>(reply->type)) + " for " + what));
    }
}

Status ViciClient::follow(std::string_view event, Timeout timeout) {
    if (followed_.count(event) != 0) return {};
    return register_event(PacketType::kEventRegister, event, Clock::now() + timeout);
}

Status ViciClient::unfollow(std::string_view event, Timeout timeout) {
    if (followed_.count(event) == 0) return {};
    PN_TRY(register_event(PacketType::kEventUnregister, event, Clock::now() + timeout), "");
    // Events of that name already queued would never be asked for now.
    std::erase_if(queued_, [&](const ViciEvent& e) { return e.name == event; });
    return {};
}

Result<ViciStreamed> ViciClient::streamed(std::string_view command, const ViciMessage& args,
                                          std::string_view event, Timeout timeout) {
    PN_TRY(check_usable(), "");
    const Deadline deadline = Clock::now() + timeout;
    const bool own_registration = followed_.count(event) == 0;
    if (own_registration) PN_TRY(register_event(PacketType::kEventRegister, event, deadline), "");

    ViciStreamed out;
    Packet req{PacketType::kCmdRequest, std::string(command), args};
    PN_TRY(send_packet(req, deadline), "");
    auto reply = read_reply(deadline, "the response to " + quote(command), event, &out.events);
    if (!reply.ok()) return reply.error();
    if (reply->type == PacketType::kCmdUnknown) {
        if (own_registration) (void)register_event(PacketType::kEventUnregister, event, deadline);
        return fail(EOPNOTSUPP, "command " + quote(command) + " unknown to the daemon");
    }
    if (reply->type != PacketType::kCmdResponse)
        return poison(fail(EBADMSG, "got " + packet_type_name(static_cast<uint8_t>(reply->type)) +
                                        " in reply to command " + quote(command)));
    out.response = std::move(reply->message);
    if (own_registration) PN_TRY(register_event(PacketType::kEventUnregister, event, deadline), "");
    return out;
}

Result<ViciEvent> ViciClient::next_event(Timeout timeout) {
    PN_TRY(check_usable(), "");
    if (!queued_.empty()) {
        ViciEvent e = std::move(queued_.front());
        queued_.pop_front();
        return e;
    }
    if (followed_.empty()) return fail(EINVAL, "waiting for events without following any");
    const Deadline deadline = Clock::now() + timeout;
    for (;;) {
        auto p = read_packet(deadline, "a followed event");
        if (!p.ok()) return p.error();
        if (p->type != PacketType::kEvent)
            return poison(fail(EBADMSG, "got " + packet_type_name(static_cast<uint8_t>(p->type)) +
                                            " with no exchange in flight"));
        if (followed_.count(p->name) != 0) return ViciEvent{std::move(p->name), std::move(p->message)};
    }
}

Result<ViciMessage> ViciClient::wait_event(std::string_view event, Timeout timeout) {
    PN_TRY(check_usable(), "");
    if (followed_.count(event) == 0)
        return fail(EINVAL, "waiting for event " + quote(event) + " not followed");
    for (auto it = queued_.begin(); it != queued_.end(); ++it) {
        if (it->name != event) continue;
        ViciMessage m = std::move(it->message);
        queued_.erase(it);
        return m;
    }
    const Deadline deadline = Clock::now() + timeout;
    for (;;) {
        auto p = read_packet(deadline, "event " + quote(event));
        if (!p.ok()) return p.error();
        if (p->type != PacketType::kEvent)
            return poison(fail(EBADMSG, "got " + packet_type_name(static_cast<uint8_t>(p->type)) +
                                            " with no exchange in flight"));
        if (p->name == event) return std::move(p->message);
        queue_event(std::move(p).value());
    }
}

}  // namespace personalnet::ike
