// The attack suite (docs/SECURITY.md): each attack runs as real users against the staged
// install, the way a hostile user would try it, and prints one line: `SAFE NAME` or
// `UNSAFE NAME: evidence`. An UNSAFE line fails the test (and so `make test`).
//
// Every attack starts with canaries in /root and /etc (random contents, root-only) and
// the names in both directories, and checks them after: root must not have written,
// removed or created anything there on a user's behalf.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/helper/channel.hpp"
#include "tests/integration/unprivileged.hpp"

namespace pntest {

class AttackTest : public UnprivilegedTest {
protected:
    void SetUp() override {
        UnprivilegedTest::SetUp();
        if (HasFatalFailure()) return;
        std::random_device rd;
        canary_text_ = "personalnet canary " + std::to_string(rd()) + std::to_string(rd()) + "\n";
        for (const auto& c : canaries()) {
            ASSERT_TRUE(personalnet::sys::write_atomic(c, canary_text_).ok()) << c;
            ASSERT_EQ(::chmod(c.c_str(), 0600), 0) << c;
        }
        etc_before_ = names_in("/etc");
        root_before_ = names_in("/root");
        // Host A's directories as an install has them (/run/personalnet is 0755), rather
        // than as mkdtemp made them (0700): a user can try to reach into them.
        std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
        ASSERT_EQ(::chmod(top.c_str(), 0755), 0);
        ASSERT_TRUE(personalnet::sys::make_dirs(A().rundir(), 0755).ok());
        char tmpl[] = "/home/pntest-attack-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        homes_ = tmpl;
        ASSERT_EQ(::chmod(homes_.c_str(), 0755), 0);
    }

    void TearDown() override {
        UnprivilegedTest::TearDown();
        std::string evidence = canary_evidence();
        // An attack that gave no verdict of its own is judged by its expectations.
        const char* name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        if (!verdict_given_)
            verdict(name, HasFailure() ? "an expectation failed (see above)" + evidence : evidence);
        else if (!evidence.empty())
            verdict(name, evidence);
        if (!homes_.empty()) (void)personalnet::sys::remove_tree(homes_);
    }

    std::string canary_evidence() {
        std::string evidence;
        if (names_in("/etc") != etc_before_) evidence += " /etc's entries changed;";
        if (names_in("/root") != root_before_) evidence += " /root's entries changed;";
        for (const auto& c : canaries()) {
            struct stat st {};
            auto text = personalnet::sys::read_file(c);
            if (::lstat(c.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
                (st.st_mode & 07777) != 0600 || !text.ok() || text.value() != canary_text_)
                evidence += " canary " + c + " changed;";
            (void)::unlink(c.c_str());
        }
        return evidence;
    }

    // A home directory of user's own for this attack (0700), under a directory the
    // policy of share_policy() lets users share from.
    std::string home(const char* user) {
        std::string dir = homes_ + "/" + user;
        struct passwd* pw = ::getpwnam(user);
        if (pw == nullptr) return dir;
        ::mkdir(dir.c_str(), 0700);
        (void)!::chown(dir.c_str(), pw->pw_uid, pw->pw_gid);
        return dir;
    }
    // A root-only directory (0700) under the attack's homes holding one file named
    // kSecret: what a user must never see listed, bound, or have root delete.
    static constexpr const char* kSecret = "pntest-decoy-secret";
    std::string decoy() {
        std::string d = homes_ + "/decoy";
        if (::mkdir(d.c_str(), 0700) == 0)
            (void)personalnet::sys::write_atomic(d + "/" + kSecret, "secret\n");
        return d;
    }
    bool decoy_intact() const {
        struct stat st {};
        return ::stat((homes_ + "/decoy/" + kSecret).c_str(), &st) == 0;
    }

    // The staged helper started by hand as user in host A, with channel (one end of a
    // socketpair) as its descriptor 3, the way no library would: the caller speaks the
    // protocol itself. Returns the child's pid.
    pid_t start_helper_as(const char* user, int channel) {
        pid_t p = ::fork();
        if (p == 0) {
            struct passwd* pw = ::getpwnam(user);
            if (pw == nullptr || ::setns(A().ns(), CLONE_NEWNET) != 0 || ::setgid(pw->pw_gid) != 0 ||
                ::setuid(pw->pw_uid) != 0)
                ::_exit(99);
            ::dup2(channel, 3);
            char* const argv[] = {const_cast<char*>("pnhelper"), nullptr};
            char* const envp[] = {nullptr};
            ::execve(staged_helper().c_str(), argv, envp);
            ::_exit(98);
        }
        return p;
    }

    // body (an encoded request, or anything) sent raw to a helper started as user, behind a
    // length that claims its size (or 2 GiB): the helper's answer, "ok", or what it says
    // when it closes without one.
    // A file of root's (0600) whose bytes no user may ever see or change: TearDown checks it.
    static std::string roots_canary() { return canaries().front(); }

    std::string ask_helper_raw(const char* user, const std::string& body, bool claim_length = true) {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        pid_t p = start_helper_as(user, sv[1]);
        ::close(sv[1]);
        uint32_t len = htonl(claim_length ? static_cast<uint32_t>(body.size()) : 0x7fffffffU);
        std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
        frame += body;
        (void)!::send(sv[0], frame.data(), frame.size(), MSG_NOSIGNAL);
        std::string answer = "(closed without an answer)";
        auto m = personalnet::helper::receive_message(sv[0]);
        if (m.ok()) {
            auto err = personalnet::helper::error_of(m.value());
            answer = err.ok() ? "ok" : err.error().message();
        }
        ::close(sv[0]);
        int s = 0;
        ::waitpid(p, &s, 0);
        return answer;
    }

    // Policy lines that let users share directories under the attack's homes.
    std::string share_policy() const { return "share {\n    paths = " + homes_ + "\n}\n"; }

    // The attack's verdict, as one line on stdout; UNSAFE fails the test. An attack that
    // gives none is judged when it ends (SAFE when every expectation held).
    void verdict(const std::string& name, const std::string& evidence) {
        verdict_given_ = true;
        if (evidence.empty()) {
            std::printf("SAFE %s\n", name.c_str());
        } else {
            std::string one = evidence;
            std::replace(one.begin(), one.end(), '\n', ' ');
            std::printf("UNSAFE %s: %s\n", name.c_str(), one.c_str());
            ADD_FAILURE() << "UNSAFE " << name << ": " << one;
        }
        std::fflush(stdout);
    }

    std::string homes_;

private:
    // Named per process: suites running side by side keep canaries of their own.
    static std::vector<std::string> canaries() {
        std::string me = "pntest-canary-" + std::to_string(::getpid());
        return {"/root/" + me, "/etc/" + me};
    }
    // The entries of dir, leaving out other suites' canaries.
    static std::vector<std::string> names_in(const std::string& dir) {
        auto names = personalnet::sys::list_dir(dir);
        std::vector<std::string> out;
        std::string mine = "pntest-canary-" + std::to_string(::getpid());
        for (const auto& n : names.ok() ? names.value() : std::vector<std::string>{})
            if (n.rfind("pntest-canary-", 0) != 0 || n == mine) out.push_back(n);
        std::sort(out.begin(), out.end());
        return out;
    }
    std::string canary_text_;
    bool verdict_given_ = false;
    std::vector<std::string> etc_before_, root_before_;
};

}  // namespace pntest
