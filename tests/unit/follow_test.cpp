// Following the parent's network (lib/space/follow): what is added to and removed from a
// child for the addresses and routes its parent has now.
#include "lib/space/follow.hpp"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "lib/netlink/events.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/reply_tables.hpp"

namespace pn_unit {
namespace {

using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::netlink::Route;
namespace sp = personalnet::space;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

Route inherited(const char* dst, const char* src, uint32_t metric = sp::kInheritedMetric) {
    Route r;
    r.dst = *IpPrefix::parse(dst);
    r.family = r.dst.addr.family;
    r.prefsrc = ip(src);
    r.metric = metric;
    return r;
}
// As the child's kernel lists it: with the next hop and protocol personalnet gave it.
Route installed(const char* dst, const char* src, uint32_t metric = sp::kInheritedMetric) {
    Route r = inherited(dst, src, metric);
    r.gateway = r.family == AF_INET ? ip("169.254.101.1") : ip("fe80::1");
    r.protocol = sp::kRouteProto;
    r.onlink = true;
    r.oif = 2;
    return r;
}

TEST(FollowTest, ARenewedAddressIsAddedAndTheOldOneRemoved) {
    auto p = sp::plan_addresses({ip("10.9.0.1"), ip("fd00:9::1")}, {ip("10.9.0.1"), ip("fd00:9::1")},
                                {ip("10.9.0.5"), ip("fd00:9::1")});
    EXPECT_EQ(p.add, std::vector<IpAddr>{ip("10.9.0.5")});
    EXPECT_EQ(p.remove, std::vector<IpAddr>{ip("10.9.0.1")});
}

TEST(FollowTest, NothingChangesWhenTheParentDidNot) {
    std::vector<IpAddr> now{ip("10.9.0.1"), ip("fd00:9::1")};
    EXPECT_TRUE(sp::plan_addresses(now, now, now).empty());
    std::vector<Route> wanted{inherited("10.7.0.0/16", "10.9.0.1"), inherited("::/0", "fd00:9::1")};
    std::vector<Route> current{installed("10.7.0.0/16", "10.9.0.1"), installed("::/0", "fd00:9::1")};
    EXPECT_TRUE(sp::plan_routes(current, wanted).empty());
}

// Only what personalnet carried is removed: an address added inside stays.
TEST(FollowTest, AnAddressAddedInsideIsNeverRemoved) {
    auto p = sp::plan_addresses({ip("10.9.0.1"), ip("192.0.2.7")}, {ip("10.9.0.1")}, {ip("10.9.0.1")});
    EXPECT_TRUE(p.empty());
}

TEST(FollowTest, AddressesAreNotRepeated) {
    auto p = sp::plan_addresses({}, {}, {ip("10.9.0.1"), ip("10.9.0.1")});
    EXPECT_EQ(p.add, std::vector<IpAddr>{ip("10.9.0.1")});
}

TEST(FollowTest, RoutesAreAddedRemovedAndChanged) {
    std::vector<Route> current{installed("10.7.0.0/16", "10.9.0.1"), installed("10.6.0.0/16", "10.9.0.1"),
                               installed("0.0.0.0/0", "10.9.0.1")};
    std::vector<Route> wanted{inherited("10.7.0.0/16", "10.9.0.1"), inherited("10.5.0.0/16", "10.9.0.1"),
                              inherited("0.0.0.0/0", "10.9.0.6")};
    auto p = sp::plan_routes(current, wanted);
    ASSERT_EQ(p.remove.size(), 2u);
    EXPECT_EQ(p.remove[0].dst.str(), "10.6.0.0/16");
    EXPECT_EQ(p.remove[1].dst.str(), "0.0.0.0/0");  // its source changed: removed, then added
    ASSERT_EQ(p.add.size(), 2u);
    EXPECT_EQ(p.add[0].dst.str(), "10.5.0.0/16");
    EXPECT_EQ(p.add[1].dst.str(), "0.0.0.0/0");
    EXPECT_EQ(*p.add[1].prefsrc, ip("10.9.0.6"));
}

// Routes the user added inside (another protocol or metric, or the route to the
// parent's service address) are neither removed nor taken for inherited ones.
TEST(FollowTest, RoutesAddedInsideAreLeftAlone) {
    Route user = installed("10.7.0.0/16", "10.9.0.1", 0);
    Route user_proto = installed("10.4.0.0/16", "10.9.0.1");
    user_proto.protocol = 4;  // static
    Route to_parent;
    to_parent.dst = *IpPrefix::parse("169.254.101.1/32");
    to_parent.protocol = sp::kRouteProto;
    to_parent.oif = 2;
    EXPECT_FALSE(sp::is_inherited_route(user));
    EXPECT_FALSE(sp::is_inherited_route(user_proto));
    EXPECT_FALSE(sp::is_inherited_route(to_parent));
    EXPECT_TRUE(sp::is_inherited_route(installed("10.3.0.0/16", "10.9.0.1", sp::kInheritedMetric - 1)));
    auto p = sp::plan_routes({user, user_proto, to_parent}, {inherited("10.7.0.0/16", "10.9.0.1")});
    EXPECT_TRUE(p.remove.empty());
    ASSERT_EQ(p.add.size(), 1u);  // the user's own route does not stand in for the inherited one
    EXPECT_EQ(p.add[0].dst.str(), "10.7.0.0/16");
}

// A route to an overlay's network (metric 4095) and the main table's route to the same
// prefix (4096) are two routes.
TEST(FollowTest, TheMetricTellsOverlayRoutesFromMainTableOnes) {
    std::vector<Route> current{installed("10.50.0.0/16", "10.60.0.1", sp::kInheritedMetric - 1)};
    auto p = sp::plan_routes(current, {inherited("10.50.0.0/16", "10.60.0.1", sp::kInheritedMetric - 1),
                                       inherited("10.50.0.0/16", "10.9.0.1")});
    EXPECT_TRUE(p.remove.empty());
    ASSERT_EQ(p.add.size(), 1u);
    EXPECT_EQ(p.add[0].metric, sp::kInheritedMetric);
}

TEST(FollowTest, EveryInheritedRouteGoesWhenNoneIsWanted) {
    auto p = sp::plan_routes({installed("10.7.0.0/16", "10.9.0.1"), installed("::/0", "fd00:9::1")}, {});
    EXPECT_EQ(p.remove.size(), 2u);
    EXPECT_TRUE(p.add.empty());
}

// The notifications that wake a watcher: addresses anywhere, routes of the main table
// only (a creation's per-child reply tables do not).
TEST(FollowTest, OnlyAddressesAndMainTableRoutesAreInheritedChanges) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto route = [&](uint16_t type, uint32_t table) {
        nlmsghdr* m = mnl_nlmsg_put_header(buf.data());
        m->nlmsg_type = type;
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
        rtm->rtm_family = AF_INET;
        rtm->rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
        mnl_attr_put_u32(m, RTA_TABLE, table);
        return personalnet::netlink::inherited_change(m);
    };
    EXPECT_TRUE(route(RTM_NEWROUTE, RT_TABLE_MAIN));
    EXPECT_TRUE(route(RTM_DELROUTE, RT_TABLE_MAIN));
    EXPECT_FALSE(route(RTM_NEWROUTE, RT_TABLE_LOCAL));
    EXPECT_FALSE(route(RTM_NEWROUTE, sp::table_of_slot(12)));
    for (uint16_t type : {uint16_t{RTM_NEWADDR}, uint16_t{RTM_DELADDR}, uint16_t{RTM_NEWLINK}}) {
        nlmsghdr* m = mnl_nlmsg_put_header(buf.data());
        m->nlmsg_type = type;
        mnl_nlmsg_put_extra_header(m, sizeof(ifaddrmsg));
        EXPECT_EQ(personalnet::netlink::inherited_change(m), type != RTM_NEWLINK) << type;
    }
}

// In a network namespace of its own (a child process): the kernel drops the notifications
// of routes outside the main table before they reach the watcher's socket, so thousands of
// them (children made or ending together) neither wake it nor overflow the socket, which
// would make it follow every child again. What the child saw goes back through a pipe.
TEST(FollowTest, OtherTablesRoutesNeverReachTheWatchersSocket) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(fds[0]);
        auto report = [&](const std::string& what) {
            (void)!::write(fds[1], what.data(), what.size());
            ::_exit(0);
        };
        if (::unshare(CLONE_NEWNET) != 0) report("unshare(CLONE_NEWNET) failed");
        auto s = personalnet::netlink::Socket::open();
        if (!s.ok() || !personalnet::netlink::set_link_up(*s, 1).ok()) report("bring lo up");
        auto events = personalnet::netlink::Events::open();
        if (!events.ok()) report("open: " + events.error().message());
        (void)events->drain();  // lo's own addresses
        Route r;
        r.oif = 1;
        r.scope = RT_SCOPE_LINK;
        for (uint32_t i = 0; i < 20000; ++i) {
            r.dst =
                *IpPrefix::parse("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24");
            r.table = i % 2 == 0 ? sp::table_of_slot(1 + i % 7) : RT_TABLE_LOCAL;
            if (auto st = personalnet::netlink::add_route(*s, r); !st.ok())
                report("add: " + st.error().message());
        }
        auto woke = events->drain();
        if (!woke.ok()) report("drain: " + woke.error().message());
        if (woke.value()) report("woken by 20000 routes of other tables (or overflowed)");
        r.dst = *IpPrefix::parse("10.200.0.0/16");
        r.table = RT_TABLE_MAIN;
        if (!personalnet::netlink::add_route(*s, r).ok()) report("add to main");
        woke = events->drain();
        if (!woke.ok() || !woke.value()) report("not woken by a route of the main table");
        report("ok");
    }
    ::close(fds[1]);
    std::string got(256, '\0');
    ssize_t n = ::read(fds[0], got.data(), got.size());
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    got.resize(n > 0 ? static_cast<size_t>(n) : 0);
    EXPECT_EQ(got, "ok");
}

}  // namespace
}  // namespace pn_unit
