// sys::check_trusted_path and sys::make_trusted_dirs on real directories in a private
// directory under /tmp (a root-owned sticky directory, which may lie on a trusted path).
#include "lib/core/trusted_path.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "lib/core/sys.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace sys = personalnet::sys;

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

class TrustedPathTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned directories, chown)";
        char tmpl[] = "/tmp/pntrust-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            EXPECT_TRUE(run({"/bin/rm", "-rf", dir_}).empty());
        }
    }
    // A directory with exactly mode (mkdir alone would apply the umask).
    std::string mkdir(const std::string& name, mode_t mode, uid_t owner = 0) {
        std::string path = dir_ + "/" + name;
        EXPECT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
        EXPECT_EQ(::chown(path.c_str(), owner, 0), 0) << path;
        EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
        return path;
    }
    // Expects path refused with code, the message naming offender (and the reason).
    void expect_refused(const std::string& path, int code, const std::string& offender,
                        const std::string& why = "", bool allow_file = false) {
        auto st = sys::check_trusted_path(path, allow_file);
        ASSERT_FALSE(st.ok()) << path << " was accepted";
        EXPECT_EQ(st.error().code, code) << st.error().message();
        EXPECT_TRUE(has(st.error().message(), "'" + offender + "'")) << st.error().message();
        EXPECT_TRUE(has(st.error().message(), why)) << st.error().message();
    }
    std::string dir_;
};

TEST_F(TrustedPathTest, AcceptsRootOwnedPathsThroughStickyTmp) {
    for (const std::string& p : {std::string("/"), std::string("/usr/bin"), dir_, mkdir("ok", 0755)}) {
        auto st = sys::check_trusted_path(p);
        EXPECT_TRUE(st.ok()) << p << ": " << st.error().message();
    }
    // The sticky exception is for directories on the way only.
    expect_refused("/tmp", EPERM, "/tmp", "writable by others");
}

TEST_F(TrustedPathTest, RefusesSymlinkComponents) {
    std::string real = mkdir("real", 0755);
    mkdir("real/sub", 0755);
    ASSERT_EQ(::symlink("real", (dir_ + "/link").c_str()), 0);
    expect_refused(dir_ + "/link/sub", ELOOP, dir_ + "/link", "symbolic link");
    expect_refused(dir_ + "/link", ELOOP, dir_ + "/link", "symbolic link");
    expect_refused(dir_ + "/link", ELOOP, dir_ + "/link", "symbolic link", true);
    EXPECT_TRUE(sys::check_trusted_path(real + "/sub").ok());
}

TEST_F(TrustedPathTest, RefusesDirectoriesOthersCanWrite) {
    std::string open = mkdir("open", 0777);
    mkdir("open/sub", 0755);
    expect_refused(open, EPERM, open, "writable by others");
    expect_refused(open + "/sub", EPERM, open, "writable by others");
    std::string group = mkdir("group", 0775);
    expect_refused(group, EPERM, group, "writable by group");
    // A root-owned sticky directory is fine on the way, never at the end.
    std::string sticky = mkdir("sticky", 01777);
    mkdir("sticky/sub", 0755);
    EXPECT_TRUE(sys::check_trusted_path(sticky + "/sub").ok());
    expect_refused(sticky, EPERM, sticky, "writable by others");
    // Not owned by root: sticky excuses nothing, the owner may do as they please.
    std::string theirs = mkdir("theirs", 01777, 65534);
    mkdir("theirs/sub", 0755);
    expect_refused(theirs + "/sub", EPERM, theirs, "uid 65534");
}

TEST_F(TrustedPathTest, RefusesOtherOwners) {
    std::string nobody = mkdir("nobody", 0755, 65534);
    mkdir("nobody/sub", 0755);
    expect_refused(nobody, EPERM, nobody, "owned by uid 65534");
    expect_refused(nobody + "/sub", EPERM, nobody, "owned by uid 65534");
}

TEST_F(TrustedPathTest, FilesOnlyAtTheEndAndOnlyWhenAllowed) {
    std::string file = dir_ + "/file";
    ASSERT_TRUE(sys::write_atomic(file, "x").ok());
    expect_refused(file, ENOTDIR, file, "not a directory");
    EXPECT_TRUE(sys::check_trusted_path(file, true).ok());
    expect_refused(file + "/below", ENOTDIR, file, "not a directory", true);
    ASSERT_EQ(::chmod(file.c_str(), 0666), 0);
    expect_refused(file, EPERM, file, "writable by others", true);
}

TEST_F(TrustedPathTest, RefusesNonCanonicalPaths) {
    for (const std::string p : {"relative/path", "", "/a/../b", "/a//b", "/a/./b", "/a/", "/.."}) {
        auto st = sys::check_trusted_path(p);
        ASSERT_FALSE(st.ok()) << p;
        EXPECT_EQ(st.error().code, EINVAL) << p << ": " << st.error().message();
        EXPECT_TRUE(has(st.error().message(), "'" + p + "'")) << st.error().message();
    }
}

TEST_F(TrustedPathTest, MissingComponentIsNamed) {
    auto st = sys::check_trusted_path(dir_ + "/gone/sub");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ENOENT);
    EXPECT_TRUE(has(st.error().message(), "'" + dir_ + "/gone'")) << st.error().message();
}

TEST_F(TrustedPathTest, MakeCreatesNestedDirectoriesWithExactModeRegardlessOfUmask) {
    mode_t old = ::umask(077);
    auto fd = sys::make_trusted_dirs(dir_ + "/a/b/c", 0755);
    ::umask(0);
    auto fd2 = sys::make_trusted_dirs(dir_ + "/a/d", 0700);
    ::umask(old);
    ASSERT_TRUE(fd.ok()) << fd.error().message();
    ASSERT_TRUE(fd2.ok()) << fd2.error().message();
    for (const char* d : {"/a", "/a/b", "/a/b/c"}) {
        struct stat st {};
        ASSERT_EQ(::stat((dir_ + d).c_str(), &st), 0) << d;
        EXPECT_EQ(st.st_mode & 07777, 0755u) << d;
        EXPECT_EQ(st.st_uid, 0u) << d;
        EXPECT_EQ(st.st_gid, 0u) << d;
    }
    struct stat d {};
    ASSERT_EQ(::stat((dir_ + "/a/d").c_str(), &d), 0);
    EXPECT_EQ(d.st_mode & 07777, 0700u);
    // The fd is an O_PATH fd of the final directory.
    struct stat by_fd {
    }, by_path{};
    ASSERT_EQ(::fstat(fd->get(), &by_fd), 0);
    ASSERT_EQ(::stat((dir_ + "/a/b/c").c_str(), &by_path), 0);
    EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
    EXPECT_NE(::fcntl(fd->get(), F_GETFL) & O_PATH, 0);
    // Existing trusted directories are fine.
    auto again = sys::make_trusted_dirs(dir_ + "/a/b/c", 0700);
    EXPECT_TRUE(again.ok()) << again.error().message();
}

TEST_F(TrustedPathTest, MakeRefusesSymlinkOnTheWayAndCreatesNothingBeyond) {
    mkdir("real", 0755);
    ASSERT_EQ(::symlink("real", (dir_ + "/link").c_str()), 0);
    auto fd = sys::make_trusted_dirs(dir_ + "/link/x/y", 0755);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().code, ELOOP);
    EXPECT_TRUE(has(fd.error().message(), "'" + dir_ + "/link'")) << fd.error().message();
    EXPECT_FALSE(exists(dir_ + "/real/x"));
}

TEST_F(TrustedPathTest, MakeRefusesUntrustedDirectoriesAndModes) {
    std::string open = mkdir("open", 0777);
    auto fd = sys::make_trusted_dirs(open + "/x", 0755);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().code, EPERM);
    EXPECT_TRUE(has(fd.error().message(), "'" + open + "'")) << fd.error().message();
    EXPECT_FALSE(exists(open + "/x"));
    for (mode_t bad : {0777, 0775, 010755}) {
        auto r = sys::make_trusted_dirs(dir_ + "/m", bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_TRUE(has(r.error().message(), dir_ + "/m")) << r.error().message();
    }
    EXPECT_FALSE(exists(dir_ + "/m"));
}

}  // namespace
}  // namespace pn_unit
