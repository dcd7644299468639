// pnsim: builds the simulated hosts for the demo and the benchmarks.
//   pnsim up DIR     creates hosts A and B, pinned at DIR/A and DIR/B (enter with nsenter --net=DIR/A)
//   pnsim down DIR   unpins them (the namespaces die with their last process)
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "lib/space/netns.hpp"
#include "tests/sim/simhosts.hpp"

int main(int argc, char** argv) {
    if (argc != 3 || (std::string(argv[1]) != "up" && std::string(argv[1]) != "down")) {
        std::fprintf(stderr, "usage: pnsim up|down DIR\n");
        return 2;
    }
    std::string dir = argv[2];
    if (std::string(argv[1]) == "down") {
        int rc = 0;
        for (const char* h : {"/A", "/B"}) {
            auto st = personalnet::space::unpin(dir + h);
            if (!st.ok()) {
                std::fprintf(stderr, "pnsim: %s\n", st.error().message().c_str());
                rc = 1;
            }
        }
        return rc;
    }
    ::mkdir(dir.c_str(), 0755);
    auto a = personalnet::space::new_netns();
    auto b = personalnet::space::new_netns();
    if (!a.ok() || !b.ok()) {
        std::fprintf(stderr, "pnsim: cannot create namespaces\n");
        return 1;
    }
    auto st = pnsim::wire_hosts(a->get(), b->get());
    if (st.ok()) st = personalnet::space::pin_netns(a->get(), dir + "/A");
    if (st.ok()) st = personalnet::space::pin_netns(b->get(), dir + "/B");
    if (!st.ok()) {
        std::fprintf(stderr, "pnsim: %s\n", st.error().message().c_str());
        (void)personalnet::space::unpin(dir + "/A");
        return 1;
    }
    return 0;
}
