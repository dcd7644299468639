#include <algorithm>
#include <string>

#include "lib/ike/overlay_config.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/vici_message.hpp"
#include "personalnet/ip.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_overlay";

bool is_host_address(const std::string& v) {
    auto p = IpPrefix::parse(v, true);
    return p && p->len == static_cast<int>(p->addr.size() * 8);
}

// What overlay_config.hpp promises of a definition load_overlay returns; the space
// relies on it without checking again. Empty when it holds.
std::string broken_promise(const ike::OverlayDefinition& d) {
    for (const auto* list : {&d.dns, &d.addresses})
        for (const auto& v : *list)
            if (!is_host_address(v)) return "'" + v + "' among the addresses or resolvers is not an address";
    if (!d.swanctl.values.empty()) return "a value outside a section";
    for (const auto& s : d.swanctl.sections)
        if (s.name != "connections" && s.name != "secrets") return "section '" + s.name + "' kept";
    const ike::Settings* conns = d.swanctl.section("connections");
    if (conns == nullptr || conns->sections.empty()) return "no connection";
    return {};
}

// What the space does with a definition (lib/space/overlay.cpp): every conversion runs,
// and a connection's message that encodes must decode to itself (charon gets those bytes).
std::string broken_conversion(const ike::OverlayDefinition& d) {
    auto conns = ike::connections_of(d.swanctl);
    for (const auto& [name, message] : conns) {
        auto wire = message.encode();
        if (!wire.ok()) {
            // Only names or values too long for VICI may fail; the space reports it.
            if (wire.error().code != EMSGSIZE) return "connection '" + name + "': " + wire.error().message();
            continue;
        }
        auto back = ike::ViciMessage::decode(wire.value());
        if (!back.ok()) return "connection '" + name + "' does not decode: " + back.error().message();
        if (!(back.value() == message)) return "connection '" + name + "' changes through VICI";
    }
    for (const auto& child : ike::children_of(d.swanctl))
        if (std::none_of(conns.begin(), conns.end(), [&](const auto& c) { return c.first == child.second; }))
            return "child '" + child.first + "' of unknown connection '" + child.second + "'";
    if (auto secrets = ike::secrets_of(d.swanctl); secrets.ok())
        for (const auto& s : secrets.value())
            if (s.type != "IKE" && s.type != "EAP" && s.type != "XAUTH") return "secret of type " + s.type;
    (void)ike::gateways_of(d.swanctl);
    auto nets = ike::remote_networks_of(d.swanctl);
    for (size_t i = 0; i < nets.size(); ++i)
        if (std::find(nets.begin() + static_cast<long>(i) + 1, nets.end(), nets[i]) != nets.end())
            return "remote network " + nets[i].str() + " listed twice";
    return {};
}

}  // namespace

int fuzz_overlay(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto def = ike::parse_overlay("fuzz", text, "fuzz.conf");
    if (!def.ok()) return 0;
    if (std::string why = broken_promise(def.value()); !why.empty())
        return violated(kTarget, "accepted a definition that breaks its contract: " + why, text);
    if (std::string why = broken_conversion(def.value()); !why.empty()) return violated(kTarget, why, text);
    return 0;
}

}  // namespace personalnet::fuzz
