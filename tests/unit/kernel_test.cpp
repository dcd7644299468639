// The oldest kernel: the comparison of uname's release with the minimum.
#include "lib/core/kernel.hpp"

#include <gtest/gtest.h>

namespace personalnet::sys {
namespace {

TEST(KernelVersion, ComparesMajorThenMinor) {
    EXPECT_TRUE(kernel_at_least("5.10.0", 5, 10));
    EXPECT_TRUE(kernel_at_least("5.15.0-91-generic", 5, 10));
    EXPECT_TRUE(kernel_at_least("6.1.0-21-amd64", 5, 10));
    EXPECT_TRUE(kernel_at_least("6.0", 5, 10));
    EXPECT_TRUE(kernel_at_least("6.18.44-fc-v769", 6, 6));
    EXPECT_FALSE(kernel_at_least("5.9.16", 5, 10));
    EXPECT_FALSE(kernel_at_least("5.4.0-150-generic", 5, 10));
    EXPECT_FALSE(kernel_at_least("4.19.0-26-amd64", 5, 10));
    EXPECT_FALSE(kernel_at_least("5.1", 5, 10)) << "5.1 is older than 5.10: numbers, not text";
}

TEST(KernelVersion, AnUnreadableReleaseIsNotKnownToBeOlder) {
    EXPECT_TRUE(kernel_at_least("", 5, 10));
    EXPECT_TRUE(kernel_at_least("linux", 5, 10));
}

TEST(KernelVersion, ThisKernelIsSupported) { EXPECT_TRUE(require_supported_kernel().ok()); }

}  // namespace
}  // namespace personalnet::sys
