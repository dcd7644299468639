// Attacks on the set-uid helper itself (docs/SECURITY.md): stalling everyone's creations
// through the helper's global lock, injecting input into the outer terminal, losing a
// command's exit status, and requests the helper cannot frame.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lib/helper/answer.hpp"
#include "lib/helper/channel.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

namespace helper = personalnet::helper;
using Clock = std::chrono::steady_clock;

// A string literal with its NUL bytes (but not the terminating one).
template <size_t N>
std::string lit(const char (&s)[N]) {
    return std::string(s, N - 1);
}

// argv as `user` on a terminal of its own: a pty whose slave is the controlling terminal
// of a new session (as a login would give), in host A's network namespace.
class Pty {
public:
    Pty(int netns, const std::vector<std::string>& argv, unsigned short rows = 24, unsigned short cols = 80) {
        struct winsize ws = {};
        ws.ws_row = rows;
        ws.ws_col = cols;
        int master = -1;
        pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
        if (pid_ == 0) {
            if (::setns(netns, CLONE_NEWNET) != 0) ::_exit(126);
            personalnet::sys::close_fds_from(3, -1);
            exec_argv(argv);
        }
        master_ = master;
    }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;
    ~Pty() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            (void)wait(2000);
        }
        if (master_ >= 0) ::close(master_);
    }
    void send(const std::string& s) const { (void)!::write(master_, s.data(), s.size()); }
    void resize(unsigned short rows, unsigned short cols) const {
        struct winsize ws = {};
        ws.ws_row = rows;
        ws.ws_col = cols;
        (void)::ioctl(master_, TIOCSWINSZ, &ws);
    }
    // Reads until `needle` appeared in everything read so far (true), or timeout / EOF.
    bool read_until(const std::string& needle, int timeout_ms) {
        auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        while (out_.find(needle) == std::string::npos) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p = {master_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char b[4096];
            ssize_t n = ::read(master_, b, sizeof b);
            if (n <= 0) return out_.find(needle) != std::string::npos;
            out_.append(b, static_cast<size_t>(n));
        }
        return true;
    }
    // The exit code (128+signal), or -1 if it did not end within timeout_ms.
    int wait(int timeout_ms) {
        auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            int st = 0;
            pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
            }
            if (Clock::now() > deadline) return -1;
            read_until("\x01never\x01", 50);  // keep draining: a full pty would block the writer
        }
    }
    const std::string& out() const { return out_; }

private:
    pid_t pid_ = -1;
    int master_ = -1;
    std::string out_;
};

// A client of the helper's protocol in perl: `perl craft.pl HELPER KEY=VALUE...` sends
// op=create with the fields and prints the answer's first field.
constexpr const char* kCraft = R"(use strict; use Socket; use POSIX ();
$^F = 255;
my ($helper, @fields) = @ARGV;
socketpair(my $me, my $it, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
my $pid = fork() // die "fork: $!";
if ($pid == 0) { POSIX::dup2(fileno($it), 3) // exit 98; exec {$helper} "pnhelper"; exit 97 }
close $it;
my $body = join("", map { my ($k, $v) = split /=/, $_, 2; "$k\0$v\0" } ("op=create", @fields));
syswrite($me, pack("N", length $body) . $body);
my $len;
if (sysread($me, $len, 4) != 4) { print "ANSWER:closed\n"; exit 1 }
$len = unpack("N", $len);
my $ans = "";
while (length $ans < $len) { sysread($me, my $b, $len - length $ans) or last; $ans .= $b }
my @f = split /\0/, $ans;
print "ANSWER:$f[0]=$f[1]\n";
close $me;
waitpid($pid, 0);
)";

class HelperAttack : public AttackTest {
protected:
    // argv as root, with host A's directories (as Host::run gives them).
    std::vector<std::string> as_root(const std::vector<std::string>& argv) {
        std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
        std::vector<std::string> cmd = {"env", "PERSONALNET_RUNDIR=" + A().rundir(),
                                        "PERSONALNET_STATEDIR=" + top + "/state"};
        cmd.insert(cmd.end(), argv.begin(), argv.end());
        return cmd;
    }

    // Alice's own FUSE mount (fuse-overlayfs, mounted by her through fusermount3) at
    // HOME/m, with its daemon stopped: every lookup in it now waits. Returns the
    // daemon's pid, or -1 (then the test is skipped).
    pid_t stopped_fuse_mount(const std::string& h) {
        std::string script = "set -e; cd " + h +
                             "; mkdir -p l u w m; setsid fuse-overlayfs -f -o "
                             "lowerdir=$PWD/l,upperdir=$PWD/u,workdir=$PWD/w m "
                             "</dev/null >/dev/null 2>&1 & pid=$!; "
                             "for i in $(seq 50); do mountpoint -q m && break; sleep 0.1; done; "
                             "mountpoint -q m; kill -STOP $pid; echo $pid";
        auto r = as(kAlice, {"sh", "-c", script});
        if (r.rc != 0) return -1;
        // A crafted request, as any user can send it (the library would look at the
        // directory first, and wait for the mount itself).
        bool ok = personalnet::sys::write_atomic(h + "/craft.pl", kCraft).ok() &&
                  ::chmod((h + "/craft.pl").c_str(), 0644) == 0;
        if (!ok) return -1;
        fuse_mount_ = h + "/m";
        fuse_pid_ = std::atoi(r.out.c_str());
        return fuse_pid_;
    }
    void TearDown() override {
        if (fuse_pid_ > 0) {
            ::kill(fuse_pid_, SIGCONT);
            (void)as(kAlice, {"fusermount3", "-u", "-z", fuse_mount_});
            ::kill(fuse_pid_, SIGKILL);
        }
        AttackTest::TearDown();
    }

    // Bob's creation, timed: "" if it completed within a few seconds, else what happened.
    std::string bob_creates() {
        auto t0 = Clock::now();
        auto r = as(kBob, {mkps(), "--file-space=none", "--", "true"}, {}, 12000);
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (r.rc == 0 && s < 5) return "";
        return "another user's creation " +
               (r.rc == 0 ? "took " + std::to_string(s) + " s" : "failed (" + r.err + ")");
    }

    // Processes named pnhelper in state T (stopped).
    static std::string stopped_helpers() {
        std::string found;
        auto pids = personalnet::sys::list_dir("/proc");
        if (!pids.ok()) return found;
        for (const auto& p : pids.value()) {
            auto stat = personalnet::sys::read_file("/proc/" + p + "/stat");
            if (!stat.ok() || stat->find("(pnhelper) T") == std::string::npos) continue;
            auto status = personalnet::sys::read_file("/proc/" + p + "/status");
            bool root = status.ok() && status->find("\nUid:\t0\t") != std::string::npos;
            found += " " + p + (root ? " (root)" : "");
        }
        return found;
    }

    // Alice's crafted creation sharing a directory in her stopped mount.
    std::vector<std::string> craft(const std::string& h) {
        return {"perl", h + "/craft.pl", staged_helper(), "file_space=1", "share=" + h + "/m/sub"};
    }

    std::string fuse_mount_;
    pid_t fuse_pid_ = -1;
};

// A share path on the user's own stopped FUSE mount: the helper's check (as the user)
// waits for the mount forever. Nobody else's creation may wait with it.
TEST_F(HelperAttack, LockStallThroughAStoppedFuseMount) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    if (stopped_fuse_mount(h) < 0) GTEST_SKIP() << "cannot make a FUSE mount as a user here";
    Proc stalled = A().spawn(as_argv(kAlice, craft(h)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    std::string evidence = bob_creates();
    ::kill(fuse_pid_, SIGCONT);
    (void)stalled.wait();
    verdict("lock-stall-stopped-fuse-share", evidence);
}

// The same stall, then the check child (running as the user) stopped by the user, and
// the mount resumed: the check never ends unless the helper stops waiting for it.
TEST_F(HelperAttack, LockStallThroughAStoppedCheckChild) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    if (stopped_fuse_mount(h) < 0) GTEST_SKIP() << "cannot make a FUSE mount as a user here";
    Proc stalled = A().spawn(as_argv(kAlice, craft(h)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // Alice stops every process of hers named pnhelper (the check child), then resumes her
    // mount.
    (void)as(kAlice,
             {"sh", "-c", "pkill -STOP -u $(id -u) -x pnhelper; kill -CONT " + std::to_string(fuse_pid_)});
    std::string evidence = bob_creates();
    (void)as(kAlice, {"pkill", "-CONT", "-u", std::to_string(uid_of(kAlice)), "-x", "pnhelper"});
    (void)stalled.wait();
    verdict("lock-stall-stopped-check-child", evidence);
}

// ^Z on the user's own terminal while the helper is busy for them: the set-uid helper
// was in the terminal's foreground process group, so the tty stopped root's helper (with
// its lock) and nothing resumed it.
TEST_F(HelperAttack, LockStallThroughZOnTheTerminal) {
    write_policy(share_policy());
    std::string h = home(kAlice);
    if (stopped_fuse_mount(h) < 0) GTEST_SKIP() << "cannot make a FUSE mount as a user here";
    Pty term(A().ns(), as_argv(kAlice, {"bash", "--norc", "--noprofile", "-i"}));
    std::string cmd;
    for (const auto& a : craft(h)) cmd += a + " ";
    term.send("PS1='$ '; " + cmd + "; echo DONE-$?\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    term.send("\x1a");  // ^Z: SIGTSTP to the terminal's foreground process group
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string evidence;
    if (auto s = stopped_helpers(); !s.empty()) evidence = "helpers stopped by ^Z:" + s + ";";
    ::kill(fuse_pid_, SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    evidence += bob_creates();
    term.send("fg\n");
    (void)term.read_until("DONE-", 15000);
    term.send("exit\n");
    (void)term.wait(5000);
    verdict("lock-stall-terminal-stop", evidence);
}

// TIOCSTI from a command in a space: input pushed into the outer terminal would be read
// (and run) by the outer shell after the space ends.
TEST_F(HelperAttack, TerminalInjectionFromInsideASpace) {
    std::string h = home(kAlice);
    ASSERT_TRUE(personalnet::sys::write_atomic(
                    h + "/inject.pl",
                    "my $r = 1;\n$r &&= ioctl(STDIN, 0x5412, $_) for split //, \"echo PWNED\\n\";\n"
                    "print $r ? \"STI:ok\\n\" : \"STI:refused:$!\\n\";\n")
                    .ok());
    ASSERT_EQ(::chmod((h + "/inject.pl").c_str(), 0644), 0);
    std::string evidence;
    for (bool root : {false, true}) {
        std::string script = (root ? bin("mkportspace") : mkps()) + " --file-space=none -- perl " + h +
                             "/inject.pl; read -t 2 line; echo \"GOT:[$line]\"; echo END";
        std::vector<std::string> sh = {"bash", "--norc", "-c", script};
        Pty term(A().ns(), root ? as_root(sh) : as_argv(kAlice, sh));
        (void)term.read_until("END", 15000);
        (void)term.wait(5000);
        std::string who = root ? "root's" : "a user's";
        if (contains(term.out(), "STI:ok")) evidence += " TIOCSTI worked in " + who + " space;";
        if (contains(term.out(), "GOT:[echo PWNED"))
            evidence += " the outer shell read " + who + " injected line;";
        if (!contains(term.out(), "STI:refused:Operation not permitted"))
            evidence += " no EPERM in " + who + " space (" + term.out() + ");";
    }
    verdict("tiocsti-into-outer-terminal", evidence);
}

// Not an attack but the other side of the two above: a command run on a terminal is in
// its foreground process group, gets the terminal's ^C and window size.
TEST_F(HelperAttack, InteractiveCommandKeepsTheTerminal) {
    std::string h = home(kAlice);
    ASSERT_TRUE(
        personalnet::sys::write_atomic(h + "/inner.sh",
                                       "set -- $(ps -o pgid= -o tpgid= -p $$)\n"
                                       "if [ \"$1\" = \"$2\" ]; then echo FG:yes; else echo FG:no; fi\n"
                                       "echo SIZE:$(stty size)\n"
                                       "trap 'echo SIZE:$(stty size)' WINCH\n"
                                       "trap 'echo GOTINT; exit 3' INT\n"
                                       "echo READY\n"
                                       "while :; do sleep 0.1; done\n")
            .ok());
    ASSERT_EQ(::chmod((h + "/inner.sh").c_str(), 0644), 0);
    Pty term(A().ns(),
             as_argv(kAlice, {"bash", "--norc", "-c",
                              mkps() + " --file-space=none -- bash " + h + "/inner.sh; echo RC=$?"}),
             33, 77);
    std::string evidence;
    if (!term.read_until("READY", 15000)) evidence += " the command did not start (" + term.out() + ");";
    if (!contains(term.out(), "FG:yes"))
        evidence += " the command is not in the terminal's foreground group;";
    if (!contains(term.out(), "SIZE:33 77")) evidence += " the command did not see the window size;";
    term.resize(40, 100);
    if (!term.read_until("SIZE:40 100", 5000)) evidence += " no SIGWINCH/new size;";
    term.send("\x03");
    if (!term.read_until("GOTINT", 5000)) evidence += " ^C did not reach the command;";
    if (!term.read_until("RC=3", 5000)) evidence += " ^C did not end it with its own status;";
    (void)term.wait(5000);
    verdict("interactive-command-keeps-terminal", evidence);
}

// A caller that ignores SIGCHLD hands the ignored disposition to the helper (and to root's
// own Space::run): waitpid then finds no child, and a failed command looked like success.
TEST_F(HelperAttack, IgnoredSigchldLosesTheExitStatus) {
    std::string evidence;
    const std::vector<std::string> perl = {"perl", "-e", "$SIG{CHLD} = \"IGNORE\"; exec @ARGV"};
    for (bool root : {false, true}) {
        std::vector<std::string> argv = perl;
        argv.insert(argv.end(),
                    {root ? bin("mkportspace") : mkps(), "--file-space=none", "--", "sh", "-c", "exit 7"});
        auto r = root ? A().run(argv) : as(kAlice, argv);
        if (r.rc != 7)
            evidence += std::string(root ? " root's" : " a user's") + " exit 7 came back as " +
                        std::to_string(r.rc) + ";";
    }
    verdict("sigchld-ignored-exit-status", evidence);
}

// Values the framing cannot carry: a seed file with a NUL byte, a command argument over
// 64 KiB. The answer must be one line naming what is wrong, exit 2, not a closed channel.
TEST_F(HelperAttack, UnframableValuesFromTheLibrary) {
    std::string h = home(kAlice);
    ASSERT_EQ(as(kAlice, {"sh", "-c", "printf 'nameserver 192.0.2.1\\n\\000\\n' > " + h + "/r"}).rc, 0);
    std::string evidence;
    auto seed = as(kAlice, {mkps(), "--resolv-conf", h + "/r", "--", "true"});
    if (seed.rc != 2 || !contains(seed.err, "--resolv-conf") || seed.err.find('\n') != seed.err.size() - 1)
        evidence += " NUL in --resolv-conf: exit " + std::to_string(seed.rc) + ", said: " + seed.err + ";";
    auto big = as(
        kAlice, {"sh", "-c", mkps() + " --file-space=none -- true $(head -c 70000 /dev/zero | tr '\\0' x)"});
    // mkportspace exits 127 for any failure to run its command; the refusal is the point.
    if (big.rc == 0 || !contains(big.err, "argument 1") || !contains(big.err, "64 KiB") ||
        contains(big.err, "without an answer"))
        evidence += " a 70000-byte argument: exit " + std::to_string(big.rc) + ", said: " + big.err + ";";
    verdict("unframable-values-from-the-library", evidence);
}

// The same values sent raw to the helper by the user: it answers one error, naming them.
TEST_F(HelperAttack, UnframableRequestsToTheHelper) {
    auto raw_ask = [&](const std::string& body, bool claim_length = true) {
        return ask_helper_raw(kAlice, body, claim_length);
    };
    std::string evidence;
    std::string big = lit("op\0create\0hosts_text\0") + std::string(70000, 'x') + lit("\0");
    if (auto a = raw_ask(big); !contains(a, "hosts_text") || !contains(a, "64 KiB"))
        evidence += " a 70000-byte value: " + a + ";";
    std::string nul = lit("op\0create\0hosts_text\0a\0\nb\0");
    if (auto a = raw_ask(nul); !contains(a, "bad message")) evidence += " a NUL inside a value: " + a + ";";
    if (auto a = raw_ask("op", false); !contains(a, "1 MiB")) evidence += " a 2 GiB length: " + a + ";";
    verdict("unframable-requests-to-the-helper", evidence);
}

}  // namespace
}  // namespace pntest
