// examples/run_in_space.cpp, built the way a user builds it: against the install that
// `make test` stages under build/stage, found through pkg-config alone, from a copy of
// the source outside the tree (so nothing of the source tree's include/ can be used).
#include <sys/stat.h>

#include <sstream>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

std::string staged_root() { return build_dir() + "/stage"; }
std::string staged_prefix() { return staged_root() + "/usr/local"; }

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// The line of `text` that starts with `prefix`, "" if none.
std::string line_starting(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0) return line;
    return "";
}

class ExampleTest : public SpaceTest {
protected:
    void SetUp() override {
        SpaceTest::SetUp();
        struct stat st {};
        ASSERT_EQ(::stat((staged_prefix() + "/lib/pkgconfig/personalnet.pc").c_str(), &st), 0)
            << "`make test` stages an install (with personalnet.pc) before the tests";
        if (!tried_) build();  // once for the suite: compiling takes seconds
        ASSERT_TRUE(built_) << "pkg-config said: " << flags_ << log_;
    }
    static void TearDownTestSuite() {
        if (!dir_.empty()) (void)personalnet::sys::remove_tree(dir_);
    }

    // Compiles a copy of the example in a directory of its own (in host A: any namespace
    // would do).
    void build() {
        tried_ = true;
        char tmpl[] = "/tmp/pn-example-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        auto src = personalnet::sys::read_file(PN_EXAMPLES "/run_in_space.cpp");
        ASSERT_TRUE(src.ok()) << src.error().message();
        ASSERT_TRUE(personalnet::sys::write_atomic(dir_ + "/run_in_space.cpp", src.value()).ok());
        // pkg-config as a user runs it, but pointed at the stage: PKG_CONFIG_SYSROOT_DIR
        // puts the stage in front of the -I and -L paths, which name the final PREFIX.
        auto pc = A().run({"env", "PKG_CONFIG_PATH=" + staged_prefix() + "/lib/pkgconfig",
                           "PKG_CONFIG_SYSROOT_DIR=" + staged_root(), "pkg-config", "--cflags", "--libs",
                           "personalnet"});
        flags_ = pc.out;
        log_ = pc.err;
        ASSERT_EQ(pc.rc, 0) << log_;
        std::vector<std::string> cc = {
            "g++", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-O1", dir_ + "/run_in_space.cpp"};
        for (const auto& w : words(flags_)) cc.push_back(w);
        // The staged library is not where its PREFIX says: the RPATH finds it.
        cc.insert(cc.end(), {"-Wl,-rpath," + staged_prefix() + "/lib", "-o", exe()});
        auto built = A().run(cc, 180000);
        log_ += built.err;
        built_ = built.rc == 0;
    }

    static std::string exe() { return dir_ + "/run_in_space"; }

    static inline std::string dir_, flags_, log_;
    static inline bool tried_ = false, built_ = false;
};

TEST_F(ExampleTest, BuildsWithOnlyPkgConfigAgainstTheInstalledHeaders) {
    EXPECT_TRUE(contains(flags_, "-I" + staged_prefix() + "/include")) << flags_;
    EXPECT_TRUE(contains(flags_, "-L" + staged_prefix() + "/lib")) << flags_;
    EXPECT_TRUE(contains(flags_, "-lpersonalnet")) << flags_;
    EXPECT_FALSE(contains(flags_, "-lmnl")) << "private dependencies only with --static: " << flags_;
}

TEST_F(ExampleTest, RunsACommandAndAFunctionInAFreshSpace) {
    auto r = A().run({exe(), "--", "ip", "-brief", "addr"});
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "space:     anon-")) << r.out;
    EXPECT_TRUE(contains(r.out, "label:     0x")) << r.out;
    EXPECT_TRUE(contains(r.out, "addresses: ") && contains(r.out, "10.9.0.1")) << r.out;
    // The thread that entered the space sees its uplink with the host's address ...
    EXPECT_TRUE(contains(r.out, "  up0 10.9.0.1\n")) << r.out;
    // ... and so does the command (`ip -brief addr` names it up0@ifN), which sees none
    // of host A's own links.
    EXPECT_TRUE(contains(line_starting(r.out, "up0"), " 10.9.0.1/")) << r.out;
    EXPECT_FALSE(contains(r.out, "eth0")) << "host A's own link is not in the space: " << r.out;
}

TEST_F(ExampleTest, PassesOnTheCommandsExitStatus) {
    auto r = A().run({exe(), "--", "sh", "-c", "exit 7"});
    EXPECT_EQ(r.rc, 7) << r.out << r.err;
}

TEST_F(ExampleTest, ReportsAnUnknownOverlayAndLeavesNothingBehind) {
    auto r =
        A().run({"env", "PERSONALNET_OVERLAYDIR=/nonexistent", exe(), "--overlay", "nosuch", "--", "true"});
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "nosuch")) << r.err;
    EXPECT_EQ(r.out, "") << "no space was created";
}

}  // namespace
}  // namespace pntest
