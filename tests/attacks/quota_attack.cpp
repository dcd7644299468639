// Attacks on the layer store's space (issue 15, hole 13): one user must not fill the
// store for everyone, nor pass their limit (limits.max_layer_size), with either backend
// (fuse-overlayfs writes the upper layer as root); and what a destroyed space wrote must
// go back to the host.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

constexpr uint64_t kLimit = 32ULL << 20;
constexpr uint64_t kSlack = 1ULL << 20;  // what the host's file system allocates beyond the data
// What a destroy leaves allocated: blocks that were written and stay in use (the journal,
// 4 MiB in a 32 MiB image, is written lazily; directories).
constexpr uint64_t kKept = 6ULL << 20;

class QuotaAttack : public AttackTest, public ::testing::WithParamInterface<std::string> {
protected:
    std::string backend() const { return "--fs-backend=" + GetParam(); }
    std::string state() { return A().rundir().substr(0, A().rundir().rfind('/')) + "/state"; }
    std::string image_of(const char* user) {
        return state() + "/layers-" + std::to_string(uid_of(user)) + ".ext4";
    }
    // Bytes the image takes on the host's disk, once everything written is on it.
    static uint64_t allocated(const std::string& image) {
        ::sync();
        struct stat st {};
        if (::stat(image.c_str(), &st) != 0) return 0;
        return static_cast<uint64_t>(st.st_blocks) * 512;
    }
    static bool exists(const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0;
    }
    static std::string mib(uint64_t bytes) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
        return buf;
    }
};

// Alice, with a limit of 32 MiB, writes 128 MiB in a named space: the write must fail
// with ENOSPC, her image must take no more than the limit, Bob must still create a space
// and write in it while hers is full, and after destroy her image's blocks must be back.
TEST_P(QuotaAttack, OneUserFillsTheLayerStore) {
    write_policy("", 4, 6, "    max_layer_size = 32M\n");
    std::string ha = home(kAlice), hb = home(kBob);
    std::string image = image_of(kAlice);
    // A stored space keeps her image from here on.
    auto anchor = as(kAlice, {mkps(), "-q", "--name", "anchor", backend(), "--", "true"});
    ASSERT_EQ(anchor.rc, 0) << anchor.err;
    // Root's image (before hole 13 was closed: everyone's) is watched too.
    std::string shared = state() + "/layers.ext4";
    bool own = exists(image);
    uint64_t before = allocated(image), shared_before = allocated(shared);
    auto w = as(kAlice,
                {mkps(), "-q", "--name", "fill", backend(), "--", "dd", "if=/dev/zero", "of=" + ha + "/big",
                 "bs=1M", "count=128", "conv=fsync"},
                {}, 120000);
    uint64_t full = allocated(image), shared_full = allocated(shared);
    struct stat img {};
    bool sized = ::stat(image.c_str(), &img) == 0;
    // Meanwhile (her image full, her space stored): Bob writes 16 MiB in a space of his,
    // and Alice cannot reach his image from hers.
    auto b =
        as(kBob, {mkps(), "-q", backend(), "--", "sh", "-c",
                  "dd if=/dev/zero of=" + hb + "/b bs=1M count=16 conv=fsync status=none && echo WROTE"});
    auto reach = as(kAlice, {mkps(), "-q", backend(), "--", "sh", "-c",
                             "ls -l " + state() + "; echo x >> " + image_of(kBob) + " && echo REACHED"});
    auto destroyed = as(kAlice, {pnet_bin(), "destroy", "fill"});
    ASSERT_EQ(destroyed.rc, 0) << destroyed.err;
    uint64_t after = allocated(image), shared_after = allocated(shared);
    ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "anchor"}).rc, 0);
    std::printf(
        "image %s (%s, %s): %s with a stored space, %s after writing 128 MiB, %s after destroy; "
        "dd: rc %d, %s\n",
        image.c_str(), GetParam().c_str(), sized ? mib(static_cast<uint64_t>(img.st_size)).c_str() : "none",
        mib(before).c_str(), mib(full).c_str(), mib(after).c_str(), w.rc, w.err.c_str());
    std::printf("root's image %s: %s before, %s after alice wrote, %s after destroy\n", shared.c_str(),
                mib(shared_before).c_str(), mib(shared_full).c_str(), mib(shared_after).c_str());
    std::string evidence;
    if (!own) evidence += " alice has no image of her own;";
    if (!contains(w.err, "No space left on device")) evidence += " writing 128 MiB did not fail with ENOSPC;";
    if (!sized || static_cast<uint64_t>(img.st_size) > kLimit)
        evidence += " her image is not sized to her limit;";
    if (full > kLimit + kSlack)
        evidence += " her image takes " + mib(full) + " with a limit of " + mib(kLimit) + ";";
    if (!contains(b.out, "WROTE"))
        evidence += " bob could not write while alice's store was full: " + b.err + ";";
    if (contains(reach.out, "REACHED")) evidence += " alice wrote to bob's image;";
    if (after > before + kKept)
        evidence += " after destroy her image still takes " + mib(after - before) + " more than before;";
    verdict(std::string("one-user-fills-the-layer-store-") + GetParam(), evidence);
    ASSERT_EQ(as(kAlice, {pnet_bin(), "gc"}).rc, 0);  // her unnamed space's reaper, waited for
    EXPECT_FALSE(exists(image)) << "an image that holds no layer is removed";
}

// The policy's limit changes: a larger one grows Alice's image at its next cold mount
// (her store is unmounted once no space uses it), a smaller one leaves it as it is until
// the image goes with her last layer.
TEST_P(QuotaAttack, ALimitChangeAppliesAtTheNextColdMount) {
    std::string image = image_of(kAlice);
    auto size = [&] {
        struct stat st {};
        return ::stat(image.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    };
    write_policy("", 4, 6, "    max_layer_size = 32M\n");
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "keep", backend(), "--", "true"}).rc, 0);
    ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "--keep-files", "keep"}).rc, 0);
    EXPECT_EQ(size(), kLimit) << "kept with her stored layer";
    write_policy("", 4, 6, "    max_layer_size = 64M\n");
    auto grown =
        as(kAlice, {mkps(), "-q", backend(), "--", "sh", "-c",
                    "dd if=/dev/zero of=" + home(kAlice) + "/f bs=1M count=40 conv=fsync status=none"});
    EXPECT_EQ(grown.rc, 0) << "40 MiB fit in 64 MiB: " << grown.err;
    EXPECT_EQ(size(), 2 * kLimit) << "grown at the cold mount";
    write_policy("", 4, 6, "    max_layer_size = 32M\n");
    ASSERT_EQ(as(kAlice, {mkps(), "-q", backend(), "--", "true"}).rc, 0);
    EXPECT_EQ(size(), 2 * kLimit) << "never shrunk while it holds a layer";
    ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "keep"}).rc, 0);
    // Unnamed spaces are released by a reaper after their command: waited for.
    ASSERT_EQ(as(kAlice, {pnet_bin(), "gc"}).rc, 0);
    EXPECT_EQ(size(), 0u) << "gone with her last layer";
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "keep", backend(), "--", "true"}).rc, 0);
    EXPECT_EQ(size(), kLimit) << "made again at the smaller limit";
    ASSERT_EQ(as(kAlice, {pnet_bin(), "destroy", "keep"}).rc, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, QuotaAttack, ::testing::Values("kernel", "fuse"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pntest
