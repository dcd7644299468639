// The pool of reply tables (lib/space/reply_tables.hpp) on a scratch parent state: the
// lowest free slot, reuse after a release, and what a registration or release killed
// half-way leaves.
#include "lib/space/reply_tables.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "lib/registry/registry.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/reply_tree.hpp"

namespace pn_unit {
namespace {

namespace sp = personalnet::space;

class ReplyTables : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pntables-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::filesystem::create_directory(dir_ + "/kids");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    uint32_t take(uint16_t label, const std::string& cookie = "42") {
        auto t = sp::register_kid(dir_, label, cookie);
        EXPECT_TRUE(t.ok()) << t.error().message();
        return t.ok() ? t.value() : 0;
    }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    size_t files_in(const std::string& sub) const {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ + "/" + sub)) ++n;
        return n;
    }
    std::string dir_;
};

TEST_F(ReplyTables, ChildrenTakeTheLowestFreeSlot) {
    EXPECT_EQ(take(0x9000), sp::table_of_slot(1));
    EXPECT_EQ(take(0x0100), sp::table_of_slot(2));
    EXPECT_EQ(take(0xfffe), sp::table_of_slot(3));
    EXPECT_EQ(read(dir_ + "/tables/2"), "0100");
    EXPECT_EQ(read(dir_ + "/kids/0100"), "42 " + std::to_string(sp::table_of_slot(2)));
    // A release frees its slot for the next child, whatever its label.
    sp::unregister_kid(dir_, 0x0100);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/kids/0100"));
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/tables/2"));
    EXPECT_EQ(take(0x4242), sp::table_of_slot(2));
    EXPECT_EQ(take(0x4343), sp::table_of_slot(4));
    // Registering again with the same parent keeps the slot.
    EXPECT_EQ(take(0x4242), sp::table_of_slot(2));
    EXPECT_EQ(files_in("tables"), 4u);
    // A thousand children made and destroyed one after another use one table.
    for (uint16_t l = 1; l <= 1000; ++l) {
        ASSERT_EQ(take(static_cast<uint16_t>(0x5000 + l)), sp::table_of_slot(5));
        sp::unregister_kid(dir_, static_cast<uint16_t>(0x5000 + l));
    }
    sp::forget_tables(dir_);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/tables"));
}

TEST_F(ReplyTables, AKidWithoutItsSlotHoldsNoTable) {
    const uint32_t t = take(0x1111);
    // A registration killed after the kid, before the slot: the slot is free, and the
    // next child takes it; the first one's release then leaves that child's slot alone.
    std::filesystem::remove(dir_ + "/tables/1");
    auto kid = sp::registered_kid(dir_, 0x1111);
    ASSERT_TRUE(kid);
    EXPECT_EQ(kid->entry.table, t);
    EXPECT_FALSE(kid->holds_table);
    EXPECT_EQ(take(0x2222), t);
    EXPECT_FALSE(sp::registered_kid(dir_, 0x1111)->holds_table);
    EXPECT_TRUE(sp::registered_kid(dir_, 0x2222)->holds_table);
    sp::unregister_kid(dir_, 0x1111);
    EXPECT_EQ(read(dir_ + "/tables/1"), "2222");
    EXPECT_FALSE(sp::registered_kid(dir_, 0x1111));
}

TEST_F(ReplyTables, AnEarlierVersionsKidKeepsItsLabelsTable) {
    std::ofstream(dir_ + "/kids/1234") << "987654";
    auto kid = sp::registered_kid(dir_, 0x1234);
    ASSERT_TRUE(kid);
    EXPECT_EQ(kid->entry.cookie, "987654");
    EXPECT_EQ(kid->entry.table, sp::legacy_table_of(0x1234));
    EXPECT_TRUE(kid->holds_table);
    // It takes no slot: the next child gets the first.
    EXPECT_EQ(take(0x4321), sp::table_of_slot(1));
    sp::unregister_kid(dir_, 0x1234);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/kids/1234"));
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/tables/1"));
}

TEST_F(ReplyTables, AMalformedEntryIsNoRegistration) {
    for (const char* text : {"42 x", "42 7", "x", "42 1342177536"}) {  // 0x50000100 is a legacy id
        EXPECT_FALSE(sp::parse_kid(text, 0x0001)) << text;
    }
    EXPECT_TRUE(sp::parse_kid("42 " + std::to_string(sp::table_of_slot(9)), 0x0001));
}

TEST_F(ReplyTables, AnyOtherKidStopsAtTheFirstAndSweepsTemporaries) {
    auto any = [&](std::optional<uint16_t> except) {
        auto r = sp::any_other_kid(dir_, except);
        EXPECT_TRUE(r.ok()) << r.error().message();
        return r.ok() && r.value();
    };
    EXPECT_FALSE(any(std::nullopt));
    std::ofstream(dir_ + "/kids/00aa.tmp.123") << "x";  // a killed writer's
    EXPECT_FALSE(any(std::nullopt));
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/kids/00aa.tmp.123"));
    take(0x00aa);
    EXPECT_TRUE(any(std::nullopt));
    EXPECT_FALSE(any(0x00aa));
    EXPECT_TRUE(any(0x00ab));
    take(0x7001);
    EXPECT_TRUE(any(0x00aa));
    std::filesystem::remove_all(dir_ + "/kids");
    EXPECT_FALSE(any(std::nullopt)) << "no kids/ at all: none left";
}

// What a release removes of a child's reply path, worked out from the few siblings next to
// it, is what the whole list of siblings gives: few children (kids/ listed), many (a
// neighbour found), and neighbours at each depth of the tree.
TEST_F(ReplyTables, SiblingsOnThePathDecideAsTheWholeListDoes) {
    std::mt19937 rng(7);
    for (size_t children : {2U, 40U, 3000U}) {
        std::filesystem::remove_all(dir_ + "/kids");
        std::filesystem::create_directory(dir_ + "/kids");
        std::vector<uint16_t> all;
        for (size_t i = 0; i < children; ++i) {
            auto l = static_cast<uint16_t>(1 + rng() % 0xfffe);
            if (std::find(all.begin(), all.end(), l) != all.end()) continue;
            all.push_back(l);
            std::ofstream(dir_ + "/kids/" + personalnet::registry::label_hex(l)) << "42";
        }
        // Neighbours sharing 14, 12, 10 and fewer bits with the first child.
        for (uint16_t d : {0x0001, 0x0004, 0x0010, 0x0040, 0x0100}) {
            auto l = static_cast<uint16_t>(all[0] ^ d);
            if (std::find(all.begin(), all.end(), l) != all.end()) continue;
            all.push_back(l);
            std::ofstream(dir_ + "/kids/" + personalnet::registry::label_hex(l)) << "42";
        }
        for (size_t i = 0; i < all.size(); i += std::max<size_t>(1, all.size() / 200)) {
            const uint16_t label = all[i];
            std::vector<uint16_t> others;
            for (uint16_t o : all)
                if (o != label) others.push_back(o);
            auto near = sp::siblings_on_path(dir_, label);
            ASSERT_TRUE(near.ok()) << near.error().message();
            auto want = sp::reply_path_unshared(AF_INET, label, sp::table_of_slot(1), others);
            auto got = sp::reply_path_unshared(AF_INET, label, sp::table_of_slot(1), near.value());
            ASSERT_EQ(got.size(), want.size()) << children << " children, label " << label;
            for (size_t r = 0; r < got.size(); ++r) EXPECT_EQ(got[r].priority, want[r].priority);
        }
    }
}

}  // namespace
}  // namespace pn_unit
