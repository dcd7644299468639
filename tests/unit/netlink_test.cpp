// The rtnetlink module against the real kernel: each test runs in a forked child inside
// a fresh network namespace and checks what `ip` reports after each library call.
#include "lib/netlink/netlink.hpp"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/space/netns.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace nl = personalnet::netlink;
using personalnet::IpAddr;
using personalnet::IpPrefix;

class NetlinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
        if (::access(kIp, X_OK) != 0) GTEST_SKIP() << kIp << " not installed (iproute2)";
    }
};

std::string ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kIp};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    std::string err = run(argv, &out);
    return err.empty() ? out : "ERROR " + err;
}

IpPrefix pfx(const char* addr, int len) { return IpPrefix{*IpAddr::parse(addr), len}; }

TEST_F(NetlinkTest, VethPairLandsInBothNamespacesWithItsMacs) {
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        auto peer_ns = personalnet::space::new_netns();
        CHECK_THAT(peer_ns.ok(), peer_ns.error().message());
        auto idx = nl::create_veth(*s, "pnt0", {0x02, 1, 2, 3, 4, 5}, "pnt0p", {0x02, 1, 2, 3, 4, 6},
                                   peer_ns->get());
        CHECK_THAT(idx.ok(), idx.error().message());
        std::string links = ip({"-o", "link", "show"});
        CHECK_THAT(has(links, "pnt0@") && has(links, "02:01:02:03:04:05"), links);
        CHECK_THAT(!has(links, "pnt0p"), "peer must be in the other namespace: " + links);
        {
            auto sw = personalnet::space::NetnsSwitch::enter(peer_ns->get());
            CHECK_THAT(sw.ok(), sw.error().message());
            std::string peer = ip({"-o", "link", "show", "pnt0p"});
            CHECK_THAT(has(peer, "02:01:02:03:04:06"), peer);
        }
        auto found = nl::link_index(*s, "pnt0");
        CHECK_THAT(found.ok() && found.value() == idx.value(), "link_index disagrees");
        auto all = nl::list_links(*s);
        CHECK_THAT(all.ok(), all.error().message());
        auto it = std::find_if(all->begin(), all->end(), [](const nl::Link& l) { return l.name == "pnt0"; });
        CHECK_THAT(it != all->end() && it->kind == "veth" && !it->up, "list_links lacks pnt0 as veth");
        CHECK_OK(nl::set_link_up(*s, idx.value()));
        CHECK_THAT(has(ip({"-o", "link", "show", "pnt0"}), ",UP"), "pnt0 not up");

        auto dup = nl::create_veth(*s, "pnt0", {0x02, 0, 0, 0, 0, 1}, "pnt1p", {0x02, 0, 0, 0, 0, 2},
                                   peer_ns->get());
        CHECK_THAT(!dup.ok() && dup.error().code == EEXIST, "duplicate veth must be EEXIST");
        CHECK_THAT(has(dup.error().message(), "create veth 'pnt0'"), dup.error().message());
        auto bad = nl::create_veth(*s, std::string(16, 'x'), {}, "p", {}, peer_ns->get());
        CHECK_THAT(!bad.ok() && bad.error().code == EINVAL, "overlong name must be EINVAL");

        CHECK_OK(nl::delete_link(*s, "pnt0"));
        auto gone = nl::link_index(*s, "pnt0");
        CHECK_THAT(!gone.ok() && gone.error().code == ENODEV, "deleted link still found");
        auto again = nl::delete_link(*s, "pnt0");
        CHECK_THAT(!again.ok() && again.error().code == ENODEV, "second delete must be ENODEV");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(NetlinkTest, AddressesAreAddedListedAndDuplicatesRefused) {
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        CHECK_OK(nl::set_link_up(*s, 1));
        CHECK_OK(nl::add_address(*s, 1, pfx("10.20.0.1", 24), RT_SCOPE_UNIVERSE, false));
        CHECK_OK(nl::add_address(*s, 1, pfx("fd00:20::1", 64), RT_SCOPE_UNIVERSE, true));
        CHECK_OK(nl::add_address(*s, 1, pfx("169.254.7.1", 32), RT_SCOPE_LINK, false));
        std::string shown = ip({"-o", "addr", "show", "dev", "lo"});
        CHECK_THAT(has(shown, "inet 10.20.0.1/24 scope global"), shown);
        CHECK_THAT(has(shown, "inet 169.254.7.1/32 scope link"), shown);
        CHECK_THAT(has(shown, "inet6 fd00:20::1/64 scope global"), shown);
        auto listed = nl::list_addresses(*s, AF_UNSPEC);
        CHECK_THAT(listed.ok(), listed.error().message());
        int seen = 0;
        for (const auto& a : listed.value()) {
            if (a.prefix == pfx("10.20.0.1", 24) && a.scope == RT_SCOPE_UNIVERSE && a.ifindex == 1) ++seen;
            if (a.prefix == pfx("fd00:20::1", 64) && (a.flags & IFA_F_NODAD) != 0) ++seen;
            if (a.prefix == pfx("169.254.7.1", 32) && a.scope == RT_SCOPE_LINK) ++seen;
        }
        CHECK_THAT(seen == 3, "list_addresses found " + std::to_string(seen) + " of 3");
        auto dup = nl::add_address(*s, 1, pfx("10.20.0.1", 24), RT_SCOPE_UNIVERSE, false);
        CHECK_THAT(!dup.ok() && dup.error().code == EEXIST, "duplicate address must be EEXIST");
        CHECK_THAT(has(dup.error().message(), "add address 10.20.0.1/24"), dup.error().message());
        return "";
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(NetlinkTest, RoutesInMainAndHighTablesRoundTrip) {
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        CHECK_OK(nl::set_link_up(*s, 1));
        CHECK_OK(nl::add_address(*s, 1, pfx("10.20.0.1", 32), RT_SCOPE_UNIVERSE, false));
        nl::Route r;
        r.dst = pfx("10.30.0.0", 16);
        r.gateway = IpAddr::parse("169.254.9.1");
        r.prefsrc = IpAddr::parse("10.20.0.1");
        r.oif = 1;
        r.onlink = true;
        r.metric = 4096;
        r.protocol = 200;
        CHECK_OK(nl::add_route(*s, r));
        std::string shown = ip({"route", "show"});
        CHECK_THAT(
            has(shown, "10.30.0.0/16 via 169.254.9.1 dev lo proto 200 src 10.20.0.1 metric 4096 onlink"),
            shown);
        // IPv6 refuses lo as a gateway route's device: use a veth.
        auto peer_ns = personalnet::space::new_netns();
        CHECK_THAT(peer_ns.ok(), peer_ns.error().message());
        auto veth =
            nl::create_veth(*s, "pnt2", {0x02, 0, 0, 0, 0, 3}, "up0", {0x02, 0, 0, 0, 0, 4}, peer_ns->get());
        CHECK_THAT(veth.ok(), veth.error().message());
        CHECK_OK(nl::set_link_up(*s, veth.value()));
        nl::Route def6;
        def6.family = AF_INET6;
        def6.dst.addr.family = AF_INET6;
        def6.gateway = IpAddr::parse("fe80::2");
        def6.oif = veth.value();
        def6.onlink = true;
        def6.table = 0x50000011;
        CHECK_OK(nl::add_route(*s, def6));
        std::string t6 = ip({"-6", "route", "show", "table", "1342177297"});
        CHECK_THAT(has(t6, "default via fe80::2 dev pnt2"), t6);

        auto main4 = nl::list_routes(*s, AF_INET, RT_TABLE_MAIN);
        CHECK_THAT(main4.ok(), main4.error().message());
        auto it =
            std::find_if(main4->begin(), main4->end(), [&](const nl::Route& x) { return x.dst == r.dst; });
        CHECK_THAT(it != main4->end(), "list_routes lacks 10.30.0.0/16");
        CHECK_THAT(it->gateway == r.gateway && it->prefsrc == r.prefsrc && it->metric == 4096 &&
                       it->protocol == 200 && it->onlink && it->oif == 1,
                   "list_routes fields differ");
        auto high = nl::list_routes(*s, AF_INET6, 0x50000011);
        CHECK_THAT(high.ok() && high->size() == 1 && high->front().dst.len == 0, "table 0x50000011 wrong");

        auto dup = nl::add_route(*s, r);
        CHECK_THAT(!dup.ok() && dup.error().code == EEXIST, "duplicate route must be EEXIST");
        CHECK_OK(nl::delete_route(*s, r));
        CHECK_THAT(!has(ip({"route", "show"}), "10.30.0.0/16"), "route not deleted");
        auto again = nl::delete_route(*s, r);
        CHECK_THAT(!again.ok() && again.error().code == ESRCH, "second delete must be ESRCH");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(NetlinkTest, RulesWithMarksGotoAndPrefZero) {
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        nl::Rule local_at_100;
        local_at_100.priority = 100;
        local_at_100.table = RT_TABLE_LOCAL;
        nl::Rule local_at_0 = local_at_100;
        local_at_0.priority = 0;
        CHECK_OK(nl::add_rule(*s, local_at_100));
        CHECK_OK(nl::delete_rule(*s, local_at_0));
        nl::Rule gate;
        gate.priority = 9;
        gate.fwmark = 0x50000000;
        gate.fwmask = 0xff000000;
        gate.invert = true;
        gate.goto_priority = 100;
        CHECK_OK(nl::add_rule(*s, gate));
        nl::Rule child;
        child.priority = 10;
        child.fwmark = 0x50000011;
        child.table = 0x50000011;
        CHECK_OK(nl::add_rule(*s, child));
        std::string shown = ip({"rule"});
        CHECK_THAT(shown.rfind("0:\tfrom all lookup local", 0) != 0, shown);
        CHECK_THAT(has(shown, "9:\tnot from all fwmark 0x50000000/0xff000000 goto 100"), shown);
        CHECK_THAT(has(shown, "10:\tfrom all fwmark 0x50000011 lookup 1342177297"), shown);
        CHECK_THAT(has(shown, "100:\tfrom all lookup local"), shown);
        auto dup = nl::add_rule(*s, child);
        CHECK_THAT(!dup.ok() && dup.error().code == EEXIST, "duplicate rule must be EEXIST");
        auto listed = nl::list_rules(*s, AF_INET);
        CHECK_THAT(listed.ok(), listed.error().message());
        bool saw_gate = std::any_of(listed->begin(), listed->end(), [](const nl::Rule& r) {
            return r.priority == 9 && r.invert && r.goto_priority == 100u && r.fwmark == 0x50000000u &&
                   r.fwmask == 0xff000000u;
        });
        CHECK_THAT(saw_gate, "list_rules lacks the gate rule");
        CHECK_OK(nl::delete_rule(*s, child));
        auto again = nl::delete_rule(*s, child);
        CHECK_THAT(!again.ok() && again.error().code == ENOENT, "second delete must be ENOENT");
        CHECK_OK(nl::delete_rule(*s, gate));
        CHECK_OK(nl::add_rule(*s, local_at_0));
        CHECK_OK(nl::delete_rule(*s, local_at_100));
        CHECK_THAT(ip({"rule"}).rfind("0:\tfrom all lookup local", 0) == 0, "local rule not restored");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(NetlinkTest, PermanentNeighboursAndWaitingForALinkToDie) {
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        auto peer_ns = personalnet::space::new_netns();
        CHECK_THAT(peer_ns.ok(), peer_ns.error().message());
        auto idx =
            nl::create_veth(*s, "pnt1", {0x02, 0, 0, 0, 0, 1}, "up0", {0x02, 0, 0, 0, 0, 2}, peer_ns->get());
        CHECK_THAT(idx.ok(), idx.error().message());
        CHECK_OK(nl::add_neighbor(*s, idx.value(), *IpAddr::parse("169.254.101.2"), {2, 0, 0, 0, 0, 2}));
        CHECK_OK(nl::add_neighbor(*s, idx.value(), *IpAddr::parse("fe80::2"), {2, 0, 0, 0, 0, 2}));
        std::string neigh = ip({"neigh", "show", "dev", "pnt1"});
        CHECK_THAT(has(neigh, "169.254.101.2 lladdr 02:00:00:00:00:02 PERMANENT"), neigh);
        std::string neigh6 = ip({"-6", "neigh", "show", "dev", "pnt1"});
        CHECK_THAT(has(neigh6, "fe80::2 lladdr 02:00:00:00:00:02 PERMANENT"), neigh6);
        // The peer's namespace dies with its last reference; the kernel then
        // deletes the pair, and wait_link_gone must notice.
        peer_ns->reset();
        auto w = nl::Socket::open();
        CHECK_THAT(w.ok(), w.error().message());
        CHECK_OK(w->wait_link_gone(idx.value()));
        auto gone = nl::link_index(*s, "pnt1");
        CHECK_THAT(!gone.ok() && gone.error().code == ENODEV, "pnt1 still exists");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

}  // namespace
}  // namespace pn_unit
