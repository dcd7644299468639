// The fixture of the tests of unprivileged use and of the attack suite: real users made
// by the suite run the tools of an install staged by `make test` (DESTDIR=build/stage,
// helper set-uid root), whose helper reads the policy these tests write under
// PN_TEST_SYSCONFDIR (the Makefile's TEST_SYSCONFDIR, /run/personalnet-test by default).
#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

#ifndef PN_TEST_SYSCONFDIR
#define PN_TEST_SYSCONFDIR "/run/personalnet-test"
#endif

namespace pntest {

inline constexpr const char* kAlice = "pntest-alice";
inline constexpr const char* kBob = "pntest-bob";
inline constexpr const char* kCarol = "pntest-carol";  // a user the policy does not name
inline constexpr const char* kTestSysconfdir = PN_TEST_SYSCONFDIR;
inline constexpr const char* kPolicyDir = PN_TEST_SYSCONFDIR "/personalnet";

inline std::string stage() { return build_dir() + "/stage/usr/local"; }
inline std::string staged_helper() { return stage() + "/libexec/personalnet/pnhelper"; }

inline uid_t uid_of(const char* user) {
    struct passwd* pw = ::getpwnam(user);
    return pw != nullptr ? pw->pw_uid : static_cast<uid_t>(-1);
}

class UnprivilegedTest : public SpaceTest {
protected:
    static void SetUpTestSuite() {
        for (const char* u : {kAlice, kBob, kCarol}) {
            if (::getpwnam(u) != nullptr) continue;
            pid_t pid = ::fork();
            if (pid == 0) {
                ::execlp("useradd", "useradd", "--system", "--user-group", "--no-create-home", "--shell",
                         "/bin/sh", u, nullptr);
                ::_exit(127);
            }
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    }
    static void TearDownTestSuite() {
        for (const char* u : {kAlice, kBob, kCarol}) {
            pid_t pid = ::fork();
            if (pid == 0) {
                ::execlp("userdel", "userdel", u, nullptr);
                ::_exit(127);
            }
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
        (void)personalnet::sys::remove_tree(kTestSysconfdir);
    }

    void SetUp() override {
        SpaceTest::SetUp();
        struct stat st {};
        ASSERT_EQ(::stat(staged_helper().c_str(), &st), 0)
            << staged_helper() << " is missing: `make test` stages an install before the tests";
        ASSERT_TRUE(st.st_uid == 0 && (st.st_mode & S_ISUID) != 0)
            << staged_helper() << " is not set-uid root";
        for (const char* u : {kAlice, kBob, kCarol}) ASSERT_NE(uid_of(u), static_cast<uid_t>(-1)) << u;
        write_policy("");
    }
    void TearDown() override {
        SpaceTest::TearDown();
        (void)personalnet::sys::remove_tree(kTestSysconfdir);
    }

    // The administrator's policy for this test's host A; extra is appended.
    // extra: lines after the sections; limits: lines added to the limits section; create:
    // lines added to the create section.
    void write_policy(const std::string& extra, int per_user = 4, int total = 6,
                      const std::string& limits = "", const std::string& create = "") {
        std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
        std::string text = std::string("create {\n    users = ") + kAlice + ", " + kBob + "\n" + create +
                           "}\nlimits {\n    max_spaces_per_user = " + std::to_string(per_user) +
                           "\n    max_spaces = " + std::to_string(total) + "\n    max_depth = 2\n" + limits +
                           "}\n"
                           "rundir = " +
                           A().rundir() + "\nstatedir = " + top + "/state\noverlaydir = " + top +
                           "/overlays.d\n" +
                           (A().cgroupdir().empty() ? "" : "cgroupdir = " + A().cgroupdir() + "\n") + extra;
        ASSERT_TRUE(personalnet::sys::make_dirs(kPolicyDir, 0755).ok());
        ASSERT_TRUE(personalnet::sys::write_atomic(std::string(kPolicyDir) + "/personalnet.conf", text).ok());
        ASSERT_EQ(::chmod((std::string(kPolicyDir) + "/personalnet.conf").c_str(), 0644), 0);
    }

    // argv run as user, with a plain environment plus env (as a command line for host A).
    static std::vector<std::string> as_argv(const char* user, std::vector<std::string> argv,
                                            std::vector<std::string> env = {}) {
        std::vector<std::string> cmd = {"setpriv",
                                        std::string("--reuid=") + user,
                                        std::string("--regid=") + user,
                                        "--init-groups",
                                        "env",
                                        "-i",
                                        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                        "PERSONALNET_HELPER=" + staged_helper()};
        cmd.insert(cmd.end(), env.begin(), env.end());
        cmd.insert(cmd.end(), argv.begin(), argv.end());
        return cmd;
    }
    // argv run as user, with a plain environment plus env, in host A.
    RunResult as(const char* user, std::vector<std::string> argv, std::vector<std::string> env = {},
                 int timeout_ms = 30000) {
        return A().run(as_argv(user, std::move(argv), std::move(env)), timeout_ms);
    }
    static std::string mkps() { return stage() + "/bin/mkportspace"; }
    static std::string pnet_bin() { return stage() + "/bin/pnet"; }
};

}  // namespace pntest
