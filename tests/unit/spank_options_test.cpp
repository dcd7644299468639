// The SPANK plugin's parsing (lib/slurm/spank_options): the administrator's plugstack.conf
// arguments and a job's --personalnet and --personalnet-files, strict, errors naming the
// bad value.
#include "lib/slurm/spank_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pn_unit {
namespace {

namespace ps = personalnet::slurm;

TEST(SpankOptions, PluginArguments) {
    auto none = ps::parse_plugin_args({});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->partitions.empty());
    EXPECT_EQ(none->files, ps::Files::volatile_files);

    auto full = ps::parse_plugin_args({"partitions=batch, mpi,gpu.a", "files=none"});
    ASSERT_TRUE(full.ok()) << full.error().message();
    EXPECT_EQ(full->partitions, (std::vector<std::string>{"batch", "mpi", "gpu.a"}));
    EXPECT_EQ(full->files, ps::Files::none);
}

TEST(SpankOptions, BadPluginArgumentsAreNamed) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"partition=batch"}, "unknown argument 'partition=batch'"},
        {{"files"}, "'files' is not KEY=VALUE"},
        {{"files="}, "'files=' is not KEY=VALUE"},
        {{"files=tmpfs"}, "files: 'tmpfs' is not volatile or none"},
        {{"files=none", "files=volatile"}, "files given twice"},
        {{"partitions=a", "partitions=b"}, "partitions given twice"},
        {{"partitions=,"}, "'partitions=,' names no partition"},
        {{"partitions=a,b/c"}, "'b/c' is not a partition name"},
    };
    for (const auto& [args, message] : cases) {
        auto r = ps::parse_plugin_args(args);
        ASSERT_FALSE(r.ok()) << message;
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_NE(r.error().message().find("plugstack.conf: personalnet: " + message), std::string::npos)
            << r.error().message();
    }
}

TEST(SpankOptions, JobOptions) {
    EXPECT_EQ(ps::parse_files("volatile").value(), ps::Files::volatile_files);
    EXPECT_EQ(ps::parse_files("none").value(), ps::Files::none);
    for (const char* bad : {"", "Volatile", "none ", "tmpfs"}) {
        auto f = ps::parse_files(bad);
        ASSERT_FALSE(f.ok()) << bad;
        EXPECT_NE(f.error().message().find(std::string("'") + bad + "' is not volatile or none"),
                  std::string::npos);
    }
    EXPECT_TRUE(ps::check_network("").ok());  // the option alone: the job's own network
    EXPECT_TRUE(ps::check_network("corp-1.a_b").ok());
    for (const char* bad : {"../etc", ".hidden", "-x", "a b", "a/b", "012345678901234567890123456789012"}) {
        auto st = ps::check_network(bad);
        ASSERT_FALSE(st.ok()) << bad;
        EXPECT_NE(st.error().message().find(std::string("'") + bad + "' is not a network name"),
                  std::string::npos);
    }
    EXPECT_STREQ(ps::files_word(ps::Files::none), "none");
    EXPECT_EQ(ps::job_space_name(4711), "job-4711");
}

}  // namespace
}  // namespace pn_unit
