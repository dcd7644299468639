// A batch job's network as each node computes it (lib/slurm/job_network): labels and
// addresses from the job id and the plugin's arguments, the key from the site secret,
// and a definition every node derives alike that the library's own checker accepts.
#include "lib/slurm/job_network.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/ike/user_definition.hpp"

namespace pn_unit {
namespace {

namespace ps = personalnet::slurm;
using personalnet::IpAddr;

const std::string kSecret = "0123456789abcdef-secret";

std::vector<ps::JobNode> three_nodes() {
    return {{"node1", *IpAddr::parse("10.19.0.1")},
            {"node2", *IpAddr::parse("10.19.0.2")},
            {"node3", *IpAddr::parse("10.19.0.3")}};
}

TEST(JobNetwork, LabelsAndAddressesFollowTheJobAndTheArguments) {
    ps::PluginConfig c;
    EXPECT_EQ(ps::job_label(c, 0), 0xe000);
    EXPECT_EQ(ps::job_label(c, 42), 0xe02a);
    EXPECT_EQ(ps::job_label(c, 4096 + 42), 0xe02a) << "a range of 4096 labels wraps";
    c.first_label = 0x5000;
    c.last_label = 0x5009;
    EXPECT_EQ(ps::job_label(c, 17), 0x5007);
    EXPECT_EQ(ps::job_address(c, 0)->str(), "10.254.0.1");
    EXPECT_EQ(ps::job_address(c, 299)->str(), "10.254.1.44");
    c.addresses = *personalnet::IpPrefix::parse("10.9.9.0/30");
    EXPECT_EQ(ps::job_address(c, 1)->str(), "10.9.9.2");
    auto none = ps::job_address(c, 2);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().message().find(
                  "node 3 of the job has no address in 10.9.9.0/30 (plugstack.conf: addresses=)"),
              0u)
        << none.error().message();
}

TEST(JobNetwork, TheKeyIsHmacSha256OfTheSiteSecretAndTheJobId) {
    // python3: hmac.new(secret, b"personalnet slurm job 42", hashlib.sha256).hexdigest()
    EXPECT_EQ(ps::job_key(kSecret, 42), "af39dac52142873a948cc791f22ef173619deba8139c8e854d3ec6bd40bda2c9");
    EXPECT_NE(ps::job_key(kSecret, 43), ps::job_key(kSecret, 42));
    EXPECT_NE(ps::job_key(kSecret + "x", 42), ps::job_key(kSecret, 42));
}

TEST(JobNetwork, EveryNodeDerivesADefinitionTheCheckerAccepts) {
    ps::PluginConfig c;
    const auto nodes = three_nodes();
    for (size_t self = 0; self < nodes.size(); ++self) {
        auto n = ps::job_network(c, 42, nodes, self, kSecret);
        ASSERT_TRUE(n.ok()) << n.error().message();
        EXPECT_EQ(n->name, "job-42");
        personalnet::ike::HostFacts host;
        host.addresses = {nodes[self].address};
        auto def = personalnet::ike::parse_user_definition(n->name, n->text, n->path, host);
        ASSERT_TRUE(def.ok()) << def.error().message() << "\n" << n->text;
        EXPECT_EQ(def->overlay.label, 0xe02a);
        EXPECT_EQ(def->peers.size(), 2u);
        EXPECT_EQ(def->claims.front(), "10.254.0." + std::to_string(self + 1) + "/32");
        EXPECT_NE(n->text.find(ps::job_key(kSecret, 42)), std::string::npos);
        EXPECT_EQ(n->text.find(kSecret), std::string::npos) << "the site secret itself is never in it";
        EXPECT_NE(n->text.find("id = job-42-" + nodes[self].name), std::string::npos);
    }
    auto one = ps::job_network(c, 42, {nodes[0]}, 0, kSecret);
    EXPECT_FALSE(one.ok()) << "a one-node job has no network";
}

TEST(JobNetwork, HostsAndPeersNameEveryNodeAtItsJobAddress) {
    ps::PluginConfig c;
    auto hosts = ps::job_hosts(c, three_nodes());
    ASSERT_TRUE(hosts.ok());
    EXPECT_NE(hosts->find("127.0.0.1\tlocalhost\n"), std::string::npos);
    EXPECT_NE(hosts->find("10.254.0.1\tnode1\n10.254.0.2\tnode2\n10.254.0.3\tnode3\n"), std::string::npos);
    EXPECT_EQ(ps::job_peers(c, three_nodes()).value(), "node1=10.254.0.1 node2=10.254.0.2 node3=10.254.0.3");
}

}  // namespace
}  // namespace pn_unit
