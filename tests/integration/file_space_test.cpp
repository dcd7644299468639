// File spaces (issue 3, in progress; opt-in with --file-space=overlay for now): the
// command sees the parent's files, its writes stay inside, named spaces keep them, and
// nested file spaces stack flat. Data lives next to host A's run directory.
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

class FileSpaceTest : public SpaceTest {
protected:
    void SetUp() override {
        SpaceTest::SetUp();
        data_ = A().rundir().substr(0, A().rundir().rfind('/')) + "/data";
        ASSERT_TRUE(personalnet::sys::make_dirs(data_, 0755).ok());
        ASSERT_TRUE(write("f", "host"));
        ASSERT_TRUE(write("doomed", "host"));
    }
    bool write(const std::string& name, const std::string& text) {
        return personalnet::sys::write_atomic(data_ + "/" + name, text).ok();
    }
    std::string read(const std::string& name) {
        auto r = personalnet::sys::read_file(data_ + "/" + name);
        return r.ok() ? r.value() : "<absent>";
    }
    std::string data_;
};

TEST_F(FileSpaceTest, WritesStayInsideAndTheHostIsUnchanged) {
    auto r = mk({"--file-space=overlay", "--", "sh", "-c",
                 "cd " + data_ +
                     " && cat f && echo && echo mine > f && cat f && echo new > g && rm doomed && "
                     "ls && test -c /dev/null && test -r /proc/self/status && readlink /proc/self/ns/mnt"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "host\nmine\nf\ng\nmnt:[")) << r.out;
    char own[64] = {};
    ASSERT_GT(::readlink("/proc/self/ns/mnt", own, sizeof own - 1), 0);
    EXPECT_FALSE(contains(r.out, own)) << "the command runs in a mount namespace of its own";
    EXPECT_EQ(read("f"), "host");
    EXPECT_EQ(read("g"), "<absent>");
    EXPECT_EQ(read("doomed"), "host");
}

TEST_F(FileSpaceTest, WorkingDirectoryAndMountsArePrivate) {
    auto r = mk({"--file-space=overlay", "--", "sh", "-c",
                 "pwd && mkdir -p " + data_ + "/m && mount -t tmpfs none " + data_ + "/m && grep -c " +
                     data_ + "/m /proc/self/mountinfo"});
    ASSERT_EQ(r.rc, 0) << r.err;
    char cwd[4096] = {};
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    EXPECT_TRUE(contains(r.out, std::string(cwd) + "\n1\n")) << r.out;
    // The fixture's leak check compares the mounts under the test's directory.
}

TEST_F(FileSpaceTest, NamedSpaceKeepsItsChangesUntilDestroyed) {
    ASSERT_EQ(
        mk({"--name", "fsn", "--file-space=overlay", "--", "sh", "-c", "echo kept > " + data_ + "/f"}).rc, 0);
    EXPECT_EQ(read("f"), "host");
    auto again = mk({"--name", "fsn", "--", "cat", data_ + "/f"});
    EXPECT_EQ(again.out, "kept\n") << again.err;
    auto exec = pnet({"exec", "fsn", "--", "cat", data_ + "/f"});
    EXPECT_EQ(exec.out, "kept\n") << exec.err;
    ASSERT_EQ(mk({"--name", "fsn", "--", "sh", "-c",
                  "cd " + data_ + " && echo n > g && mkdir d && echo x > d/y && rm doomed"})
                  .rc,
              0);
    auto diff = pnet({"diff", "fsn"});
    EXPECT_EQ(diff.rc, 0) << diff.err;
    EXPECT_EQ(diff.out, "A " + data_ + "/d\nA " + data_ + "/d/y\nD " + data_ + "/doomed\nM " + data_ +
                            "/f\nA " + data_ + "/g\n");
    auto show = pnet({"show", "fsn", "--json"});
    EXPECT_TRUE(contains(show.out, "\"file_space\":true")) << show.out;
    EXPECT_EQ(pnet({"destroy", "fsn"}).rc, 0);
    EXPECT_EQ(read("f"), "host");
    EXPECT_EQ(A().snapshot(), baseline_);
}

// Eight file spaces, each inside the previous: each level writes its own file and
// overwrites "who"; the innermost sees every level's file and the nearest "who".
TEST_F(FileSpaceTest, NestedFileSpacesStackFlatToDepthEight) {
    std::string inner = "cat " + data_ + "/who; for i in 1 2 3 4 5 6 7 8; do cat " + data_ + "/l$i; done";
    std::vector<std::string> argv;
    for (int i = 1; i <= 8; ++i) {
        argv.insert(argv.end(), {bin("mkportspace"), "-q", "--file-space=overlay", "--", "sh", "-c"});
        std::string step = "echo " + std::to_string(i) + " > " + data_ + "/who && echo " + std::to_string(i) +
                           " > " + data_ + "/l" + std::to_string(i) + " && exec \"$0\" \"$@\"";
        argv.push_back(step);
    }
    argv.insert(argv.end(), {"sh", "-c", inner});
    auto r = A().run(argv, 60000);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "8\n1\n2\n3\n4\n5\n6\n7\n8\n");
    EXPECT_EQ(read("who"), "<absent>");
    EXPECT_EQ(read("l1"), "<absent>");
}

TEST_F(FileSpaceTest, SharedDirectoriesAreLiveAndPrivateTmpIsEmpty) {
    auto shared =
        mk({"--file-space=overlay", "--share", data_, "--", "sh", "-c", "echo through > " + data_ + "/s"});
    ASSERT_EQ(shared.rc, 0) << shared.err;
    EXPECT_EQ(read("s"), "through\n") << "a write to a shared directory reaches the host";

    auto priv =
        mk({"--file-space=overlay", "--private-tmp", "--", "sh", "-c",
            "test ! -e " + data_ + "/f && touch /tmp/pn-private-marker && test -e /tmp/pn-private-marker"});
    EXPECT_EQ(priv.rc, 0) << priv.err << " (the host's /tmp must be hidden, the private one writable)";
    struct stat st {};
    EXPECT_NE(::stat("/tmp/pn-private-marker", &st), 0) << "a file in the private /tmp stays inside";

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--file-space=overlay", "--share", "relative/dir", "--", "true"},
             {"--file-space=overlay", "--share", data_ + "/nonexistent", "--", "true"},
             {"--file-space=overlay", "--share", data_ + "/../data", "--", "true"},
             {"--share", data_, "--", "true"},
             {"--private-tmp", "--", "true"}}) {
        auto r = mk(args);
        EXPECT_EQ(r.rc, 2) << args[1];
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_EQ(A().snapshot(), baseline_);
}

TEST_F(FileSpaceTest, BadFileSpaceModeIsRefused) {
    auto r = mk({"--file-space=bogus", "--", "true"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(contains(r.err, "bad file space 'bogus'")) << r.err;
    ASSERT_EQ(mk({"--name", "plain", "--", "true"}).rc, 0);
    auto diff = pnet({"diff", "plain"});
    EXPECT_EQ(diff.rc, 2) << "a space without a file space has nothing to diff";
    EXPECT_TRUE(contains(diff.err, "no file space")) << diff.err;
    EXPECT_EQ(pnet({"diff", "nosuch"}).rc, 2);
    EXPECT_EQ(pnet({"destroy", "plain"}).rc, 0);
    EXPECT_EQ(A().snapshot(), baseline_);
}

}  // namespace
}  // namespace pntest
