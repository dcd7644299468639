// Test main: runs GoogleTest and prints a machine-readable tally for tests/run-tests.
#include <gtest/gtest.h>

#include <cstdio>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    int rc = RUN_ALL_TESTS();
    const auto* u = ::testing::UnitTest::GetInstance();
    std::printf("PN-TALLY passed=%d failed=%d skipped=%d\n", u->successful_test_count(),
                u->failed_test_count(), u->skipped_test_count());
    return rc;
}
