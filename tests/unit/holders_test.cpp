// pam_personalnet's session records: a live process counts, a dead one (or a pid now
// used by a later process) does not, and the last record's directory goes with it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/pam/sessions.hpp"

namespace pn_unit {
namespace {

namespace pam = personalnet::pam;

class PamSessions : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pn-pamsess-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)personalnet::sys::remove_tree(dir_); }
    std::string dir_;
};

TEST_F(PamSessions, CountsLiveSessionsOnly) {
    auto lock = pam::lock_sessions(dir_);
    ASSERT_TRUE(lock.ok()) << lock.error().message();
    ASSERT_TRUE(pam::add_session(dir_, "s", ::getpid()).ok());
    EXPECT_EQ(pam::live_sessions(dir_, "s").value(), 1);
    // A pid whose process is gone, and one whose start time is not the recorded one.
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    std::ofstream(dir_ + "/pam/s/" + std::to_string(dead)) << "1\n";
    std::ofstream(dir_ + "/pam/s/1") << "999999999\n";
    EXPECT_EQ(pam::live_sessions(dir_, "s").value(), 1);
    EXPECT_NE(::access((dir_ + "/pam/s/1").c_str(), F_OK), 0);
    EXPECT_TRUE(pam::remove_session(dir_, "s", ::getpid()).value());
    EXPECT_FALSE(pam::remove_session(dir_, "s", ::getpid()).value());
    EXPECT_EQ(pam::live_sessions(dir_, "s").value(), 0);
    EXPECT_NE(::access((dir_ + "/pam/s").c_str(), F_OK), 0) << "the empty directory stays";
    EXPECT_EQ(pam::live_sessions(dir_, "never").value(), 0);
}

}  // namespace
}  // namespace pn_unit
