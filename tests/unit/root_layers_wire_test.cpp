// The union's layers as pnassemble is handed them: the same fields come back, and nothing
// else is taken.
#include "lib/fs/root_layers_wire.hpp"

#include <gtest/gtest.h>

namespace pn = personalnet;

TEST(RootLayersWireTest, EveryFieldComesBack) {
    pn::fs::RootLayers l;
    l.layer = "/run/pn/fs/1000/anon/1a2b";
    l.parents = {"/run/pn/fs/1000/named/a", "/run/pn/fs/0/anon/ffff"};
    l.backend = pn::fs::Backend::fuse;
    l.shared = {"/home/a b", "/srv/with\nnewline"};
    l.tmp_dir = "/run/pn/fs/1000/anon/1a2b/tmp";
    l.rundir = "/run/pn";
    l.hidden = {"/var/lib/personalnet", ""};
    l.throwaway = true;
    l.owner = 1000;
    l.owner_gid = 100;
    l.owner_groups = {100, 27, 4294967294u};
    l.trusted_mntns = 9;
    auto back = pn::fs::decode_root_layers(pn::fs::encode_root_layers(l));
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->layer, l.layer);
    EXPECT_EQ(back->parents, l.parents);
    EXPECT_EQ(back->backend, l.backend);
    EXPECT_EQ(back->shared, l.shared);
    EXPECT_EQ(back->tmp_dir, l.tmp_dir);
    EXPECT_EQ(back->rundir, l.rundir);
    EXPECT_EQ(back->hidden, l.hidden);
    EXPECT_EQ(back->throwaway, l.throwaway);
    EXPECT_EQ(back->owner, l.owner);
    EXPECT_EQ(back->owner_gid, l.owner_gid);
    EXPECT_EQ(back->owner_groups, l.owner_groups);
    EXPECT_EQ(back->trusted_mntns, -1) << "a descriptor travels as one";

    pn::fs::RootLayers empty;
    auto none = pn::fs::decode_root_layers(pn::fs::encode_root_layers(empty));
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->backend, pn::fs::Backend::kernel);
    EXPECT_TRUE(none->parents.empty());
}

TEST(RootLayersWireTest, MalformedTextIsRefused) {
    std::string good = pn::fs::encode_root_layers(pn::fs::RootLayers{});
    for (const std::string& bad :
         {std::string(), good.substr(0, good.size() - 1), good + "x", good + std::string("x\0", 2),
          std::string("/l\0") + "99999999999999999999" + std::string("\0", 1)}) {
        EXPECT_FALSE(pn::fs::decode_root_layers(bad).ok());
    }
    std::string backend = good;
    backend.replace(backend.find("kernel"), 6, "kernex");
    EXPECT_FALSE(pn::fs::decode_root_layers(backend).ok());
}
