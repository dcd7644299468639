// ViciClient: one connection to charon's VICI socket (a Unix stream socket).
//
// The protocol has no sequence numbers: one exchange (command, or event
// registration) at a time per connection, with events interleaved anywhere. So the
// client reads packets in order and sorts them: the reply of the exchange in flight,
// events a streamed command asked for, and events the caller follows, which are
// queued until wait_event() takes them.
//
// Every operation takes a timeout and never blocks longer (poll(2)). A timeout or a
// protocol error during an exchange leaves an answer in flight that would be taken
// for the next one, so the connection is then marked unusable and every later call
// fails with ENOTCONN: reconnect. A timeout in wait_event() is harmless.
//
// Errors name the socket: "vici '/run/x/charon.vici': timed out waiting for the
// response to 'initiate'", "connect to vici socket '/run/x/charon.vici': Connection
// refused".
// Not thread-safe: one thread per client. Needs no privilege beyond access to the
// socket file. Safe to destroy at any time (closes the socket).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/ike/vici_message.hpp"
#include "lib/ike/vici_packet.hpp"
#include "personalnet/error.hpp"

namespace personalnet::ike {

using Timeout = std::chrono::milliseconds;

struct ViciEvent {
    std::string name;
    ViciMessage message;
};

// A streamed command's outcome: the events it streamed, in order, then its response.
struct ViciStreamed {
    std::vector<ViciMessage> events;
    ViciMessage response;
};

// Fails with EREMOTEIO and the daemon's "errmsg" when response says success = no
// (what names the command in the message). Responses without "success" pass.
Status check_success(const ViciMessage& response, const std::string& what);

class ViciClient {
public:
    // Followed events received while nobody waits for them are queued up to this many;
    // beyond it the oldest are dropped (a caller following "log" and never reading).
    static constexpr size_t kMaxQueued = 1024;

    // Connects once. A missing socket (ENOENT) or one nobody listens on (ECONNREFUSED)
    // fails at once, naming the path; a listener whose backlog stays full, ETIMEDOUT.
    static Result<ViciClient> connect(const std::string& socket_path, Timeout timeout);
    // Like connect(), but retries while the socket is missing or refuses: for a daemon
    // that is still starting. ETIMEDOUT (with the last refusal) when it never answers.
    static Result<ViciClient> wait_connect(const std::string& socket_path, Timeout timeout);
    // Takes over an already connected stream socket (tests use a socketpair); label
    // stands for the path in error messages.
    static ViciClient adopt(UniqueFd fd, std::string label);

    ViciClient(ViciClient&&) noexcept = default;
    ViciClient& operator=(ViciClient&&) noexcept = default;
    ViciClient(const ViciClient&) = delete;
    ViciClient& operator=(const ViciClient&) = delete;
    ~ViciClient() = default;

    // Sends a command and returns the response message as the daemon sent it (no
    // success check). EOPNOTSUPP when the daemon does not know the command.
    Result<ViciMessage> request(std::string_view command, const ViciMessage& args, Timeout timeout);
    // request() followed by check_success().
    Result<ViciMessage> call(std::string_view command, const ViciMessage& args, Timeout timeout);
    // A streamed command: registers for event (unless already followed), sends the
    // command, collects every such event until the response, then unregisters. The
    // timeout covers the whole exchange. No success check (callers want the events
    // even when the command failed).
    Result<ViciStreamed> streamed(std::string_view command, const ViciMessage& args, std::string_view event,
                                  Timeout timeout);

    // Starts or stops following an event ("ike-updown", "child-updown", "log").
    // EOPNOTSUPP when the daemon has no such event.
    Status follow(std::string_view event, Timeout timeout);
    Status unfollow(std::string_view event, Timeout timeout);
    // The next event named event, which must be followed (EINVAL otherwise): from the
    // queue if one arrived earlier, else from the socket. Followed events of other
    // names that arrive meanwhile are queued. ETIMEDOUT when none comes in time.
    Result<ViciMessage> wait_event(std::string_view event, Timeout timeout);
    // The next followed event of any name.
    Result<ViciEvent> next_event(Timeout timeout);

    const std::string& path() const { return path_; }
    // The socket, for poll(2) beside other descriptors (a daemon following events). Events
    // already read into the client are not signalled there: drain with next_event(0ms).
    int fd() const { return fd_.get(); }
    // False once an error left the stream out of step (see the file comment).
    bool usable() const { return fd_.valid() && broken_.empty(); }
    // Events dropped because the queue was full.
    size_t dropped_events() const { return dropped_; }

private:
    using Clock = std::chrono::steady_clock;
    using Deadline = Clock::time_point;

    ViciClient(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

    Error fail(int code, const std::string& what) const;
    Status check_usable() const;
    // Marks the stream out of step and returns e.
    Error poison(const Error& e);
    Status send_packet(const Packet& p, Deadline deadline);
    Status wait_fd(short events, Deadline deadline, const std::string& waiting_for);
    Result<Packet> read_packet(Deadline deadline, const std::string& waiting_for);
    // Reads until a packet that is not an event; events named stream_event go to
    // *collected, followed ones to the queue.
    Result<Packet> read_reply(Deadline deadline, const std::string& waiting_for,
                              std::string_view stream_event = {},
                              std::vector<ViciMessage>* collected = nullptr);
    void queue_event(Packet&& p);
    Status register_event(PacketType type, std::string_view event, Deadline deadline);

    UniqueFd fd_;
    std::string path_;
    std::string inbuf_;   // bytes received but not yet parsed into packets
    std::string broken_;  // why the stream is out of step; empty while usable
    std::set<std::string, std::less<>> followed_;
    std::deque<ViciEvent> queued_;
    size_t dropped_ = 0;
};

}  // namespace personalnet::ike
