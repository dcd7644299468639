// Test main: runs GoogleTest and prints a machine-readable tally for tests/run-tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    // The programs the library runs as root (pnreaper, pnkeeper; Context::libexecdir) are the
    // build's under test, not an installed copy: for the library in this process and for
    // the tools it starts, which inherit the variable.
    if (std::getenv("PERSONALNET_LIBEXECDIR") == nullptr) {
        const char* b = std::getenv("BUILD");
        std::string dir = b != nullptr && *b != '\0' ? b : "build";
        char cwd[4096];
        if (dir[0] != '/' && ::getcwd(cwd, sizeof cwd) != nullptr) dir = std::string(cwd) + "/" + dir;
        ::setenv("PERSONALNET_LIBEXECDIR", (dir + "/libexec").c_str(), 1);
    }
    ::testing::InitGoogleTest(&argc, argv);
    int rc = RUN_ALL_TESTS();
    const auto* u = ::testing::UnitTest::GetInstance();
    std::printf("PN-TALLY passed=%d failed=%d skipped=%d\n", u->successful_test_count(),
                u->failed_test_count(), u->skipped_test_count());
    return rc;
}
