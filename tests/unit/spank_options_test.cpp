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
    EXPECT_EQ(full->first_label, 0xe000);
    EXPECT_EQ(full->last_label, 0xefff);
    EXPECT_EQ(full->addresses.str(), "10.254.0.0/16");
    EXPECT_EQ(full->wait_seconds, 30);
    EXPECT_EQ(full->secret, "/etc/personalnet/slurm.secret");

    auto all = ps::parse_plugin_args({"secret=/etc/site/key", "labels=0x5000-0x5fff", "addresses=10.9.0.0/24",
                                      "wait=0", "rundir=/run/pn", "statedir=/var/lib/pn",
                                      "overlaydir=/etc/pn/o.d", "libexecdir=/usr/lib/pn"});
    ASSERT_TRUE(all.ok()) << all.error().message();
    EXPECT_EQ(all->secret, "/etc/site/key");
    EXPECT_EQ(all->first_label, 0x5000);
    EXPECT_EQ(all->last_label, 0x5fff);
    EXPECT_EQ(all->addresses.str(), "10.9.0.0/24");
    EXPECT_EQ(all->wait_seconds, 0);
    EXPECT_EQ(all->rundir, "/run/pn");
    EXPECT_EQ(all->statedir, "/var/lib/pn");
    EXPECT_EQ(all->overlaydir, "/etc/pn/o.d");
    EXPECT_EQ(all->libexecdir, "/usr/lib/pn");
    auto one = ps::parse_plugin_args({"labels=0xe000"});
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->first_label, one->last_label);
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
        {{"secret=etc/s"}, "'secret=etc/s': not an absolute path without . or .. components"},
        {{"rundir=/run/../etc"}, "'rundir=/run/../etc': not an absolute path"},
        {{"statedir=/var//x"}, "'statedir=/var//x': not an absolute path"},
        {{"labels=0xe000"}, ""},  // one label is a range too: accepted below
        {{"labels=e000-efff"}, "'labels=e000-efff': not a label range (0xNNNN-0xNNNN)"},
        {{"labels=0xe100-0xe000"}, "'labels=0xe100-0xe000': the range is empty"},
        {{"labels=0xbf00-0xc001"}, "'labels=0xbf00-0xc001': holds reserved label 0xc000"},
        {{"labels=0x0-0x10"}, "'labels=0x0-0x10': holds reserved label 0x0"},
        {{"addresses=fd00::/64"}, "'addresses=fd00::/64': not an IPv4 prefix"},
        {{"addresses=10.0.0.1/8"}, "'addresses=10.0.0.1/8': not an IPv4 prefix"},
        {{"addresses=10.0.0.0/30"}, "'addresses=10.0.0.0/30': the prefix length must be 8 to 28"},
        {{"wait=601"}, "'wait=601': not a number of seconds from 0 to 600"},
        {{"wait=-1"}, "'wait=-1': not a number of seconds"},
        {{"wait=5", "wait=6"}, "wait given twice"},
    };
    for (const auto& [args, message] : cases) {
        if (message.empty()) continue;
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
