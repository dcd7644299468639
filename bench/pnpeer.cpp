// pnpeer: the host-level IPsec of the network benchmark (bench/network-bench), the
// "base network + IPsec" row: a charon in simulated host A or B, bound host to host to
// the other one. Same datapath as the library picks for this kernel, and the mode it
// allows: transport between the hosts' own addresses (10.9.0.1 <-> 10.9.0.2) with the
// kernel's ESP; tunnel between the hosts' loopback addresses (10.61.0.1 <-> 10.60.0.1)
// with kernel-libipsec, which does tunnel mode only. Side b answers, side a initiates
// (start b first). Prints "up MODE ESP_ALGORITHM CHARON_PID" once the CHILD_SA is there
// (the bench reads charon's CPU time from /proc) and stops the daemon at end of stdin.
//
//   pnpeer a|b NETNS_PATH DIR ESP_PROPOSAL
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "tests/unit/charon_daemon.hpp"

namespace {

using namespace std::chrono_literals;
namespace ike = personalnet::ike;

int fail(const std::string& what) {
    std::fprintf(stderr, "pnpeer: %s\n", what.c_str());
    return 1;
}

ike::ViciMessage connection(bool a, bool transport, const std::string& esp) {
    ike::ViciMessage c;
    c.set("version", "2");
    c.set_list("local_addrs", {a ? "10.9.0.1" : "10.9.0.2"});
    c.set_list("remote_addrs", {a ? "10.9.0.2" : "10.9.0.1"});
    c.set_list("proposals", {"aes128gcm16-prfsha256-x25519"});
    c.section("local").set("auth", "psk").set("id", a ? "host-a" : "host-b");
    c.section("remote").set("auth", "psk").set("id", a ? "host-b" : "host-a");
    auto& child = c.section("children").section("h2h");
    if (transport) {
        // The traffic selectors default to the IKE addresses: host to host.
        child.set("mode", "transport");
    } else {
        child.set_list("local_ts", {a ? "10.61.0.1/32" : "10.60.0.1/32"});
        child.set_list("remote_ts", {a ? "10.60.0.1/32" : "10.61.0.1/32"});
    }
    child.set_list("esp_proposals", {esp});
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5 || (std::string(argv[1]) != "a" && std::string(argv[1]) != "b")) {
        std::fprintf(stderr, "usage: pnpeer a|b NETNS_PATH DIR ESP_PROPOSAL\n");
        return 2;
    }
    const bool a = std::string(argv[1]) == "a";
    personalnet::UniqueFd ns(::open(argv[2], O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return fail(std::string("open ") + argv[2]);
    auto esp = personalnet::netlink::kernel_has_esp();
    if (!esp.ok()) return fail(esp.error().message());
    // The host's own daemon takes SPIs from the host's reserved label range 0xc000.
    auto charon = pn_unit::Charon::start(ns.get(), argv[3], 0xc000, esp.value());
    if (!charon.ok()) return fail(charon.error().message());
    auto vici = ike::ViciClient::connect(charon->vici(), 2s);
    if (!vici.ok()) return fail(vici.error().message());
    ike::SharedSecret s;
    s.data = "pnbench network secret";
    s.owners = {"host-a", "host-b"};
    if (auto st = ike::load_shared(*vici, s); !st.ok()) return fail(st.error().message());
    if (auto st = ike::load_conn(*vici, "h2h", connection(a, esp.value(), argv[4])); !st.ok())
        return fail(st.error().message());
    std::string alg = "-";
    if (a) {
        if (auto st = ike::initiate(*vici, "h2h", "h2h", 10s); !st.ok()) return fail(st.error().message());
        auto sas = ike::list_sas(*vici, "h2h");
        if (!sas.ok()) return fail(sas.error().message());
        for (const auto& sa : *sas)
            for (const auto& child : sa.children) alg = child.encr_alg;
    }
    std::printf("up %s %s %d\n", esp.value() ? "transport" : "tunnel", alg.c_str(),
                static_cast<int>(charon->pid()));
    std::fflush(stdout);
    char buf[64];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    return charon->stop().empty() ? 0 : 1;
}
