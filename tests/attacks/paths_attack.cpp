// Attacks on the paths root follows for a user: working directories, shared directories,
// stored symbolic links (docs/SECURITY.md, rule 1).
#include <string>

#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

// A named space stores a symbolic link where the user's host directory is; running a
// command from that directory must not put it, through root's chdir, in /root.
TEST_F(AttackTest, WorkingDirectoryThroughAStoredSymlink) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    auto made = as(kAlice, {mkps(), "-q", "--name", "cwd", "--", "ln", "-s", "/root", h + "/w"});
    ASSERT_EQ(made.rc, 0) << made.err;
    ASSERT_EQ(as(kAlice, {"mkdir", h + "/w"}).rc, 0);
    auto r = as(kAlice, {"sh", "-c", "cd " + h + "/w && exec " + pnet_bin() + " exec cwd -- pwd -P"});
    std::string evidence;
    if (contains(r.out, "/root")) evidence = "the command ran in " + r.out;
    verdict("working-directory-through-stored-symlink", evidence);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "cwd"}).rc, 0);
}

}  // namespace
}  // namespace pntest
