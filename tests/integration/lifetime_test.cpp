// Port-space semantics 6-7 of issue 2 (nesting, lifetime, garbage collection) and
// the command-line contract (bad input changes nothing).
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <random>
#include <thread>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

// 6. Nesting to depth 8 inherits routes and services transitively.
TEST_F(SpaceTest, NestedSpacesInheritTransitivelyToDepthEight) {
    auto srv = A().serve("tcp", "0.0.0.0", 8080, "parent");
    auto remote = B().serve("tcp", "0.0.0.0", 7000, "B");
    std::vector<std::string> argv;
    for (int i = 0; i < 8; ++i) argv.insert(argv.end(), {bin("mkportspace"), "-q", "--"});
    argv.insert(argv.end(), {"sh", "-c",
                             "ip -o addr show dev up0 | grep -c 169.254.108.2; " +
                                 sh_join(probe({"connect", "tcp", "10.9.0.1", "8080"})) + " && " +
                                 sh_join(probe({"connect", "tcp", "10.7.0.1", "7000"}))});
    auto r = A().run(argv, 60000);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "1\n")) << "innermost space is at depth 8: " << r.out;
    EXPECT_TRUE(contains(r.out, "parent peer=10.9.0.1:")) << r.out;
    EXPECT_TRUE(contains(r.out, "B peer=10.9.0.1:")) << r.out;
}

TEST_F(SpaceTest, NestedSpaceOverridesItsParentsService) {
    auto srv = A().serve("tcp", "0.0.0.0", 8080, "host");
    ASSERT_EQ(mk({"--name", "mid", "--", "true"}).rc, 0);
    auto mid = A().spawn({bin("pnet"), "exec", "mid", "--", bin("pnprobe"), "serve", "tcp", "0.0.0.0", "8080",
                          "--reply", "mid"});
    ASSERT_EQ(mid.read_line(), "listening");
    auto r = pnet({"exec", "mid", "--", bin("mkportspace"), "-q", "--", bin("pnprobe"), "connect", "tcp",
                   "10.9.0.1", "8080"});
    EXPECT_TRUE(contains(r.out, "mid peer=10.9.0.1:")) << r.out << r.err;
    mid.kill(9);
    EXPECT_EQ(pnet({"destroy", "mid"}).rc, 0);
}

// 7. Unnamed spaces vanish with their last process, also when it outlives the command.
TEST_F(SpaceTest, UnnamedSpaceOutlivedByBackgroundProcessIsReaped) {
    auto r = mk({"--", "sh", "-c", "sleep 1.5 > /dev/null 2>&1 &"});
    ASSERT_EQ(r.rc, 0) << r.err;
    auto list = pnet({"list"});
    EXPECT_TRUE(contains(list.out, "anon-")) << "space lives while its background process does: " << list.out;
    std::string now;
    for (int i = 0; i < 60; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = pnet({"list"}).out;
        if (!contains(now, "anon-")) break;
    }
    EXPECT_FALSE(contains(now, "anon-")) << now;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// 7. An unnamed space is released in the background once its command has exited; a
// full gc waits for that release, and then nothing of it is left.
TEST_F(SpaceTest, UnnamedSpaceIsReleasedAfterItsCommand) {
    ASSERT_EQ(mk({"--", "true"}).rc, 0);
    auto list = pnet({"list"});
    EXPECT_TRUE(!contains(list.out, "anon-") || contains(list.out, "unsupervised")) << list.out;
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_FALSE(contains(pnet({"list"}).out, "anon-"));
    EXPECT_EQ(A().snapshot(), baseline_);
}

TEST_F(SpaceTest, NamedSpaceIsKeptJoinedAndDestroyed) {
    auto created = mk({"--name", "keep", "--", "readlink", "/proc/self/ns/net"});
    ASSERT_EQ(created.rc, 0) << created.err;
    auto joined = mk({"--name", "keep", "--", "readlink", "/proc/self/ns/net"});
    EXPECT_EQ(joined.out, created.out);
    auto exec = pnet({"exec", "keep", "--", "readlink", "/proc/self/ns/net"});
    EXPECT_EQ(exec.out, created.out);
    auto show = pnet({"show", "keep", "--json"});
    EXPECT_EQ(show.rc, 0);
    EXPECT_TRUE(contains(show.out, "\"name\":\"keep\"")) << show.out;
    EXPECT_TRUE(contains(show.out, "\"addresses\":[\"10.9.0.1\",\"fd00:9::1\"]")) << show.out;
    auto list = pnet({"list", "--json"});
    EXPECT_TRUE(contains(list.out, "\"name\":\"keep\"")) << list.out;
    auto again = mk({"--name", "keep", "--hide-route", "10.7.0.0/16", "--", "true"});
    EXPECT_EQ(again.rc, 2);
    EXPECT_TRUE(contains(again.err, "applies only when creating")) << again.err;
    EXPECT_EQ(pnet({"destroy", "keep"}).rc, 0);
    auto gone = pnet({"show", "keep"});
    EXPECT_EQ(gone.rc, 2);
    EXPECT_TRUE(contains(gone.err, "no such space")) << gone.err;
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// 7. SIGKILL at random points of creation leaves nothing that gc does not remove.
TEST_F(SpaceTest, KilledCreationsLeaveNothingAfterGc) {
    constexpr int kKills =
        40;  // half of them named, a third with fuse-overlayfs (file spaces are the default)
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> delay_us(0, 12000);
    for (int i = 0; i < kKills; ++i) {
        std::vector<std::string> argv = {bin("mkportspace"), "-q"};
        if (i % 2 == 0) argv.insert(argv.end(), {"--name", "k" + std::to_string(i)});
        if (i % 3 == 0) argv.push_back("--fs-backend=fuse");
        argv.insert(argv.end(), {"--", "sleep", "0.2"});
        Proc p = A().spawn(argv);
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        ::kill(p.pid(), SIGKILL);  // the supervisor only: its command may live on
        p.wait();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // let orphaned commands end
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    for (int i = 0; i < kKills; i += 2) {
        std::string name = "k" + std::to_string(i);
        if (pnet({"show", name}).rc == 0) {
            EXPECT_EQ(pnet({"destroy", name}).rc, 0) << name;
        }
    }
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// Bad input: exit 2, one line naming the value, nothing changed.
TEST_F(SpaceTest, BadInputIsRefusedWithExitTwoAndChangesNothing) {
    struct Case {
        std::vector<std::string> args;
        std::string needle;
    };
    std::vector<Case> cases = {
        {{"--name", "", "--", "true"}, "bad space name ''"},
        {{"--name", "/", "--", "true"}, "bad space name '/'"},
        {{"--name", "..", "--", "true"}, "bad space name '..'"},
        {{"--name", "a\nb", "--", "true"}, "bad space name 'a\\x0ab'"},
        {{"--name", "a\tb", "--", "true"}, "bad space name 'a\\x09b'"},
        {{"--name", "-x", "--", "true"}, "bad space name '-x'"},
        {{"--name", std::string(33, 'x'), "--", "true"}, "longer than 32"},
        {{"--name", "anon-1", "--", "true"}, "reserved"},
        {{"--bogus", "--", "true"}, "unknown option '--bogus'"},
        {{"--hide-route", "10.0.0.1/8", "--", "true"}, "bad prefix '10.0.0.1/8'"},
        {{"--hide-route", "300.0.0.0/8", "--", "true"}, "bad prefix '300.0.0.0/8'"},
        {{"--hide-route", "10.0.0.0/33", "--", "true"}, "bad prefix '10.0.0.0/33'"},
        {{"--hide-service", "tcp/0", "--", "true"}, "bad service 'tcp/0'"},
        {{"--hide-service", "tcp/65536", "--", "true"}, "bad service 'tcp/65536'"},
        {{"--hide-service", "tcp/12abc", "--", "true"}, "bad service 'tcp/12abc'"},
        {{"--hide-service", "tcp/-1", "--", "true"}, "bad service 'tcp/-1'"},
        {{"--hide-service", "sctp/80", "--", "true"}, "bad service 'sctp/80'"},
    };
    for (const auto& c : cases) {
        auto r = mk(c.args);
        EXPECT_EQ(r.rc, 2) << c.needle;
        EXPECT_TRUE(contains(r.err, c.needle)) << "want '" << c.needle << "' in: " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    for (const auto& args : std::vector<std::vector<std::string>>{{"destroy", "nosuch"},
                                                                  {"show", "nosuch"},
                                                                  {"exec", "nosuch", "--", "true"},
                                                                  {"bogus"},
                                                                  {"destroy", "../x"},
                                                                  {"list", "--xml"}}) {
        auto r = pnet(args);
        EXPECT_EQ(r.rc, 2) << args[0];
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_EQ(A().snapshot(), baseline_);
}

TEST_F(SpaceTest, HelpAndVersion) {
    auto h = mk({"--help"});
    EXPECT_EQ(h.rc, 0);
    for (const char* opt : {"--name", "--no-inherit-routes", "--hide-route", "--no-inherit-services",
                            "--hide-service", "--file-space", "--fs-backend", "--share", "--private-tmp",
                            "--resolv-conf", "--hosts", "--quiet", "--help", "--version"})
        EXPECT_TRUE(contains(h.out, opt)) << opt;
    EXPECT_TRUE(contains(mk({"--version"}).out, "personalnet"));
    EXPECT_EQ(pnet({"--help"}).rc, 0);
    // After a command too, as a user tries it first; not after exec's NAME (the command's).
    for (const char* cmd : {"list", "show", "destroy", "gc", "networks", "top", "diff", "exec"}) {
        auto sub = pnet({cmd, "--help"});
        EXPECT_EQ(sub.rc, 0) << cmd << ": " << sub.err;
        EXPECT_TRUE(contains(sub.out, "Usage: pnet")) << cmd;
    }
    auto exec_arg = pnet({"exec", "nosuchspace", "--", "ls", "--help"});
    EXPECT_NE(exec_arg.rc, 0);
    EXPECT_FALSE(contains(exec_arg.out, "Usage: pnet")) << "exec's command line is the command's";
}

// Every option a tool's --help lists is documented in its man page, and the pages are
// mandoc-lint clean at warning level (style notes about pages not yet installed aside).
TEST_F(SpaceTest, EveryHelpOptionIsInTheManPageAndPagesLintClean) {
    char cwd[4096];
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    for (auto [tool, page] :
         {std::pair{"mkportspace", "man/mkportspace.1"}, std::pair{"pnet", "man/pnet.8"}}) {
        auto text = personalnet::sys::read_file(std::string(cwd) + "/" + page);
        ASSERT_TRUE(text.ok()) << page << " (tests run from the source tree)";
        auto help = A().run({bin(tool), "--help"});
        ASSERT_EQ(help.rc, 0);
        size_t checked = 0;
        for (size_t at = help.out.find("--"); at != std::string::npos; at = help.out.find("--", at + 2)) {
            size_t end = at + 2;
            while (end < help.out.size() &&
                   (std::isalnum(static_cast<unsigned char>(help.out[end])) != 0 || help.out[end] == '-'))
                ++end;
            std::string opt = help.out.substr(at + 2, end - at - 2);
            if (opt.empty()) continue;       // a bare "--"
            std::string escaped = "Fl \\-";  // mdoc's Fl adds the first dash
            for (char c : opt) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
            EXPECT_TRUE(contains(text.value(), escaped)) << tool << " --" << opt << " is not in " << page;
            ++checked;
        }
        EXPECT_GT(checked, 3u) << tool;
    }
    // Every page, including those no tool's --help points at (sections 3, 5, 8 ...):
    // mandoc must have nothing to say about any of them.
    auto pages = personalnet::sys::list_dir(std::string(cwd) + "/man");
    ASSERT_TRUE(pages.ok()) << pages.error().message();
    size_t linted = 0;
    for (const auto& name : pages.value()) {
        bool page = name.size() > 2 && name[name.size() - 2] == '.' &&
                    std::isdigit(static_cast<unsigned char>(name.back())) != 0;  // NAME.SECTION
        if (!page) continue;
        auto lint = A().run({"mandoc", "-Tlint", "-Wwarning", std::string(cwd) + "/man/" + name});
        EXPECT_EQ(lint.rc, 0) << name << ": " << lint.out << lint.err;
        EXPECT_EQ(lint.out + lint.err, "") << name;
        ++linted;
    }
    EXPECT_GE(linted, 4u) << "man/*.[1-9]";
}

}  // namespace
}  // namespace pntest
