// The C++ API as a program linking libpersonalnet uses it (create, run, open, list,
// show, destroy, gc), on simulated host A. Each body runs in a forked child that has
// entered host A, so the test process's own namespaces never change.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "personalnet/space.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

#define REQUIRE(cond, msg)                                          \
    do {                                                            \
        if (!(cond)) return std::string(#cond " failed: ") + (msg); \
    } while (0)

// Runs body in a child process inside host; "" when it returned "", else its verdict.
std::string in_host(const Host& host, const std::function<std::string()>& body) {
    std::string r = run_in_host(host, [&] {
        std::string verdict = body();
        return verdict.empty() ? std::string("OK") : verdict;
    });
    return r == "OK" ? "" : r;
}

bool listed(const pn::Context& ctx, const std::string& name) {
    auto all = pn::list_spaces(ctx);
    return all.ok() && std::any_of(all->begin(), all->end(), [&](const auto& i) { return i.name == name; });
}

TEST_F(SpaceTest, LibraryApiCreatesRunsListsAndDestroysSpaces) {
    const std::string rundir = A().rundir();
    const std::string statedir = rundir.substr(0, rundir.rfind('/')) + "/state";
    // The layer store lives in the state directory: the test's own, not the host's.
    pn::Context ctx;
    ctx.rundir = rundir;
    ctx.statedir = statedir;
    ctx.libexecdir = pntest::build_dir() + "/libexec";  // the build's pnreaper and pnkeeper
    ctx.cgroupdir = A().cgroupdir();                    // the host's cgroups: its leak check sees them
    std::string verdict = in_host(A(), [&]() -> std::string {
        pn::SpaceSpec spec;
        spec.name = "api";
        spec.hidden_services.push_back(*pn::Service::parse("tcp/8080"));
        auto space = pn::Space::create(spec, ctx);
        REQUIRE(space.ok(), space.error().message());
        const pn::SpaceInfo& info = space->info();
        REQUIRE(info.name == "api" && info.named && info.depth == 1 && info.label != 0,
                "info of the new space");
        REQUIRE(std::find(info.addresses.begin(), info.addresses.end(), "10.9.0.1") != info.addresses.end(),
                "the uplink must carry 10.9.0.1");
        REQUIRE(info.hidden_services == std::vector<std::string>{"tcp/8080"}, "hidden services recorded");

        auto rc = space->run({"sh", "-c",
                              "ip -o addr show dev up0 | grep -q 'inet 10.9.0.1/32' && "
                              "test \"$PERSONALNET_SPACE\" = api"});
        REQUIRE(rc.ok() && rc.value() == 0, "command inside sees the host address and its space name");
        auto failing = space->run({"false"});
        REQUIRE(failing.ok() && failing.value() == 1, "exit status is the command's");
        auto missing = space->run({"/nonexistent/cmd"});
        REQUIRE(!missing.ok() && missing.error().code == ENOENT, "an unrunnable command is an error");

        auto again = pn::Space::open("api", ctx);
        REQUIRE(again.ok(), again.error().message());
        REQUIRE(again->info().netns_inode == info.netns_inode, "open() finds the same namespace");
        REQUIRE(listed(ctx, "api"), "list_spaces shows the named space");
        auto shown = pn::show_space("api", ctx);
        REQUIRE(shown.ok() && shown->label == info.label, "show_space");

        auto dup = pn::Space::create(spec, ctx);
        REQUIRE(!dup.ok() && dup.error().code == EEXIST, "a second space with the same name is refused");
        pn::SpaceSpec bad;
        bad.name = "../x";
        auto refused = pn::Space::create(bad, ctx);
        REQUIRE(!refused.ok() && refused.error().code == EINVAL &&
                    refused.error().message().find("'../x'") != std::string::npos,
                "a bad name is refused and named in the error: " + refused.error().message());

        auto destroyed = pn::destroy_space("api", ctx);
        REQUIRE(destroyed.ok(), destroyed.error().message());
        auto gone = pn::show_space("api", ctx);
        REQUIRE(!gone.ok() && gone.error().code == ENOENT, "destroyed space is gone");

        {
            auto unnamed = pn::Space::create(pn::SpaceSpec{}, ctx);
            REQUIRE(unnamed.ok(), unnamed.error().message());
            REQUIRE(unnamed->info().name.rfind("anon-", 0) == 0, "unnamed spaces are called anon-LLLL");
            auto ok = unnamed->run({"true"});
            REQUIRE(ok.ok() && ok.value() == 0, "run in an unnamed space");
        }  // released in the background from here
        auto gc = pn::collect_garbage(true, ctx);
        REQUIRE(gc.ok(), gc.error().message());
        auto left = pn::list_spaces(ctx);
        REQUIRE(left.ok() && left->empty(), "no space left after gc");
        return "";
    });
    EXPECT_EQ(verdict, "");
    EXPECT_EQ(A().snapshot(), baseline_);
}

}  // namespace
}  // namespace pntest
