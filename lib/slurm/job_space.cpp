// A batch job's space on a node (see job_space.hpp).
#include "lib/slurm/job_space.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
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

// How often a task waiting for its peers looks at them.
constexpr std::chrono::milliseconds kPeerPoll{50};

// The largest site secret accepted (HMAC hashes any key longer than 64 bytes first).
constexpr off_t kMaxSecret = 4096;
constexpr size_t kMinSecret = 16;

// A node's address as this node resolves its name (DNS or /etc/hosts, as Slurm resolves
// a NodeName that slurm.conf gives no NodeAddr): its first IPv4 address that is not a
// loopback one (Debian's /etc/hosts names the machine itself at 127.0.1.1).
Result<IpAddr> resolve_node(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0)
        return make_error(EHOSTUNREACH, "node '" + name + "' does not resolve to an IPv4 address (" +
                                            ::gai_strerror(rc) + ")");
    std::optional<IpAddr> found;
    for (const addrinfo* ai = res; ai != nullptr && !found; ai = ai->ai_next) {
        IpAddr a;
        a.family = AF_INET;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
        if (a.bytes[0] != 127) found = a;
    }
    ::freeaddrinfo(res);
    if (!found) return make_error(EHOSTUNREACH, "node '" + name + "' resolves to loopback addresses only");
    return *found;
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

// The job's nodes, in node-list order, each with its address, and this node's index.
struct Nodes {
    std::vector<JobNode> all;
    size_t self = 0;
};

Result<Nodes> job_nodes(const JobStep& step) {
    auto names = expand_hostlist(step.nodelist);
    if (!names.ok()) return names.error().wrap("the job's node list");
    Nodes n;
    const auto self = std::find(names->begin(), names->end(), step.node);
    if (self == names->end())
        return make_error(
            EINVAL, "this node ('" + step.node + "') is not in the job's node list '" + step.nodelist + "'");
    n.self = static_cast<size_t>(self - names->begin());
    for (const auto& name : names.value()) {
        auto a = resolve_node(name);
        if (!a.ok()) return a.error();
        n.all.push_back({name, a.value()});
    }
    return n;
}

// What the job's space is made of on this node.
Result<SpaceSpec> plan(const PluginConfig& c, const JobStep& step, const Nodes& nodes) {
    SpaceSpec spec;
    spec.name = space_name(step.job_id);
    spec.file_space = step.files == Files::volatile_files;
    spec.private_tmp = spec.file_space;
    // A task joins the space itself (Space::join in the task, before its exec): no process
    // can move into a PID namespace, and the task would see a /proc without itself; and
    // slurmstepd tracks and signals its tasks by pid. A job's space shares the node's PIDs.
    spec.share_pids = true;
    if (!step.network.empty()) {
        if (std::find(c.networks.begin(), c.networks.end(), step.network) == c.networks.end())
            return make_error(
                EPERM, "network '" + step.network +
                           "' is not one the administrator lets jobs bind (plugstack.conf: networks=)");
        spec.overlay = step.network;  // the administrator's: the context reads no user's directory
        return spec;
    }
    if (nodes.all.size() < 2) {
        // One node: a space, and no network to join; its name is its own address.
        if (spec.file_space)
            spec.hosts_text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
                              nodes.all[0].address.str() + "\t" + nodes.all[0].name + "\n";
        return spec;
    }
    if (spec.file_space) {
        auto hosts = job_hosts(c, nodes.all);
        if (!hosts.ok()) return hosts.error();
        spec.hosts_text = std::move(hosts).value();
    }
    auto secret = read_secret(c.secret);
    if (!secret.ok()) return secret.error();
    auto net = job_network(c, step.job_id, nodes.all, nodes.self, secret.value());
    std::fill(secret->begin(), secret->end(), '\0');
    if (!net.ok()) return net.error();
    spec.user_network = std::move(net).value();
    return spec;
}

// Until the network's peers on the step's other nodes are up, or c.wait_seconds: a step on
// some of the job's nodes does not wait for the others.
void wait_for_peers(const PluginConfig& c, const std::string& name, const Context& ctx,
                    const std::vector<std::string>& step_addresses) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.wait_seconds);
    auto ready = [&](const SpaceInfo::Peer& p) {
        return p.up ||
               std::find(step_addresses.begin(), step_addresses.end(), p.address) == step_addresses.end();
    };
    for (;;) {
        auto info = show_space(name, ctx);
        if (!info.ok()) return;
        if (std::all_of(info->peers.begin(), info->peers.end(), ready)) return;
        if (std::chrono::steady_clock::now() >= deadline) return;
        std::this_thread::sleep_for(kPeerPoll);
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
    auto nodes = job_nodes(step);
    if (!nodes.ok()) return nodes.error();
    JobSpace js;
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
        // Only now, for a space of the job's (a refused one must not be marked for
        // collection): seen at once by job_space_taken, so that a later step that does not
        // repeat the option joins the space being made rather than run without it.
        PN_TRY(holders::keep_unheld(ctx.rundir, holders::kHeld, name), "");
        if (opened.ok()) {
            js.space = std::move(opened).value();
        } else {
            auto spec = plan(c, step, nodes.value());
            if (!spec.ok()) return spec.error();
            auto created = Space::create(spec.value(), ctx);
            if (!created.ok()) return created.error();
            js.space = std::move(created).value();
        }
        if (auto added = holders::add(ctx.rundir, holders::kHeld, name, step.holder); !added.ok()) {
            if (held.value() == 0) (void)destroy_space(name, ctx);
            return added.error();
        }
    }
    // The job's own network: the space is bound to a network named after it.
    if (js.space->info().overlay != name || !js.space->info().user_network) return js;
    auto peers = job_peers(c, nodes->all);
    if (!peers.ok()) return peers.error();
    js.peers = std::move(peers).value();
    auto step_nodes = expand_hostlist(step.step_nodelist.empty() ? step.nodelist : step.step_nodelist);
    std::vector<std::string> step_addresses;
    if (step_nodes.ok())
        for (const auto& n : nodes->all)
            if (std::find(step_nodes->begin(), step_nodes->end(), n.name) != step_nodes->end())
                step_addresses.push_back(n.address.str());
    wait_for_peers(c, name, ctx, step_addresses);
    return js;
}

bool job_space_taken(const PluginConfig& c, uint32_t job_id) {
    const Context ctx = job_context(c, 0);
    const std::string dir = ctx.rundir + "/" + holders::kHeld + "/" + space_name(job_id);
    return ::access(dir.c_str(), F_OK) == 0;
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
    // A peer's task may still be waiting to see this node up (it looks every kPeerPoll):
    // a step that ends at once (`srun --personalnet true`) would otherwise leave before it
    // was seen, and the peer would wait out wait= seconds for it.
    std::this_thread::sleep_for(3 * kPeerPoll);
    auto destroyed = destroy_space(name, ctx);
    // Not destroyed: it stays held by nobody, so that `pnet gc` or the next take tries again.
    if (!destroyed.ok()) (void)holders::keep_unheld(ctx.rundir, holders::kHeld, name);
    return destroyed;
}

}  // namespace personalnet::slurm
