// mkportspace: run a command in a new (or existing named) port space.
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "personalnet/space.hpp"
#include "tools/cli.hpp"

namespace {

constexpr const char* kProg = "mkportspace";

void print_help() {
    std::printf(
        "Usage: mkportspace [OPTIONS] [--] [COMMAND [ARG...]]\n"
        "Run COMMAND (default: your shell) in a new port space: a private network namespace\n"
        "that carries this host's own addresses, inherits its routes and its running services.\n"
        "\n"
        "  -n, --name NAME           create a named space that outlives COMMAND (until\n"
        "                            'pnet destroy NAME'); join it if it already exists\n"
        "      --no-inherit-routes   start with an empty routing table\n"
        "      --hide-route PREFIX   do not inherit the route to PREFIX (repeatable)\n"
        "      --no-inherit-services do not reach the parent's services\n"
        "      --hide-service P/PORT do not inherit service tcp/PORT or udp/PORT (repeatable)\n"
        "      --file-space=MODE     'overlay' (default): a private copy-on-write view of\n"
        "                            the parent's files; 'none': share them\n"
        "      --fs-backend=KIND     'kernel' (overlayfs), 'fuse' (fuse-overlayfs) or\n"
        "                            'auto' (default: kernel when privileged)\n"
        "      --share DIR           bind host directory DIR into the file space, live\n"
        "                            and writable (repeatable)\n"
        "      --private-tmp         give the file space an empty /tmp of its own\n"
        "      --resolv-conf FILE    use a copy of FILE as /etc/resolv.conf inside\n"
        "      --hosts FILE          use a copy of FILE as /etc/hosts inside\n"
        "      --overlay NAME        bind the space to overlay network NAME\n"
        "                            (/etc/personalnet/overlays.d/NAME.conf): its own IKE\n"
        "                            daemon brings the overlay up before COMMAND starts\n"
        "  -q, --quiet               print nothing but errors\n"
        "  -h, --help                show this help\n"
        "      --version             show the version\n"
        "\n"
        "Inside, PERSONALNET_SPACE names the space. The exit status is COMMAND's.\n");
}

std::string default_shell() {
    if (const char* s = std::getenv("SHELL"); s != nullptr && *s == '/') return s;
    if (struct passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_shell && *pw->pw_shell)
        return pw->pw_shell;
    return "/bin/sh";
}

}  // namespace

namespace {
int run_main(int argc, char** argv) {
    enum {
        kNoRoutes = 256,
        kHideRoute,
        kNoServices,
        kHideService,
        kFileSpace,
        kShare,
        kPrivateTmp,
        kFsBackend,
        kResolvConf,
        kHosts,
        kOverlay,
        kVersion
    };
    static const option kOptions[] = {
        {"name", required_argument, nullptr, 'n'},
        {"no-inherit-routes", no_argument, nullptr, kNoRoutes},
        {"hide-route", required_argument, nullptr, kHideRoute},
        {"no-inherit-services", no_argument, nullptr, kNoServices},
        {"hide-service", required_argument, nullptr, kHideService},
        {"file-space", required_argument, nullptr, kFileSpace},
        {"share", required_argument, nullptr, kShare},
        {"private-tmp", no_argument, nullptr, kPrivateTmp},
        {"fs-backend", required_argument, nullptr, kFsBackend},
        {"resolv-conf", required_argument, nullptr, kResolvConf},
        {"hosts", required_argument, nullptr, kHosts},
        {"overlay", required_argument, nullptr, kOverlay},
        {"quiet", no_argument, nullptr, 'q'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, kVersion},
        {nullptr, 0, nullptr, 0},
    };
    pn::SpaceSpec spec;
    bool quiet = false;
    std::string creation_option;  // first option that only makes sense when creating
    opterr = 0;
    int c;
    while ((c = ::getopt_long(argc, argv, "+n:qh", kOptions, nullptr)) != -1) {
        switch (c) {
            case 'n':
                spec.name = optarg;
                if (auto st = pn::validate_name(spec.name); !st.ok()) return pn::cli::fail(kProg, st.error());
                break;
            case kNoRoutes:
                spec.inherit_routes = false;
                creation_option = "--no-inherit-routes";
                break;
            case kHideRoute: {
                auto p = pn::IpPrefix::parse(optarg);
                if (!p) return pn::cli::usage_error(kProg, std::string("bad prefix '") + optarg + "'");
                spec.hidden_routes.push_back(*p);
                creation_option = "--hide-route";
                break;
            }
            case kNoServices:
                spec.inherit_services = false;
                creation_option = "--no-inherit-services";
                break;
            case kHideService: {
                auto s = pn::Service::parse(optarg);
                if (!s)
                    return pn::cli::usage_error(
                        kProg, std::string("bad service '") + optarg + "' (want tcp/PORT or udp/PORT)");
                spec.hidden_services.push_back(*s);
                creation_option = "--hide-service";
                break;
            }
            case kFileSpace: {
                std::string mode = optarg;
                if (mode != "overlay" && mode != "none")
                    return pn::cli::usage_error(kProg,
                                                "bad file space '" + mode + "' (want overlay or none)");
                spec.file_space = mode == "overlay";
                creation_option = "--file-space";
                break;
            }
            case kShare:
                if (auto st = pn::validate_shared_path(optarg); !st.ok())
                    return pn::cli::fail(kProg, st.error());
                spec.shared_paths.emplace_back(optarg);
                creation_option = "--share";
                break;
            case kPrivateTmp:
                spec.private_tmp = true;
                creation_option = "--private-tmp";
                break;
            case kFsBackend: {
                std::string kind = optarg;
                if (kind == "auto")
                    spec.fs_backend = pn::FsBackend::automatic;
                else if (kind == "kernel")
                    spec.fs_backend = pn::FsBackend::kernel;
                else if (kind == "fuse")
                    spec.fs_backend = pn::FsBackend::fuse;
                else
                    return pn::cli::usage_error(
                        kProg, "bad file-space backend '" + kind + "' (want auto, kernel or fuse)");
                creation_option = "--fs-backend";
                break;
            }
            case kResolvConf:
            case kHosts:
                if (optarg[0] == '\0')
                    return pn::cli::usage_error(
                        kProg, c == kHosts ? "empty --hosts file name" : "empty --resolv-conf file name");
                (c == kHosts ? spec.hosts : spec.resolv_conf) = optarg;
                creation_option = c == kHosts ? "--hosts" : "--resolv-conf";
                break;
            case kOverlay:
                if (optarg[0] == '\0')
                    return pn::cli::usage_error(kProg,
                                                "bad overlay name '' (want 1-32 of A-Z a-z 0-9 _ . -)");
                spec.overlay = optarg;
                creation_option = "--overlay";
                break;
            case 'q':
                quiet = true;
                break;
            case 'h':
                print_help();
                return 0;
            case kVersion:
                std::printf("mkportspace (personalnet) %s\n", PERSONALNET_VERSION);
                return 0;
            default: {
                std::string bad = optopt != 0 && optopt < 256 ? std::string("-") + static_cast<char>(optopt)
                                                              : std::string(argv[optind - 1]);
                bool missing =
                    optopt != 0 && std::string("n").find(static_cast<char>(optopt)) != std::string::npos;
                return pn::cli::usage_error(
                    kProg, (missing ? "option needs a value: '" : "unknown option '") + bad + "'");
            }
        }
    }
    std::vector<std::string> command(argv + optind, argv + argc);
    if (command.empty()) command.push_back(default_shell());

    if (!spec.name.empty()) {
        auto existing = pn::Space::open(spec.name);
        if (existing.ok()) {
            if (!creation_option.empty())
                return pn::cli::usage_error(kProg, "space '" + spec.name + "' exists; " + creation_option +
                                                       " applies only when creating it");
            auto rc = existing->run(command);
            if (!rc.ok()) {
                pn::cli::fail(kProg, rc.error());
                return 127;
            }
            return rc.value();
        }
        if (existing.error().code != ENOENT) return pn::cli::fail(kProg, existing.error());
    }
    auto space = pn::Space::create(spec);
    if (!space.ok()) return pn::cli::fail(kProg, space.error());
    if (!quiet) {
        const auto& i = space->info();
        std::string addrs;
        for (const auto& a : i.addresses) addrs += (addrs.empty() ? "" : " ") + a;
        std::fprintf(stderr, "mkportspace: space '%s' (label 0x%04x, depth %d) addresses: %s\n",
                     i.name.c_str(), i.label, i.depth, addrs.empty() ? "none" : addrs.c_str());
    }
    // For make bench: where creation, the command and the teardown spend their time.
    const char* t = std::getenv("PERSONALNET_TIMING");
    const bool timing = t != nullptr && *t == '1';
    if (timing) {
        for (const auto& [step, ms] : space->timings())
            std::fprintf(stderr, "timing %s %.3f\n", step.c_str(), ms);
    }
    using Clock = std::chrono::steady_clock;
    auto ms_since = [](Clock::time_point t0) {
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };
    auto t0 = Clock::now();
    auto rc = space->run(command);
    double run_ms = ms_since(t0);
    if (!rc.ok()) pn::cli::fail(kProg, rc.error());
    t0 = Clock::now();
    {
        pn::Space done = std::move(space).value();  // an unnamed space is released here
    }
    if (timing) std::fprintf(stderr, "timing run %.3f\ntiming teardown %.3f\n", run_ms, ms_since(t0));
    return rc.ok() ? rc.value() : 127;
}
}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main(kProg, [&] { return run_main(argc, argv); });
}
