// The overlay root of lib/fs against the real kernel: each body enters the overlay in a
// forked child (its mount namespace and root change for good), and the test checks
// from outside that nothing of it reached the host.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/fs/mount_table.hpp"
#include "lib/fs/overlay_root.hpp"
#include "lib/fs/run_view.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace fs = personalnet::fs;
namespace sys = personalnet::sys;

std::string slurp(const std::string& path) {
    auto r = sys::read_file(path);
    return r.ok() ? r.value() : "<" + r.error().message() + ">";
}

bool put(const std::string& path, const std::string& text) { return sys::write_atomic(path, text).ok(); }

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

class OverlayRootTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces, overlayfs)";
        char tmpl[] = "/tmp/pnfs-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        // The run directory as the registry lays it out (ns/ for pins, fs/ for stores).
        for (const char* d : {"/run/ns", "/run/fs", "/data"})
            ASSERT_TRUE(sys::make_dirs(dir_ + d, 0755).ok());
    }
    void TearDown() override {
        if (dir_.empty()) return;
        auto mi = slurp("/proc/self/mountinfo");
        EXPECT_EQ(mi.find(dir_), std::string::npos) << "a mount leaked into the test's namespace";
        EXPECT_TRUE(run({"/bin/rm", "-rf", dir_}).empty());
    }
    // Layer directories for level i (1 = the file space itself).
    fs::RootLayers layers(int own, int parents) {
        fs::RootLayers l;
        l.layer = layer(own);
        l.rundir = dir_ + "/run";
        for (int i = parents; i >= 1; --i) l.parents.push_back(layer(i));
        for (const char* d : {"/upper", "/work", "/root"})
            EXPECT_TRUE(sys::make_dirs(l.layer + d, 0755).ok());
        return l;
    }
    std::string layer(int i) const { return dir_ + "/layer" + std::to_string(i); }
    std::string upper(const fs::RootLayers& l) const { return l.layer + "/upper"; }
    std::string dir_;
};

TEST_F(OverlayRootTest, WritesCreatesAndDeletesStayInTheUpperLayer) {
    const std::string data = dir_ + "/data";
    ASSERT_TRUE(put(data + "/host.txt", "host"));
    ASSERT_TRUE(put(data + "/doomed.txt", "doomed"));
    fs::RootLayers l = layers(1, 0);
    std::string verdict = in_child([&]() -> std::string {
        CHECK_OK(fs::enter_overlay_root(l));
        char cwd[PATH_MAX];
        CHECK_THAT(::getcwd(cwd, sizeof cwd) != nullptr && std::string(cwd) == "/",
                   "the working directory is the union's root (never a path followed by root)");
        CHECK_THAT(::chdir(data.c_str()) == 0, "chdir");
        CHECK_THAT(slurp("host.txt") == "host", "the host's files show through");
        CHECK_THAT(put("host.txt", "mine") && slurp("host.txt") == "mine", "a write is read back inside");
        CHECK_THAT(put("new.txt", "new"), "create inside");
        CHECK_THAT(::unlink("doomed.txt") == 0 && !exists("doomed.txt"), "delete inside");
        CHECK_THAT(::chmod("host.txt", 0600) == 0, "chmod inside");
        CHECK_THAT(slurp("/proc/self/comm").size() > 1, "/proc works: " + slurp("/proc/self/comm"));
        CHECK_THAT(exists("/sys/class/net/lo"), "/sys works");
        int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        CHECK_THAT(null >= 0 && ::write(null, "x", 1) == 1, "/dev/null works");
        ::close(null);
        CHECK_THAT(exists("/dev/pts/ptmx"), "/dev/pts comes with /dev");
        return "";
    });
    EXPECT_EQ(verdict, "");
    EXPECT_EQ(slurp(data + "/host.txt"), "host") << "the host's file is unchanged";
    EXPECT_FALSE(exists(data + "/new.txt")) << "a file created inside is not on the host";
    EXPECT_TRUE(exists(data + "/doomed.txt")) << "a file deleted inside stays on the host";
    struct stat st {};
    ASSERT_EQ(::stat((data + "/host.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u) << "chmod inside does not reach the host";
    // What the file space changed is in its upper directory, and only there.
    EXPECT_EQ(slurp(upper(l) + data + "/host.txt"), "mine");
    EXPECT_EQ(slurp(upper(l) + data + "/new.txt"), "new");
    ASSERT_EQ(::lstat((upper(l) + data + "/doomed.txt").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "a delete is a whiteout";
    EXPECT_TRUE(sys::list_dir(l.layer + "/root")->empty()) << "the staging directory stays empty outside";
}

// Eight ancestors' layers stacked flat under a ninth: every ancestor's files are seen,
// the nearest copy wins, and a whiteout in a middle layer hides what is below it. The
// ancestors' layers live on a tmpfs of the child's own (see overlay_root.hpp).
TEST_F(OverlayRootTest, AncestorLayersStackFlatNineDeep) {
    const std::string data = dir_ + "/data";
    ASSERT_TRUE(put(data + "/who", "host"));
    ASSERT_TRUE(put(data + "/gone", "host"));
    std::string verdict = in_child([&]() -> std::string {
        CHECK_THAT(::unshare(CLONE_NEWNS) == 0, "unshare");
        CHECK_RUN("/bin/mount", "--make-rprivate", "/");
        CHECK_THAT(sys::make_dirs(dir_ + "/layers", 0755).ok(), "mkdir");
        CHECK_RUN("/bin/mount", "-t", "tmpfs", "layers", dir_ + "/layers");
        auto up = [&](int i) { return dir_ + "/layers/" + std::to_string(i) + "/upper"; };
        for (int i = 1; i <= 8; ++i) {
            CHECK_THAT(sys::make_dirs(up(i) + data, 0755).ok(), "mkdir layer");
            CHECK_THAT(put(up(i) + data + "/f" + std::to_string(i), std::to_string(i)), "fill layer");
            if (i != 6) CHECK_THAT(put(up(i) + data + "/who", std::to_string(i)), "fill layer");
        }
        CHECK_THAT(::mknod((up(4) + data + "/gone").c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0, "whiteout");
        fs::RootLayers l;
        l.layer = dir_ + "/layers/9";
        l.rundir = dir_ + "/run";
        for (int i = 8; i >= 1; --i) l.parents.push_back(dir_ + "/layers/" + std::to_string(i));
        for (const char* d : {"/upper", "/work", "/root"})
            CHECK_THAT(sys::make_dirs(l.layer + d, 0755).ok(), "mkdir own layer");

        CHECK_OK(fs::enter_overlay_root(l));
        for (int i = 1; i <= 8; ++i)
            CHECK_THAT(slurp(data + "/f" + std::to_string(i)) == std::to_string(i),
                       "layer " + std::to_string(i));
        CHECK_THAT(slurp(data + "/who") == "8", "the nearest layer wins: " + slurp(data + "/who"));
        CHECK_THAT(!exists(data + "/gone"), "a whiteout in an ancestor hides the host's file");
        CHECK_THAT(put(data + "/who", "9") && slurp(data + "/who") == "9", "writes land in the own layer");
        CHECK_THAT(slurp(up(8) + data + "/who") == "8", "an ancestor's layer is never written");
        CHECK_THAT(slurp(up(9) + data + "/who") == "9", "the write is in the own upper layer");
        return "";
    });
    EXPECT_EQ(verdict, "");
    EXPECT_EQ(slurp(data + "/who"), "host");
}

TEST_F(OverlayRootTest, ParentLayersOnTheBaseFileSystemAreRefusedUpFront) {
    fs::RootLayers l = layers(2, 1);
    ASSERT_TRUE(sys::make_dirs(l.parents[0] + "/upper", 0755).ok());
    std::string verdict = in_child([&]() -> std::string {
        char before[64] = {}, after[64] = {};
        CHECK_THAT(::readlink("/proc/self/ns/mnt", before, sizeof before - 1) > 0, "readlink");
        auto st = fs::enter_overlay_root(l);
        CHECK_THAT(!st.ok() && st.error().code == EXDEV, "want EXDEV, got " + st.error().message());
        CHECK_THAT(st.error().message().find(l.parents[0]) != std::string::npos, st.error().message());
        CHECK_THAT(::readlink("/proc/self/ns/mnt", after, sizeof after - 1) > 0, "readlink");
        CHECK_THAT(std::string(before) == after, "nothing changed: still in the same mount namespace");
        return "";
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(OverlayRootTest, MountsMadeInsideStayInside) {
    const std::string mnt = dir_ + "/data";
    fs::RootLayers l = layers(1, 0);
    std::string verdict = in_child([&]() -> std::string {
        CHECK_OK(fs::enter_overlay_root(l));
        CHECK_RUN("/bin/mount", "-t", "tmpfs", "tmpfs", mnt);
        CHECK_THAT(slurp("/proc/self/mountinfo").find(mnt) != std::string::npos, "mounted inside");
        return "";
    });
    EXPECT_EQ(verdict, "");
    // TearDown checks that neither the tmpfs nor the overlay shows up outside.
}

// Another file system mounted under / gets a union of its own: writes to it stay in the
// layer's mounts/ directory; the real root tree is not exposed inside; hidden directories
// are covered by an empty one.
TEST_F(OverlayRootTest, OtherFileSystemsAreCopiedOnWriteAndHiddenDirectoriesAreEmpty) {
    const std::string data = dir_ + "/data";
    fs::RootLayers l = layers(1, 0);
    ASSERT_TRUE(sys::make_dirs(dir_ + "/secret", 0755).ok());
    ASSERT_TRUE(put(dir_ + "/secret/socket", "s"));
    l.hidden = {dir_ + "/secret", dir_ + "/not-there"};
    std::string verdict = in_child([&]() -> std::string {
        CHECK_THAT(::unshare(CLONE_NEWNS) == 0, "unshare");
        CHECK_RUN("/bin/mount", "--make-rprivate", "/");
        CHECK_RUN("/bin/mount", "-t", "tmpfs", "pntest-data", data);
        CHECK_THAT(put(data + "/real", "real"), "fill the tmpfs");
        // The real tmpfs and the layer, held from outside the union.
        int real = ::open(data.c_str(), O_RDONLY | O_DIRECTORY);
        int mine = ::open(l.layer.c_str(), O_RDONLY | O_DIRECTORY);
        CHECK_THAT(real >= 0 && mine >= 0, "open the tmpfs and the layer");
        CHECK_OK(fs::enter_overlay_root(l));
        CHECK_THAT(slurp(data + "/real") == "real", "the tmpfs's files show through");
        CHECK_THAT(put(data + "/real", "mine") && slurp(data + "/real") == "mine", "write inside");
        auto at = [](int dir, const std::string& rel) {
            return slurp("/proc/self/fd/" + std::to_string(dir) + "/" + rel);
        };
        CHECK_THAT(at(real, "real") == "real", "the real tmpfs is untouched: " + at(real, "real"));
        CHECK_THAT(!exists(l.rundir + "/base"), "the real root is not exposed inside");
        CHECK_THAT(fs::is_run_view(l.rundir), "the run directory is a view without pins (ns/ covered)");
        CHECK_THAT(put(l.rundir + "/ns/pin", "x") == false, "no pin can be made in the view");
        CHECK_THAT(at(mine, "mounts/" + fs::mount_key(data) + "/upper/real") == "mine",
                   "the write is in the layer's own directory for that file system");
        CHECK_THAT(!exists(dir_ + "/secret/socket"), "a hidden directory shows nothing");
        CHECK_THAT(put(dir_ + "/secret/x", "x") == false, "a hidden directory is read-only");
        return "";
    });
    EXPECT_EQ(verdict, "");
    EXPECT_EQ(slurp(dir_ + "/secret/socket"), "s");
}

TEST(OverlayOptions, ListsLayersNearestFirstAndRefusesUnsafePaths) {
    fs::RootLayers l;
    l.layer = "/s/3";
    l.parents = {"/s/2", "/s/1"};
    auto opts = fs::overlay_options(l);
    ASSERT_TRUE(opts.ok()) << opts.error().message();
    EXPECT_EQ(opts.value(), "lowerdir=/s/2/upper:/s/1/upper:/,upperdir=/s/3/upper,workdir=/s/3/work");
    for (const char* bad : {"relative/upper", "/a:b", "/a,b", "/a\\b", "/a\nb", ""}) {
        fs::RootLayers b = l;
        b.layer = bad;
        auto r = fs::overlay_options(b);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_EQ(r.error().code, EINVAL) << bad;
        }
    }
    fs::RootLayers huge = l;
    huge.parents.assign(200, "/a/rather/long/path/to/an/ancestor/file/space/layer");
    fs::RootLayers bad_parent = l;
    bad_parent.parents.push_back("/x:y");
    EXPECT_FALSE(fs::overlay_options(bad_parent).ok()) << "a parent layer holding ':'";
    EXPECT_FALSE(fs::overlay_options(huge).ok()) << "more than one page of options";
}

// Users' own FUSE mounts (fusermount writes user_id=UID) are told apart from root's: file
// spaces leave them out, whatever their mount point is called.
TEST(MountTable, TellsUsersFuseMountsFromRoots) {
    auto t = fs::parse_mountinfo(
        "30 1 0:27 / /home/a/p:/root rw - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=1000,group_id=1000\n"
        "31 1 0:28 / /srv/sshfs rw - fuse.sshfs h:/ rw,user_id=0,group_id=0\n"
        "32 1 0:29 / /home/a/q,lowerdir=/root rw - fuse /dev/fuse rw,user_id=1001\n"
        "33 1 0:30 / /data rw - ext4 /dev/sda rw\n");
    ASSERT_EQ(t.size(), 4U);
    EXPECT_TRUE(t[0].user_mount) << t[0].point;
    EXPECT_FALSE(t[1].user_mount) << "root's FUSE mount";
    EXPECT_TRUE(t[2].user_mount) << t[2].point;
    EXPECT_FALSE(t[3].user_mount);
}

}  // namespace
}  // namespace pn_unit
