// A registry record's field table (lib/registry/record.cpp): every field written and read
// back, records written before the table existed still load, and the reading rules
// (unknown keys, repeated keys, malformed values) stay what they were.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "lib/registry/registry.hpp"

namespace pn_unit {
namespace {

namespace reg = personalnet::registry;
using personalnet::Datapath;
using personalnet::Dispatch;
using personalnet::FsBackend;
using personalnet::SpaceState;

// A record with every field set to something other than its default.
reg::Record full_record() {
    reg::Record r;
    r.label = 0x1a2b;
    r.name = "corp";
    r.named = true;
    r.owner = 1000;
    r.parent_label = 0x0042;
    r.parent_netns = 4026531840ULL;
    r.netns = 4026532001ULL;
    r.depth = 2;
    r.host_ifname = "pn1a2bh";
    r.supervisor = 4242;
    r.state = SpaceState::ready;
    r.created = 1767225600;
    r.inherit_routes = false;
    r.inherit_services = false;
    r.hidden_routes = {"10.0.0.0/8", "fd00::/8"};
    r.hidden_services = {"tcp/22", "udp/53"};
    r.addresses = {"10.9.0.1", "fd00:9::1"};
    r.host_ifindex = 17;
    r.file_space = true;
    r.fs_backend = FsBackend::fuse;
    r.fs_layers = {"/run/personalnet/fs/1000/l/1a2b", "/run/personalnet/fs/0/l/0042"};
    r.mntns = 4026532100ULL;
    r.mntns_id = 12884901890ULL;
    r.fs_daemon = 4300;
    r.fs_shared = {"/srv/data", "/home/alice/src"};
    r.fs_private_tmp = true;
    r.fs_tmp_layer = "/run/personalnet/fs/1000/l/1a2b";
    r.overlay = "corp";
    r.datapath = Datapath::libipsec;
    r.ike_daemon = 4301;
    r.overlay_addresses = {"10.61.0.2/32"};
    r.overlay_networks = {"10.60.0.0/24", "fd60::/64"};
    r.admin = true;
    r.dispatch = Dispatch::bpf;
    r.network = true;
    r.overlay_peers = {"10.9.0.2", "fd00:9::2"};
    r.overlay_source = "/home/alice/.config/personalnet/networks/corp.conf";
    r.user_network = true;
    r.published = {"tcp/8080", "udp/5353:53"};
    r.destroyed = true;
    r.netns_cookie = 8193;
    r.pidns = 4026532999;
    r.init_pid = 4302;
    r.hostname = "box-1";
    r.rate_in = 100'000'000;
    r.rate_out = 10'000'000;
    r.cgroup = "personalnet/0042/1a2b";
    r.cpu_milli = 1500;
    r.memory_max = uint64_t{512} << 20;
    r.pids_max = 100;
    r.io_weight = 200;
    r.init_pid_ns = 4026531836;
    return r;
}

// The text of each "key=value" line.
std::map<std::string, std::string> lines_of(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

class RecordFieldsTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pnrec-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(RecordFieldsTest, EveryFieldRoundTripsThroughSaveAndLoad) {
    reg::Record r = full_record();
    // Every field the table writes is set here (so a field added to the table without
    // a value above fails this test rather than round-tripping a default).
    auto defaults = lines_of(reg::Record{}.serialize());
    auto written = lines_of(r.serialize());
    ASSERT_EQ(written.size(), defaults.size());
    for (const auto& [key, value] : defaults) EXPECT_NE(written[key], value) << key << " keeps its default";

    auto registry = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(registry.ok()) << registry.error().message();
    ASSERT_TRUE(registry->save(r).ok());
    auto back = registry->load(r.label);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->serialize(), r.serialize());
    EXPECT_TRUE(back.value() == r);
}

// Written by the code before the field table (commit 3244a94) from the values of
// full_record(), except inherit_services=1: the format must not change, so today's code
// reads it to the same values and writes the same bytes.
constexpr const char* kRecordBeforeTheTable =
    "label=1a2b\nname=corp\nnamed=1\nowner=1000\nparent_label=0042\nparent_netns=4026531840\n"
    "netns=4026532001\ndepth=2\nhost_ifname=pn1a2bh\nsupervisor=4242\nstate=ready\ncreated=1767225600\n"
    "inherit_routes=0\ninherit_services=1\nhidden_routes=10.0.0.0/8,fd00::/8\nhidden_services=tcp/22,udp/53\n"
    "addresses=10.9.0.1,fd00:9::1\nhost_ifindex=17\nfile_space=1\n"
    "fs_layers=/run/personalnet/fs/1000/l/1a2b,/run/personalnet/fs/0/l/0042\nmntns=4026532100\n"
    "mntns_id=12884901890\nfs_backend=fuse\nfs_daemon=4300\nfs_shared=/srv/data,/home/alice/src\n"
    "fs_private_tmp=1\nfs_tmp_layer=/run/personalnet/fs/1000/l/1a2b\noverlay=corp\ndatapath=libipsec\n"
    "dispatch=bpf\nike_daemon=4301\noverlay_addresses=10.61.0.2/32\noverlay_networks=10.60.0.0/24,fd60::/64\n"
    "admin=1\n";

TEST_F(RecordFieldsTest, LoadsARecordWrittenBeforeTheTable) {
    auto registry = reg::Registry::open(dir_ + "/run");
    ASSERT_TRUE(registry.ok());
    {
        std::ofstream out(dir_ + "/run/spaces/1a2b");
        out << kRecordBeforeTheTable;
    }
    auto r = registry->load(0x1a2b);
    ASSERT_TRUE(r.ok()) << r.error().message();
    reg::Record want = full_record();
    want.inherit_services = true;
    want.network = false;  // not fields yet then
    want.overlay_peers.clear();
    want.overlay_source.clear();
    want.user_network = false;
    want.published.clear();  // a record from before publishing publishes nothing
    want.destroyed = false;
    want.netns_cookie = 0;  // nor knows its namespace's cookie
    want.pidns = 0;         // nor had a PID namespace of its own
    want.init_pid = 0;
    want.hostname.clear();
    want.rate_in = want.rate_out = 0;  // nor a bandwidth limit
    want.cgroup.clear();               // nor a cgroup
    want.cpu_milli = 0;
    want.memory_max = 0;
    want.pids_max = 0;
    want.io_weight = 0;
    want.init_pid_ns = 0;  // nor what numbered its init
    EXPECT_TRUE(r.value() == want) << r->serialize();
    EXPECT_EQ(r->state, SpaceState::ready);
    EXPECT_EQ(r->fs_backend, FsBackend::fuse);
    EXPECT_EQ(r->datapath, Datapath::libipsec);
    EXPECT_EQ(r->dispatch, Dispatch::bpf);
    // The same bytes, and the fields added since (at the end, at their defaults).
    EXPECT_EQ(
        r->serialize(),
        std::string(kRecordBeforeTheTable) +
            "network=0\noverlay_peers=\noverlay_source=\nuser_network=0\npublished=\ndestroyed=0\n"
            "netns_cookie=0\npidns=0\ninit_pid=0\nhostname=\nrate_in=0\nrate_out=0\ncgroup=\ncpu_milli=0\n"
            "memory_max=0\npids_max=0\nio_weight=0\ninit_pid_ns=0\n");
}

TEST(RecordFields, UnsetEnumsAreEmptyWords) {
    // A space without a file space or overlay, as today's code writes it, and one from
    // before dispatchers were chosen (no dispatch line at all).
    auto r = reg::Record::parse("label=0001\nstate=creating\nfs_backend=\ndatapath=\ndispatch=\n");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->state, SpaceState::creating);
    EXPECT_FALSE(r->fs_backend);
    EXPECT_FALSE(r->datapath);
    EXPECT_FALSE(r->dispatch);
    auto text = lines_of(r->serialize());
    EXPECT_EQ(text["fs_backend"], "");
    EXPECT_EQ(text["datapath"], "");
    EXPECT_EQ(text["dispatch"], "");
    auto old = reg::Record::parse("label=0001\nstate=ready\n");
    ASSERT_TRUE(old.ok());
    EXPECT_FALSE(old->dispatch);
}

TEST(RecordFields, KeepsTheReadingRules) {
    // Unknown keys are skipped; a later line replaces an earlier one; booleans other than
    // "1" are false.
    auto r = reg::Record::parse(
        "label=0001\nfuture_field=x\nname=a\nname=b\nhidden_routes=1.0.0.0/8\nhidden_routes=2.0.0.0/8,,\n"
        "named=yes\nadmin=1\n");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->name, "b");
    EXPECT_EQ(r->hidden_routes, std::vector<std::string>{"2.0.0.0/8"});
    EXPECT_FALSE(r->named);
    EXPECT_TRUE(r->admin);
    // A word that names no value is malformed, like a bad number, and the error names the
    // key.
    for (const char* bad :
         {"state=releasing", "fs_backend=auto2", "datapath=xfrm", "dispatch=ebpf", "state="}) {
        auto b = reg::Record::parse(std::string("label=0001\n") + bad + "\n");
        ASSERT_FALSE(b.ok()) << bad;
        std::string key(bad, std::string(bad).find('='));
        EXPECT_NE(b.error().context.find("'" + key + "'"), std::string::npos) << b.error().context;
    }
    EXPECT_FALSE(reg::Record::parse("state=ready\n").ok()) << "a record must have a label";
    // In any order: the table's is only the order serialize writes (and parse looks in
    // first).
    auto reversed = reg::Record::parse("init_pid_ns=9\nio_weight=7\nadmin=1\nname=z\nnamed=1\nlabel=0002\n");
    ASSERT_TRUE(reversed.ok()) << reversed.error().message();
    EXPECT_EQ(reversed->label, 2);
    EXPECT_EQ(reversed->name, "z");
    EXPECT_TRUE(reversed->named && reversed->admin);
    EXPECT_EQ(reversed->io_weight, 7U);
    EXPECT_EQ(reversed->init_pid_ns, 9U);
}

TEST(SpaceEnums, OneWordEachBothWays) {
    using namespace personalnet;
    for (auto [v, w] : {std::pair{SpaceState::creating, "creating"}, std::pair{SpaceState::ready, "ready"},
                        std::pair{SpaceState::unsupervised, "unsupervised"}}) {
        EXPECT_STREQ(space_state_word(v), w);
        EXPECT_EQ(parse_space_state(w), v);
    }
    for (auto [v, w] : {std::pair{Datapath::kernel, "kernel"}, std::pair{Datapath::libipsec, "libipsec"}}) {
        EXPECT_STREQ(datapath_word(v), w);
        EXPECT_EQ(parse_datapath(w), v);
    }
    for (auto [v, w] : {std::pair{Dispatch::automatic, "auto"}, std::pair{Dispatch::nft, "nft"},
                        std::pair{Dispatch::bpf, "bpf"}}) {
        EXPECT_STREQ(dispatch_word(v), w);
        EXPECT_EQ(parse_dispatch(w), v);
    }
    for (auto [v, w] : {std::pair{FsBackend::automatic, "auto"}, std::pair{FsBackend::kernel, "kernel"},
                        std::pair{FsBackend::fuse, "fuse"}}) {
        EXPECT_STREQ(fs_backend_word(v), w);
        EXPECT_EQ(parse_fs_backend(w), v);
    }
    for (const char* other : {"", "Ready", "releasing", "automatic", "xfrm", " nft"}) {
        EXPECT_FALSE(parse_space_state(other)) << other;
        EXPECT_FALSE(parse_datapath(other)) << other;
        EXPECT_FALSE(parse_dispatch(other)) << other;
        EXPECT_FALSE(parse_fs_backend(other)) << other;
    }
}

}  // namespace
}  // namespace pn_unit
