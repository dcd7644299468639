// A batch job's space on a node (see job_space.hpp).
#include "lib/slurm/job_space.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "lib/core/trusted_path.hpp"
#include "lib/registry/holders.hpp"
#include "lib/slurm/hostlist.hpp"
#include "lib/slurm/job_network.hpp"
#include "lib/space/held.hpp"

namespace personalnet::slurm {

namespace {

// The most bytes of the site secret that count (HMAC hashes a longer key first anyway).
constexpr off_t kMaxSecret = 4096;
constexpr size_t kMinSecret = 16;

// A node's address as this node resolves its name (DNS or /etc/hosts, as Slurm resolves
// NodeName when slurm.conf gives no NodeAddr): the first IPv4 address.
Result<IpAddr> resolve_node(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0)
        return make_error(EHOSTUNREACH, "node '" + name + "' does not resolve to an IPv4 address (" +
                                            ::gai_strerror(rc) + ")");
    IpAddr a;
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, 4);
    ::freeaddrinfo(res);
    return a;
}

// The site secret: a trusted path (root's directories all the way), a regular file of
// root's that nobody else may read, 16 bytes or more.
Result<std::string> read_secret(const std::string& path) {
    auto text = sys::read_trusted_file(path, "site secret", kMaxSecret);
    if (!text.ok()) return text.error();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno_error("site secret '" + path + "'");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return make_error(EPERM, "site secret '" + path + "' has mode " + mode +
                                     ": others than root may read it (make it 0600)");
    }
    if (text->size() < kMinSecret)
        return make_error(
            EINVAL, "site secret '" + path + "' is shorter than " + std::to_string(kMinSecret) + " bytes");
    return text;
}

std::string space_name(uint32_t job_id) { return job_space_name(job_id); }

// What the job's space is made of on this node.
struct Plan {
    SpaceSpec spec;
    std::string peers;
};

Result<Plan> plan(const PluginConfig& c, const JobStep& step) {
    Plan p;
    p.spec.name = space_name(step.job_id);
    p.spec.file_space = step.files == Files::volatile_files;
    p.spec.private_tmp = p.spec.file_space;
    if (!step.network.empty()) {
        p.spec.overlay = step.network;  // the administrator's: the context has no user directory
        return p;
    }
    auto names = expand_hostlist(step.nodelist);
    if (!names.ok()) return names.error().wrap("the job's node list");
    const auto self = std::find(names->begin(), names->end(), step.node);
    if (self == names->end())
        return make_error(
            EINVAL, "this node ('" + step.node + "') is not in the job's node list '" + step.nodelist + "'");
    std::vector<JobNode> nodes;
    for (const auto& n : names.value()) {
        auto a = resolve_node(n);
        if (!a.ok()) return a.error();
        nodes.push_back({n, a.value()});
    }
    if (p.spec.file_space) {
        auto hosts = job_hosts(c, nodes);
        if (!hosts.ok()) return hosts.error();
        p.spec.hosts_text = std::move(hosts).value();
    }
    if (nodes.size() < 2) return p;  // one node: a space, and no network to join
    auto secret = read_secret(c.secret);
    if (!secret.ok()) return secret.error();
    auto net = job_network(c, step.job_id, nodes, static_cast<size_t>(self - names->begin()), secret.value());
    std::fill(secret->begin(), secret->end(), '\0');
    if (!net.ok()) return net.error();
    p.spec.user_network = std::move(net).value();
    auto peers = job_peers(c, nodes);
    if (!peers.ok()) return peers.error();
    p.peers = std::move(peers).value();
    return p;
}

// Until every peer of the space's network is up, or c.wait_seconds.
void wait_for_peers(const PluginConfig& c, const std::string& name, const Context& ctx) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.wait_seconds);
    for (;;) {
        auto info = show_space(name, ctx);
        if (!info.ok()) return;
        if (std::all_of(info->peers.begin(), info->peers.end(),
                        [](const SpaceInfo::Peer& p) { return p.up; }))
            return;
        if (std::chrono::steady_clock::now() >= deadline) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

Context job_context(const PluginConfig& c, uid_t uid) {
    Context ctx;
    if (!c.rundir.empty()) ctx.rundir = c.rundir;
    if (!c.statedir.empty()) ctx.statedir = c.statedir;
    if (!c.overlaydir.empty()) ctx.overlaydir = c.overlaydir;
    if (!c.libexecdir.empty()) ctx.libexecdir = c.libexecdir;
    ctx.user_networkdir.clear();  // the job's user's files are never read as root
    ctx.caller = uid;
    return ctx;
}

Result<JobSpace> take_job_space(const PluginConfig& c, const JobStep& step) {
    const std::string name = space_name(step.job_id);
    const Context ctx = job_context(c, step.uid);
    auto planned = plan(c, step);
    if (!planned.ok()) return planned.error();
    JobSpace js;
    js.peers = planned->peers;
    {
        auto lock = holders::lock(ctx.rundir, holders::kHeld);
        if (!lock.ok()) return lock.error();
        (void)space::destroy_dead_holds(ctx);  // a killed step's job: its space goes now
        auto held = holders::live(ctx.rundir, holders::kHeld, name);
        if (!held.ok()) return held.error();
        auto opened = Space::open(name, ctx);
        if (opened.ok() && held.value() == 0)
            return make_error(EEXIST, "space '" + name + "' exists and was not made for this job");
        if (!opened.ok() && opened.error().code != ENOENT) return opened.error();
        if (opened.ok()) {
            js.space = std::move(opened).value();
        } else {
            auto created = Space::create(planned->spec, ctx);
            if (!created.ok()) return created.error();
            js.space = std::move(created).value();
        }
        if (auto added = holders::add(ctx.rundir, holders::kHeld, name, step.holder); !added.ok()) {
            if (held.value() == 0) (void)destroy_space(name, ctx);
            return added.error();
        }
    }
    if (!planned->spec.user_network.empty()) wait_for_peers(c, name, ctx);
    return js;
}

Result<bool> job_space_held(const PluginConfig& c, uint32_t job_id) {
    const Context ctx = job_context(c, 0);
    auto lock = holders::lock(ctx.rundir, holders::kHeld);
    if (!lock.ok()) return lock.error();
    auto live = holders::live(ctx.rundir, holders::kHeld, space_name(job_id));
    if (!live.ok()) return live.error();
    return live.value() > 0;
}

Status release_job_space(const PluginConfig& c, uint32_t job_id, uid_t uid, pid_t holder) {
    const std::string name = space_name(job_id);
    const Context ctx = job_context(c, uid);
    auto lock = holders::lock(ctx.rundir, holders::kHeld);
    if (!lock.ok()) return lock.error();
    auto removed = holders::remove(ctx.rundir, holders::kHeld, name, holder);
    if (!removed.ok()) return removed.error();
    if (!removed.value()) return {};
    auto live = holders::live(ctx.rundir, holders::kHeld, name);
    if (!live.ok()) return live.error();
    if (live.value() > 0) return {};
    return destroy_space(name, ctx);
}

}  // namespace personalnet::slurm
