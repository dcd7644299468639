// The reply tree (lib/space/reply_tree.hpp): its layout, what a child's removal takes
// with it, and, in a fresh network namespace of the real kernel, that a reply marked for
// any of many children is routed by that child's table and by no other.
#include "lib/space/reply_tree.hpp"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "lib/space/addressing.hpp"
#include "lib/space/reply_tables.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace nl = personalnet::netlink;
namespace sp = personalnet::space;

TEST(ReplyTree, APathDecidesTwoBitsPerLevel) {
    const uint16_t label = 0x1234;  // 00 01 00 10 00 11 01 00
    auto path = sp::reply_path(AF_INET, label, sp::table_of_slot(3));
    ASSERT_EQ(path.size(), 8u);
    EXPECT_EQ(path[0].priority, 40000u);
    EXPECT_EQ(path[0].fwmark, 0x50000000u);
    EXPECT_EQ(path[0].fwmask, 0xffffc000u);
    EXPECT_EQ(path[1].priority, 40000u + 1 + 0x0);
    EXPECT_EQ(path[1].fwmark, 0x50001000u);
    EXPECT_EQ(path[1].fwmask, 0xfffff000u);
    EXPECT_EQ(path[2].priority, 40000u + 1 + 4 + 0x1);
    EXPECT_EQ(path[2].fwmark, 0x50001000u);
    EXPECT_EQ(path[2].fwmask, 0xfffffc00u);
    EXPECT_EQ(path[6].priority, 40000u + 1365 + (label >> 4));
    EXPECT_EQ(path[6].fwmark, 0x50001234u);
    EXPECT_EQ(path[6].fwmask, 0xfffffffcu);
    EXPECT_EQ(path[7].priority, 40000u + 5461 + (label >> 2));
    EXPECT_EQ(path[7].fwmark, 0x50001234u);
    EXPECT_EQ(path[7].fwmask, 0xffffffffu);
    EXPECT_EQ(path[7].table, sp::table_of_slot(3));
    EXPECT_FALSE(path[7].goto_priority);
    for (size_t i = 0; i + 1 < path.size(); ++i) {
        EXPECT_EQ(path[i].goto_priority, path[i + 1].priority) << "level " << i;
        EXPECT_GT(path[i + 1].priority, path[i].priority) << "a goto only jumps forward";
        // What a level's rule matches is what the block it sits in already decided, and
        // two bits more.
        EXPECT_EQ(path[i].fwmask, 0xffffffffu << (16 - 2 * (i + 1))) << "level " << i;
    }
    // The largest label's leaf block is the last before the tree's end.
    auto last = sp::reply_path(AF_INET6, 0xffff, sp::table_of_slot(1));
    EXPECT_EQ(last.back().priority + 1, sp::kRulePrefTreeEnd);
    EXPECT_EQ(last.back().family, AF_INET6);
    auto frame = sp::reply_tree_frame(AF_INET);
    EXPECT_EQ(frame[0].priority, sp::kRulePrefChild);
    EXPECT_EQ(frame[0].goto_priority, sp::kRulePrefTree);
    EXPECT_TRUE(frame[1].invert);
    EXPECT_EQ(frame[1].goto_priority, sp::kRulePrefTreeEnd);
    EXPECT_TRUE(frame[2].nop);
    EXPECT_EQ(frame[2].priority, sp::kRulePrefTreeEnd);
}

// Every slot has a table of its own, apart from the ids an earlier version derived from
// labels, and none sits in the kernel's hash bucket of the default, main or local table
// (ids 253-255: the low byte is the bucket).
TEST(ReplyTree, ChildTablesAreDistinctAndOutOfTheBuiltInTablesBuckets) {
    std::set<uint32_t> seen;
    for (uint32_t n = 1; n <= 0xffff; ++n) {
        uint32_t slot = sp::table_of_slot(n);
        uint32_t legacy = sp::legacy_table_of(static_cast<uint16_t>(n));
        EXPECT_TRUE(seen.insert(slot).second) << "slot " << n;
        EXPECT_TRUE(seen.insert(legacy).second) << "label " << n;
        EXPECT_LT(slot & 0xffU, 251u) << "slot " << n;
        EXPECT_LT(legacy & 0xffU, 251u) << "label " << n;
        EXPECT_EQ(legacy & 0xff000000U, 0x50000000u);
        if (::testing::Test::HasFailure()) break;
    }
}

TEST(ReplyTree, ARemovalTakesTheInteriorRulesNoSiblingShares) {
    auto count = [](const std::vector<uint16_t>& others) {
        return sp::reply_path_unshared(AF_INET, 0x1234, 77, others).size();
    };
    EXPECT_EQ(count({}), 8u);
    EXPECT_EQ(count({0x1234}), 8u);  // itself is no sibling
    EXPECT_EQ(count({0x1235}), 1u);  // the same leaf block: every interior rule stays
    EXPECT_EQ(count({0x1238}), 2u);  // differs from bit 3 on: the last interior rule goes
    EXPECT_EQ(count({0x1334}), 5u);
    EXPECT_EQ(count({0x9234}), 8u);  // differs in the top bit: nothing shared
    EXPECT_EQ(count({0x9234, 0x1239}), 2u);
    auto rules = sp::reply_path_unshared(AF_INET, 0x1234, 77, {0x1238});
    EXPECT_EQ(rules[0].table, 77u);  // leaf first
    EXPECT_EQ(rules[1].fwmask, 0xfffffffcu);
}

// In a fresh namespace: 300 children's tables, each with a route the others lack, and
// the tree over them. `ip route get` with a child's mark is answered from its table; an
// unmarked lookup, and a mark no child has, never reach one.
TEST(ReplyTree, TheKernelRoutesEachMarkByItsChildsTable) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (::access(kIp, X_OK) != 0) GTEST_SKIP() << kIp << " not installed (iproute2)";
    std::string verdict = in_netns([]() -> std::string {
        auto s = nl::Socket::open();
        CHECK_THAT(s.ok(), s.error().message());
        CHECK_THAT(run({kIp, "link", "set", "lo", "up"}).empty(), "lo up");
        for (const auto& r : sp::reply_tree_frame(AF_INET)) CHECK_OK(nl::add_rule(*s, r));
        std::vector<uint16_t> labels;
        for (uint16_t l = 1; l <= 300; ++l) labels.push_back(static_cast<uint16_t>(l * 197));  // spread out
        auto table = [&](uint16_t l) {
            return sp::table_of_slot(
                static_cast<uint32_t>(std::find(labels.begin(), labels.end(), l) - labels.begin()) + 1);
        };
        for (uint16_t l : labels) {
            nl::Route r;
            r.family = AF_INET;
            r.dst = personalnet::IpPrefix{*personalnet::IpAddr::parse("10.77.0.0"), 16};
            r.oif = 1;
            r.scope = RT_SCOPE_LINK;
            r.table = table(l);
            CHECK_OK(nl::add_route(*s, r));
            auto path = sp::reply_path(AF_INET, l, table(l));
            for (size_t i = 0; i + 1 < path.size(); ++i) {
                auto st = nl::add_rule(*s, path[i]);
                CHECK_THAT(st.ok() || st.error().code == EEXIST, st.ok() ? "" : st.error().message());
            }
            CHECK_OK(nl::add_rule(*s, path.back()));
        }
        auto table_for = [](uint32_t mark) {
            std::string out;
            std::string err =
                run({kIp, "-o", "route", "get", "10.77.1.1", "mark", std::to_string(mark)}, &out);
            return err.empty() ? out : "ERROR " + err;
        };
        for (uint16_t l : labels) {
            std::string got = table_for(sp::mark_of(l));
            CHECK_THAT(has(got, "table " + std::to_string(table(l)) + " "),
                       "mark of " + std::to_string(l) + ": " + got);
        }
        CHECK_THAT(has(table_for(0), "ERROR"), "unmarked: " + table_for(0));
        CHECK_THAT(has(table_for(sp::mark_of(7)), "ERROR"),
                   "a mark no child has: " + table_for(sp::mark_of(7)));
        // Removing every child with what it alone has leaves the frame only.
        for (size_t i = 0; i < labels.size(); ++i) {
            std::vector<uint16_t> rest(labels.begin() + static_cast<long>(i) + 1, labels.end());
            for (const auto& r : sp::reply_path_unshared(AF_INET, labels[i], table(labels[i]), rest))
                CHECK_OK(nl::delete_rule(*s, r));
        }
        auto left = nl::list_rules(*s, AF_INET);
        CHECK_THAT(left.ok(), left.error().message());
        size_t ours = 0;
        for (const auto& r : left.value()) ours += r.priority >= sp::kRulePrefTreeGate ? 1 : 0;
        CHECK_THAT(ours == 2,
                   "after removing every child: " + std::to_string(ours) + " tree rules left, not 2");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

}  // namespace
}  // namespace pn_unit
