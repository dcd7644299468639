// The registry on a scratch directory: labels, locks, indexes.
#include "lib/registry/registry.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

namespace pn_unit {
namespace {

namespace reg = personalnet::registry;

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pnreg-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(RegistryTest, AllocatesDistinctUnreservedLabelsWithLocks) {
    auto r = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::set<uint16_t> seen;
    std::vector<personalnet::UniqueFd> locks;
    for (int i = 0; i < 200; ++i) {
        auto l = r->allocate_label();
        ASSERT_TRUE(l.ok());
        EXPECT_FALSE(reg::label_reserved(l->first));
        EXPECT_TRUE(seen.insert(l->first).second);
        locks.push_back(std::move(l->second));
    }
    EXPECT_EQ(r->locked_labels().size(), 200u);
    // A held lock cannot be taken; after release it can.
    uint16_t first = *seen.begin();
    auto held = r->try_lock_label(first);
    ASSERT_TRUE(held.ok());
    EXPECT_FALSE(held->has_value());
}

TEST_F(RegistryTest, DeadOwnersLockCanBeTaken) {
    auto r = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(r.ok());
    int pfd[2];
    ASSERT_EQ(::pipe(pfd), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        auto l = r->allocate_label();
        uint16_t label = l.ok() ? l->first : 0;
        (void)!::write(pfd[1], &label, sizeof label);
        ::_exit(0);
    }
    uint16_t label = 0;
    ASSERT_EQ(::read(pfd[0], &label, sizeof label), static_cast<ssize_t>(sizeof label));
    ::waitpid(pid, nullptr, 0);
    auto taken = r->try_lock_label(label);
    ASSERT_TRUE(taken.ok());
    EXPECT_TRUE(taken->has_value());
    ::close(pfd[0]);
    ::close(pfd[1]);
}

TEST_F(RegistryTest, SavesLoadsIndexesAndRemoves) {
    auto r = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(r.ok());
    reg::Record rec;
    rec.label = 0x0101;
    rec.name = "corp";
    rec.named = true;
    rec.netns = 4242;
    ASSERT_TRUE(r->save(rec).ok());
    ASSERT_TRUE(r->index_name("corp", rec.label).ok());
    ASSERT_TRUE(r->index_netns(4242, rec.label).ok());
    EXPECT_EQ(r->find_name("corp"), std::optional<uint16_t>(0x0101));
    EXPECT_EQ(r->find_netns(4242), std::optional<uint16_t>(0x0101));
    EXPECT_EQ(r->labels(), std::vector<uint16_t>{0x0101});
    auto back = r->load(0x0101);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->name, "corp");
    ASSERT_TRUE(r->remove(back.value()).ok());
    EXPECT_FALSE(r->find_name("corp"));
    EXPECT_FALSE(r->find_netns(4242));
    EXPECT_EQ(r->load(0x0101).error().code, ENOENT);
}

TEST(RegistryLabels, HexNamesParseBackOnlyAsLabelHexWritesThem) {
    for (uint16_t l : {uint16_t{1}, uint16_t{0x00a0}, uint16_t{0xbeef}, uint16_t{0xffff}})
        EXPECT_EQ(reg::parse_label_hex(reg::label_hex(l)), l);
    for (const char* bad : {"", "0000", "1", "001", "00001", "ABCD", "+123", "12 3", "00g1", ".0001.tmp"})
        EXPECT_FALSE(reg::parse_label_hex(bad)) << "'" << bad << "'";
}

TEST_F(RegistryTest, RejectsRelativeRunDirectory) {
    auto r = reg::Registry::open("relative/run");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
}

}  // namespace
}  // namespace pn_unit
