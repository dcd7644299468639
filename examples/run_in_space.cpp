// run_in_space: libpersonalnet from a program of your own. Creates a fresh, unnamed port
// space (optionally bound to an overlay network), prints its name, label and addresses,
// looks at its network from a thread of this process (Space::enter(), root only) and
// runs a command in it. The space disappears when the program and the command are done.
//
//   run_in_space [--overlay NAME] [-- COMMAND [ARG...]]
//
// Build against an installed libpersonalnet (see examples/README.md):
//   g++ -std=c++20 run_in_space.cpp $(pkg-config --cflags --libs personalnet) -o run_in_space
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "personalnet/space.hpp"

extern char** environ;

namespace {

// An IPv4 or IPv6 socket address's address, as text.
std::string address_text(const sockaddr* sa) {
    char text[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
    else
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
    return text;
}

// The interfaces and addresses the calling thread's network namespace has, one a line.
std::string addresses_seen_here() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return std::string("  getifaddrs: ") + std::strerror(errno) + "\n";
    std::string out;
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr ||
            (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
            continue;
        out += std::string("  ") + a->ifa_name + " " + address_text(a->ifa_addr) + "\n";
    }
    ::freeifaddrs(list);
    return out;
}

int usage() {
    std::fprintf(stderr, "usage: run_in_space [--overlay NAME] [-- COMMAND [ARG...]]\n");
    return 2;
}

int run_in_space(int argc, char** argv) {
    pn::SpaceSpec spec;  // an unnamed space with the defaults: routes, services, a file space
    std::vector<std::string> command;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--overlay" && i + 1 < argc) {
            spec.overlay = argv[++i];
        } else if (arg == "--") {
            command.assign(argv + i + 1, argv + argc);
            break;
        } else {
            return usage();
        }
    }

    // As root the library does the work itself; as a user, the set-uid helper does what
    // personalnet.conf(5) allows, and the errors say what it refused. The context is the
    // installed layout with what this program's environment overrides, as for the tools
    // (PERSONALNET_RUNDIR and the others; inside a space the helper started, the broker
    // it names): a default-constructed pn::Context would ignore the environment.
    const pn::Context ctx = pn::Context::from_environment(environ);
    auto space = pn::Space::create(spec, ctx);
    if (!space) {
        std::fprintf(stderr, "run_in_space: %s\n", space.error().message().c_str());
        return 1;
    }
    const pn::SpaceInfo& info = space->info();
    std::printf("space:     %s\nlabel:     0x%04x\n", info.name.c_str(), info.label);
    std::printf("addresses:");
    for (const auto& a : info.addresses) std::printf(" %s", a.c_str());
    std::printf("\n");
    if (!info.overlay.empty()) std::printf("overlay:   %s\n", info.overlay.c_str());

    // enter() moves only the calling thread, so a thread of its own keeps the rest of the
    // program in the host's namespace. Users cannot enter: their space is the helper's.
    if (::geteuid() == 0) {
        std::string seen;
        std::thread inside([&] {
            auto st = space->enter();
            seen = st ? addresses_seen_here() : "  enter: " + st.error().message() + "\n";
        });
        inside.join();
        std::printf("inside (Space::enter from a thread):\n%s", seen.c_str());
    }
    std::fflush(stdout);  // before the command writes to the same stdout

    if (command.empty()) return 0;
    auto rc = space->run(command);
    if (!rc) {
        std::fprintf(stderr, "run_in_space: %s\n", rc.error().message().c_str());
        return 127;
    }
    return rc.value();
}

}  // namespace

// The library reports through Result, never by exceptions; only the standard library's
// own (std::bad_alloc, a thread that cannot start) could arrive here.
int main(int argc, char** argv) {
    try {
        return run_in_space(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "run_in_space: %s\n", e.what());
        return 1;
    }
}
