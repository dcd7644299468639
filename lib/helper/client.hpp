// The library's side of the set-uid helper: what an unprivileged caller's Space,
// list_spaces() and friends use instead of doing the privileged steps themselves.
#pragma once

#include <sys/types.h>

#include "lib/core/fd.hpp"
#include "lib/helper/request.hpp"
#include "personalnet/context.hpp"

namespace personalnet::helper {

// One helper process and its channel. A session that created or opened a space holds it
// until the session ends: closing the channel tells the helper to let it go.
class Session {
public:
    // Starts the context's helper with the channel as its descriptor 3 and nothing else
    // but stdio; a process that cannot gain privileges (no_new_privs: started by the
    // helper) connects to the context's broker instead.
    static Result<Session> start(const Context& ctx);
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session();  // closes the channel and waits for the helper

    // Sends a request and returns the answer (which may carry an error: see answer.hpp).
    Result<Message> call(const Request& r);

private:
    Session(UniqueFd fd, pid_t pid, std::string helper)
        : fd_(std::move(fd)), pid_(pid), helper_(std::move(helper)) {}
    void finish();
    UniqueFd fd_;
    pid_t pid_ = -1;
    std::string helper_;  // what we started (for errors)
};

// A one-shot request: start, call, finish.
Result<Message> ask(const Context& ctx, const Request& r);

}  // namespace personalnet::helper
