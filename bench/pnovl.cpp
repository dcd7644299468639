// pnovl: the host-level IPsec of the overlay benchmark. Runs a charon in a simulated
// host's network namespace (bench/overlay-bench), either as the overlay's gateway
// (responder for 10.61.0.0/24 behind 10.60.0.0/24) or as the host's own initiator
// ("base network + IPsec": the row personal networks are compared with), prints "up"
// once the SA is there and stops the daemon at end of stdin.
//
//   pnovl gateway   NETNS_PATH DIR
//   pnovl initiator NETNS_PATH DIR
//   pnovl own       RUNDIR LABEL ESP_SPI
//
// `own` stands in for a space's charon in bench/dispatch-bench (issue 17): the space
// labelled LABEL owns inbound ESP SPI ESP_SPI (hex) in its parent's and ancestors' maps,
// as space::sync_spis would put it there.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "lib/core/fd.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/spis.hpp"
#include "tests/unit/charon_daemon.hpp"

namespace {

using namespace std::chrono_literals;
namespace ike = personalnet::ike;

int fail(const std::string& what) {
    std::fprintf(stderr, "pnovl: %s\n", what.c_str());
    return 1;
}

ike::ViciMessage connection(bool gateway) {
    ike::ViciMessage c;
    c.set("version", "2");
    c.set_list("local_addrs", {gateway ? "10.9.0.2" : "10.9.0.1"});
    c.set_list("remote_addrs", {gateway ? "%any" : "10.9.0.2"});
    c.set_list("proposals", {"aes128gcm16-prfsha256-x25519"});
    c.section("local").set("auth", "psk").set("id", gateway ? "gw" : "corp-user");
    c.section("remote").set("auth", "psk").set("id", gateway ? "corp-user" : "gw");
    auto& child = c.section("children").section("net");
    child.set_list("local_ts", {gateway ? "10.60.0.0/24" : "10.61.0.1/32"});
    child.set_list("remote_ts", {gateway ? "10.61.0.0/24" : "10.60.0.0/24"});
    child.set_list("esp_proposals", {"aes128gcm16"});
    return c;
}

}  // namespace

int own(const std::string& rundir, const std::string& label, const std::string& spi) {
    auto reg = personalnet::registry::Registry::open(rundir);
    if (!reg.ok()) return fail(reg.error().message());
    auto rec = reg->load(static_cast<uint16_t>(std::stoul(label, nullptr, 16)));
    if (!rec.ok()) return fail(rec.error().message());
    personalnet::space::OwnSpis spis;
    spis.esp.push_back(static_cast<uint32_t>(std::stoul(spi, nullptr, 16)));
    auto st = personalnet::space::publish_spis(*reg, *rec, spis);
    return st.ok() ? 0 : fail(st.error().message());
}

int main(int argc, char** argv) {
    if (argc == 5 && std::string(argv[1]) == "own") return own(argv[2], argv[3], argv[4]);
    if (argc != 4 || (std::string(argv[1]) != "gateway" && std::string(argv[1]) != "initiator")) {
        std::fprintf(stderr, "usage: pnovl gateway|initiator NETNS_PATH DIR\n");
        return 2;
    }
    const bool gateway = std::string(argv[1]) == "gateway";
    personalnet::UniqueFd ns(::open(argv[2], O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return fail(std::string("open ") + argv[2]);
    auto esp = personalnet::netlink::kernel_has_esp();
    if (!esp.ok()) return fail(esp.error().message());
    // The host's own daemon takes SPIs from the host's reserved label range 0xc000.
    auto charon = pn_unit::Charon::start(ns.get(), argv[3], gateway ? 0x0b0b : 0xc000, esp.value());
    if (!charon.ok()) return fail(charon.error().message());
    auto vici = ike::ViciClient::connect(charon->vici(), 2s);
    if (!vici.ok()) return fail(vici.error().message());
    ike::SharedSecret s;
    s.data = "pnbench overlay secret";
    s.owners = {"gw", "corp-user"};
    if (auto st = ike::load_shared(*vici, s); !st.ok()) return fail(st.error().message());
    if (auto st = ike::load_conn(*vici, gateway ? "gw" : "corp", connection(gateway)); !st.ok())
        return fail(st.error().message());
    if (!gateway) {
        if (auto st = ike::initiate(*vici, "net", "corp", 10s); !st.ok()) return fail(st.error().message());
    }
    std::printf("up\n");
    std::fflush(stdout);
    char buf[64];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    return charon->stop().empty() ? 0 : 1;
}
