// libpersonalnet: port spaces.
//
// A port space is a network namespace that carries its parent's own IP addresses,
// reaches the parent's networks through inherited routes, sees the parent's running
// services unless it binds the same port itself (override) or hides them, and is
// isolated from its siblings. See docs/ARCHITECTURE.md for the mechanisms.
//
// Typical use (as root, or as a user the administrator's policy allows: then the
// set-uid helper pnhelper does the privileged steps; see personalnet.conf(5)):
//
//   pn::SpaceSpec spec;
//   spec.name = "work";                                   // "" for an unnamed space
//   spec.hidden_services.push_back(*pn::Service::parse("tcp/22"));
//   auto space = pn::Space::create(spec);                // or pn::Space::open("work")
//   if (!space) { fprintf(stderr, "%s\n", space.error().message().c_str()); ... }
//   auto status = space->run({"curl", "http://10.1.2.3/"});   // exit status
//
// Threading: create/open/enter switch the *calling thread's* network namespace
// temporarily and restore it before returning; they are safe in multi-threaded
// programs as long as no other code in the same thread depends on its namespace
// meanwhile. run() forks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "personalnet/context.hpp"
#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"
#include "personalnet/space_enums.hpp"

namespace personalnet {

// A transport-level service: "tcp/80", "udp/53".
struct Service {
    uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
    uint16_t port = 0;

    bool operator==(const Service&) const = default;
    std::string str() const;
    static std::optional<Service> parse(const std::string& text);
};

// A port published on the parent's addresses (mkportspace --publish): a connection from
// another host to `port` at the parent's shared address reaches the space's listener on
// `inner`, with the client's own address. Written "tcp/8080", or "tcp/8080:80" when
// the space listens on another port than the one published.
struct PublishedPort {
    uint8_t proto = 6;   // IPPROTO_TCP or IPPROTO_UDP
    uint16_t port = 0;   // on the parent's addresses (1-65535)
    uint16_t inner = 0;  // in the space (1-65535): port unless mapped

    bool operator==(const PublishedPort&) const = default;
    bool mapped() const { return inner != port; }
    std::string str() const;
    // "tcp/PORT" or "udp/PORT", optionally ":INNER"; decimal ports 1-65535.
    static std::optional<PublishedPort> parse(const std::string& text);
};

// A user's own network definition (mkportspace(1), USER NETWORKS): its text and the bytes
// of every certificate and key file it names, read with the user's rights. The set-uid
// helper checks it against the administrator's constraints (personalnet.conf(5)) and
// hands its credentials to the space's charon over VICI only.
struct UserNetwork {
    std::string name;  // the network's name: NAME of NAME.conf
    std::string path;  // where it was read (errors and `pnet show` name it)
    std::string text;  // the definition
    // Each certificate or key file it names, as written there, with the file's bytes.
    std::vector<std::pair<std::string, std::string>> files;

    bool empty() const { return text.empty(); }
};

// A space's resource limits (issue 22); 0 means no limit. CPU, memory, processes and
// I/O weight are held by the space's cgroup (cgroup v2, one per space, nested like the
// spaces); bandwidth by a shaper on its uplink, which needs no cgroup.
struct ResourceLimits {
    uint32_t cpu_milli = 0;     // --cpu: thousandths of one CPU's time (1500 = 1.5 CPUs)
    uint64_t memory_bytes = 0;  // --memory: memory.max
    uint32_t pids = 0;          // --pids: pids.max, processes and threads
    uint32_t io_weight = 0;     // --io-weight: io.weight, 1-10000 (100 is the kernel's default)
    uint64_t rate_in = 0;       // --bandwidth IN[/OUT]: bits per second into the space
    uint64_t rate_out = 0;      //   and out of it
    // Whether a limit needs a cgroup controller (all but bandwidth).
    bool needs_cgroup() const { return cpu_milli || memory_bytes || pids || io_weight; }
    bool operator==(const ResourceLimits&) const = default;
};

// What a space uses now (show_space only); -1 where this host cannot tell (e.g. memory
// without cgroup v2's memory controller).
struct ResourceUsage {
    int64_t cpu_usec = -1;                   // CPU time of all its processes, user and system
    int64_t memory_bytes = -1;               // memory now (memory.current)
    int64_t memory_peak = -1;                // and at its peak (memory.peak)
    int64_t processes = -1;                  // processes in it now
    int64_t rx_bytes = -1, rx_packets = -1;  // into the space through its uplink
    int64_t tx_bytes = -1, tx_packets = -1;  // out of it
};

struct SpaceSpec {
    std::string name;                      // "" = unnamed: disappears with its last process
    bool inherit_routes = true;            // mirror the parent's routes through the uplink
    std::vector<IpPrefix> hidden_routes;   // parent routes not inherited (exact prefix)
    bool inherit_services = true;          // parent's listeners reachable on the host address
    std::vector<Service> hidden_services;  // parent services not inherited
    // A file space: a private mount namespace whose root is a copy-on-write union over
    // the parent's file space. false: the space shares its parent's files.
    bool file_space = true;
    FsBackend fs_backend = FsBackend::automatic;
    std::vector<std::string> shared_paths;  // host directories bound live into the file space
    bool private_tmp = false;               // an empty /tmp of its own in the file space
    std::string resolv_conf;                // a file whose copy is /etc/resolv.conf inside
    std::string hosts;                      // a file whose copy is /etc/hosts inside
    // The text of /etc/hosts inside, for programs that make it (instead of hosts; root's
    // callers only: the helper takes a file's text from its caller as hosts).
    std::string hosts_text;
    // An overlay network (/etc/personalnet/overlays.d/NAME.conf) the space is bound to: it
    // runs its own IKE daemon and brings the overlay's SAs up before the space is ready.
    // The caller's own definition of that name (Context::user_networkdir) is taken first.
    std::string overlay;
    // A user's own network definition file to bind instead (mkportspace --network-file),
    // read as the caller; its name is overlay's, else the file's name without ".conf".
    std::string network_file;
    // The user network itself: the library fills it from network_file or user_networkdir;
    // the helper receives it so. Programs may also fill it directly.
    UserNetwork user_network;
    // Pseudo-admin rights: the space's network namespace is owned by a user namespace of
    // its own (the owner's uid and gid mapped to themselves), in which the owner's commands
    // hold CAP_NET_ADMIN and CAP_NET_BIND_SERVICE: routes, firewall rules and ports below
    // 1024 inside the space, nothing outside it.
    bool admin = false;
    Dispatch dispatch = Dispatch::automatic;
    // Ports published on the parent's addresses for other hosts (validate_published).
    std::vector<PublishedPort> published;
    // No PID namespace of its own: the space's processes see (and, for the same uid, may
    // signal and trace) every process of its parent, and the parent's /proc (today's
    // behaviour before issue 20). Without it a space has a PID namespace nested like the
    // spaces, with pid 1 a small init of its owner's (pninit), and its own /proc.
    bool share_pids = false;
    // The space's hostname (UTS namespace of its own; validate_hostname). Empty: the
    // creator's hostname. Needs the space's PID namespace (not with share_pids).
    std::string hostname;
    // What all the owner's file-space layers may hold, in bytes: the size of the owner's
    // own image in the layer store (0 = the default, 64 GiB); a write beyond it fails with
    // ENOSPC. The set-uid helper sets it from the policy (limits.max_layer_size) and
    // ignores the caller's.
    uint64_t max_layer_bytes = 0;
    // CPU, memory, processes, I/O weight and bandwidth (ResourceLimits); the set-uid
    // helper applies the policy's defaults and maxima (personalnet.conf: resources).
    ResourceLimits limits;
};

struct SpaceInfo {
    std::string name;
    bool named = false;
    uint16_t label = 0;  // 16-bit SPI label, also the space's id
    uid_t owner = 0;
    std::string parent;  // parent space's name, "" for the host
    int depth = 1;       // 1 = child of the host
    uint64_t netns_inode = 0;
    std::string host_ifname;  // parent-side veth
    pid_t supervisor = 0;     // 0 for named spaces after creation
    SpaceState state = SpaceState::creating;
    int64_t created = 0;                 // unix time
    std::vector<std::string> addresses;  // addresses on the uplink (the parent's)
    // No watcher follows the parent's network changes into the space (it was killed):
    // addresses and routes may be out of date until `pnet gc` (or a creation beside it)
    // starts one again.
    bool addresses_stale = false;
    bool inherit_routes = true;
    bool inherit_services = true;
    std::vector<std::string> hidden_routes;
    std::vector<std::string> hidden_services;
    std::vector<std::string> published;  // PublishedPort::str() of each
    bool own_pids = false;               // a PID namespace (and /proc, hostname) of its own
    std::string hostname;                // its hostname ("" with shared PIDs)
    bool file_space = false;
    std::optional<FsBackend> fs_backend;  // kernel or fuse; none without a file space
    std::string overlay;                  // "" when not bound to one
    bool network = false;                 // overlay is a personal network; label is its label
    // Where the overlay's definition was read: the administrator's overlay directory or,
    // for a user's own network (user_network), the owner's file.
    std::string overlay_source;
    bool user_network = false;
    std::optional<Datapath> datapath;      // the overlay's ESP; none without an overlay
    std::vector<std::string> overlay_sas;  // show_space only: one line per IKE_SA / CHILD_SA
    // show_space only: each peer of the overlay (its literal remote_addrs) and whether it is
    // up: an established IKE_SA with it that has an installed CHILD_SA.
    struct Peer {
        std::string address;
        bool up = false;
    };
    std::vector<Peer> peers;
    std::vector<std::string> shared_paths;
    bool private_tmp = false;
    bool admin = false;                // pseudo-admin rights inside (SpaceSpec::admin)
    std::optional<Dispatch> dispatch;  // nft or bpf (SpaceSpec::dispatch); none in old records
    // show_space only, BPF dispatch: packets the direct parent's programs delivered into
    // the space and sent out of it; -1 when they could not be read.
    int64_t dispatched_in = -1;
    int64_t dispatched_out = -1;
    // A named space's pin: the bind-mounted nsfs file of its network namespace in the
    // registry's run directory (RUNDIR/ns/NAME), for tools that join a namespace by path
    // (systemd's NetworkNamespacePath=, podman's --network ns:PATH, nsenter --net=);
    // "" for an unnamed space, which has none.
    std::string pin;
    ResourceLimits limits;  // as made (SpaceSpec::limits)
    ResourceUsage usage;    // show_space only
};

// The resource options' values (mkportspace, the helper's wire, personalnet.conf), each
// checked whole; what names the option or setting in the one-line error (EINVAL): e.g.
// "--memory '12Q': not a size (a number with an optional K, M, G or T suffix)".
// A CPU quota in CPUs, up to three decimals: "1.5" is 1500 thousandths; 0.001-1024.
Result<uint32_t> parse_cpu(const std::string& text, const std::string& what = "--cpu");
// A size in bytes, with an optional suffix K, M, G or T (powers of 1024); 4 KiB to 2^62.
Result<uint64_t> parse_size(const std::string& text, const std::string& what = "--memory");
// A number of processes and threads: 1-4194304 (the kernel's most).
Result<uint32_t> parse_pids(const std::string& text, const std::string& what = "--pids");
// An I/O weight: 1-10000.
Result<uint32_t> parse_io_weight(const std::string& text, const std::string& what = "--io-weight");
// Checks limits made elsewhere (the helper's wire): each in its parser's range or 0.
Status validate_limits(const ResourceLimits& limits);
// The values as the options take them back: "1.5", "512M" (exact), for records and `pnet show`.
std::string cpu_text(uint32_t cpu_milli);
std::string size_text(uint64_t bytes);

// An unnamed space's name as list_spaces gives it ("anon-" and its label, four lower-case
// hex digits): that label; nullopt for any other text. show_space takes such a name.
std::optional<uint16_t> unnamed_label(const std::string& name);

// Checks a space name: 1-32 characters of [A-Za-z0-9_.-], not starting with '-' or '.',
// not "anon-*" (reserved for unnamed spaces). The error names the bad value.
Status validate_name(const std::string& name);

// Checks the ports a space publishes: each port of the parent's once per protocol, and
// neither udp/500 nor udp/4500 (IKE and ESP: the parent dispatches them by SPI, never as
// a published port). EINVAL naming the value.
Status validate_published(const std::vector<PublishedPort>& ports);

// Checks a space's hostname: 1-64 characters of [A-Za-z0-9-] (an RFC 1123 label), not
// starting or ending with '-'. The error names the bad value.
Status validate_hostname(const std::string& hostname);

// Bandwidth (mkportspace --bandwidth, personalnet.conf's bandwidth and max_bandwidth):
// bits per second, a decimal number (a fraction allowed: "1.5M") with an optional SI
// suffix k, M or G (powers of 1000), optionally followed by "bit": "10M", "10Mbit",
// "500k". From kMinRate to kMaxRate.
inline constexpr uint64_t kMinRate = 8'000;               // 8kbit
inline constexpr uint64_t kMaxRate = 100'000'000'000ULL;  // 100G
// One rate; EINVAL naming the value.
Result<uint64_t> parse_rate(const std::string& text);
// "RATE" (both directions) or "IN/OUT" (into the space, then out of it, as an ISP writes
// "100M/10M"): sets limits.rate_in and rate_out. EINVAL naming the value.
Status parse_bandwidth(const std::string& text, ResourceLimits& limits);
// A rate as parse_rate reads it back: "10M", "1.5M", "500k", "12345".
std::string rate_str(uint64_t bits_per_second);
// "IN/OUT", or "RATE" when both are the same; "" without a limit.
std::string bandwidth_str(const ResourceLimits& limits);
// Checks rate_in and rate_out: each 0 (no limit) or within kMinRate..kMaxRate; both or
// neither set. EINVAL naming the value (the set-uid helper re-checks its caller's).
Status validate_bandwidth(const ResourceLimits& limits);

// Checks a directory to share into a file space: absolute, an existing directory other
// than /, no "." or ".." components, none of ',' ':' '\\' or control characters.
Status validate_shared_path(const std::string& path);

class Space {
public:
    // Creates a space as a child of the calling thread's current network namespace.
    // On failure nothing is left behind.
    static Result<Space> create(const SpaceSpec& spec, const Context& ctx = Context());
    // Opens an existing named space (to run commands in it or enter it).
    static Result<Space> open(const std::string& name, const Context& ctx = Context());

    Space(Space&&) noexcept;
    Space& operator=(Space&&) noexcept;
    // An unnamed space (created here) is released when this object goes: a small
    // detached reaper waits until the namespace has died (no process left in it) and
    // then removes the host-side state, in the background; `collect_garbage(true)`
    // waits for releases in progress.
    ~Space();

    const SpaceInfo& info() const;
    // Time spent per creation step, in milliseconds (for benchmarks): wall time, and the
    // CPU time of this process and the children it reaped during the step (wall minus
    // CPU is time spent waiting). Empty for a space the helper made.
    const std::vector<std::pair<std::string, double>>& timings() const;
    const std::vector<std::pair<std::string, double>>& cpu_timings() const;

    // Runs argv inside (PATH search) with PERSONALNET_SPACE set; waits; returns the
    // exit code (128+N when killed by signal N). SIGINT/SIGQUIT are left to the
    // command while it runs.
    Result<int> run(const std::vector<std::string>& argv);
    // Options for run: the command's environment instead of this process's, and a
    // function called in the child after it joined the space, just before exec; it must
    // be async-signal-safe and return 0, or an errno value that stops the exec.
    struct RunOptions {
        const std::vector<std::string>* env = nullptr;
        // Called in the child after it joined the space, before the working directory is
        // changed and the command exec'd; a non-zero errno fails the run.
        int (*before_exec)(const void* arg) = nullptr;
        const void* arg = nullptr;
        // The directory (as the space shows it) to run in, entered after before_exec, so
        // with the rights it left (a set-uid caller's, not root's); "/" where it cannot
        // be entered. Empty: the current working directory's path.
        std::string cwd;
        // Descriptors above 2 that the caller did not mark close-on-exec are closed before
        // the command starts when the space has a file space: opened outside it, they
        // would reach the files there past its copy-on-write (Linux cannot re-point them).
        // true keeps them all (as in a space without a file space, where they are kept).
        bool keep_descriptors = false;
        // A process group (as this process numbers it) the command joins, set by this
        // process right after the fork, before the command's setup runs: in the space's
        // PID namespace the child could not name a group outside it. 0: its caller's.
        pid_t process_group = 0;
    };
    Result<int> run(const std::vector<std::string>& argv, const RunOptions& options);
    // Moves the calling thread into the space's network namespace (root only).
    Status enter();
    // Moves the whole calling process into the space: its network namespace and, when the
    // space has a file space, that mount namespace (the working directory becomes its /).
    // For a login (pam_personalnet): everything the process starts afterwards is inside.
    // Root only; the process must be single-threaded (the kernel refuses to move a mount
    // namespace shared with other threads: EINVAL). Not undone on failure of the second step.
    // With the space's own PID namespace (not share_pids), its hostname too, and the
    // processes it starts afterwards are in that PID namespace; the process itself stays
    // outside (the kernel moves no process), so the space's /proc, now its /proc, does
    // not show it: /proc/self is gone until it returns to its own mount namespace.
    // First, the process moves into the space's cgroup (issue 22), so that the space's
    // limits hold it and what it starts; into_cgroup=false leaves it in its own (a Slurm
    // task, which Slurm's own cgroups track and hold to the job's limits).
    Status join(bool into_cgroup = true);

    struct State;
    struct Remote;  // an unprivileged caller's space, held by the set-uid helper

private:
    explicit Space(std::unique_ptr<State> st);
    explicit Space(std::unique_ptr<Remote> remote);
    std::unique_ptr<State> st_;
    std::unique_ptr<Remote> remote_;
};

// Spaces visible to the caller (root: all), sorted by name.
Result<std::vector<SpaceInfo>> list_spaces(const Context& ctx = Context());

// A network definition the caller may name in SpaceSpec::overlay (`pnet networks`): the
// caller's own (Context::user_networkdir, read as the caller) and the administrator's
// (Context::overlaydir), each with the caller's spaces bound to it.
struct NetworkInfo {
    std::string name;
    std::string source;             // the definition's file
    bool user = false;              // the caller's own
    bool shadowed = false;          // the administrator's, hidden by one of the caller's own of that name
    std::optional<uint16_t> label;  // a personal network's label (when the caller can read it)
    std::string problem;            // why the caller's own cannot be bound as written ("" when it can)
    std::vector<std::string> live;  // the caller's spaces bound to it
};
Result<std::vector<NetworkInfo>> list_networks(const Context& ctx = Context());
// A named space, or an unnamed one by the name list_spaces gives it (unnamed_label).
Result<SpaceInfo> show_space(const std::string& name, const Context& ctx = Context());
// What a space (from list_spaces or show_space) uses now: CPU time and processes from its
// cgroup, memory where cgroup v2's memory controller is on, traffic from its uplink's
// counters; -1 for what this host cannot tell. Cheap enough for `pnet top` once a second.
// ENOENT when the space is gone.
Result<ResourceUsage> space_usage(const SpaceInfo& space, const Context& ctx = Context());
// What destroy_space keeps: nothing, or the named space's stored file-space changes, which
// a space created later under the same name takes up again (as after a reboot).
enum class Keep { nothing, files };
// Destroys a named space: removes its uplink, rules, nft state, pin, record and stored
// file-space changes. A name with stored changes but no space (after a reboot) has its
// changes removed.
Status destroy_space(const std::string& name, const Context& ctx = Context(), Keep keep = Keep::nothing);
// Removes what killed supervisors left behind. full=false checks only spaces that were
// being created or supervised (cheap; run implicitly), full=true checks every record.
Status collect_garbage(bool full, const Context& ctx = Context());

// One change a file space made to the files of its parent.
struct FileChange {
    char kind = 'A';   // 'A' added, 'M' modified (content, mode or owner), 'D' deleted
    std::string path;  // absolute, as seen inside the space
};
// What a named space's file space changed, sorted by path. Directories appear only when
// added; a file deleted and re-created is 'M'. ENOENT for a space without a file space.
Result<std::vector<FileChange>> diff_space(const std::string& name, const Context& ctx = Context());

}  // namespace personalnet
