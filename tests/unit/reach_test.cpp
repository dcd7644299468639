// Finding a network namespace through another process's mount namespace, where its owner
// may have put anything: a FIFO (an open for reading would block root's destroy or gc),
// or a symbolic link (root would follow it out of that namespace).
#include "lib/space/reach.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "lib/core/sys.hpp"

namespace pn_unit {
namespace {

namespace pn = personalnet;

class ReachTest : public ::testing::Test {
protected:
    // A child in a mount namespace of its own with /mnt a tmpfs holding: pin (this
    // process's network namespace bound on a file), fifo, and link -> the pin's path as
    // this process sees it outside.
    void SetUp() override {
        auto self = pn::sys::open_fd("/proc/self/ns/net", O_RDONLY);
        ASSERT_TRUE(self.ok());
        struct stat st {};
        ASSERT_EQ(::fstat(self->get(), &st), 0);
        inode_ = st.st_ino;
        int ready[2], hold[2];
        ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
        ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
        child_ = ::fork();
        ASSERT_GE(child_, 0);
        if (child_ == 0) {
            ::close(hold[1]);  // so that the read below ends when the test closes its end
            ::close(ready[0]);
            char ok = 'n';
            if (::unshare(CLONE_NEWNS) == 0 &&
                ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                ::mount("tmpfs", "/mnt", "tmpfs", 0, "mode=0755") == 0) {
                int f = ::open("/mnt/pin", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                if (f >= 0 && ::close(f) == 0 &&
                    ::mount("/proc/self/ns/net", "/mnt/pin", nullptr, MS_BIND, nullptr) == 0 &&
                    ::mkfifo("/mnt/fifo", 0644) == 0 && ::symlink("/proc/self/ns/net", "/mnt/link") == 0)
                    ok = 'y';
            }
            (void)!::write(ready[1], &ok, 1);
            char c;
            (void)!::read(hold[0], &c, 1);  // until the test is done
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(hold[0]);
        hold_ = hold[1];
        char ok = 'n';
        ASSERT_EQ(::read(ready[0], &ok, 1), 1);
        ::close(ready[0]);
        ASSERT_EQ(ok, 'y') << "could not set up the child's mount namespace";
        proc_ = "/proc/" + std::to_string(child_);
    }
    void TearDown() override {
        if (hold_ >= 0) ::close(hold_);
        if (child_ > 0) ::waitpid(child_, nullptr, 0);
    }
    pid_t child_ = -1;
    int hold_ = -1;
    uint64_t inode_ = 0;
    std::string proc_;
};

TEST_F(ReachTest, FindsANamespaceBoundInAnotherMountNamespace) {
    auto found = pn::space::reach_in_process_root(proc_, "/mnt/pin", inode_);
    ASSERT_TRUE(found.ok()) << found.error().message();
    ASSERT_TRUE(found->has_value());
    struct stat st {};
    ASSERT_EQ(::fstat(found->value().get(), &st), 0);
    EXPECT_EQ(st.st_ino, inode_);
}

TEST_F(ReachTest, AFifoWhereTheMountWasIsNotOpenedForReading) {
    auto t0 = std::chrono::steady_clock::now();
    auto found = pn::space::reach_in_process_root(proc_, "/mnt/fifo", inode_);
    auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(found.ok()) << found.error().message();
    EXPECT_FALSE(found->has_value());
    EXPECT_LT(waited, std::chrono::seconds(5)) << "an open of the FIFO would block until a writer came";
}

TEST_F(ReachTest, ASymbolicLinkIsNotFollowed) {
    // It points at a namespace file that would match: refused all the same.
    auto found = pn::space::reach_in_process_root(proc_, "/mnt/link", inode_);
    ASSERT_TRUE(found.ok()) << found.error().message();
    EXPECT_FALSE(found->has_value());
}

}  // namespace
}  // namespace pn_unit
