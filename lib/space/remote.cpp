#include "lib/space/remote.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"

extern char** environ;

namespace personalnet::space {

namespace {

using helper::Op;
using helper::Request;

// The helper answers about one space.
Result<SpaceInfo> one_space(const Result<helper::Message>& answer) {
    if (!answer.ok()) return answer.error();
    auto spaces = helper::spaces_of(answer.value());
    if (!spaces.ok()) return spaces.error();
    if (spaces->size() != 1) return make_error(EPROTO, "bad answer from the helper: not one space");
    return spaces->front();
}

Result<std::unique_ptr<Space::Remote>> session_for(const Context& ctx, const Request& r) {
    auto s = helper::Session::start(ctx);
    if (!s.ok()) return s.error();
    auto info = one_space(s->call(r));
    if (!info.ok()) return info.error();
    return std::make_unique<Space::Remote>(Space::Remote{std::move(s).value(), std::move(info).value()});
}

}  // namespace

// Root in a user namespace of its own is no root here: it asks the helper like anyone.
bool needs_helper() { return ::geteuid() != 0 || !sys::in_initial_user_namespace(); }

Result<std::unique_ptr<Space::Remote>> remote_create(const Context& ctx, const SpaceSpec& spec,
                                                     std::string resolv_conf, std::string hosts) {
    Request r;
    r.op = Op::create;
    r.spec = spec;
    r.resolv_conf_text = std::move(resolv_conf);
    r.hosts_text = std::move(hosts);
    r.spec.resolv_conf.clear();
    r.spec.hosts.clear();
    return session_for(ctx, r);
}

Result<std::unique_ptr<Space::Remote>> remote_open(const Context& ctx, const std::string& name) {
    Request r;
    r.op = Op::open;
    r.name = name;
    return session_for(ctx, r);
}

Result<int> remote_run(Space::Remote& remote, const std::vector<std::string>& argv,
                       const std::vector<std::string>* env) {
    Request r;
    r.op = Op::run;
    r.argv = argv;
    // The helper runs the command from here: it enters the directory as us, inside the
    // space (a helper serving a process inside a space cannot know it otherwise).
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) != nullptr && cwd[0] == '/') r.cwd = cwd;
    if (env != nullptr) {
        r.env = *env;
    } else {
        for (char** e = environ; *e != nullptr; ++e) r.env.emplace_back(*e);
    }
    // What the helper's channel cannot carry is refused here, naming it, rather than sent
    // (the helper would refuse the misframed request without knowing which word it was).
    auto refuse = [&](const std::string& what, const std::string& v) -> Error {
        bool nul = v.find('\0') != std::string::npos;
        return make_error(EINVAL, "run '" + argv.front().substr(0, 64) + "': " + what + " (" +
                                      std::to_string(v.size()) + " bytes) " +
                                      (nul ? "holds a NUL byte" : "is larger than 64 KiB") +
                                      ", which the set-uid helper's channel cannot carry");
    };
    for (size_t i = 0; i < r.argv.size(); ++i)
        if (r.argv[i].size() > helper::kMaxValue || r.argv[i].find('\0') != std::string::npos)
            return refuse("argument " + std::to_string(i), r.argv[i]);
    for (const auto& e : r.env)
        if (e.size() > helper::kMaxValue || e.find('\0') != std::string::npos)
            return refuse("environment variable " + e.substr(0, std::min<size_t>(e.find('='), 64)), e);
    // Like run() as root: the terminal's ^C and ^\ are the command's to handle.
    struct sigaction ign = {}, old_int = {}, old_quit = {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ign, &old_int);
    ::sigaction(SIGQUIT, &ign, &old_quit);
    auto answer = remote.session.call(r);
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    if (!answer.ok()) return answer.error();
    return helper::exit_of(answer.value());
}

Result<std::vector<SpaceInfo>> remote_list(const Context& ctx) {
    Request r;
    r.op = Op::list;
    auto answer = helper::ask(ctx, r);
    if (!answer.ok()) return answer.error();
    return helper::spaces_of(answer.value());
}

Result<std::vector<NetworkInfo>> remote_networks(const Context& ctx) {
    Request r;
    r.op = Op::networks;
    auto answer = helper::ask(ctx, r);
    if (!answer.ok()) return answer.error();
    return helper::networks_of(answer.value());
}

Result<SpaceInfo> remote_show(const Context& ctx, const std::string& name) {
    Request r;
    r.op = Op::show;
    r.name = name;
    return one_space(helper::ask(ctx, r));
}

Status remote_destroy(const Context& ctx, const std::string& name, Keep keep) {
    Request r;
    r.op = Op::destroy;
    r.name = name;
    r.keep_files = keep == Keep::files;
    auto answer = helper::ask(ctx, r);
    if (!answer.ok()) return answer.error();
    return helper::error_of(answer.value());
}

Status remote_gc(const Context& ctx, bool full) {
    Request r;
    r.op = Op::gc;
    r.full = full;
    auto answer = helper::ask(ctx, r);
    if (!answer.ok()) return answer.error();
    return helper::error_of(answer.value());
}

Result<std::vector<FileChange>> remote_diff(const Context& ctx, const std::string& name) {
    Request r;
    r.op = Op::diff;
    r.name = name;
    auto answer = helper::ask(ctx, r);
    if (!answer.ok()) return answer.error();
    return helper::changes_of(answer.value());
}

}  // namespace personalnet::space
