// The library's side of the set-uid helper: what an unprivileged caller's Space,
// list_spaces() and friends use instead of doing the privileged steps themselves.
#pragma once

#include <sys/types.h>

#include "lib/core/fd.hpp"
#include "lib/helper/request.hpp"

namespace personalnet::helper {

// PERSONALNET_HELPER when set (staged installs, tests), else the installed helper.
std::string helper_path();

// One helper process and its channel. A session that created or opened a space holds it
// until the session ends: closing the channel tells the helper to let it go.
class Session {
public:
    // Starts the helper with the channel as its descriptor 3 and nothing else but stdio.
    static Result<Session> start();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session();  // closes the channel and waits for the helper

    // Sends a request and returns the answer (which may carry an error: see answer.hpp).
    Result<Message> call(const Request& r);

private:
    Session(UniqueFd fd, pid_t pid) : fd_(std::move(fd)), pid_(pid) {}
    void finish();
    UniqueFd fd_;
    pid_t pid_ = -1;
};

// A one-shot request: start, call, finish.
Result<Message> ask(const Request& r);

}  // namespace personalnet::helper
