// Unprivileged users (issue 5): real users made by the suite run the tools of an install
// staged by `make test` (DESTDIR=build/stage, helper set-uid root, its policy under
// /run/personalnet-test). Every refusal is checked for its message and for an unchanged
// host.
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
#include "tests/integration/unprivileged.hpp"

namespace pntest {
namespace {

namespace sys = personalnet::sys;
namespace helper = personalnet::helper;

// What a user's command holds: no capability in any set, no_new_privs, the user's own
// ids and groups, nothing open but stdio even when started with descriptors 3..200; and
// it is in a port space of its own on the host's address.
TEST_F(UnprivilegedTest, UsersCommandHoldsNoPrivilegeAndNoDescriptor) {
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
TEST_F(UnprivilegedTest, CallersEnvironmentChangesNothingTheHelperDoes) {
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
TEST_F(UnprivilegedTest, AnotherUserCannotUseOrSeeAUsersSpace) {
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

// The policy decides: a user it does not name, an overlay or a directory it does not
// grant, and the per-user, global and depth limits are refused in one line before
// anything is made.
TEST_F(UnprivilegedTest, PolicyRefusalsAreClearAndChangeNothing) {
    auto carol = as(kCarol, {mkps(), "--", "true"});
    EXPECT_EQ(carol.rc, 2) << carol.err;
    EXPECT_TRUE(contains(carol.err, "may not create spaces")) << carol.err;
    auto overlay = as(kAlice, {mkps(), "--overlay", "corp", "--", "true"});
    EXPECT_EQ(overlay.rc, 2) << overlay.err;
    EXPECT_TRUE(contains(overlay.err, "corp")) << overlay.err;
    auto share = as(kAlice, {mkps(), "--share", "/usr", "--", "true"});
    EXPECT_EQ(share.rc, 2) << share.err;
    EXPECT_TRUE(contains(share.err, "/usr")) << share.err;
    EXPECT_EQ(A().snapshot(), baseline_) << "a refusal changed the host";

    for (const char* n : {"l1", "l2", "l3", "l4"})
        ASSERT_EQ(as(kAlice, {mkps(), "-q", "--name", n, "--file-space=none", "--", "true"}).rc, 0);
    auto fifth = as(kAlice, {mkps(), "--name", "l5", "--", "true"});
    EXPECT_NE(fifth.rc, 0);
    EXPECT_TRUE(contains(fifth.err, "max_spaces_per_user")) << fifth.err;
    for (const char* n : {"m1", "m2"})
        ASSERT_EQ(as(kBob, {mkps(), "-q", "--name", n, "--file-space=none", "--", "true"}).rc, 0);
    auto global = as(kBob, {mkps(), "--", "true"});  // 6 spaces on the host: the global limit
    EXPECT_NE(global.rc, 0);
    EXPECT_TRUE(contains(global.err, "max_spaces =")) << global.err;
    for (const char* n : {"l1", "l2", "l3", "l4"}) EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", n}).rc, 0);
    for (const char* n : {"m1", "m2"}) EXPECT_EQ(as(kBob, {pnet_bin(), "destroy", n}).rc, 0);

    // max_depth = 2: a space in a space is fine, a third level is not.
    auto deep = as(kAlice, {mkps(), "-q", "--file-space=none", "--", mkps(), "-q", "--file-space=none", "--",
                            "sh", "-c", "echo depth2; " + mkps() + " --file-space=none -- true"});
    EXPECT_TRUE(contains(deep.out, "depth2")) << deep.out << deep.err;
    EXPECT_TRUE(contains(deep.err, "max_depth")) << deep.err;
}

// Fifty users' creations of one name at once: exactly one wins, the others are told the
// name exists.
TEST_F(UnprivilegedTest, FiftyParallelCreationsOfOneNameHaveOneWinner) {
    std::string script = "for i in $(seq 1 50); do ( " + mkps() +
                         " -q --name race --file-space=none -- true; echo rc=$? ) & done; wait";
    auto r = as(kAlice, {"sh", "-c", script}, {}, 120000);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 50) << r.out << r.err;
    size_t won = 0;
    for (size_t at = r.out.find("rc=0"); at != std::string::npos; at = r.out.find("rc=0", at + 1)) ++won;
    EXPECT_EQ(won, 1u) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "exists")) << r.err;
    EXPECT_EQ(as(kAlice, {pnet_bin(), "destroy", "race"}).rc, 0);
}

// From inside a space a user reaches nothing of the host's: no route, nft or xfrm change,
// no way back into the host's namespace.
TEST_F(UnprivilegedTest, InsideASpaceTheHostIsOutOfReach) {
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
TEST_F(UnprivilegedTest, PlantedLinksAndFifosInAFileSpaceAreNotFollowed) {
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
TEST_F(UnprivilegedTest, HelperIgnoresNamespacesTheUserMade) {
    auto r = as(kAlice, {"unshare", "--user", "--map-root-user", "--net", mkps(), "--", "true"});
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(contains(r.err, "set-uid root") || contains(r.err, "initial user namespace")) << r.err;
    EXPECT_EQ(A().snapshot(), baseline_);
}

// Spaces in a space, through the session's broker: a user makes and lists a named space
// from inside their space, and it is theirs.
TEST_F(UnprivilegedTest, UserCreatesAndManagesSpacesFromInsideASpace) {
    auto r = as(kAlice, {mkps(), "-q", "--", "sh", "-c",
                         mkps() + " -q --name inner -- true && " + pnet_bin() + " list && " + pnet_bin() +
                             " exec inner -- sh -c 'echo in-$PERSONALNET_SPACE' && " + pnet_bin() +
                             " destroy inner"});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "inner")) << r.out;
    EXPECT_TRUE(contains(r.out, "in-inner")) << r.out;
    auto parent = pnet({"list"});
    EXPECT_FALSE(contains(parent.out, "inner")) << "destroyed from inside";
}

// SIGKILL of the helper at any step of a user's creation: `pnet gc` leaves the host as it
// was.
TEST_F(UnprivilegedTest, HelperKilledAtAnyStepLeavesNothingAfterGc) {
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

// --admin: refused unless the policy allows it; then the user's command holds
// CAP_NET_ADMIN and CAP_NET_BIND_SERVICE in the space's own user namespace only: it
// changes the space's routes and firewall and binds port 80 there, and cannot touch the
// host's network.
TEST_F(UnprivilegedTest, AdminSpaceGivesNetworkRightsInsideOnly) {
    auto refused = as(kAlice, {mkps(), "--admin", "--", "true"});
    EXPECT_EQ(refused.rc, 2) << refused.err;
    EXPECT_TRUE(contains(refused.err, "admin")) << refused.err;
    write_policy("admin = yes\n");
    std::string script =
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; id -u; "
        "ip route add 10.99.0.0/16 dev up0 && ip route show 10.99.0.0/16; "
        "nft add table inet mine && nft list tables; " +
        sh_join(probe({"serve", "tcp", "0.0.0.0", "80", "--reply", "admin-80"})) +
        " >/dev/null & sleep 0.3; " + sh_join(probe({"connect", "tcp", "127.0.0.1", "80"})) + "; kill $!; " +
        "nsenter --net=/proc/1/ns/net ip route add 10.98.0.0/16 dev lo 2>/dev/null || echo host-refused";
    auto r = as(kAlice, {mkps(), "-q", "--admin", "--", "sh", "-c", script});
    EXPECT_EQ(r.rc, 0) << r.out << r.err;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_TRUE(contains(r.out, std::string(set) + ":\t0000000000001400")) << set << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "\n" + std::to_string(uid_of(kAlice)) + "\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "10.99.0.0/16 dev up0")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "table inet mine")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "admin-80 peer=127.0.0.1:")) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "host-refused")) << r.out;
    EXPECT_FALSE(contains(A().run({"ip", "route"}).out, "10.98.0.0")) << "the host's routes are untouched";

    // With CAP_NET_ADMIN inside, a user can give the space any address; the host does not
    // forward what is sent from one it did not give (B counts what arrives from it).
    ASSERT_EQ(B().run({"nft", "add", "table", "inet", "pnspoof"}).rc, 0);
    ASSERT_EQ(B().run({"nft", "add", "chain", "inet", "pnspoof", "pre",
                       "{ type filter hook prerouting priority -400; }"})
                  .rc,
              0);
    ASSERT_EQ(
        B().run({"nft", "add", "rule", "inet", "pnspoof", "pre", "ip", "saddr", "10.9.0.77", "counter"}).rc,
        0);
    auto server = B().serve("tcp", "0.0.0.0", 7100, "on-b");
    std::string spoof = sh_join(probe({"connect", "tcp", "10.9.0.2", "7100", "--timeout-ms", "1000"})) +
                        " && echo genuine-ok; ip addr add 10.9.0.77/32 dev up0 && "
                        "ip route replace 10.9.0.2/32 via 169.254.101.1 dev up0 onlink src 10.9.0.77 && " +
                        sh_join(probe({"connect", "tcp", "10.9.0.2", "7100", "--timeout-ms", "1000"})) +
                        " || echo spoof-dropped";
    auto sp = as(kAlice, {mkps(), "-q", "--admin", "--file-space=none", "--", "sh", "-c", spoof});
    EXPECT_TRUE(contains(sp.out, "genuine-ok")) << sp.out << sp.err;
    EXPECT_TRUE(contains(sp.out, "spoof-dropped")) << sp.out << sp.err;
    auto counted = B().run({"nft", "list", "table", "inet", "pnspoof"}).out;
    EXPECT_TRUE(contains(counted, "counter packets 0 ")) << "a spoofed packet left host A:\n" << counted;
    EXPECT_EQ(B().run({"nft", "delete", "table", "inet", "pnspoof"}).rc, 0);
}

// The helper on its own: not run by the library (no channel), with arguments, with
// argc == 0, and with requests no library would send: each refused, nothing made.
TEST_F(UnprivilegedTest, HelperRefusesWhatTheLibraryWouldNeverSend) {
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
        pid_t p = ::fork();
        if (p == 0) {
            struct passwd* pw = ::getpwnam(kAlice);
            if (::setns(A().ns(), CLONE_NEWNET) != 0 || ::setgid(pw->pw_gid) != 0 ||
                ::setuid(pw->pw_uid) != 0)
                ::_exit(99);
            ::dup2(sv[1], helper::kChannelFd);
            char* const argv[] = {const_cast<char*>("pnhelper"), nullptr};
            char* const envp[] = {nullptr};
            ::execve(staged_helper().c_str(), argv, envp);
            ::_exit(98);
        }
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

}  // namespace
}  // namespace pntest
