// Holders of named spaces (pam_personalnet's sessions, a job's steps): a live process counts, a dead one (or
// a pid now used by a later process) does not, and the last record's directory goes with it.
#include "lib/registry/holders.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"

namespace pn_unit {
namespace {

namespace holders = personalnet::holders;

class Holders : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pn-holders-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)personalnet::sys::remove_tree(dir_); }
    std::string dir_;
};

TEST_F(Holders, CountsLiveHoldersOnly) {
    auto lock = holders::lock(dir_, "pam");
    ASSERT_TRUE(lock.ok()) << lock.error().message();
    ASSERT_TRUE(holders::add(dir_, "pam", "s", ::getpid()).ok());
    EXPECT_EQ(holders::live(dir_, "pam", "s").value(), 1);
    // A pid whose process is gone, and one whose start time is not the recorded one.
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    std::ofstream(dir_ + "/pam/s/" + std::to_string(dead)) << "1\n";
    std::ofstream(dir_ + "/pam/s/1") << "999999999\n";
    EXPECT_EQ(holders::live(dir_, "pam", "s").value(), 1);
    EXPECT_NE(::access((dir_ + "/pam/s/1").c_str(), F_OK), 0);
    EXPECT_TRUE(holders::remove(dir_, "pam", "s", ::getpid()).value());
    EXPECT_FALSE(holders::remove(dir_, "pam", "s", ::getpid()).value());
    EXPECT_EQ(holders::live(dir_, "pam", "s").value(), 0);
    EXPECT_NE(::access((dir_ + "/pam/s").c_str(), F_OK), 0) << "the empty directory stays";
    EXPECT_EQ(holders::live(dir_, "pam", "never").value(), 0);
}

TEST_F(Holders, AZombieHoldsNothing) {
    auto lock = holders::lock(dir_, holders::kHeld);
    ASSERT_TRUE(lock.ok()) << lock.error().message();
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(p[1]);  // else its own write end keeps the pipe open
        char c;
        (void)!::read(p[0], &c, 1);
        ::_exit(0);
    }
    ::close(p[0]);
    ASSERT_TRUE(holders::add(dir_, holders::kHeld, "job-8", child).ok());
    EXPECT_EQ(holders::live(dir_, holders::kHeld, "job-8").value(), 1);
    ::close(p[1]);  // the child exits; not reaped, it is a zombie
    for (int i = 0; i < 200; ++i) {
        auto stat = personalnet::sys::read_file("/proc/" + std::to_string(child) + "/stat");
        if (stat.ok() && stat->find(") Z ") != std::string::npos) break;
        ::usleep(5000);
    }
    EXPECT_EQ(holders::live(dir_, holders::kHeld, "job-8").value(), 0);
    ::waitpid(child, nullptr, 0);
}

TEST_F(Holders, KindsAreApartAndNamesAreListed) {
    auto lock = holders::lock(dir_, holders::kHeld);
    ASSERT_TRUE(lock.ok()) << lock.error().message();
    EXPECT_TRUE(holders::names(dir_, holders::kHeld).value().empty());
    ASSERT_TRUE(holders::add(dir_, holders::kHeld, "job-7", ::getpid()).ok());
    ASSERT_TRUE(holders::add(dir_, "pam", "s", ::getpid()).ok());
    EXPECT_EQ(holders::names(dir_, holders::kHeld).value(), std::vector<std::string>{"job-7"});
    EXPECT_EQ(holders::live(dir_, "pam", "job-7").value(), 0);
    EXPECT_EQ(holders::live(dir_, holders::kHeld, "job-7").value(), 1);
    // Adding twice is one hold.
    ASSERT_TRUE(holders::add(dir_, holders::kHeld, "job-7", ::getpid()).ok());
    EXPECT_EQ(holders::live(dir_, holders::kHeld, "job-7").value(), 1);
    EXPECT_TRUE(holders::remove(dir_, holders::kHeld, "job-7", ::getpid()).value());
    EXPECT_EQ(holders::live(dir_, holders::kHeld, "job-7").value(), 0);
    EXPECT_TRUE(holders::names(dir_, holders::kHeld).value().empty());
}

}  // namespace
}  // namespace pn_unit
