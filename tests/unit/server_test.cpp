// The set-uid helper's server (lib/server), served on one end of a socketpair by a forked
// child as the helper would be: real requests, real policy checks, a real (empty) run
// directory. What it answers, what it refuses before anything is made, and that a closed
// channel is not answered.
#include "lib/server/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/helper/channel.hpp"
#include "lib/registry/registry.hpp"

namespace {

namespace pn = personalnet;
namespace helper = personalnet::helper;
namespace server = personalnet::server;

constexpr uid_t kNobody = 65534;

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        char tmpl[] = "/tmp/pn-server-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        policy_.rundir = dir_ + "/run";
        policy_.statedir = dir_ + "/state";
        policy_.overlaydir = dir_ + "/overlays";
        policy_.groups.clear();
    }
    void TearDown() override {
        if (!dir_.empty()) (void)pn::sys::remove_tree(dir_);
    }

    struct Served {
        pn::Result<helper::Message> answer = pn::make_error(ENOMSG, "no answer");
        int status = -1;  // the server's exit status
    };

    // Serves what `send` writes on the caller's end, for the caller `uid`, and reads one
    // answer; the server runs in a child, as the helper does after it became root.
    Served serve(uid_t uid, const std::function<void(int)>& send) {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid_t test = ::getpid();
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(sv[0]);
            int caller = static_cast<int>(::syscall(SYS_pidfd_open, test, 0));
            helper::Identity who;
            who.uid = uid;
            who.gid = uid;
            server::Server s(who, policy_, pn::UniqueFd(caller), -1, sv[1]);
            ::_exit(s.serve());
        }
        ::close(sv[1]);
        send(sv[0]);
        Served out;
        out.answer = helper::receive_message(sv[0]);
        ::close(sv[0]);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return out;
    }
    Served ask(uid_t uid, const helper::Request& r) {
        return serve(uid, [&](int fd) { ASSERT_TRUE(helper::send_message(fd, helper::to_message(r)).ok()); });
    }

    // The one-line refusal an answer carries, or "" for "ok".
    static std::string refusal(const Served& s) {
        if (!s.answer.ok()) return "no answer: " + s.answer.error().message();
        auto st = helper::error_of(s.answer.value());
        return st.ok() ? "" : st.error().message();
    }

    size_t spaces_made() {
        auto reg = pn::registry::Registry::open(policy_.rundir);
        return reg.ok() ? reg->labels().size() : 0;
    }

    std::string dir_;
    personalnet::policy::Policy policy_;
};

TEST_F(ServerTest, ListsTheCallersSpaces) {
    helper::Request r;
    r.op = helper::Op::list;
    auto s = ask(kNobody, r);
    ASSERT_EQ(refusal(s), "");
    auto spaces = helper::spaces_of(s.answer.value());
    ASSERT_TRUE(spaces.ok());
    EXPECT_TRUE(spaces->empty());
    EXPECT_EQ(s.status, 0);
}

TEST_F(ServerTest, AnswersAMisframedRequestWithOneLine) {
    // A key with a space in it: read whole, so the channel is still in step.
    std::string body = std::string("bad key") + '\0' + "x" + '\0';
    auto s = serve(kNobody, [&](int fd) {
        uint32_t len = htonl(static_cast<uint32_t>(body.size()));
        std::string frame(reinterpret_cast<const char*>(&len), sizeof len);
        frame += body;
        ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
    });
    std::string line = refusal(s);
    EXPECT_NE(line, "");
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(s.status, server::kExitUsage);
}

TEST_F(ServerTest, AnswersAnOversizedLengthOnceAndCloses) {
    auto s = serve(kNobody, [](int fd) {
        uint32_t len = htonl(0x7fffffffU);
        ASSERT_EQ(::write(fd, &len, sizeof len), static_cast<ssize_t>(sizeof len));
    });
    EXPECT_NE(refusal(s), "");
    EXPECT_EQ(s.status, server::kExitUsage);
}

TEST_F(ServerTest, DoesNotAnswerAClosedChannel) {
    auto s = serve(kNobody, [](int fd) { ::shutdown(fd, SHUT_WR); });
    EXPECT_FALSE(s.answer.ok());
    EXPECT_EQ(s.status, server::kExitFailure);
}

TEST_F(ServerTest, RefusesRunOutsideASession) {
    helper::Request r;
    r.op = helper::Op::run;
    r.argv = {"true"};
    auto s = ask(kNobody, r);
    EXPECT_NE(refusal(s).find("run needs a space"), std::string::npos) << refusal(s);
}

TEST_F(ServerTest, RefusesACreationByAUserThePolicyDoesNotList) {
    helper::Request r;
    r.op = helper::Op::create;
    auto s = ask(kNobody, r);
    EXPECT_NE(refusal(s), "");
    EXPECT_EQ(helper::error_of(s.answer.value()).error().code, EPERM) << refusal(s);
    EXPECT_EQ(spaces_made(), 0U);
}

TEST_F(ServerTest, RefusesAnOverlayThePolicyDoesNotGrant) {
    policy_.users = {"nobody"};
    helper::Request r;
    r.op = helper::Op::create;
    r.spec.overlay = "elsewhere";
    auto s = ask(kNobody, r);
    EXPECT_NE(refusal(s).find("elsewhere"), std::string::npos) << refusal(s);
    EXPECT_EQ(spaces_made(), 0U);
}

TEST_F(ServerTest, RefusesACreationBeyondTheUsersLimit) {
    policy_.users = {"nobody"};
    policy_.max_spaces_per_user = 0;
    helper::Request r;
    r.op = helper::Op::create;
    auto s = ask(kNobody, r);
    EXPECT_NE(refusal(s), "");
    EXPECT_EQ(spaces_made(), 0U);
}

TEST_F(ServerTest, RefusesToOpenAnUnknownSpace) {
    helper::Request r;
    r.op = helper::Op::open;
    r.name = "nosuch";
    auto s = ask(kNobody, r);
    EXPECT_NE(refusal(s).find("nosuch"), std::string::npos) << refusal(s);
}

}  // namespace
