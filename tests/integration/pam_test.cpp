// pam_personalnet through the PAM API: a service file in a temporary directory
// (pam_start_confdir) loads build/lib/security/pam_personalnet.so; each session is a
// child process that starts in simulated host A's network namespace, opens the session
// and reports where it ended up, and closes it when told to.
#include <dlfcn.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "lib/core/sys.hpp"
#include "lib/space/cgroup.hpp"
#include "personalnet/space.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;

constexpr const char* kAlice = "pntest-pam-alice";  // destroy_on_last_close = yes
constexpr const char* kBob = "pntest-pam-bob";      // the space stays
constexpr const char* kCarol = "pntest-pam-carol";  // matches no rule

void run_cmd(std::vector<const char*> argv) {
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execvp(argv[0], const_cast<char* const*>(argv.data()));
        ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
}

uint64_t inode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

int no_conv(int, const pam_message**, pam_response**, void*) { return PAM_CONV_ERR; }

// What a session child saw after pam_open_session.
struct Opened {
    int rc = -1;
    uint64_t netns = 0;
    uint64_t mntns = 0;
    std::string space;   // PERSONALNET_SPACE from the PAM environment
    std::string cgroup;  // the session process's cgroup v2 path ("0::PATH" of /proc/PID/cgroup)
};

// A login session in a child process: open() reports, close() closes and reports.
class Session {
public:
    Session(int host_ns, const std::string& confdir, const std::string& service, const std::string& user,
            bool open_first = true, const std::string& direct_module = "") {
        int rep[2], go[2];
        if (::pipe(rep) != 0 || ::pipe(go) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(rep[0]);
            ::close(go[1]);
            if (::setns(host_ns, CLONE_NEWNET) != 0) ::_exit(120);
            pam_conv conv{no_conv, nullptr};
            pam_handle_t* h = nullptr;
            if (pam_start_confdir(service.c_str(), user.c_str(), &conv, confdir.c_str(), &h) != PAM_SUCCESS)
                ::_exit(121);
            std::string line = "-1 0 0 -\n";
            // Directly: the module's own return code, which the stack would turn into
            // PAM_PERM_DENIED when every module of it answers PAM_IGNORE.
            using Entry = int (*)(pam_handle_t*, int, int, const char**);
            Entry open_fn = nullptr, close_fn = nullptr;
            const std::string arg = "config=" + confdir + "/pam.conf";
            const char* args[] = {arg.c_str()};
            if (!direct_module.empty()) {
                void* so = ::dlopen(direct_module.c_str(), RTLD_NOW);
                if (so == nullptr) ::_exit(123);
                open_fn = reinterpret_cast<Entry>(::dlsym(so, "pam_sm_open_session"));
                close_fn = reinterpret_cast<Entry>(::dlsym(so, "pam_sm_close_session"));
                if (open_fn == nullptr || close_fn == nullptr) ::_exit(124);
            }
            if (open_first) {
                int rc = open_fn ? open_fn(h, 0, 1, args) : pam_open_session(h, 0);
                const char* space = pam_getenv(h, "PERSONALNET_SPACE");
                line = std::to_string(rc) + " " + std::to_string(inode_of("/proc/self/ns/net")) + " " +
                       std::to_string(inode_of("/proc/self/ns/mnt")) + " " + (space ? space : "-") + "\n";
            }
            (void)!::write(rep[1], line.data(), line.size());
            char c;
            if (::read(go[0], &c, 1) != 1) ::_exit(122);  // told to close, or killed meanwhile
            int rc = close_fn ? close_fn(h, 0, 1, args) : pam_close_session(h, 0);
            pam_end(h, rc);
            std::string done = std::to_string(rc) + "\n";
            (void)!::write(rep[1], done.data(), done.size());
            ::_exit(0);
        }
        ::close(rep[1]);
        ::close(go[0]);
        rep_ = personalnet::UniqueFd(rep[0]);
        go_ = personalnet::UniqueFd(go[1]);
    }
    ~Session() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Opened opened() {
        std::istringstream in(line());
        Opened o;
        in >> o.rc >> o.netns >> o.mntns >> o.space;
        // Read here: after joining, the session process's own /proc/self is gone (the
        // space's /proc shows its PID namespace only, and the process stays outside it).
        if (o.rc == PAM_SUCCESS && pid_ > 0) {
            o.netns = inode_of("/proc/" + std::to_string(pid_) + "/ns/net");
            o.mntns = inode_of("/proc/" + std::to_string(pid_) + "/ns/mnt");
            auto cg = personalnet::sys::read_file("/proc/" + std::to_string(pid_) + "/cgroup");
            std::istringstream lines(cg.ok() ? cg.value() : "");
            for (std::string l; std::getline(lines, l);)
                if (l.rfind("0::", 0) == 0) o.cgroup = l.substr(3);
        }
        return o;
    }
    int close() {
        (void)!::write(go_.get(), "x", 1);
        int rc = -1;
        std::istringstream(line()) >> rc;
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return rc;
    }
    void crash() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    std::string line() {
        std::string s;
        char c;
        while (::read(rep_.get(), &c, 1) == 1 && c != '\n') s += c;
        return s;
    }
    pid_t pid_ = -1;
    personalnet::UniqueFd rep_, go_;
};

class PamTest : public SpaceTest {
protected:
    static void SetUpTestSuite() {
        for (const char* u : {kAlice, kBob, kCarol})
            if (::getpwnam(u) == nullptr)
                run_cmd({"useradd", "--system", "--user-group", "--create-home", "--shell", "/bin/bash", u});
    }
    static void TearDownTestSuite() {
        for (const char* u : {kAlice, kBob, kCarol}) run_cmd({"userdel", "-r", u});
    }
    void SetUp() override {
        SpaceTest::SetUp();
        char tmpl[] = "/tmp/pntest-pam-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        const std::string rundir = A().rundir();
        write(dir_ + "/pam.conf",
              "session {\n"
              "    once { users = " +
                  std::string(kAlice) +
                  "\n name = pam-%u\n"
                  "           destroy_on_last_close = yes }\n"
                  "    kept { users = " +
                  std::string(kBob) +
                  "\n name = pam-%u }\n"
                  "}\n"
                  "rundir = " +
                  rundir +
                  "\n"
                  "statedir = " +
                  rundir.substr(0, rundir.rfind('/')) +
                  "/state\n"
                  // the build's programs (pnassemble), not the installed ones
                  "libexecdir = " +
                  pntest::build_dir() + "/libexec\n");
        module_ = bin("pnet");
        module_ = module_.substr(0, module_.rfind("/bin/")) + "/lib/security/pam_personalnet.so";
        write(dir_ + "/pntest", "session required " + module_ + " debug config=" + dir_ + "/pam.conf\n");
        write(dir_ + "/pntest-badarg",
              "session required " + module_ + " config=" + dir_ + "/pam.conf bogus\n");
        host_netns_ = inode_of("/proc/self/ns/net");
        host_mntns_ = inode_of("/proc/self/ns/mnt");
    }
    void TearDown() override {
        for (const char* f : {"/pam.conf", "/pntest", "/pntest-badarg"}) (void)::unlink((dir_ + f).c_str());
        (void)::rmdir(dir_.c_str());
        SpaceTest::TearDown();
    }
    static void write(const std::string& path, const std::string& text) {
        std::ofstream(path) << text;
        ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    }
    Session session(const std::string& user, const std::string& service = "pntest", bool open_first = true) {
        return Session(A().ns(), dir_, service, user, open_first);
    }
    // Through pnet in host A, whose environment names the test's state directory too.
    bool exists(const std::string& name) { return pnet({"show", name}).rc == 0; }

    std::string dir_, module_;
    uint64_t host_netns_ = 0, host_mntns_ = 0;
};

TEST_F(PamTest, UnknownUserIsRefused) {
    auto s = session("pntest-pam-nosuchuser");
    EXPECT_EQ(s.opened().rc, PAM_USER_UNKNOWN);
    EXPECT_EQ(s.close(), PAM_USER_UNKNOWN);
}

TEST_F(PamTest, EmptyUserIsRefused) {
    auto s = session("");
    EXPECT_EQ(s.opened().rc, PAM_USER_UNKNOWN);
    EXPECT_EQ(s.close(), PAM_USER_UNKNOWN);
}

TEST_F(PamTest, BadModuleArgumentsAreAServiceError) {
    auto s = session(kAlice, "pntest-badarg");
    EXPECT_EQ(s.opened().rc, PAM_SERVICE_ERR);
    EXPECT_EQ(s.close(), PAM_SERVICE_ERR);
    EXPECT_FALSE(exists(std::string("pam-") + kAlice));
}

TEST_F(PamTest, UnmatchedUserIsIgnored) {
    auto direct = Session(A().ns(), dir_, "pntest", kCarol, true, module_);
    Opened o = direct.opened();
    EXPECT_EQ(o.rc, PAM_IGNORE);
    EXPECT_EQ(o.space, "-");
    EXPECT_EQ(direct.close(), PAM_IGNORE);
    // Through the stack: a stack whose only module ignores the session fails it.
    auto stacked = session(kCarol);
    EXPECT_EQ(stacked.opened().rc, PAM_PERM_DENIED);
    EXPECT_EQ(stacked.close(), PAM_PERM_DENIED);
}

TEST_F(PamTest, LoginJoinsItsSpaceAndLastCloseDestroysIt) {
    const std::string name = std::string("pam-") + kAlice;
    auto s = session(kAlice);
    Opened o = s.opened();
    ASSERT_EQ(o.rc, PAM_SUCCESS);
    EXPECT_EQ(o.space, name);
    auto json = pnet({"show", name, "--json"});
    ASSERT_EQ(json.rc, 0) << json.err;
    EXPECT_TRUE(contains(json.out, "\"owner\":" + std::to_string(::getpwnam(kAlice)->pw_uid))) << json.out;
    EXPECT_TRUE(contains(json.out, "\"netns_inode\":" + std::to_string(o.netns)))
        << json.out;                  // in the space, not in host A
    EXPECT_NE(o.mntns, host_mntns_);  // and in its file space
    EXPECT_NE(o.netns, host_netns_);
    // And in its cgroup (issue 22), where its limits hold the login.
    if (!personalnet::space::cgroup_host(personalnet::Context()).mount.empty()) {
        EXPECT_EQ(o.cgroup.size() >= 6 ? o.cgroup.substr(o.cgroup.size() - 6) : "", "/procs") << o.cgroup;
    }
    EXPECT_EQ(s.close(), PAM_SUCCESS);
    EXPECT_FALSE(exists(name));
}

TEST_F(PamTest, ConcurrentLoginsShareTheSpace) {
    const std::string name = std::string("pam-") + kAlice;
    auto first = session(kAlice);
    Opened a = first.opened();
    ASSERT_EQ(a.rc, PAM_SUCCESS);
    auto second = session(kAlice);
    Opened b = second.opened();
    ASSERT_EQ(b.rc, PAM_SUCCESS);
    EXPECT_EQ(a.netns, b.netns);
    EXPECT_EQ(a.mntns, b.mntns);
    EXPECT_EQ(first.close(), PAM_SUCCESS);
    EXPECT_TRUE(exists(name)) << "destroyed while a session was still open";
    EXPECT_EQ(second.close(), PAM_SUCCESS);
    EXPECT_FALSE(exists(name));
}

TEST_F(PamTest, CrashedSessionDoesNotKeepTheSpace) {
    const std::string name = std::string("pam-") + kAlice;
    auto crashed = session(kAlice);
    ASSERT_EQ(crashed.opened().rc, PAM_SUCCESS);
    crashed.crash();
    auto s = session(kAlice);
    ASSERT_EQ(s.opened().rc, PAM_SUCCESS);
    EXPECT_EQ(s.close(), PAM_SUCCESS);
    EXPECT_FALSE(exists(name));
}

TEST_F(PamTest, CloseWithoutOpenDoesNothing) {
    auto s = session(kAlice, "pntest", false);
    (void)s.opened();
    EXPECT_EQ(s.close(), PAM_SUCCESS);
    EXPECT_FALSE(exists(std::string("pam-") + kAlice));
}

// A space of the rule's name that the user does not own (here root's) cannot be joined:
// the session fails and the process stays on the host's network.
TEST_F(PamTest, SpaceOfAnotherOwnerFailsTheSession) {
    const std::string name = std::string("pam-") + kAlice;
    auto made = mk({"--name", name, "--", "true"});
    ASSERT_EQ(made.rc, 0) << made.err;
    auto s = Session(A().ns(), dir_, "pntest", kAlice, true, module_);  // the module's own codes
    Opened o = s.opened();
    EXPECT_EQ(o.rc, PAM_SESSION_ERR);
    EXPECT_EQ(o.space, "-");
    auto host = sys::inode_of_fd(A().ns());
    ASSERT_TRUE(host.ok());
    EXPECT_EQ(o.netns, host.value());
    EXPECT_EQ(o.mntns, host_mntns_);
    EXPECT_EQ(s.close(), PAM_SUCCESS);  // nothing was opened
    EXPECT_TRUE(exists(name));
    auto destroyed = pnet({"destroy", name});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
}

TEST_F(PamTest, SpaceStaysWithoutDestroyOnLastClose) {
    const std::string name = std::string("pam-") + kBob;
    auto s = session(kBob);
    ASSERT_EQ(s.opened().rc, PAM_SUCCESS);
    EXPECT_EQ(s.close(), PAM_SUCCESS);
    EXPECT_TRUE(exists(name));
    auto again = session(kBob);
    ASSERT_EQ(again.opened().rc, PAM_SUCCESS);  // opens the existing space
    EXPECT_EQ(again.close(), PAM_SUCCESS);
    auto destroyed = pnet({"destroy", name});
    EXPECT_EQ(destroyed.rc, 0) << destroyed.err;
}

}  // namespace
}  // namespace pntest

namespace pntest {
namespace {

// A real login: sshd (run through a symlink, so that its PAM service, named after the
// program, is /etc/pam.d/pntest-sshd) in host A, ssh from host B.
class PamSshTest : public PamTest {
protected:
    static constexpr const char* kPamService = "/etc/pam.d/pntest-sshd";

    void SetUp() override {
        PamTest::SetUp();
        if (::access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "openssh-server is not installed";
        for (const char* key : {"/hostkey", "/userkey"})
            run_cmd({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (dir_ + key).c_str()});
        const passwd* pw = ::getpwnam(kAlice);
        ASSERT_NE(pw, nullptr);
        const std::string ssh_dir = std::string(pw->pw_dir) + "/.ssh";
        ::mkdir(ssh_dir.c_str(), 0700);
        auto pub = sys::read_file(dir_ + "/userkey.pub");
        ASSERT_TRUE(pub.ok());
        std::ofstream(ssh_dir + "/authorized_keys") << pub.value();
        ASSERT_EQ(::chown(ssh_dir.c_str(), pw->pw_uid, pw->pw_gid), 0);
        ASSERT_EQ(::chown((ssh_dir + "/authorized_keys").c_str(), pw->pw_uid, pw->pw_gid), 0);
        made_privsep_dir_ = ::mkdir("/run/sshd", 0755) == 0;
        write(dir_ + "/sshd_config", "Port 2222\nListenAddress 10.9.0.1\nHostKey " + dir_ +
                                         "/hostkey\nUsePAM yes\nPasswordAuthentication no\n"
                                         "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
                                         "AuthorizedKeysFile .ssh/authorized_keys\nPidFile none\n");
        write(kPamService, "account required pam_permit.so\nsession required " + module_ +
                               " debug config=" + dir_ + "/pam.conf\n");
        ASSERT_EQ(::symlink("/usr/sbin/sshd", (dir_ + "/pntest-sshd").c_str()), 0);
        sshd_ =
            A().spawn({dir_ + "/pntest-sshd", "-D", "-f", dir_ + "/sshd_config", "-E", dir_ + "/sshd.log"});
        for (int i = 0; i < 100; ++i) {
            auto log = sys::read_file(dir_ + "/sshd.log");
            if (log.ok() && contains(log.value(), "Server listening")) return;
            ::usleep(50000);
        }
        FAIL() << "sshd did not start: " << sys::read_file(dir_ + "/sshd.log").value();
    }
    void TearDown() override {
        sshd_.kill(SIGTERM);
        (void)sshd_.wait();
        (void)::unlink(kPamService);
        if (made_privsep_dir_) (void)::rmdir("/run/sshd");
        for (const char* f : {"/hostkey", "/hostkey.pub", "/userkey", "/userkey.pub", "/sshd_config",
                              "/pntest-sshd", "/sshd.log"})
            (void)::unlink((dir_ + f).c_str());
        PamTest::TearDown();
    }
    std::vector<std::string> ssh(const std::string& command) const {
        return {"ssh",
                "-i",
                dir_ + "/userkey",
                "-p",
                "2222",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
                std::string(kAlice) + "@10.9.0.1",
                command};
    }
    std::string log() const {
        auto l = sys::read_file(dir_ + "/sshd.log");
        return l.ok() ? l.value() : "";
    }
    bool gone_within(const std::string& name, int ms) {
        for (int i = 0; i < ms / 100; ++i) {
            if (!exists(name)) return true;
            ::usleep(100000);
        }
        return false;
    }

    Proc sshd_;
    bool made_privsep_dir_ = false;
};

TEST_F(PamSshTest, LoginRunsInItsSpace) {
    const std::string name = std::string("pam-") + kAlice;
    const std::string probe = "/tmp/pntest-pam-ssh-probe";
    (void)::unlink(probe.c_str());
    auto r = B().run(ssh("readlink /proc/self/ns/net; echo $PERSONALNET_SPACE; ip -brief addr show up0; "
                         "echo x > " +
                         probe + "; cat " + probe + "; cat /proc/1/comm; ps -e -o comm= | wc -l"),
                     20000);
    ASSERT_EQ(r.rc, 0) << r.err << "\n" << log();
    std::istringstream lines(r.out);
    std::string netns, space, addr, cat, init, count;
    std::getline(lines, netns);
    std::getline(lines, space);
    std::getline(lines, addr);
    std::getline(lines, cat);
    std::getline(lines, init);
    std::getline(lines, count);
    // In the space's PID namespace: its init is pid 1, and only the login's own processes
    // are shown (its sshd child, the shell, ps, wc), not the host's.
    EXPECT_EQ(init, "pninit");
    EXPECT_LE(std::atoi(count.c_str()), 6) << count;
    const std::string sshd_netns =
        "net:[" + std::to_string(inode_of("/proc/" + std::to_string(sshd_.pid()) + "/ns/net")) + "]";
    EXPECT_TRUE(netns.rfind("net:[", 0) == 0) << netns;
    EXPECT_NE(netns, sshd_netns) << "the session runs in sshd's network namespace";
    EXPECT_EQ(space, name);
    EXPECT_TRUE(contains(addr, "10.9.0.1")) << addr;
    EXPECT_EQ(cat, "x");
    EXPECT_NE(::access(probe.c_str(), F_OK), 0) << "a file written in the session is visible on the host";
    EXPECT_TRUE(gone_within(name, 5000)) << "the last close did not destroy the space\n" << log();
}

TEST_F(PamSshTest, ConcurrentLoginsShareTheSpace) {
    const std::string name = std::string("pam-") + kAlice;
    Proc first = B().spawn(ssh("readlink /proc/self/ns/net; cat >/dev/null"));
    std::string first_netns = first.read_line(20000);
    ASSERT_TRUE(first_netns.rfind("net:[", 0) == 0) << first_netns << "\n" << log();
    auto second = B().run(ssh("readlink /proc/self/ns/net"), 20000);
    ASSERT_EQ(second.rc, 0) << second.err << "\n" << log();
    EXPECT_EQ(second.out, first_netns + "\n");
    EXPECT_TRUE(exists(name)) << "the second session's close destroyed a space still in use";
    first.close_stdin();
    EXPECT_EQ(first.wait(), 0);
    EXPECT_TRUE(gone_within(name, 5000)) << "the last close did not destroy the space\n" << log();
}

}  // namespace
}  // namespace pntest
