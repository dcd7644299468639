// Attacks on a space's resource limits (issue 22), as real users through the set-uid
// helper: the user cannot write their space's cgroup files, make a cgroup of their own
// under it, or move a process of the space out of it; nor ask for more than the policy's
// maxima; and a default the host cannot hold refuses creation rather than being dropped.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "lib/space/cgroup.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

namespace pn = personalnet;

class ResourceAttack : public AttackTest {
protected:
    void SetUp() override {
        if (pn::space::cgroup_host(pn::Context()).mount.empty()) GTEST_SKIP() << "no cgroup2 mounted here";
        AttackTest::SetUp();
    }
    static bool has_controller(const std::string& c) {
        auto have = pn::space::cgroup_host(pn::Context()).controllers;
        return std::find(have.begin(), have.end(), c) != have.end();
    }
    RunResult in(const char* user, const std::string& space, std::vector<std::string> argv) {
        argv.insert(argv.begin(), {pnet_bin(), "exec", space, "--"});
        return as(user, std::move(argv));
    }
};

TEST_F(ResourceAttack, UserCannotChangeOrLeaveTheSpacesCgroup) {
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "rc", "--", "true"}).rc, 0);
    // The space's cgroup: the one directory under host A's subtree beside root's leaf
    // for its daemons.
    auto dirs = pn::sys::list_dir(A().cgroupdir());
    ASSERT_TRUE(dirs.ok());
    std::string space;
    for (const auto& d : dirs.value())
        if (struct stat st{}; d != personalnet::space::kHelpersLeaf &&
                              ::lstat((A().cgroupdir() + "/" + d).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            space = A().cgroupdir() + "/" + d;
    ASSERT_FALSE(space.empty());
    const std::string mount = pn::space::cgroup_host(pn::Context()).mount;
    std::string evidence;
    auto tried = [&](const std::string& what, const std::vector<std::string>& argv) {
        auto outside = as(kAlice, argv);
        if (outside.rc == 0) evidence += " from outside: " + what + ";";
        auto inside = in(kAlice, "rc", argv);
        if (inside.rc == 0) evidence += " from inside: " + what + ";";
    };
    // Out of the space: into the root cgroup, the subtree's, root's daemons' (no limit
    // bears on them), or its own directory's.
    for (const auto& target : {mount, A().cgroupdir(), A().cgroupdir() + "/helpers", space})
        tried("moved itself to " + target, {"sh", "-c", "echo $$ > " + target + "/cgroup.procs"});
    // Its limits and controllers, and a cgroup of its own inside to escape them.
    for (const char* file : {"cgroup.subtree_control", "cgroup.max.descendants", "cgroup.max.depth"})
        tried(std::string("wrote ") + file, {"sh", "-c", "echo 1 > " + space + "/" + file});
    if (has_controller("pids")) tried("lifted pids.max", {"sh", "-c", "echo max > " + space + "/pids.max"});
    tried("made a cgroup under its own", {"mkdir", space + "/procs/mine"});
    tried("made a cgroup beside its own", {"mkdir", space + "/mine"});
    tried("removed its cgroup", {"rmdir", space + "/procs"});
    // Still in its cgroup after all that.
    auto where = in(kAlice, "rc", {"cat", "/proc/self/cgroup"});
    if (!contains(where.out, "0::" + space.substr(mount.size()) + "/procs"))
        evidence += " a command is not in the space's cgroup: " + where.out + ";";
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "rc"}).rc, 0);
    verdict("user-changes-or-leaves-the-spaces-cgroup", evidence);
}

TEST_F(ResourceAttack, UserCannotExceedThePolicysMaxima) {
    write_policy("resources {\n    max_pids = 100\n    max_memory = 64M\n    max_cpu = 0.5\n}\n");
    std::string evidence;
    for (const auto& [option, value, setting] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"--pids", "200", "resources.max_pids = 100"},
             {"--memory", "1G", "resources.max_memory = 64M"},
             {"--cpu", "2", "resources.max_cpu = 0.5"}}) {
        auto r = as(kAlice, {mkps(), "-q", "--name", "rx", option, value, "--", "true"});
        EXPECT_EQ(r.rc, 2) << r.err;
        std::string asked = option;
        asked.append(" ").append(value);
        std::string refusal = "may not ask for ";
        refusal.append(asked).append(" (personalnet.conf: ").append(setting);
        EXPECT_TRUE(contains(r.err, refusal)) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        if (r.rc == 0) evidence.append(" ").append(asked).append(" granted;");
        if (as(kAlice, {pnet_bin(), "show", "rx"}).rc == 0) {
            evidence += " a space was made;";
            (void)as(kAlice, {pnet_bin(), "destroy", "rx"});
        }
    }
    verdict("user-exceeds-the-policys-resource-maxima", evidence);
}

TEST_F(ResourceAttack, ADefaultThisHostCannotHoldRefusesCreation) {
    if (has_controller("pids")) GTEST_SKIP() << "this host has cgroup v2's pids controller";
    write_policy("resources {\n    pids = 50\n}\n");
    auto r = as(kAlice, {mkps(), "-q", "--name", "rd", "--", "true"});
    EXPECT_EQ(r.rc, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "personalnet.conf's resources.pids needs cgroup v2's pids controller"))
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    verdict("user-escapes-a-default-limit-the-host-cannot-hold",
            as(kAlice, {pnet_bin(), "show", "rd"}).rc == 0 ? " the space was made without its limit" : "");
}

}  // namespace
}  // namespace pntest
