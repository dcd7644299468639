// The layer store of lib/fs against the real kernel: a real image, loop device and ext4
// mount in a private directory under /tmp. Every test ends by checking that no mount
// and no loop device bound to its image is left behind.
#include "lib/fs/store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace fs = personalnet::fs;
namespace sys = personalnet::sys;

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// Loop devices whose backing file is path or lies below it.
std::vector<std::string> loops_under(const std::string& path) {
    std::vector<std::string> out;
    auto names = sys::list_dir("/sys/block");
    if (!names.ok()) return out;
    for (const auto& n : names.value()) {
        auto f = sys::read_file("/sys/block/" + n + "/loop/backing_file");
        if (f.ok() && f->compare(0, path.size(), path) == 0) out.push_back(n + " -> " + f.value());
    }
    return out;
}

// Mount points that are path or lie below it (field 5 of mountinfo), in mount order.
std::vector<std::string> mount_points_under(const std::string& path) {
    std::istringstream lines(sys::read_file("/proc/self/mountinfo").value());
    std::vector<std::string> out;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        if ((fields >> id >> parent >> devno >> root >> point) && point.compare(0, path.size(), path) == 0)
            out.push_back(point);
    }
    return out;
}

size_t mounts_under(const std::string& path) { return mount_points_under(path).size(); }

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop devices, mount)";
        if (!exists("/dev/loop-control") || !exists("/usr/sbin/mkfs.ext4"))
            GTEST_SKIP() << "needs /dev/loop-control and /usr/sbin/mkfs.ext4";
        char tmpl[] = "/tmp/pnstore-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        spec_.image = dir_ + "/layers.ext4";
        spec_.mountpoint = dir_ + "/mnt";
        ASSERT_EQ(::mkdir(spec_.mountpoint.c_str(), 0755), 0);
    }
    void TearDown() override {
        if (dir_.empty()) return;
        // Whatever a failed test left mounted goes first, so that rm cannot reach into it.
        auto leaked = mount_points_under(dir_);
        EXPECT_TRUE(leaked.empty()) << "mounts leaked: " << join(leaked);
        for (auto it = leaked.rbegin(); it != leaked.rend(); ++it) (void)::umount2(it->c_str(), MNT_DETACH);
        EXPECT_TRUE(loops_gone()) << "loop devices leaked: " << join(loops_under(dir_));
        EXPECT_TRUE(run({"/bin/rm", "-rf", "--one-file-system", dir_}).empty());
    }
    // The loop device of an unmounted store clears itself; allow the kernel a moment.
    bool loops_gone() {
        for (int i = 0; i < 200; ++i) {
            if (loops_under(dir_).empty()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    void expect_refused(const fs::StoreSpec& spec, std::vector<int> codes, const std::string& why) {
        auto st = fs::mount_store(spec);
        ASSERT_FALSE(st.ok());
        EXPECT_NE(std::find(codes.begin(), codes.end(), st.error().code), codes.end())
            << st.error().message();
        EXPECT_TRUE(has(st.error().message(), spec.image)) << st.error().message();
        EXPECT_TRUE(has(st.error().message(), why)) << st.error().message();
        EXPECT_EQ(mounts_under(dir_), 0u);
        EXPECT_TRUE(loops_under(dir_).empty());
    }
    std::string dir_;
    fs::StoreSpec spec_;
};

TEST_F(StoreTest, CreatesASparseImageAndMountsIt) {
    EXPECT_FALSE(fs::store_mounted(spec_));
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_TRUE(fs::store_mounted(spec_));
    struct statfs sfs {};
    ASSERT_EQ(::statfs(spec_.mountpoint.c_str(), &sfs), 0);
    EXPECT_EQ(sfs.f_type, EXT4_SUPER_MAGIC);
    struct statvfs svfs {};
    ASSERT_EQ(::statvfs(spec_.mountpoint.c_str(), &svfs), 0);
    EXPECT_EQ(svfs.f_flag & (ST_NOSUID | ST_NODEV | ST_NOATIME), ST_NOSUID | ST_NODEV | ST_NOATIME);
    EXPECT_EQ(loops_under(spec_.image).size(), 1u);
    struct stat img {};
    ASSERT_EQ(::stat(spec_.image.c_str(), &img), 0);
    EXPECT_TRUE(S_ISREG(img.st_mode));
    EXPECT_EQ(img.st_mode & 07777, 0600u);
    EXPECT_EQ(img.st_uid, 0u);
    EXPECT_EQ(static_cast<uint64_t>(img.st_size), spec_.size_bytes);
    EXPECT_LT(static_cast<uint64_t>(img.st_blocks) * 512, 64ULL << 20) << "the image is sparse";

    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    EXPECT_FALSE(fs::store_mounted(spec_));
    EXPECT_TRUE(loops_gone()) << "the loop device clears itself";
    EXPECT_TRUE(fs::unmount_store(spec_.mountpoint).ok()) << "not mounted is not an error";
}

TEST_F(StoreTest, FilesSurviveUnmountAndRemount) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    ASSERT_TRUE(sys::write_atomic(spec_.mountpoint + "/kept", "layer data").ok());
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    EXPECT_FALSE(exists(spec_.mountpoint + "/kept"));
    ASSERT_TRUE(loops_gone());
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    auto text = sys::read_file(spec_.mountpoint + "/kept");
    ASSERT_TRUE(text.ok()) << text.error().message();
    EXPECT_EQ(text.value(), "layer data");
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

TEST_F(StoreTest, SecondMountIsANoOp) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(mounts_under(spec_.mountpoint), 1u);
    EXPECT_EQ(loops_under(spec_.image).size(), 1u);
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

TEST_F(StoreTest, StoreMountedTellsWhichStoreIsWhere) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    fs::StoreSpec other = spec_;
    other.image = dir_ + "/other.ext4";
    EXPECT_FALSE(fs::store_mounted(other)) << "another image";
    other = spec_;
    other.mountpoint = dir_ + "/elsewhere";
    ASSERT_EQ(::mkdir(other.mountpoint.c_str(), 0755), 0);
    EXPECT_FALSE(fs::store_mounted(other)) << "another mountpoint";
    // Not the store, but something else on the mountpoint: refused, not stacked.
    ASSERT_EQ(::mount("tmpfs", other.mountpoint.c_str(), "tmpfs", 0, nullptr), 0);
    EXPECT_FALSE(fs::store_mounted(other));
    auto st = fs::mount_store(other);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EBUSY) << st.error().message();
    EXPECT_EQ(mounts_under(other.mountpoint), 1u);
    ASSERT_TRUE(fs::unmount_store(other.mountpoint).ok());
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    EXPECT_FALSE(fs::store_mounted(spec_));
}

// A child in a mount namespace of its own (private, so that our unmount does not reach
// it) keeps a copy of the store's mount until released.
class NamespaceHolder {
public:
    NamespaceHolder() {
        int ready[2], release[2];
        if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(release, O_CLOEXEC) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(release[1]);  // else the child would hold the write end it waits on
            char c = ::unshare(CLONE_NEWNS) == 0 &&
                             ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0
                         ? '1'
                         : '0';
            (void)!::write(ready[1], &c, 1);
            (void)!::read(release[0], &c, 1);
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(release[0]);
        release_ = release[1];
        char c = 0;
        ok_ = pid_ > 0 && ::read(ready[0], &c, 1) == 1 && c == '1';
        ::close(ready[0]);
    }
    ~NamespaceHolder() { release(); }
    bool ok() const { return ok_; }
    void release() {
        if (release_ >= 0) ::close(release_);
        release_ = -1;
        if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int release_ = -1;
    bool ok_ = false;
};

// Mounting again while another namespace still holds the detached store must not bind
// a second loop device to the image: two ext4 instances on one image corrupt it.
TEST_F(StoreTest, RemountReusesTheLoopDeviceAnotherNamespaceHolds) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    ASSERT_TRUE(sys::write_atomic(spec_.mountpoint + "/kept", "shared").ok());
    NamespaceHolder holder;
    ASSERT_TRUE(holder.ok());
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    EXPECT_FALSE(fs::store_mounted(spec_));
    auto held = loops_under(spec_.image);
    ASSERT_EQ(held.size(), 1u) << "the other namespace keeps the loop device";
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_TRUE(fs::store_mounted(spec_));
    EXPECT_EQ(loops_under(spec_.image), held) << "the same loop device, not a second";
    EXPECT_EQ(sys::read_file(spec_.mountpoint + "/kept").value(), "shared");
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    holder.release();
    EXPECT_TRUE(loops_gone()) << "freed with its last user";
}

TEST_F(StoreTest, RefusesASymlinkInPlaceOfTheImageWithoutFollowingIt) {
    std::string target = dir_ + "/target";
    ASSERT_TRUE(sys::write_atomic(target, "precious").ok());
    ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
    ASSERT_EQ(::symlink(target.c_str(), spec_.image.c_str()), 0);
    expect_refused(spec_, {ELOOP, EPERM}, "");
    EXPECT_EQ(sys::read_file(target).value(), "precious");
    // A dangling one is not followed to create the target either.
    ASSERT_EQ(::unlink(target.c_str()), 0);
    expect_refused(spec_, {ELOOP, EPERM}, "");
    EXPECT_FALSE(exists(target));
}

TEST_F(StoreTest, RefusesAnImageOfAnotherOwner) {
    ASSERT_TRUE(sys::write_atomic(spec_.image, "").ok());
    ASSERT_EQ(::chmod(spec_.image.c_str(), 0600), 0);
    ASSERT_EQ(::chown(spec_.image.c_str(), 65534, 65534), 0);
    expect_refused(spec_, {EPERM}, "owned by uid 65534");
}

TEST_F(StoreTest, RefusesAnImageOthersCanWrite) {
    ASSERT_TRUE(sys::write_atomic(spec_.image, "").ok());
    ASSERT_EQ(::chmod(spec_.image.c_str(), 0666), 0);
    expect_refused(spec_, {EPERM}, "writable");
}

TEST_F(StoreTest, RefusesAnImageDirectoryOthersCanWrite) {
    std::string open = dir_ + "/open";
    ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
    fs::StoreSpec spec = spec_;
    spec.image = open + "/layers.ext4";
    expect_refused(spec, {EPERM}, "'" + open + "' is writable by others");
    EXPECT_FALSE(exists(spec.image));
}

TEST_F(StoreTest, FailedMkfsLeavesNoImage) {
    spec_.size_bytes = 0;
    auto st = fs::mount_store(spec_);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EIO);
    EXPECT_TRUE(has(st.error().message(), spec_.image)) << st.error().message();
    EXPECT_TRUE(has(st.error().message(), "mkfs.ext4 failed (exit status 1): mkfs.ext4: Device size"))
        << st.error().message();
    EXPECT_FALSE(exists(spec_.image));
    auto names = sys::list_dir(dir_);
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(names.value(), std::vector<std::string>{"mnt"}) << "nothing else was left behind";
}

// Bytes a file takes on disk.
uint64_t allocated(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Appends up to mib MiB of zeros to path (as root); the errno that stopped it, 0 if all
// was written and synced.
int write_mib(const std::string& path, int mib) {
    personalnet::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!fd.valid()) return errno;
    std::string block(1 << 20, '\0');
    for (int i = 0; i < mib; ++i)
        if (::write(fd.get(), block.data(), block.size()) != static_cast<ssize_t>(block.size())) return errno;
    return ::fsync(fd.get()) == 0 ? 0 : errno;
}

uint64_t fs_size(const std::string& image) {
    personalnet::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
    auto size = fs::image_fs_size(fd.get());
    return size.ok() ? size.value() : 0;
}

uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// An owner's image is as large as their limit, and what is written in it cannot pass it,
// root's writes included (the images have no reserved blocks, -m 0).
TEST_F(StoreTest, AnImageHoldsNoMoreThanItsSize) {
    spec_.size_bytes = 32ULL << 20;
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    EXPECT_EQ(file_size(spec_.image), 32ULL << 20);
    EXPECT_EQ(fs_size(spec_.image), 32ULL << 20);
    struct statfs sfs {};
    ASSERT_EQ(::statfs(spec_.mountpoint.c_str(), &sfs), 0);
    EXPECT_EQ(sfs.f_bsize, 4096) << "a small image has the default type's blocks";
    EXPECT_EQ(write_mib(spec_.mountpoint + "/big", 64), ENOSPC);
    ::sync();
    EXPECT_LE(allocated(spec_.image), 32ULL << 20);
    EXPECT_GE(file_size(spec_.mountpoint + "/big"), 24ULL << 20) << "most of it is usable";
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

// A larger size grows the image at its next cold mount, keeping its files; a mounted
// one is left as it is, and a smaller size never shrinks it.
TEST_F(StoreTest, ALargerSizeGrowsTheImageAtItsNextColdMount) {
    spec_.size_bytes = 32ULL << 20;
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    ASSERT_TRUE(sys::write_atomic(spec_.mountpoint + "/kept", "layer data").ok());
    spec_.size_bytes = 96ULL << 20;
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    EXPECT_EQ(fs_size(spec_.image), 32ULL << 20) << "not while mounted";
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    ASSERT_TRUE(loops_gone());
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(file_size(spec_.image), 96ULL << 20);
    EXPECT_EQ(fs_size(spec_.image), 96ULL << 20);
    auto kept = sys::read_file(spec_.mountpoint + "/kept");
    EXPECT_TRUE(kept.ok() && kept.value() == "layer data");
    EXPECT_EQ(write_mib(spec_.mountpoint + "/big", 64), 0) << "64 MiB fit now";
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    ASSERT_TRUE(loops_gone());
    spec_.size_bytes = 32ULL << 20;
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    EXPECT_EQ(fs_size(spec_.image), 96ULL << 20) << "never shrunk";
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

// A growth that stopped after the file was extended is done at the next cold mount:
// the file system's own size decides, not the file's.
TEST_F(StoreTest, AnExtendedButUngrownImageIsGrown) {
    spec_.size_bytes = 32ULL << 20;
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    ASSERT_TRUE(loops_gone());
    ASSERT_EQ(::truncate(spec_.image.c_str(), 64LL << 20), 0);
    spec_.size_bytes = 64ULL << 20;
    auto st = fs::mount_store(spec_);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(fs_size(spec_.image), 64ULL << 20);
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

TEST_F(StoreTest, AMissingImageIsNotMadeWhenNotAskedTo) {
    spec_.create = false;
    auto st = fs::mount_store(spec_);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ENOENT);
    EXPECT_TRUE(has(st.error().message(), spec_.image)) << st.error().message();
    EXPECT_FALSE(exists(spec_.image));
}

TEST_F(StoreTest, RemoveImageOnlyWhenUnmounted) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    auto busy = fs::remove_image(spec_);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, EBUSY);
    EXPECT_TRUE(exists(spec_.image));
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
    auto st = fs::remove_image(spec_);
    EXPECT_TRUE(st.ok()) << st.error().message();
    EXPECT_FALSE(exists(spec_.image));
    EXPECT_TRUE(fs::remove_image(spec_).ok()) << "a missing image is not an error";
}

TEST_F(StoreTest, TrimGivesTheBlocksOfRemovedFilesBack) {
    ASSERT_TRUE(fs::mount_store(spec_).ok());
    ::sync();
    uint64_t before = allocated(spec_.image);
    std::string file = spec_.mountpoint + "/big";
    ASSERT_EQ(write_mib(file, 64), 0);
    ::sync();
    uint64_t full = allocated(spec_.image);
    EXPECT_GE(full, before + (60ULL << 20)) << "64 MiB written";
    ASSERT_EQ(::unlink(file.c_str()), 0);
    auto st = fs::trim_store(spec_.mountpoint);
    ASSERT_TRUE(st.ok()) << st.error().message();
    uint64_t after = allocated(spec_.image);
    EXPECT_LE(after, before + (2ULL << 20))
        << "before " << before << ", full " << full << ", after " << after;
    ASSERT_TRUE(fs::unmount_store(spec_.mountpoint).ok());
}

}  // namespace
}  // namespace pn_unit
