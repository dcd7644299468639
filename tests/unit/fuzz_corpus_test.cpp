// Replays the committed fuzz corpus (tests/fuzz/corpus/TARGET/) through each fuzz target:
// the seeds and every crash `make fuzz` ever found stay regression tests of `make test`.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "lib/helper/request.hpp"
#include "tests/fuzz/targets.hpp"

// The Makefile passes the source tree's corpus as an absolute path, so the tests find it
// from any working directory.
#ifndef PN_FUZZ_CORPUS
#error "compile with -DPN_FUZZ_CORPUS='\"/path/to/tests/fuzz/corpus\"'"
#endif

namespace {

namespace fs = std::filesystem;
using Target = int (*)(const uint8_t*, size_t);

std::vector<fs::path> inputs_of(const std::string& target) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(PN_FUZZ_CORPUS) / target, ec))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

void replay(const std::string& target, Target run) {
    auto files = inputs_of(target);
    // An empty list means a moved corpus, not a passing one.
    ASSERT_FALSE(files.empty()) << "no inputs in " << PN_FUZZ_CORPUS << "/" << target;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        ASSERT_TRUE(in) << f;
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0) << f;
    }
}

// Every target, by the name of its corpus directory (FUZZ_TARGETS in the Makefile).
const std::map<std::string, Target>& targets() {
    namespace f = personalnet::fuzz;
    static const std::map<std::string, Target> all{
        {"settings", f::fuzz_settings}, {"request", f::fuzz_request}, {"mkportspace", f::fuzz_mkportspace},
        {"policy", f::fuzz_policy},     {"overlay", f::fuzz_overlay}, {"pam", f::fuzz_pam},
        {"channel", f::fuzz_channel},   {"vici", f::fuzz_vici},       {"mountinfo", f::fuzz_mountinfo},
        {"userdef", f::fuzz_userdef},   {"dnmap", f::fuzz_dnmap},     {"credentials", f::fuzz_credentials},
        {"hostlist", f::fuzz_hostlist},
    };
    return all;
}

class FuzzCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzCorpus, Replays) { replay(GetParam(), targets().at(GetParam())); }

std::vector<std::string> target_names() {
    std::vector<std::string> names;
    for (const auto& [name, run] : targets()) names.push_back(name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(target_names()),
                         [](const auto& info) { return info.param; });

// A corpus without a target (or a target missing above) would never be replayed.
TEST(FuzzCorpusLayout, EveryCorpusHasATarget) {
    std::error_code ec;
    size_t dirs = 0;
    for (const auto& e : fs::directory_iterator(PN_FUZZ_CORPUS, ec)) {
        if (!e.is_directory()) continue;
        ++dirs;
        EXPECT_TRUE(targets().count(e.path().filename().string()) == 1)
            << e.path() << " has no fuzz target in this test";
    }
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(dirs, targets().size()) << "a target without a corpus in " << PN_FUZZ_CORPUS;
}

// Requests just within the framing limits whose full form (defaults spelled out) is not:
// built here rather than stored, being 73 KiB and 1 MiB, and beyond the 8 KiB inputs
// `make fuzz` generates.
TEST(FuzzRequest, AtTheFramingLimits) {
    namespace helper = personalnet::helper;
    auto field = [](const std::string& k, const std::string& v) { return k + '\0' + v + '\0'; };
    std::string most_fields = field("op", "create");  // 1 + 8191 fields, then 6 defaults added
    for (size_t i = 1; i < helper::kMaxFields; ++i) most_fields += field("share", "/a");
    std::string most_bytes = field("op", "create");  // exactly 1 MiB, then the defaults
    const std::string big_share = "/" + std::string(helper::kMaxValue - 1, 'a');
    while (most_bytes.size() + field("share", big_share).size() <= helper::kMaxMessage)
        most_bytes += field("share", big_share);
    most_bytes += field("share", "/" + std::string(helper::kMaxMessage - most_bytes.size() - 8, 'b'));
    ASSERT_EQ(most_bytes.size(), helper::kMaxMessage);

    for (const std::string* wire : {&most_fields, &most_bytes}) {
        auto m = helper::decode(*wire);
        ASSERT_TRUE(m.ok()) << m.error().message();
        auto r = helper::parse_request(m.value());
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message().find("too large once written out in full"), std::string::npos)
            << r.error().message();
        EXPECT_EQ(
            personalnet::fuzz::fuzz_request(reinterpret_cast<const uint8_t*>(wire->data()), wire->size()), 0);
    }
}

}  // namespace
