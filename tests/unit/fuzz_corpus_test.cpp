// Replays the committed fuzz corpus (tests/fuzz/corpus/TARGET/) through each fuzz target:
// the seeds and every crash `make fuzz` ever found stay regression tests of `make test`.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
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

TEST(FuzzCorpus, Settings) { replay("settings", personalnet::fuzz::fuzz_settings); }

TEST(FuzzCorpus, Request) { replay("request", personalnet::fuzz::fuzz_request); }

// Requests just within the framing limits whose full form (defaults spelled out) is not:
// built here rather than stored, being 73 KiB and 1 MiB, and beyond the 8 KiB inputs
// `make fuzz` generates.
TEST(FuzzCorpus, RequestsAtTheFramingLimits) {
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

TEST(FuzzCorpus, Mkportspace) { replay("mkportspace", personalnet::fuzz::fuzz_mkportspace); }

#ifdef PN_FUZZ_POLICY
TEST(FuzzCorpus, Policy) { replay("policy", personalnet::fuzz::fuzz_policy); }
#endif

}  // namespace
