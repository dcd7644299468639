// The set-uid helper's capability tables (lib/server/privileges): checked by reading what
// the kernel reports for the process after dropping, in a forked child.
#include "lib/server/privileges.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/unit/kernel_helpers.hpp"

namespace {

namespace server = personalnet::server;
using pn_unit::in_child;
using pn_unit::run;

// One of the Cap* masks of /proc/self/status ("CapEff", "CapBnd", ...).
uint64_t cap_mask(const std::string& which) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(which + ":", 0) == 0)
            return std::strtoull(line.c_str() + which.size() + 1, nullptr, 16);
    return ~uint64_t{0};
}

uint64_t mask_of(std::span<const cap_value_t> caps) {
    uint64_t m = 0;
    for (cap_value_t c : caps) m |= uint64_t{1} << c;
    return m;
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

const server::Operation kOperations[] = {server::Operation::list, server::Operation::show,
                                         server::Operation::diff, server::Operation::destroy,
                                         server::Operation::gc,   server::Operation::session};

TEST(PrivilegesTest, EveryOperationNeedsOnlyWhatTheBoundingSetKeeps) {
    uint64_t all = mask_of(server::helper_caps());
    for (auto op : kOperations) EXPECT_EQ(mask_of(server::needed_by(op)) & ~all, 0U);
    EXPECT_EQ(mask_of(server::needed_by(server::Operation::session)), all);
}

TEST(PrivilegesTest, TheBoundingSetKeepsTheUnionAndNothingDangerous) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    EXPECT_EQ(in_child([] {
                  uint64_t before = cap_mask("CapBnd");
                  CHECK_OK(server::trim_bounding_set());
                  uint64_t after = cap_mask("CapBnd");
                  uint64_t want = before & mask_of(server::helper_caps());
                  CHECK_THAT(after == want, "CapBnd " + hex(after) + ", want " + hex(want));
                  for (int c : {CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_BOOT, CAP_SYS_TIME, CAP_MAC_ADMIN,
                                CAP_MAC_OVERRIDE, CAP_AUDIT_CONTROL, CAP_AUDIT_WRITE, CAP_SYSLOG,
                                CAP_LINUX_IMMUTABLE, CAP_SYS_PACCT, CAP_WAKE_ALARM})
                      CHECK_THAT((after & (uint64_t{1} << c)) == 0,
                                 "capability " + std::to_string(c) + " kept");
                  // A program the helper starts as root gets the bounding set on exec, no more.
                  std::string out;
                  std::string err = run({"/usr/bin/grep", "^CapEff:", "/proc/self/status"}, &out);
                  CHECK_THAT(err.empty(), err);
                  uint64_t started = std::strtoull(out.c_str() + 7, nullptr, 16);
                  CHECK_THAT(started == after, "a started program has " + hex(started));
                  return std::string();
              }),
              "");
}

TEST(PrivilegesTest, EachOperationKeepsOnlyWhatItNeeds) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    for (auto op : kOperations) {
        EXPECT_EQ(in_child([op] {
                      uint64_t had = cap_mask("CapPrm");
                      CHECK_OK(server::trim_bounding_set());
                      CHECK_OK(server::keep_only(op));
                      uint64_t want = had & mask_of(server::needed_by(op));
                      CHECK_THAT(cap_mask("CapEff") == want,
                                 "CapEff " + hex(cap_mask("CapEff")) + ", want " + hex(want));
                      CHECK_THAT(cap_mask("CapPrm") == want,
                                 "CapPrm " + hex(cap_mask("CapPrm")) + ", want " + hex(want));
                      CHECK_THAT(cap_mask("CapInh") == 0 && cap_mask("CapAmb") == 0,
                                 "inheritable or ambient left");
                      return std::string();
                  }),
                  "")
            << "operation " << static_cast<int>(op);
    }
}

TEST(PrivilegesTest, ListShowAndDiffKeepFarLessThanASession) {
    for (auto op : {server::Operation::show, server::Operation::diff}) {
        auto caps = server::needed_by(op);
        EXPECT_LE(caps.size(), 4U);
        for (cap_value_t c : caps) EXPECT_NE(c, CAP_SETUID) << "a one-shot operation never becomes anyone";
        for (cap_value_t c : caps) EXPECT_NE(c, CAP_NET_ADMIN);
    }
    for (cap_value_t c : server::needed_by(server::Operation::list)) {
        EXPECT_NE(c, CAP_SETUID);
        EXPECT_NE(c, CAP_SETPCAP);
    }
}

}  // namespace
