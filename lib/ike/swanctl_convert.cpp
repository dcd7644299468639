#include "lib/ike/swanctl_convert.hpp"

#include <algorithm>
#include <array>
#include <sstream>

#include "lib/ike/credentials.hpp"

namespace personalnet::ike {

namespace {

constexpr std::array kListKeys = {"local_addrs",   "remote_addrs", "proposals", "vips",       "pools",
                                  "esp_proposals", "ah_proposals", "local_ts",  "remote_ts",  "certs",
                                  "cacerts",       "pubkeys",      "groups",    "cert_policy"};

// A certs or cacerts item: "b64:" data is sent as its bytes (a VICI list item is
// binary-safe), as swanctl sends a file's contents; anything else as written. Data that
// does not decode is sent as written too, for charon to refuse: load_credentials, which
// runs first, has already refused it with a better message.
std::string certificate_item(const std::string& item) {
    auto bytes = decode_data_item(item);
    if (bytes.ok() && !bytes->empty()) return std::move(bytes).value();
    return item;
}

ViciMessage message_of(const Settings& s) {
    ViciMessage m;
    for (const auto& [key, value] : s.values) {
        if (key == "certs" || key == "cacerts") {
            std::vector<std::string> items;
            for (const auto& item : list_items(value)) items.push_back(certificate_item(item));
            m.set_list(key, std::move(items));
        } else if (std::find(kListKeys.begin(), kListKeys.end(), key) != kListKeys.end())
            m.set_list(key, list_items(value));
        else
            m.set(key, value);
    }
    for (const auto& sub : s.sections) m.set_section(sub.name, message_of(sub.body));
    return m;
}

}  // namespace

std::vector<std::pair<std::string, ViciMessage>> connections_of(const Settings& swanctl) {
    std::vector<std::pair<std::string, ViciMessage>> out;
    if (const Settings* conns = swanctl.section("connections"))
        for (const auto& c : conns->sections) out.emplace_back(c.name, message_of(c.body));
    return out;
}

Result<std::vector<SharedSecret>> secrets_of(const Settings& swanctl) {
    std::vector<SharedSecret> out;
    const Settings* secrets = swanctl.section("secrets");
    if (secrets == nullptr) return out;
    for (const auto& s : secrets->sections) {
        SharedSecret secret;
        if (s.name.rfind("ike", 0) == 0)
            secret.type = "IKE";
        else if (s.name.rfind("eap", 0) == 0)
            secret.type = "EAP";
        else if (s.name.rfind("xauth", 0) == 0)
            secret.type = "XAUTH";
        else
            return make_error(EINVAL,
                              "secrets." + s.name + ": only ike-, eap- and xauth- secrets are supported");
        const std::string* data = s.body.find("secret");
        if (data == nullptr) return make_error(EINVAL, "secrets." + s.name + " has no secret");
        secret.data = *data;
        secret.id = s.name;
        for (const auto& [key, value] : s.body.values)
            if (key.rfind("id", 0) == 0) secret.owners.push_back(value);
        out.push_back(std::move(secret));
    }
    return out;
}

std::vector<IpAddr> gateways_of(const Settings& swanctl) {
    std::vector<IpAddr> out;
    if (const Settings* conns = swanctl.section("connections"))
        for (const auto& c : conns->sections)
            if (const std::string* remote = c.body.find("remote_addrs"))
                for (const auto& a : list_items(*remote))
                    if (auto ip = IpAddr::parse(a)) out.push_back(*ip);
    return out;
}

std::vector<IpPrefix> remote_networks_of(const Settings& swanctl) {
    std::vector<IpPrefix> out;
    const Settings* conns = swanctl.section("connections");
    if (conns == nullptr) return out;
    for (const auto& c : conns->sections) {
        const Settings* children = c.body.section("children");
        if (children == nullptr) continue;
        for (const auto& child : children->sections) {
            const std::string* ts = child.body.find("remote_ts");
            if (ts == nullptr) continue;
            for (auto item : list_items(*ts)) {
                item = item.substr(0, item.find('['));
                auto p = IpPrefix::parse(item, false);
                if (p && std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
            }
        }
    }
    return out;
}

std::vector<IpPrefix> transport_peers_of(const Settings& swanctl) {
    std::vector<IpPrefix> out;
    const Settings* conns = swanctl.section("connections");
    if (conns == nullptr) return out;
    for (const auto& c : conns->sections) {
        const Settings* children = c.body.section("children");
        const std::string* remote = c.body.find("remote_addrs");
        if (children == nullptr || remote == nullptr) continue;
        const bool carries_peer = std::any_of(
            children->sections.begin(), children->sections.end(), [](const Settings::Section& child) {
                const std::string* mode = child.body.find("mode");
                const std::string* ts = child.body.find("remote_ts");
                return mode != nullptr && *mode == "transport" && (ts == nullptr || *ts == "dynamic");
            });
        if (!carries_peer) continue;
        for (const auto& a : list_items(*remote))
            if (auto ip = IpAddr::parse(a)) {
                IpPrefix p{*ip, static_cast<int>(ip->size() * 8)};
                if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
            }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> children_of(const Settings& swanctl) {
    std::vector<std::pair<std::string, std::string>> out;
    if (const Settings* conns = swanctl.section("connections"))
        for (const auto& c : conns->sections)
            if (const Settings* children = c.body.section("children"))
                for (const auto& child : children->sections) out.emplace_back(child.name, c.name);
    return out;
}

std::vector<std::string> transport_children_of(const Settings& swanctl) {
    std::vector<std::string> out;
    if (const Settings* conns = swanctl.section("connections"))
        for (const auto& c : conns->sections)
            if (const Settings* children = c.body.section("children"))
                for (const auto& child : children->sections)
                    for (const auto& [key, value] : child.body.values)
                        if (key == "mode" && value == "transport") out.push_back(c.name + "." + child.name);
    return out;
}

std::vector<std::string> list_items(const std::string& value) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const size_t b = value.find_first_not_of(" \t", start);
        if (b != std::string::npos && b < end) {
            const size_t e = value.find_last_not_of(" \t", end - 1);
            out.push_back(value.substr(b, e - b + 1));
        }
        start = end + 1;
    }
    return out;
}

}  // namespace personalnet::ike
