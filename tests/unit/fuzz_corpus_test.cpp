// Replays the committed fuzz corpus (tests/fuzz/corpus/TARGET/) through each fuzz target:
// the seeds and every crash `make fuzz` ever found stay regression tests of `make test`.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

TEST(FuzzCorpus, Mkportspace) { replay("mkportspace", personalnet::fuzz::fuzz_mkportspace); }

#ifdef PN_FUZZ_POLICY
TEST(FuzzCorpus, Policy) { replay("policy", personalnet::fuzz::fuzz_policy); }
#endif

}  // namespace
