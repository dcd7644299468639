// A batch job's personal network (see job_network.hpp).
#include "lib/slurm/job_network.hpp"

#include <netinet/in.h>

#include <cerrno>

#include "lib/core/sha256.hpp"
#include "lib/ike/overlay_config.hpp"

namespace personalnet::slurm {

namespace {

std::string id_of(uint32_t job_id, const std::string& node) {
    return "job-" + std::to_string(job_id) + "-" + node;
}

}  // namespace

uint16_t job_label(const PluginConfig& c, uint32_t job_id) {
    const uint32_t size = uint32_t{c.last_label} - c.first_label + 1;
    return static_cast<uint16_t>(c.first_label + job_id % size);
}

Result<IpAddr> job_address(const PluginConfig& c, size_t index) {
    const uint32_t room = (uint32_t{1} << (32 - c.addresses.len)) - 2;  // no network or broadcast address
    if (index >= room)
        return make_error(EINVAL, "node " + std::to_string(index + 1) + " of the job has no address in " +
                                      c.addresses.str() + " (plugstack.conf: addresses=)");
    const auto& b = c.addresses.addr.bytes;
    uint32_t a = (uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]) +
                 static_cast<uint32_t>(index) + 1;
    return IpAddr::v4(static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                      static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a));
}

std::string job_key(std::string_view site_secret, uint32_t job_id) {
    return sha256::hex(sha256::hmac(site_secret, "personalnet slurm job " + std::to_string(job_id)));
}

Result<UserNetwork> job_network(const PluginConfig& c, uint32_t job_id, const std::vector<JobNode>& nodes,
                                size_t self, std::string_view site_secret) {
    if (nodes.size() < 2 || self >= nodes.size())
        return make_error(EINVAL, "a job network needs two nodes or more, this one among them");
    std::vector<IpAddr> addr;
    for (size_t i = 0; i < nodes.size(); ++i) {
        auto a = job_address(c, i);
        if (!a.ok()) return a.error();
        addr.push_back(a.value());
    }
    const JobNode& me = nodes[self];
    std::string t = "connections {\n";
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (i == self) continue;
        const JobNode& peer = nodes[i];
        t += "    to-" + peer.name + " {\n";
        t += "        version = 2\n";
        t += "        local_addrs = " + me.address.str() + "\n";
        t += "        remote_addrs = " + peer.address.str() + "\n";
        t += "        proposals = aes128-sha256-x25519\n";
        t += "        local {\n            auth = psk\n            id = " + id_of(job_id, me.name) +
             "\n        }\n";
        t += "        remote {\n            auth = psk\n            id = " + id_of(job_id, peer.name) +
             "\n        }\n";
        t += "        children {\n            to-" + peer.name + " {\n";
        t += "                local_ts = " + addr[self].str() + "/32\n";
        t += "                remote_ts = " + addr[i].str() + "/32\n";
        t += "                esp_proposals = aes128gcm16\n";
        t += "            }\n        }\n    }\n";
    }
    t += "}\nsecrets {\n    ike-job {\n";
    for (size_t i = 0; i < nodes.size(); ++i)
        t += "        id-" + std::to_string(i + 1) + " = " + id_of(job_id, nodes[i].name) + "\n";
    t += "        secret = \"" + job_key(site_secret, job_id) + "\"\n    }\n}\n";
    t += "personalnet {\n    label = " + ike::label_text(job_label(c, job_id)) + "\n";
    t += "    addresses = " + addr[self].str() + "/32\n}\n";
    UserNetwork n;
    n.name = "job-" + std::to_string(job_id);
    n.path = "(the job's network, made by spank_personalnet on " + me.name + ")";
    n.text = std::move(t);
    return n;
}

Result<std::string> job_hosts(const PluginConfig& c, const std::vector<JobNode>& nodes) {
    std::string h = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    for (size_t i = 0; i < nodes.size(); ++i) {
        auto a = job_address(c, i);
        if (!a.ok()) return a.error();
        h += a->str() + "\t" + nodes[i].name + "\n";
    }
    return h;
}

Result<std::string> job_peers(const PluginConfig& c, const std::vector<JobNode>& nodes) {
    std::string p;
    for (size_t i = 0; i < nodes.size(); ++i) {
        auto a = job_address(c, i);
        if (!a.ok()) return a.error();
        p += (i == 0 ? "" : " ") + nodes[i].name + "=" + a->str();
    }
    return p;
}

}  // namespace personalnet::slurm
