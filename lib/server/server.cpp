#include "lib/server/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/ike/overlay_config.hpp"
#include "lib/policy/resources.hpp"
#include "lib/registry/registry.hpp"
#include "lib/server/caller_checks.hpp"
#include "lib/server/privileges.hpp"
#include "lib/server/user_networks.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/run_mounts.hpp"

namespace personalnet::server {

namespace {

// The depth a space created here would have, and whose space "here" is.
struct Here {
    int depth = 1;
    std::optional<uid_t> owner;  // of the space the caller runs in, if any
};
Result<Here> where_am_i(const Context& ctx) {
    Here h;
    auto reg = registry::Registry::open(ctx);
    if (!reg.ok()) return reg.error();
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0) return errno_error("read the caller's namespace");
    if (auto label = reg->find_netns(st.st_ino)) {
        auto rec = reg->load(*label);
        if (rec.ok()) {
            h.depth = rec->depth + 1;
            h.owner = rec->owner;
        }
    }
    return h;
}

}  // namespace

Server::Server(helper::Identity who, policy::Policy pol, UniqueFd caller_pidfd, int caller_mntns, int channel)
    : who_(std::move(who)),
      caller_(describe(who_)),
      policy_(std::move(pol)),
      caller_pidfd_(std::move(caller_pidfd)),
      channel_(channel) {
    ctx_.rundir = policy_.rundir;
    ctx_.statedir = policy_.statedir;
    ctx_.overlaydir = policy_.overlaydir;
    ctx_.cgroupdir = policy_.cgroupdir;
    ctx_.trustdir = policy_.networks.trustdir;
    ctx_.caller = who_.uid;
    ctx_.caller_mntns = caller_mntns;
}

int Server::serve() {
    auto first = helper::receive_message(channel_);
    if (!first.ok()) {
        if (!answerable(first.error())) return kExitFailure;  // the library went away
        (void)answer(helper::error_answer(first.error()));
        return kExitUsage;
    }
    auto req = helper::parse_request(first.value());
    if (!req.ok()) return answer(helper::error_answer(req.error()));
    // What this request may need of root's rights, and no more (privileges.hpp).
    if (auto kept = keep_only(operation_of(req->op)); !kept.ok())
        return answer(helper::error_answer(kept.error()));
    switch (req->op) {
        case helper::Op::list:
            return list();
        case helper::Op::networks:
            return networks();
        case helper::Op::show: {
            auto info = show_space(req->name, ctx_);
            if (!info.ok()) return answer(helper::error_answer(info.error()));
            auto m = helper::ok_answer();
            helper::add_space(m, info.value());
            return answer(m);
        }
        case helper::Op::destroy:
            return status_answer(
                destroy_space(req->name, ctx_, req->keep_files ? Keep::files : Keep::nothing));
        case helper::Op::gc:
            return status_answer(collect_garbage(req->full, ctx_));
        case helper::Op::diff: {
            auto changes = diff_space(req->name, ctx_);
            if (!changes.ok()) return answer(helper::error_answer(changes.error()));
            auto m = helper::ok_answer();
            for (const auto& c : changes.value()) helper::add_change(m, c);
            return answer(m);
        }
        case helper::Op::create:
        case helper::Op::open:
            return session(req.value());
        case helper::Op::run:
            return answer(helper::error_answer(
                make_error(EINVAL, "bad request: run needs a space (create or open first)")));
    }
    return kExitFailure;
}

bool Server::answerable(const Error& e) { return e.code == EINVAL || e.code == EMSGSIZE; }

int Server::answer(const helper::Message& m) { return helper::send_message(channel_, m).ok() ? 0 : 1; }

int Server::status_answer(const Status& st) {
    return answer(st.ok() ? helper::ok_answer() : helper::error_answer(st.error()));
}

int Server::list() {
    auto spaces = list_spaces(ctx_);  // the caller's own (ctx_.caller)
    if (!spaces.ok()) return answer(helper::error_answer(spaces.error()));
    auto m = helper::ok_answer();
    for (const auto& s : spaces.value()) helper::add_space(m, s);
    return answer(m);
}

// The administrator's overlays the caller may bind (`pnet networks`): the definitions in
// the policy's overlay directory that the overlays section lets the caller use, with the
// labels of those that are personal networks. Their contents stay root's.
int Server::networks() {
    auto m = helper::ok_answer();
    const auto labels = ike::network_labels(policy_.overlaydir);
    for (const auto& name : ike::definition_names(policy_.overlaydir)) {
        if (!policy::may_bind_overlay(policy_, caller_, name).ok()) continue;
        NetworkInfo n;
        n.name = name;
        n.source = policy_.overlaydir + "/" + name + ".conf";
        for (const auto& [label, holder] : labels)
            if (holder == name) n.label = label;
        helper::add_network(m, n);
    }
    return answer(m);
}

// Everything policy says about a creation, checked before anything is created.
Status Server::allowed(const helper::Request& r) {
    PN_TRY(policy::may_create(policy_, caller_), "");
    auto here = where_am_i(ctx_);
    if (!here.ok()) return here.error();
    if (here->owner && *here->owner != who_.uid && who_.uid != 0)
        return make_error(EPERM, "create space: the space you run in belongs to another user");
    auto all = list_spaces(ctx_);
    if (!all.ok()) return all.error();
    int mine = 0, networks = 0;
    for (const auto& s : all.value()) {
        mine += s.owner == who_.uid;
        networks += s.owner == who_.uid && s.user_network;
    }
    auto total = registry::Registry::open(ctx_);
    if (!total.ok()) return total.error();
    PN_TRY(
        policy::within_limits(policy_, caller_, mine, static_cast<int>(total->labels().size()), here->depth),
        "");
    if (!r.spec.user_network.empty())
        PN_TRY(user_network_allowed(policy_, caller_, ctx_, r.spec, networks), "");
    else if (!r.spec.overlay.empty())
        PN_TRY(policy::may_bind_overlay(policy_, caller_, r.spec.overlay), "");
    if (r.spec.admin) PN_TRY(policy::may_admin(policy_, caller_), "");
    if (r.spec.share_pids) PN_TRY(policy::may_share_pids(policy_, caller_), "");
    // Each port as parse_request checked it (syntax, range, each once); whether another
    // space or the parent's own sockets hold it is Space::create's to refuse.
    for (const auto& p : r.spec.published) PN_TRY(policy::may_publish(policy_, caller_, p), "");
    ResourceLimits limits = r.spec.limits;
    policy::apply_bandwidth_policy(policy_, caller_, limits);
    PN_TRY(policy::within_bandwidth(policy_, caller_, limits), "");
    return {};
}

Result<Space> Server::create(const helper::Request& r, const helper::Becoming& as_caller) {
    // What the caller controls first, without any lock: the shared directories are
    // looked at as the caller (with a time limit), the seed texts put in memfds.
    PN_TRY(policy::may_create(policy_, caller_), "");
    // The Slurm plugin's names (spank_personalnet(8)): a user's own job-<id> space on a
    // node would make that job fail there, or start it on what the user left behind.
    if (who_.uid != 0 && r.spec.name.rfind("job-", 0) == 0)
        return make_error(EPERM, "create space '" + r.spec.name +
                                     "': names starting with 'job-' are reserved for batch jobs");
    SpaceSpec spec = r.spec;
    // The policy's defaults and maxima (resources), and a host that cannot hold a limit
    // refused naming the option or setting that asked for it: never served without it.
    policy::ResourceSources sources;
    auto limits = policy::resources_for(policy_, caller_, spec.limits, &sources);
    if (!limits.ok()) return limits.error();
    spec.limits = limits.value();
    PN_TRY(space::check_limits_here(spec.limits, space::cgroup_host(ctx_), sources.from), "");
    // The size of the caller's layer-store image; root's own spaces keep the default.
    spec.max_layer_bytes = who_.uid == 0 ? 0 : policy_.max_layer_size;
    // A user's space without a bandwidth gets the policy's (allowed() refused one above
    // the maximum).
    policy::apply_bandwidth_policy(policy_, caller_, spec.limits);
    for (auto& dir : spec.shared_paths) {
        auto real = resolve_as_caller(as_caller, dir, caller_pidfd_.get());
        if (!real.ok()) return real.error();
        PN_TRY(policy::may_share(policy_, caller_, real.value()), "");
        dir = real.value();
    }
    std::vector<UniqueFd> seeds;
    for (auto [text, path] :
         {std::pair{&r.resolv_conf_text, &spec.resolv_conf}, std::pair{&r.hosts_text, &spec.hosts}}) {
        if (text->empty()) continue;
        auto p = as_memfd(*text, seeds);
        if (!p.ok()) return p.error();
        *path = p.value();
    }
    // One creation at a time through the helper, so that the limits counted in
    // allowed() still hold when the space is made (root's own creations are not
    // limited). Under the lock: the count and the creation, nothing the caller runs.
    auto reg = registry::Registry::open(ctx_);  // makes the run directory
    if (!reg.ok()) return reg.error().wrap("create space");
    auto lock = sys::open_fd(reg->path("helper.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (!lock.ok()) return lock.error().wrap("create space");
    PN_TRY(lock_for_caller(lock->get()), "");
    PN_TRY(allowed(r), "");
    return Space::create(spec, ctx_);
}

// Takes the helper's lock, waiting for other creations no longer than kLockSeconds and
// not at all once the caller is gone (a try-lock polled with the caller's pidfd).
Status Server::lock_for_caller(int fd) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kLockSeconds);
    for (;;) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return {};
        if (errno != EWOULDBLOCK && errno != EINTR) return errno_error("create space: lock");
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(EBUSY, "create space: other creations held the helper's lock for " +
                                         std::to_string(kLockSeconds) + " s; try again later");
        pollfd p = {caller_pidfd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) > 0) return make_error(ECANCELED, "create space: the caller is gone");
    }
}

Result<int> leave_file_space(const std::string& rundir) {
    auto reg = registry::Registry::open(rundir);
    if (!reg.ok() || !space::inside_file_space(reg.value())) return -1;
    // The caller's namespace on its fixed descriptor first: the host's, opened next,
    // cannot then land on that number.
    int own = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (own < 0 || (own != kCallerMntnsFd && ::dup3(own, kCallerMntnsFd, O_CLOEXEC) != kCallerMntnsFd))
        return make_error(errno, "cannot keep the caller's mount namespace");
    if (own != kCallerMntnsFd) ::close(own);
    auto outside = space::host_mntns(reg.value());
    if (!outside.ok()) return outside.error();
    if (!outside->valid() || ::setns(outside->get(), CLONE_NEWNS) != 0 || ::chdir("/") != 0)
        return make_error(errno, "cannot leave the caller's file space for the host's mount namespace");
    return kCallerMntnsFd;
}

void set_server_signals() {
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, nullptr);
    struct sigaction quiet = {};
    quiet.sa_handler = [](int) {};
    ::sigaction(SIGINT, &quiet, nullptr);
    ::sigaction(SIGQUIT, &quiet, nullptr);
}

}  // namespace personalnet::server
