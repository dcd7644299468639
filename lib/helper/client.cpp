#include "lib/helper/client.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "lib/core/spawn.hpp"
#include "lib/helper/broker.hpp"
#include "lib/helper/channel.hpp"

namespace personalnet::helper {

Result<Session> Session::start(const Context& ctx) {
    // A command the helper started cannot gain privileges by exec: it asks the broker
    // of the session that started it instead (lib/helper/broker.hpp).
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
        if (ctx.broker.empty())
            return make_error(EPERM,
                              "this process cannot gain privileges (no_new_privs) and no PERSONALNET_BROKER "
                              "names a helper to ask");
        auto conn = broker_connect(ctx.broker);
        if (!conn.ok()) return conn.error();
        return Session(std::move(conn).value(), -1, "broker " + ctx.broker);
    }
    const std::string& path = ctx.helper;
    if (::access(path.c_str(), X_OK) != 0)
        return errno_error("personalnet's set-uid helper " + path +
                           " cannot be run (is personalnet installed? as root, no helper is needed)");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return errno_error("start the helper: socketpair");
    UniqueFd mine(sv[0]), theirs(sv[1]);
    sys::SpawnOptions o;
    o.what = "start the helper";
    o.program = path;
    o.argv = {"pnhelper"};
    o.env = {};  // it takes nothing from us but the request
    o.fds = {{theirs.get(), kChannelFd}};
    auto pid = sys::spawn(o);
    if (!pid.ok()) return pid.error();
    return Session(std::move(mine), pid.value(), path);
}

Session::Session(Session&& o) noexcept : fd_(std::move(o.fd_)), pid_(o.pid_), helper_(std::move(o.helper_)) {
    o.pid_ = -1;
}

Session& Session::operator=(Session&& o) noexcept {
    if (this != &o) {
        finish();
        fd_ = std::move(o.fd_);
        pid_ = o.pid_;
        helper_ = std::move(o.helper_);
        o.pid_ = -1;
    }
    return *this;
}

Session::~Session() { finish(); }

void Session::finish() {
    fd_.reset();
    if (pid_ > 0) {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
}

Result<Message> Session::call(const Request& r) {
    PN_TRY(send_message(fd_.get(), to_message(r)), "");
    auto answer = receive_message(fd_.get());
    if (!answer.ok() && answer.error().code == ECONNRESET)
        return make_error(EPROTO, "personalnet's helper " + helper_ +
                                      " ended without an answer (is it installed set-uid root?)");
    return answer;
}

Result<Message> ask(const Context& ctx, const Request& r) {
    auto s = Session::start(ctx);
    if (!s.ok()) return s.error();
    return s->call(r);
}

}  // namespace personalnet::helper
