#include "lib/space/publish.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

#include "lib/netlink/sock_diag.hpp"
#include "lib/nft/nft.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

namespace {

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: addresses no other host reaches.
bool loopback(const IpAddr& a) {
    if (a.family == AF_INET) return a.bytes[0] == 127;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool mapped = std::equal(std::begin(kMapped), std::end(kMapped), a.bytes.begin());
    if (mapped) return a.bytes[12] == 127;
    for (size_t i = 0; i < 15; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[15] == 1;
}

std::string where(const std::string& parent_name) {
    return parent_name.empty() ? "the host" : "space '" + parent_name + "'";
}

// "space 'web'", or for a user's refusal, another user's space unnamed (pnet list would
// not show it to them either).
std::string holder_of(const registry::Registry& reg, const registry::Record& holder) {
    const uid_t caller = reg.context().caller;
    if (caller != 0 && holder.owner != caller) return "a space of another user";
    return "space '" + holder.name + "'";
}

}  // namespace

Status check_publishable(const registry::Registry& reg, const registry::Record& rec,
                         const std::string& parent_name) {
    if (rec.published.empty()) return {};
    std::vector<PublishedPort> ports;
    for (const auto& text : rec.published) {
        auto p = PublishedPort::parse(text);
        if (!p) return make_error(EINVAL, "bad published port '" + text + "'");
        ports.push_back(*p);
    }
    auto taken = [&](const PublishedPort& p, const std::string& by) {
        return make_error(EEXIST,
                          "cannot publish " + p.str() + ": " + Service{p.proto, p.port}.str() + " is " + by);
    };
    // Other spaces of the same parent namespace, as the registry has them.
    for (uint16_t label : reg.labels()) {
        if (label == rec.label) continue;
        auto other = reg.load(label);
        if (!other.ok() || other->parent_netns != rec.parent_netns) continue;
        for (const auto& text : other->published) {
            auto q = PublishedPort::parse(text);
            if (!q) continue;
            for (const auto& p : ports)
                if (p.proto == q->proto && p.port == q->port)
                    return taken(p, "already published by " + holder_of(reg, other.value()));
        }
    }
    // What the kernel has: also spaces of another registry (another run directory).
    auto published = nft::parent_list_published();
    if (!published.ok()) return published.error();
    for (const auto& [q, label] : published.value())
        for (const auto& p : ports)
            if (p.proto == q.proto && p.port == q.port) {
                auto holder = reg.load(label);
                return taken(p, "already published in " + where(parent_name) + " by " +
                                    (holder.ok() ? holder_of(reg, holder.value())
                                                 : "the space with label 0x" + registry::label_hex(label) +
                                                       ", of another run directory"));
            }
    // The parent namespace's own sockets.
    for (const auto& p : ports) {
        auto holders = netlink::port_holders(p.proto, p.port);
        if (!holders.ok()) return holders.error().wrap("cannot publish " + p.str());
        for (const auto& h : holders.value()) {
            if (loopback(h.addr)) continue;
            const std::string addr = h.addr.family == AF_INET6 ? "[" + h.addr.str() + "]" : h.addr.str();
            return taken(p, "in use in " + where(parent_name) + ": a socket on " + addr + ":" +
                                std::to_string(p.port) + " (uid " + std::to_string(h.uid) + ") " +
                                (p.proto == IPPROTO_TCP ? "listens on it" : "is bound to it"));
        }
    }
    return {};
}

}  // namespace personalnet::space
