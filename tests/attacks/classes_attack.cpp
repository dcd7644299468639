// The attack classes that held when issue 15's attackers tried them, kept as attacks:
// descriptors, environment, other users' spaces, the host from inside, planted files,
// user namespaces, kills at every step, crafted requests (names, numbers, argv). Each
// prints its verdict line through the fixture (SAFE when every expectation held).
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lib/core/sys.hpp"
#include "lib/helper/answer.hpp"
#include "lib/helper/channel.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;
namespace helper = personalnet::helper;

// What a user's command holds: no capability in any set, no_new_privs, the user's own
// ids and groups, nothing open but stdio even when started with descriptors 3..200; and
// it is in a port space of its own on the host's address.
TEST_F(AttackTest, UsersCommandHoldsNoPrivilegeAndNoDescriptor) {
    std::string script = "i=3; while [ $i -le 200 ]; do eval \"exec $i</dev/null\"; i=$((i+1)); done; exec " +
                         mkps() +
                         " -q -- sh -c 'grep -E \"^(Cap|NoNewPrivs|Uid|Gid|Groups)\" /proc/self/status; "
                         "ls /proc/self/fd | tr \"\\n\" \" \"; echo; readlink /proc/self/ns/net; "
                         "ip -o -4 addr show dev up0 scope global'";
    auto r = as(kAlice, {"bash", "-c", script});
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_TRUE(contains(r.out, std::string(set) + ":\t0000000000000000")) << set << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "NoNewPrivs:\t1")) << r.out;
    std::string uid = std::to_string(uid_of(kAlice));
    EXPECT_TRUE(contains(r.out, "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid)) << r.out;
    struct passwd* pw = ::getpwnam(kAlice);
    std::string gid = std::to_string(pw->pw_gid);
    EXPECT_TRUE(contains(r.out, "Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid)) << r.out;
    EXPECT_TRUE(contains(r.out, "Groups:\t" + gid)) << r.out;
    EXPECT_TRUE(contains(r.out, "\n0 1 2 3 \n")) << "only stdio (and ls's own directory): " << r.out;
    auto host_ns = A().run({"readlink", "/proc/self/ns/net"}).out;
    EXPECT_FALSE(contains(r.out, host_ns)) << "a namespace of its own";
    EXPECT_TRUE(contains(r.out, "inet 10.9.0.1/32")) << "the host's address: " << r.out;
}

// The caller's environment reaches the command (it is the caller's), but changes nothing
// the helper does: the space is where the policy says, the loader ignored LD_* for the
// set-uid helper, PATH and IFS did not steer it.
TEST_F(AttackTest, CallersEnvironmentChangesNothingTheHelperDoes) {
    std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
    auto r = as(kAlice,
                {mkps(), "-q", "--name", "envy", "--", "sh", "-c", "echo \"$PNT_MARK $PERSONALNET_SPACE\""},
                {"LD_PRELOAD=/nonexistent/evil.so", "LD_LIBRARY_PATH=/tmp/pnevil", "GCONV_PATH=/tmp/pnevil",
                 "GLIBC_TUNABLES=glibc.malloc.check=3", "IFS=x", "PATH=/tmp/pnevil:/usr/bin:/bin",
                 "PERSONALNET_RUNDIR=" + top + "/evil-run", "PERSONALNET_STATEDIR=" + top + "/evil-state",
                 "PERSONALNET_OVERLAYDIR=" + top + "/evil-ovl", "PNT_MARK=mine"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "mine envy")) << r.out;
    struct stat st {};
    EXPECT_NE(::stat((top + "/evil-run").c_str(), &st), 0) << "the caller's PERSONALNET_RUNDIR was not used";
    EXPECT_NE(::stat((top + "/evil-state").c_str(), &st), 0);
    auto mine = pnet({"show", "envy", "--json"});  // root, in the policy's run directory
    EXPECT_EQ(mine.rc, 0) << mine.err;
    EXPECT_TRUE(contains(mine.out, "\"owner\":" + std::to_string(uid_of(kAlice)))) << mine.out;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "envy"}).rc, 0);
}

// Spaces are their owner's: another user cannot join, exec in, show, diff or destroy
// them, nor see them listed; root sees everything.
TEST_F(AttackTest, AnotherUserCannotUseOrSeeAUsersSpace) {
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", "alices", "--", "true"}).rc, 0);
    for (std::vector<std::string> argv :
         {std::vector<std::string>{pnet_bin(), "exec", "alices", "--", "true"},
          {pnet_bin(), "show", "alices"},
          {pnet_bin(), "destroy", "alices"},
          {pnet_bin(), "diff", "alices"},
          {mkps(), "--name", "alices", "--", "true"}}) {
        auto r = as(kBob, argv);
        EXPECT_EQ(r.rc, 2) << argv[1] << ": " << r.out << r.err;
        EXPECT_TRUE(contains(r.err, "owned by another user")) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_FALSE(contains(as(kBob, {pnet_bin(), "list"}).out, "alices"));
    EXPECT_TRUE(contains(as(kAlice, {pnet_bin(), "list"}).out, "alices"));
    EXPECT_TRUE(contains(pnet({"list"}).out, "alices")) << "root sees every space";
    auto in = as(kAlice, {pnet_bin(), "exec", "alices", "--", "id", "-u"});
    EXPECT_EQ(in.out, std::to_string(uid_of(kAlice)) + "\n") << in.err;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "alices"}).rc, 0);
}

// From inside a space a user reaches nothing of the host's: no route, nft or xfrm change,
// no way back into the host's namespace.
TEST_F(AttackTest, InsideASpaceTheHostIsOutOfReach) {
    std::string probe_script =
        "ip route add 10.99.0.0/16 dev up0 2>&1 || echo route-refused; "
        "nft list ruleset >/dev/null 2>&1 || echo nft-refused; "
        "ip xfrm state flush 2>&1 || echo xfrm-refused; "
        "nsenter --net=/proc/1/ns/net true 2>/dev/null || echo setns-refused; "
        "echo x > /etc/pnevil 2>/dev/null || echo etc-refused; "
        "echo 'pntest-alice ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers 2>/dev/null || echo sudoers-refused";
    auto r = as(kAlice, {mkps(), "-q", "--", "sh", "-c", probe_script});
    for (const char* refused :
         {"route-refused", "nft-refused", "xfrm-refused", "setns-refused", "etc-refused"})
        EXPECT_TRUE(contains(r.out, refused)) << refused << "\n" << r.out << r.err;
    struct stat st {};
    EXPECT_NE(::stat("/etc/pnevil", &st), 0);
}

// Things a user plants in their own file space where privileged code later looks (the
// layer the helper diffs and removes): a FIFO, symlinks to the host's secrets and a hard
// link. diff does not hang or follow them, destroy removes the links and not what they
// point to, and nothing outside changes.
TEST_F(AttackTest, PlantedLinksAndFifosInAFileSpaceAreNotFollowed) {
    std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
    ASSERT_TRUE(sys::write_atomic(top + "/secret", "root only\n").ok());
    ASSERT_EQ(::chmod((top + "/secret").c_str(), 0600), 0);
    auto made = as(kAlice, {mkps(), "-q", "--name", "planted", "--", "sh", "-c",
                            "mkfifo /tmp/fifo && ln -s " + top +
                                "/secret /tmp/to-secret && ln -s /etc/shadow /tmp/shadow"
                                " && (ln /etc/shadow /tmp/hard 2>/dev/null || echo hard-refused)"});
    ASSERT_EQ(made.rc, 0) << made.err;
    EXPECT_TRUE(contains(made.out, "hard-refused")) << "protected_hardlinks: " << made.out;
    auto diff = as(kAlice, {pnet_bin(), "diff", "planted"}, {}, 10000);
    EXPECT_EQ(diff.rc, 0) << diff.err;
    for (const char* p : {"A /tmp/fifo", "A /tmp/to-secret", "A /tmp/shadow"})
        EXPECT_TRUE(contains(diff.out, p)) << p << "\n" << diff.out;
    EXPECT_FALSE(contains(diff.out, "root only"));
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "planted"}).rc, 0);
    auto secret = sys::read_file(top + "/secret");
    EXPECT_TRUE(secret.ok() && secret.value() == "root only\n") << "the link's target is intact";
    struct stat st {};
    EXPECT_EQ(::stat("/etc/shadow", &st), 0);
}

// A namespace the user made (a user namespace of their own) is not one the helper acts
// in: the set-uid bit means nothing there, and the helper refuses even so.
TEST_F(AttackTest, HelperIgnoresNamespacesTheUserMade) {
    auto r = as(kAlice, {"unshare", "--user", "--map-root-user", "--net", mkps(), "--", "true"});
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(contains(r.err, "set-uid root") || contains(r.err, "initial user namespace")) << r.err;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// SIGKILL of the helper at any step of a user's creation: `pnet gc` leaves the host as it
// was.
TEST_F(AttackTest, HelperKilledAtAnyStepLeavesNothingAfterGc) {
    for (int i = 0; i < 12; ++i) {
        auto p =
            A().spawn({"setpriv", std::string("--reuid=") + kAlice, std::string("--regid=") + kAlice,
                       "--init-groups", "env", "-i", "PERSONALNET_HELPER=" + staged_helper(), mkps(), "-q",
                       i % 2 == 0 ? "--file-space=overlay" : "--file-space=none", "--", "sleep", "5"});
        ::usleep(static_cast<useconds_t>(4000 * i));
        // The helper is root's: only root can kill it.
        auto procs = sys::list_dir("/proc");
        for (const auto& pid : procs.value()) {
            if (pid[0] < '1' || pid[0] > '9') continue;
            char exe[4096] = {};
            ssize_t n = ::readlink(("/proc/" + pid + "/exe").c_str(), exe, sizeof exe - 1);
            if (n > 0 && std::string(exe, static_cast<size_t>(n)) == staged_helper())
                ::kill(std::stoi(pid), SIGKILL);
        }
        p.kill(SIGKILL);
        (void)p.wait();
    }
    ::usleep(200000);
    auto gc = pnet({"gc"});
    EXPECT_EQ(gc.rc, 0) << gc.err;
    EXPECT_EQ(A().snapshot(), baseline_) << "a killed helper left state behind";
}

// The helper on its own: not run by the library (no channel), with arguments, with
// argc == 0, and with requests no library would send: each refused, nothing made.
TEST_F(AttackTest, HelperRefusesWhatTheLibraryWouldNeverSend) {
    auto bare = as(kAlice, {staged_helper()});
    EXPECT_EQ(bare.rc, 2);
    EXPECT_TRUE(contains(bare.err, "libpersonalnet's set-uid helper")) << bare.err;

    // argc == 0, from a child that became the user.
    pid_t pid = ::fork();
    if (pid == 0) {
        struct passwd* pw = ::getpwnam(kAlice);
        if (::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0) ::_exit(99);
        char* const argv[] = {nullptr};
        char* const envp[] = {nullptr};
        ::execve(staged_helper().c_str(), argv, envp);
        ::_exit(98);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << "argc == 0: status " << st;

    // Crafted requests over the channel, sent by a child that became the user.
    auto ask = [&](const helper::Message& request) -> std::string {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        pid_t p = start_helper_as(kAlice, sv[1]);
        ::close(sv[1]);
        std::string answer;
        if (helper::send_message(sv[0], request).ok()) {
            auto m = helper::receive_message(sv[0]);
            auto err = m.ok() ? helper::error_of(m.value()) : personalnet::Status(m.error());
            answer = err.ok() ? "ok" : err.error().message();
        }
        ::close(sv[0]);
        int s = 0;
        ::waitpid(p, &s, 0);
        return answer;
    };
    using M = helper::Message;
    struct Case {
        M request;
        const char* says;
    };
    std::vector<Case> cases = {
        {M().add("op", "create").add("name", ".."), "name=\'..\'"},
        {M().add("op", "create").add("name", "a\nb"), "name=\'a\\x0ab\'"},
        {M().add("op", "create").add("name", "-x"), "must not start"},
        {M().add("op", "create").add("name", std::string(40, 'a')), "longer than 32"},
        {M().add("op", "create").add("inherit_routes", "2"), "want 0 or 1"},
        {M().add("op", "create").add("hide_service", "tcp/65536"), "tcp/65536"},
        {M().add("op", "create").add("hide_service", "tcp/-1"), "tcp/-1"},
        {M().add("op", "create").add("hide_service", "tcp/12abc"), "tcp/12abc"},
        {M().add("op", "create").add("hide_service", "tcp/18446744073709551616"), "18446744073709551616"},
        {M().add("op", "create").add("share", "relative/dir"), "not an absolute directory"},
        {M().add("op", "create").add("overlay", "../corp"), "bad overlay name"},
        {M().add("op", "create").add("rundir", "/tmp/x"), "not a field of create"},
        {M().add("op", "destroy").add("name", "/"), "name=\'/\'"},
        {M().add("op", "shell").add("cmd", "id"), "unknown operation"},
        {M().add("op", "run").add("arg", "id"), "run needs a space"},
        {M().add("name", "x"), "must start with op"},
    };
    for (const auto& c : cases) {
        auto said = ask(c.request);
        EXPECT_TRUE(contains(said, c.says)) << "wanted '" << c.says << "', got '" << said << "'";
    }
    EXPECT_EQ(A().snapshot(), baseline_);

    // Interface names come from labels, not names: two names alike but for their last
    // of 32 characters are two spaces with two uplinks.
    std::string a(31, 'n'), b(31, 'n');
    a += 'a';
    b += 'b';
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", a, "--file-space=none", "--", "true"}).rc, 0);
    ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", b, "--file-space=none", "--", "true"}).rc, 0);
    auto both = as(kAlice, {pnet_bin(), "list"});
    EXPECT_TRUE(contains(both.out, a) && contains(both.out, b)) << both.out;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", a}).rc, 0);
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", b}).rc, 0);
}

// Root's processes for a user's space (the helper holding the session, fuse-overlayfs)
// are beyond the user's reach: no signal, no ptrace, nothing of /proc/PID that would show
// or change their memory, environment, descriptors or files, no write to their binary.
TEST_F(AttackTest, RootProcessesOfASpaceAreOutOfReach) {
    write_policy(share_policy());
    std::string h = home(kAlice), marker = h + "/pntest-up";
    auto bg = A().spawn(
        as_argv(kAlice, {mkps(), "-q", "--share", h, "--", "sh", "-c", "touch " + marker + "; sleep 30"}));
    std::vector<std::string> pids;
    for (int i = 0; i < 100 && pids.empty(); ++i) {
        ::usleep(50 * 1000);
        struct stat st {};
        if (::stat(marker.c_str(), &st) != 0) continue;
        auto procs = sys::list_dir("/proc");
        for (const auto& p : procs.ok() ? procs.value() : std::vector<std::string>{}) {
            auto comm = sys::read_file("/proc/" + p + "/comm");
            auto status = sys::read_file("/proc/" + p + "/status");
            // Wholly root's: a helper just started by a user (real uid still theirs) or a
            // child becoming the user is theirs to signal, as with any set-uid program.
            if (comm.ok() && status.ok() &&
                (comm.value() == "pnhelper\n" || comm.value() == "fuse-overlayfs\n") &&
                contains(status.value(), "Uid:\t0\t0\t0\t0"))
                pids.push_back(p);
        }
    }
    ASSERT_FALSE(pids.empty()) << "no root process of the space was found";
    std::string probe;
    for (const auto& p : pids) {
        std::string d = "/proc/" + p;
        probe += "kill -0 " + p + " 2>/dev/null && echo SIGNAL-" + p + "; kill -STOP " + p +
                 " 2>/dev/null && echo STOP-" + p + "; head -c1 " + d + "/mem >/dev/null 2>&1 && echo MEM-" +
                 p + "; cat " + d + "/environ >/dev/null 2>&1 && echo ENVIRON-" + p + "; ls " + d +
                 "/fd >/dev/null 2>&1 && echo FD-" + p + "; ls " + d +
                 "/root/ >/dev/null 2>&1 && echo ROOT-" + p + "; ls " + d +
                 "/cwd/ >/dev/null 2>&1 && echo CWD-" + p + "; (echo x >> " + d +
                 "/exe) 2>/dev/null && echo EXE-" + p + "; timeout 5 strace -p " + p +
                 " -e trace=none >/dev/null 2>&1 && echo PTRACE-" + p + "; ";
    }
    auto outside = as(kAlice, {"sh", "-c", probe});
    auto inside = as(kAlice, {mkps(), "-q", "--", "sh", "-c", probe});
    std::string evidence;
    for (const auto& p : pids) {
        auto status = sys::read_file("/proc/" + p + "/status");
        if (status.ok() && (contains(outside.out, "-" + p + "\n") || contains(inside.out, "-" + p + "\n"))) {
            size_t u = status->find("Uid:");
            evidence += "(" + p + " " + status->substr(0, status->find('\n')) + " " +
                        status->substr(u, status->find('\n', u) - u) + ") ";
        }
    }
    if (!outside.out.empty()) evidence += "from the host: " + outside.out;
    if (!inside.out.empty()) evidence += "from a space: " + inside.out;
    bg.kill(SIGTERM);
    (void)bg.wait();
    std::printf("(%zu root processes probed)\n", pids.size());
    verdict("root-processes-of-a-space-out-of-reach", evidence);
}

// Inside a space a user opens no raw or packet socket (the space is the user's only with
// --admin, and then in its own user namespace: see AdminSpaceGivesNetworkRightsInsideOnly).
TEST_F(AttackTest, NoRawSocketsInASpace) {
    write_policy("");
    const std::string perl =
        "use Socket; socket(my $r, PF_INET, SOCK_RAW, 255) and print \"RAW\\n\"; "
        "socket(my $p, 17, SOCK_RAW, 0x300) and print \"PACKET\\n\"; "
        "socket(my $q, PF_INET6, SOCK_RAW, 58) and print \"RAW6\\n\";";
    auto r = as(kAlice, {mkps(), "-q", "--", "perl", "-e", perl});
    EXPECT_EQ(r.rc, 0) << r.err;
    verdict("no-raw-sockets-in-a-space", r.out.empty() ? "" : "opened " + r.out);
}

// A caller with its standard descriptors closed, a descriptor limit too low for the
// helper, or no processes left to fork gets a clear failure or a space, never a helper
// that acts on a wrong descriptor or leaves anything behind.
TEST_F(AttackTest, ClosedDescriptorsAndLowLimits) {
    write_policy("");
    std::string evidence;
    auto closed =
        as(kAlice,
           {"sh", "-c", mkps() + " -q -- sh -c 'ls -l /proc/self/fd/ > /dev/null' <&- >&- 2>&-; echo rc=$?"});
    if (!contains(closed.out, "rc=0")) evidence += "closed stdio: " + closed.out + closed.err + "; ";
    for (const char* limit : {"ulimit -n 4", "ulimit -n 8", "ulimit -u 1", "ulimit -v 20000"}) {
        auto r = as(kAlice, {"sh", "-c", std::string(limit) + "; " + mkps() + " -q -- true; echo rc=$?"});
        // A refusal is fine; a crash of the helper (a signal) or a half-made space is not.
        if (contains(r.out, "rc=13") || contains(r.out, "rc=139") || contains(r.out, "rc=134"))
            evidence += std::string(limit) + ": " + r.out + r.err + "; ";
    }
    auto gc = as(kAlice, {pnet_bin(), "gc"});
    auto left = as(kAlice, {pnet_bin(), "list"});
    if (std::count(left.out.begin(), left.out.end(), '\n') > 1) evidence += "spaces left: " + left.out;
    verdict("closed-descriptors-and-low-limits", evidence);
}

}  // namespace
}  // namespace pntest
