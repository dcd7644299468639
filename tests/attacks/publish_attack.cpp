// Attacks on published ports (mkportspace --publish, issue 20): a user must not take a
// port below 1024 of the host's address, nor one the policy does not give users
// (create.publish), nor a port another user's space already publishes; through the
// library or by a request crafted for the helper by hand.
#include <string>
#include <vector>

#include "lib/helper/request.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

class PublishAttack : public AttackTest {
protected:
    // What host A's parent table publishes ("" without one).
    std::string published_in_a() {
        return A().run({"nft", "list", "map", "inet", "personalnet_parent", "published"}).out;
    }
    // A create request for the helper, written by hand: the library's own checks never run.
    std::string crafted_create(const char* user, const std::vector<std::string>& publish) {
        personalnet::helper::Message m;
        m.add("op", "create").add("file_space", "0");
        for (const auto& p : publish) m.add("publish", p);
        return ask_helper_raw(user, personalnet::helper::encode(m));
    }
};

// Ports below 1024 are the host's, whatever the policy says (here: every port), through
// the tools and through a request crafted by hand.
TEST_F(PublishAttack, UserPublishesAPortBelow1024) {
    write_policy("", 4, 6, "", "    publish = 1-65535\n");
    std::string evidence;
    for (const char* port : {"tcp/80", "udp/53", "tcp/1023:8080", "tcp/22"}) {
        auto r = as(kAlice, {mkps(), "-q", "--file-space=none", "--publish", port, "--", "true"});
        if (r.rc == 0) evidence += std::string(" ") + port + " was published;";
        EXPECT_EQ(r.rc, 2) << port << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "ports below 1024 are the host's")) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        std::string answer = crafted_create(kAlice, {port});
        if (!contains(answer, "ports below 1024 are the host's"))
            evidence += std::string(" crafted ") + port + ": " + answer + ";";
    }
    if (contains(published_in_a(), "tcp . 80") || contains(published_in_a(), "udp . 53"))
        evidence += " the parent table publishes it: " + published_in_a();
    EXPECT_EQ(A().snapshot(), baseline_);
    verdict("user-publishes-port-below-1024", evidence);
}

// Only what create.publish gives users: 8000-8099 for both protocols, udp/5353.
TEST_F(PublishAttack, UserPublishesAPortOutsideThePolicy) {
    write_policy("", 4, 6, "", "    publish = 8000-8099, udp/5353\n");
    std::string evidence;
    for (const char* port : {"tcp/8100", "tcp/5353", "udp/7999", "tcp/65535", "tcp/8000:22"}) {
        const bool allowed = std::string(port) == "tcp/8000:22";  // the inner port is the space's
        auto r = as(kAlice, {mkps(), "-q", "--file-space=none", "--publish", port, "--", "true"});
        if (allowed) {
            EXPECT_EQ(r.rc, 0) << port << ": " << r.err;
            continue;
        }
        if (r.rc == 0) evidence += std::string(" ") + port + " was published;";
        EXPECT_EQ(r.rc, 2) << port << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "may not publish " + std::string(port) +
                                        " (personalnet.conf: create.publish = 8000-8099, udp/5353)"))
            << r.err;
        std::string answer = crafted_create(kAlice, {port});
        if (!contains(answer, "may not publish"))
            evidence += std::string(" crafted ") + port + ": " + answer + ";";
    }
    // What the helper checks itself, whatever the caller's library would have refused.
    for (const auto& [ports, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"tcp/8001", "tcp/8001:81"}, "is already published as"},
             {{"tcp/8001 "}, "bad request: publish="},
             {{"udp/4500"}, "UDP ports 500 and 4500"},
             {{"tcp/8001:0"}, "bad request: publish="}}) {
        std::string answer = crafted_create(kAlice, ports);
        if (!contains(answer, says)) evidence += " crafted " + ports.front() + ": " + answer + ";";
    }
    // Carol may not create spaces at all, so she publishes nothing either.
    auto carol = as(kCarol, {mkps(), "-q", "--file-space=none", "--publish", "tcp/8001", "--", "true"});
    if (carol.rc == 0) evidence += " carol published tcp/8001;";
    EXPECT_EQ(A().run({bin("pnet"), "gc"}).rc, 0);
    EXPECT_EQ(A().snapshot(), baseline_);
    verdict("user-publishes-port-outside-policy", evidence);
}

// Bob's space publishes tcp/8010 with a server in it: Alice can neither take the port
// (with or without another number inside, nor over a crafted request) nor learn the
// name of Bob's space, and B still reaches Bob's server. Root's own listener on tcp/8011
// is not hers either.
TEST_F(PublishAttack, UserTakesAPortAnotherUsersSpacePublishes) {
    write_policy("", 4, 6, "", "    publish = 8000-8099\n");
    auto made = as(kBob, {mkps(), "-q", "--name", "bobs-web", "--file-space=none", "--publish", "tcp/8010",
                          "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    Proc server = A().spawn(as_argv(kBob, {pnet_bin(), "exec", "bobs-web", "--", bin("pnprobe"), "serve",
                                           "tcp", "::", "8010", "--reply", "bob"}));
    ASSERT_EQ(server.read_line(), "listening");
    auto root_listener = A().serve("tcp", "0.0.0.0", 8011, "root");
    std::string evidence;
    for (const char* port : {"tcp/8010", "tcp/8010:9999"}) {
        auto r = as(kAlice, {mkps(), "-q", "--file-space=none", "--publish", port, "--", "true"});
        if (r.rc == 0) evidence += std::string(" alice published ") + port + ";";
        EXPECT_EQ(r.rc, 2) << r.err;
        EXPECT_TRUE(contains(r.err, "tcp/8010 is already published by a space of another user")) << r.err;
        if (contains(r.err, "bobs-web")) evidence += " the refusal names bob's space: " + r.err + ";";
        std::string answer = crafted_create(kAlice, {port});
        if (!contains(answer, "already published by a space of another user"))
            evidence += std::string(" crafted ") + port + ": " + answer + ";";
    }
    auto r = as(kAlice, {mkps(), "-q", "--file-space=none", "--publish", "tcp/8011", "--", "true"});
    if (r.rc == 0) evidence += " alice took root's tcp/8011;";
    EXPECT_TRUE(contains(r.err, "tcp/8011 is in use in the host")) << r.err;
    auto b = B().run({bin("pnprobe"), "connect", "tcp", "10.9.0.1", "8010", "--timeout-ms", "1500"});
    if (!contains(b.out, "bob peer=10.9.0.2:"))
        evidence += " B no longer reaches bob's server: " + b.out + b.err;
    server.kill(9);
    EXPECT_EQ(as(kBob, {pnet_bin(), "destroy", "bobs-web"}).rc, 0);
    verdict("user-takes-port-of-another-users-space", evidence);
}

// Alice's --admin space publishes tcp/8060 and tcp/8061 and, inside (where she holds
// CAP_NET_ADMIN), sends what B sends there on: to the host's own listener (at the
// parent's service address) and back out to B's. Neither may see B's connection: the
// parent takes no foreign source from a child, nor forwards one (the guard and spoof
// chains), so a published port gives her B's packets and nothing of the host's. Her
// third port, redirected to her own listener inside, shows that her rules work.
TEST_F(PublishAttack, AdminSpaceRelaysAPublishedConnection) {
    write_policy("admin = yes\n", 4, 6, "", "    publish = 8000-8099\n");
    auto host = A().serve("tcp", "0.0.0.0", 7301, "host-A");
    auto remote = B().serve("tcp", "0.0.0.0", 7302, "host-B");
    const std::string script =
        "nft add table ip relay && "
        "nft add chain ip relay pre '{ type nat hook prerouting priority dstnat - 5; }' && "
        "nft add rule ip relay pre tcp dport 8060 dnat to 169.254.101.1:7301 && "
        "nft add rule ip relay pre tcp dport 8061 dnat to 10.9.0.2:7302 && "
        "nft add rule ip relay pre tcp dport 8062 redirect to :9062 && "
        "sysctl -qw net.ipv4.ip_forward=1 && { " +
        sh_join({bin("pnprobe"), "serve", "tcp", "0.0.0.0", "9062", "--reply", "alice"}) +
        " & } && sleep 0.5 && echo ready && sleep 6";
    Proc space = A().spawn(
        as_argv(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--publish", "tcp/8060", "--publish",
                         "tcp/8061", "--publish", "tcp/8062", "--", "sh", "-c", script}));
    ASSERT_EQ(space.read_line(8000), "listening");
    ASSERT_EQ(space.read_line(8000), "ready");
    auto own = B().run({bin("pnprobe"), "connect", "tcp", "10.9.0.1", "8062", "--timeout-ms", "1500"});
    EXPECT_TRUE(contains(own.out, "alice peer=10.9.0.2:")) << "her own relay works: " << own.out << own.err;
    std::string evidence;
    for (int port : {8060, 8061}) {
        auto r = B().run(
            {bin("pnprobe"), "connect", "tcp", "10.9.0.1", std::to_string(port), "--timeout-ms", "1000"});
        if (contains(r.out, "peer="))
            evidence += " B's connection to " + std::to_string(port) + " was relayed: " + r.out;
    }
    space.kill(9);
    EXPECT_EQ(A().run({bin("pnet"), "gc"}).rc, 0);
    verdict("admin-space-relays-published-connection", evidence);
}

}  // namespace
}  // namespace pntest
