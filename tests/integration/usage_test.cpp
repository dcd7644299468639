// What a space uses (issue 22): `pnet show` and `--json` report CPU time, processes and
// traffic as they grow; memory where this host has cgroup v2's memory controller, and
// otherwise says it cannot tell. `pnet top` prints a table of the caller's spaces, with
// rates between two samples, and refuses bad arguments in one line.
#include <signal.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

size_t count_of(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
}

class UsageTest : public SpaceTest {
protected:
    // The number after "KEY": in a pnet show --json object (or -1 for null).
    static long long json_number(const std::string& json, const std::string& key) {
        auto at = json.find("\"" + key + "\":");
        if (at == std::string::npos) return -2;
        at += key.size() + 3;
        if (json.compare(at, 4, "null") == 0) return -1;
        return std::strtoll(json.c_str() + at, nullptr, 10);
    }
    // The "usage" object of pnet show --json NAME.
    std::string usage_of(const std::string& name) {
        auto r = pnet({"show", name, "--json"});
        EXPECT_EQ(r.rc, 0) << r.err;
        auto at = r.out.find("\"usage\":{");
        EXPECT_NE(at, std::string::npos) << r.out;
        return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('}', at) - at + 1);
    }
};

// CPU time and traffic grow with what the space does; its processes are counted; memory
// is reported or, where this host cannot tell, null (and said so in the text).
TEST_F(UsageTest, ShowReportsCpuProcessesAndTrafficAsTheyGrow) {
    ASSERT_EQ(mk({"--name", "u1", "--", "true"}).rc, 0);
    const std::string before = usage_of("u1");
    ASSERT_GE(json_number(before, "cpu_usec"), 0) << before;
    ASSERT_GE(json_number(before, "rx_packets"), 0) << before;
    // Half a second of busy CPU, and ten pings to host B.
    auto busy = pnet({"exec", "u1", "--", "timeout", "0.5", "sh", "-c", "while :; do :; done"});
    EXPECT_EQ(busy.rc, 124) << busy.err;
    auto ping =
        pnet({"exec", "u1", "--", "ping", "-n", "-q", "-c", "10", "-i", "0.02", "-W", "2", "10.9.0.2"});
    EXPECT_EQ(ping.rc, 0) << ping.out << ping.err;
    Proc sleeper = A().spawn({bin("pnet"), "exec", "u1", "--", "sh", "-c", "echo started; exec sleep 30"});
    ASSERT_EQ(sleeper.read_line(), "started");
    const std::string after = usage_of("u1");
    EXPECT_GE(json_number(after, "cpu_usec") - json_number(before, "cpu_usec"), 300000) << before << after;
    EXPECT_GE(json_number(after, "tx_packets") - json_number(before, "tx_packets"), 10) << before << after;
    EXPECT_GE(json_number(after, "rx_packets") - json_number(before, "rx_packets"), 10) << before << after;
    EXPECT_GE(json_number(after, "tx_bytes") - json_number(before, "tx_bytes"), 10 * 84) << before << after;
    // The space's init and the sleep, at least.
    EXPECT_GE(json_number(after, "processes"), 2) << after;
    auto text = pnet({"show", "u1"});
    EXPECT_TRUE(contains(text.out, "limits:      none")) << text.out;
    EXPECT_TRUE(contains(text.out, "cpu time:    ")) << text.out;
    EXPECT_TRUE(contains(text.out, "traffic:     in ")) << text.out;
    if (json_number(after, "memory_bytes") < 0)
        EXPECT_TRUE(contains(text.out, "memory:      - (cgroup v2's memory controller is not on here)"))
            << text.out;
    else
        EXPECT_TRUE(contains(text.out, " now")) << text.out;
    ::kill(sleeper.pid(), SIGKILL);
    sleeper.wait();
    EXPECT_EQ(pnet({"destroy", "u1"}).rc, 0);
    wait_for_reapers();
}

// pnet top: a header and a line per space, rates after the first interval; the frames
// follow one another when stdout is not a terminal.
TEST_F(UsageTest, TopPrintsATableOfTheSpacesForCountFrames) {
    ASSERT_EQ(mk({"--name", "t1", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "t2", "--", "true"}).rc, 0);
    Proc busy = A().spawn({bin("pnet"), "exec", "t1", "--", "sh", "-c", "echo started; while :; do :; done"});
    ASSERT_EQ(busy.read_line(), "started");
    auto top = pnet({"top", "-n", "2", "-d", "0.3"});
    ASSERT_EQ(top.rc, 0) << top.err;
    EXPECT_EQ(count_of(top.out, "NAME "), 2u) << top.out;
    EXPECT_EQ(count_of(top.out, "\nt1 "), 2u) << top.out;
    EXPECT_EQ(count_of(top.out, "\nt2 "), 2u) << top.out;
    // t1 spins: it used a good share of a CPU in the last frame (NAME LABEL CPU% ...).
    auto line = top.out.rfind("\nt1 ");
    ASSERT_NE(line, std::string::npos);
    std::istringstream fields(top.out.substr(line + 1, top.out.find('\n', line + 1) - line - 1));
    std::string name, label, cpu;
    fields >> name >> label >> cpu;
    EXPECT_GT(std::strtod(cpu.c_str(), nullptr), 20.0) << top.out;
    ::kill(busy.pid(), SIGKILL);
    busy.wait();
    for (const char* name : {"t1", "t2"}) EXPECT_EQ(pnet({"destroy", name}).rc, 0);
    wait_for_reapers();
}

TEST_F(UsageTest, TopRefusesBadArgumentsInOneLine) {
    for (const auto& [arg, value] : std::vector<std::pair<std::string, std::string>>{{"-n", "0"},
                                                                                     {"-n", "x"},
                                                                                     {"-n", "-1"},
                                                                                     {"-d", "0"},
                                                                                     {"-d", "fast"},
                                                                                     {"-d", "1e9"},
                                                                                     {"-d", "4000"}}) {
        auto r = pnet({"top", arg, value});
        EXPECT_EQ(r.rc, 2) << arg << " " << value;
        EXPECT_TRUE(contains(r.err, "'" + value + "'")) << r.err;
        EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
    }
    auto r = pnet({"top", "--fast"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(contains(r.err, "'--fast'")) << r.err;
}

}  // namespace
}  // namespace pntest
