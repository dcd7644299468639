#include "tools/mkportspace_options.hpp"

#include <getopt.h>

#include <optional>
#include <string>

#include "tools/cli.hpp"

namespace personalnet::mkportspace {

namespace {

constexpr const char* kProg = "mkportspace";

// Long-only options take values above any character so that they never clash with a
// short option.
enum LongOnly {
    kNoRoutes = 256,
    kHideRoute,
    kNoServices,
    kHideService,
    kPublish,
    kFileSpace,
    kShare,
    kPrivateTmp,
    kFsBackend,
    kDispatch,
    kResolvConf,
    kHosts,
    kOverlay,
    kNetworkFile,
    kAdmin,
    kSharePids,
    kHostname,
    kCpu,
    kMemory,
    kPids,
    kIoWeight,
    kBandwidth,
    kNoPrompt,
    kVersion
};

constexpr const char* kShortOptions = "+n:qh";  // '+': the command's own options are its own

constexpr option kOptions[] = {
    {"name", required_argument, nullptr, 'n'},
    {"no-inherit-routes", no_argument, nullptr, kNoRoutes},
    {"hide-route", required_argument, nullptr, kHideRoute},
    {"no-inherit-services", no_argument, nullptr, kNoServices},
    {"hide-service", required_argument, nullptr, kHideService},
    {"publish", required_argument, nullptr, kPublish},
    {"file-space", required_argument, nullptr, kFileSpace},
    {"share", required_argument, nullptr, kShare},
    {"private-tmp", no_argument, nullptr, kPrivateTmp},
    {"fs-backend", required_argument, nullptr, kFsBackend},
    {"dispatch", required_argument, nullptr, kDispatch},
    {"resolv-conf", required_argument, nullptr, kResolvConf},
    {"hosts", required_argument, nullptr, kHosts},
    {"overlay", required_argument, nullptr, kOverlay},
    {"network-file", required_argument, nullptr, kNetworkFile},
    {"admin", no_argument, nullptr, kAdmin},
    {"share-pids", no_argument, nullptr, kSharePids},
    {"hostname", required_argument, nullptr, kHostname},
    {"cpu", required_argument, nullptr, kCpu},
    {"memory", required_argument, nullptr, kMemory},
    {"pids", required_argument, nullptr, kPids},
    {"io-weight", required_argument, nullptr, kIoWeight},
    {"bandwidth", required_argument, nullptr, kBandwidth},
    {"no-prompt", no_argument, nullptr, kNoPrompt},
    {"quiet", no_argument, nullptr, 'q'},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, kVersion},
    {nullptr, 0, nullptr, 0},
};

OptionsError usage(const std::string& msg) { return {cli::usage_line(kProg, msg), cli::kExitUsage}; }

OptionsError failure(const Error& e) { return {cli::fail_line(kProg, e), cli::exit_code_for(e)}; }

// Applies one option that affects the space itself; nullopt when the value is fine.
std::optional<OptionsError> apply(Options& o, int c, const std::string& arg) {
    SpaceSpec& spec = o.spec;
    switch (c) {
        case 'n':
            spec.name = arg;
            if (auto st = validate_name(spec.name); !st.ok()) return failure(st.error());
            return std::nullopt;  // joining a named space is not creation-only
        case kNoRoutes:
            spec.inherit_routes = false;
            o.creation_option = "--no-inherit-routes";
            break;
        case kHideRoute: {
            auto p = IpPrefix::parse(arg);
            if (!p) return usage("bad prefix '" + arg + "'");
            spec.hidden_routes.push_back(*p);
            o.creation_option = "--hide-route";
            break;
        }
        case kNoServices:
            spec.inherit_services = false;
            o.creation_option = "--no-inherit-services";
            break;
        case kHideService: {
            auto s = Service::parse(arg);
            if (!s) return usage("bad service '" + arg + "' (want tcp/PORT or udp/PORT)");
            spec.hidden_services.push_back(*s);
            o.creation_option = "--hide-service";
            break;
        }
        case kPublish: {
            auto p = PublishedPort::parse(arg);
            if (!p)
                return usage("bad port to publish '" + arg +
                             "' (want tcp/PORT or udp/PORT, optionally :INNER; ports 1-65535)");
            spec.published.push_back(*p);
            if (auto st = validate_published(spec.published); !st.ok()) return failure(st.error());
            o.creation_option = "--publish";
            break;
        }
        case kFileSpace:
            if (arg != "overlay" && arg != "none")
                return usage("bad file space '" + arg + "' (want overlay or none)");
            spec.file_space = arg == "overlay";
            o.creation_option = "--file-space";
            break;
        case kShare:
            if (auto st = validate_shared_path(arg); !st.ok()) return failure(st.error());
            spec.shared_paths.push_back(arg);
            o.creation_option = "--share";
            break;
        case kPrivateTmp:
            spec.private_tmp = true;
            o.creation_option = "--private-tmp";
            break;
        case kFsBackend: {
            auto b = parse_fs_backend(arg);
            if (!b) return usage("bad file-space backend '" + arg + "' (want auto, kernel or fuse)");
            spec.fs_backend = *b;
            o.creation_option = "--fs-backend";
            break;
        }
        case kDispatch: {
            auto d = parse_dispatch(arg);
            if (!d) return usage("bad dispatcher '" + arg + "' (want auto, nft or bpf)");
            spec.dispatch = *d;
            o.creation_option = "--dispatch";
            break;
        }
        case kResolvConf:
        case kHosts:
            if (arg.empty())
                return usage(c == kHosts ? "empty --hosts file name" : "empty --resolv-conf file name");
            (c == kHosts ? spec.hosts : spec.resolv_conf) = arg;
            o.creation_option = c == kHosts ? "--hosts" : "--resolv-conf";
            break;
        case kOverlay:
            if (arg.empty()) return usage("bad overlay name '' (want 1-32 of A-Z a-z 0-9 _ . -)");
            spec.overlay = arg;
            o.creation_option = "--overlay";
            break;
        case kNetworkFile:
            if (arg.empty()) return usage("empty --network-file file name");
            spec.network_file = arg;
            o.creation_option = "--network-file";
            break;
        case kAdmin:
            spec.admin = true;
            o.creation_option = "--admin";
            break;
        case kSharePids:
            spec.share_pids = true;
            o.creation_option = "--share-pids";
            break;
        case kHostname:
            if (auto st = validate_hostname(arg); !st.ok()) return failure(st.error());
            spec.hostname = arg;
            o.creation_option = "--hostname";
            break;
        case kCpu:
        case kPids:
        case kIoWeight: {
            auto n = c == kCpu ? parse_cpu(arg) : c == kPids ? parse_pids(arg) : parse_io_weight(arg);
            if (!n.ok()) return failure(n.error());
            (c == kCpu ? spec.limits.cpu_milli : c == kPids ? spec.limits.pids : spec.limits.io_weight) = *n;
            o.creation_option = c == kCpu ? "--cpu" : c == kPids ? "--pids" : "--io-weight";
            break;
        }
        case kMemory: {
            auto n = parse_size(arg);
            if (!n.ok()) return failure(n.error());
            spec.limits.memory_bytes = *n;
            o.creation_option = "--memory";
            break;
        }
        case kBandwidth:
            if (auto st = parse_bandwidth(arg, spec.limits); !st.ok()) return failure(st.error());
            o.creation_option = "--bandwidth";
            break;
        default:  // getopt_long answers only with the table's values and '?'
            break;
    }
    return std::nullopt;
}

// getopt_long answered '?': name the offending option the way the tool always has.
OptionsError refused(char* const* argv) {
    std::string bad = optopt != 0 && optopt < 256 ? std::string("-") + static_cast<char>(optopt)
                                                  : std::string(argv[optind - 1]);
    bool missing = optopt != 0 && std::string("n").find(static_cast<char>(optopt)) != std::string::npos;
    return usage((missing ? "option needs a value: '" : "unknown option '") + bad + "'");
}

}  // namespace

std::variant<Options, OptionsError> parse_options(int argc, char* const* argv) {
    Options o;
    if (argc < 1) return o;  // execve() allows an empty argv; nothing to parse then
    optind = 0;              // GNU getopt: start afresh, forgetting any earlier scan (parsers run repeatedly)
    opterr = 0;              // errors are ours to word
    int c;
    while ((c = ::getopt_long(argc, argv, kShortOptions, kOptions, nullptr)) != -1) {
        switch (c) {
            case 'q':
                o.quiet = true;
                break;
            case kNoPrompt:
                o.prompt = false;
                break;
            case 'h':
                o.action = Options::Action::help;
                return o;
            case kVersion:
                o.action = Options::Action::version;
                return o;
            case '?':
                return refused(argv);
            default:
                if (auto err = apply(o, c, optarg != nullptr ? optarg : ""); err) return *err;
                break;
        }
    }
    if (o.spec.share_pids && !o.spec.hostname.empty())
        return usage("--hostname needs the space's own PID namespace: not with --share-pids");
    o.command.assign(argv + optind, argv + argc);
    return o;
}

const char* help_text() {
    return "Usage: mkportspace [OPTIONS] [--] [COMMAND [ARG...]]\n"
           "Run COMMAND (default: your shell) in a new port space: a private network namespace\n"
           "that carries this host's own addresses, inherits its routes and its running services.\n"
           "\n"
           "  -n, --name NAME           create a named space that outlives COMMAND (until\n"
           "                            'pnet destroy NAME'); join it if it already exists\n"
           "      --no-inherit-routes   start with an empty routing table\n"
           "      --hide-route PREFIX   do not inherit the route to PREFIX (repeatable)\n"
           "      --no-inherit-services do not reach the parent's services\n"
           "      --hide-service P/PORT do not inherit service tcp/PORT or udp/PORT (repeatable)\n"
           "      --publish P/PORT[:INNER]\n"
           "                            make the space's listener on INNER (default PORT)\n"
           "                            reachable from other hosts at this host's address and\n"
           "                            tcp/PORT or udp/PORT, with their own addresses\n"
           "                            (repeatable)\n"
           "      --file-space=MODE     'overlay' (default): a private copy-on-write view of\n"
           "                            the parent's files; 'none': share them\n"
           "      --fs-backend=KIND     'kernel' (overlayfs), 'fuse' (fuse-overlayfs) or\n"
           "                            'auto' (default: kernel when privileged)\n"
           "      --share DIR           bind host directory DIR into the file space, live\n"
           "                            and writable (repeatable)\n"
           "      --private-tmp         give the file space an empty /tmp of its own\n"
           "      --resolv-conf FILE    use a copy of FILE as /etc/resolv.conf inside\n"
           "      --hosts FILE          use a copy of FILE as /etc/hosts inside\n"
           "      --overlay NAME        bind the space to overlay network NAME: your own\n"
           "                            (~/.config/personalnet/networks/NAME.conf) or else the\n"
           "                            administrator's (/etc/personalnet/overlays.d/NAME.conf);\n"
           "                            its own IKE daemon brings it up before COMMAND starts\n"
           "      --network-file FILE   bind the space to your own network defined in FILE\n"
           "                            (named NAME of --overlay, else FILE's name without .conf)\n"
           "      --dispatch=KIND       how the host hands this space its IKE and ESP: 'bpf'\n"
           "                            (eBPF programs), 'nft' (nftables) or 'auto' (default:\n"
           "                            bpf when the kernel supports it)\n"
           "      --admin               pseudo-admin rights inside: routes, firewall rules and\n"
           "                            ports below 1024 in this space only (as a user, if\n"
           "                            personalnet.conf allows it)\n"
           "      --share-pids          no PID namespace of its own: see (and, as the same\n"
           "                            user, signal) every process of the parent, and its /proc\n"
           "                            (by default a space has its own PID namespace and /proc)\n"
           "      --hostname NAME       the space's hostname (default: this host's): letters,\n"
           "                            digits and '-', at most 64\n"
           "      --cpu CPUS            at most CPUS CPUs' time for the whole space (e.g. 0.5)\n"
           "      --memory SIZE         at most SIZE of memory (K, M, G or T: powers of 1024)\n"
           "      --pids N              at most N processes and threads\n"
           "      --io-weight N         its share of disk time, 1-10000 (default 100)\n"
           "                            (these four need cgroup v2's controllers; a child\n"
           "                            space never gets more than its parent)\n"
           "      --bandwidth RATE[/RATE]\n"
           "                            shape the space's traffic to RATE bits per second each\n"
           "                            way, or IN/OUT (into it, then out of it): e.g. 10M,\n"
           "                            100M/10M, 1.5Mbit, 500k (k, M, G: powers of 1000)\n"
           "      --no-prompt           leave bash's prompt alone (by default your shell,\n"
           "                            if it is bash, shows '(NAME) ' in front of it)\n"
           "  -q, --quiet               print nothing but errors\n"
           "  -h, --help                show this help\n"
           "      --version             show the version\n"
           "\n"
           "Inside, PERSONALNET_SPACE names the space. The exit status is COMMAND's.\n";
}

}  // namespace personalnet::mkportspace
