// The Context: the installed layout by default, and what a tool's environment overrides
// (for root only where a directory would point root's code elsewhere).
#include "personalnet/context.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pn_unit {
namespace {

using personalnet::Context;

TEST(ContextTest, DefaultsAreTheInstalledLayoutActingForTheRealUser) {
    Context ctx;
    EXPECT_EQ(ctx.rundir, "/run/personalnet");
    EXPECT_EQ(ctx.statedir, "/var/lib/personalnet");
    EXPECT_EQ(ctx.overlaydir, "/etc/personalnet/overlays.d");
    EXPECT_EQ(ctx.helper.front(), '/');
    EXPECT_TRUE(ctx.broker.empty());
    EXPECT_EQ(ctx.caller, ::getuid());
    EXPECT_EQ(ctx.caller_mntns, -1);
}

TEST(ContextTest, EnvironmentOverridesAbsolutePathsAndTheFirstEntryCounts) {
    const char* env[] = {"PATH=/bin",
                         "PERSONALNET_RUNDIR=/tmp/run",
                         "PERSONALNET_RUNDIR=/tmp/second",
                         "PERSONALNET_STATEDIR=relative/state",
                         "PERSONALNET_OVERLAYDIR=/tmp/ovl",
                         "PERSONALNET_HELPER=/opt/pnhelper",
                         "PERSONALNET_LIBEXECDIR=/opt/libexec",
                         "PERSONALNET_BROKER=@personalnet-42",
                         "NOEQUALS",
                         nullptr};
    Context ctx = Context::from_environment(env);
    ASSERT_EQ(::getuid(), 0u) << "the unit tests run as root";
    EXPECT_EQ(ctx.rundir, "/tmp/run");
    EXPECT_EQ(ctx.statedir, "/var/lib/personalnet");  // not absolute: ignored
    EXPECT_EQ(ctx.overlaydir, "/tmp/ovl");
    EXPECT_EQ(ctx.helper, "/opt/pnhelper");
    EXPECT_EQ(ctx.libexecdir, "/opt/libexec");
    EXPECT_EQ(ctx.broker, "@personalnet-42");
    EXPECT_EQ(Context::from_environment(nullptr).rundir, "/run/personalnet");
}

// A user cannot point the library's directories (nor what root runs) anywhere: root's code (the helper, the
// PAM module) never sees a user's choice of them. The helper's path and the broker stay
// the user's own business (the helper is set-uid; a broker is reached by socket).
TEST(ContextTest, AUserCannotMoveTheDirectories) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
        const char* env[] = {"PERSONALNET_RUNDIR=/tmp/run",         "PERSONALNET_STATEDIR=/tmp/state",
                             "PERSONALNET_OVERLAYDIR=/tmp/ovl",     "PERSONALNET_HELPER=/opt/pnhelper",
                             "PERSONALNET_LIBEXECDIR=/tmp/libexec", nullptr};
        Context ctx = Context::from_environment(env);
        bool ok = ctx.rundir == "/run/personalnet" && ctx.statedir == "/var/lib/personalnet" &&
                  ctx.overlaydir == "/etc/personalnet/overlays.d" && ctx.helper == "/opt/pnhelper" &&
                  ctx.libexecdir == Context().libexecdir && ctx.caller == 65534;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pn_unit
