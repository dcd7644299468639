// The argument checks of the programs the library runs as root (tools/libexec_args.hpp):
// what they take, and that anything else is refused rather than guessed at.
#include "tools/libexec_args.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "lib/core/fd.hpp"

namespace pn = personalnet;

TEST(LibexecArgs, LabelIsFourLowerCaseHexDigitsAndNotZero) {
    EXPECT_EQ(pn::cli::label_arg("d000"), 0xd000);
    EXPECT_EQ(pn::cli::label_arg("0001"), 1);
    for (const char* bad : {"0000", "D000", "d00", "d0000", "", "-001", "+001", "0x01", "d00g", " d00"})
        EXPECT_FALSE(pn::cli::label_arg(bad)) << "'" << bad << "'";
}

TEST(LibexecArgs, NamespaceFdIsAnOpenNsfsDescriptorOrDash) {
    EXPECT_EQ(pn::cli::namespace_fd_arg("-"), -1);
    pn::UniqueFd ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(ns.valid());
    EXPECT_EQ(pn::cli::namespace_fd_arg(std::to_string(ns.get())), ns.get());
    pn::UniqueFd file(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.valid());
    EXPECT_FALSE(pn::cli::namespace_fd_arg(std::to_string(file.get()))) << "not a namespace";
    const int closed = ::dup(file.get());
    ::close(closed);
    EXPECT_FALSE(pn::cli::namespace_fd_arg(std::to_string(closed))) << "not open";
    for (const char* bad : {"", "--", "0", "1", "2", "x", "3x", "-3"})
        EXPECT_FALSE(pn::cli::namespace_fd_arg(bad)) << "'" << bad << "'";
}
