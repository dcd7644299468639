// File spaces: every space gets one by default. The command sees the parent's files,
// its writes stay inside, named spaces keep them (across re-creation, as after a
// reboot, until destroyed), nested file spaces stack flat, other file systems under /
// are copied on write too, and host resolvers' sockets are hidden. The semantic tests
// run with both backends, kernel overlayfs and fuse-overlayfs. Data lives next to host
// A's run directory.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/sys.hpp"
#include "tests/integration/fixture.hpp"

namespace pntest {
namespace {

class FileSpaceTest : public SpaceTest {
protected:
    void SetUp() override {
        SpaceTest::SetUp();
        top_ = A().rundir().substr(0, A().rundir().rfind('/'));
        data_ = top_ + "/data";
        ASSERT_TRUE(personalnet::sys::make_dirs(data_, 0755).ok());
        ASSERT_TRUE(write("f", "host"));
        ASSERT_TRUE(write("doomed", "host"));
    }
    bool write(const std::string& name, const std::string& text) {
        return personalnet::sys::write_atomic(data_ + "/" + name, text).ok();
    }
    std::string read(const std::string& name) {
        auto r = personalnet::sys::read_file(data_ + "/" + name);
        return r.ok() ? r.value() : "<absent>";
    }
    std::string top_, data_;
};

// The same semantics with each backend.
class FileSpaceBackendTest : public FileSpaceTest, public ::testing::WithParamInterface<const char*> {
protected:
    std::string backend() const { return std::string("--fs-backend=") + GetParam(); }
};

TEST_P(FileSpaceBackendTest, WritesStayInsideAndTheHostIsUnchanged) {
    auto r = mk({backend(), "--", "sh", "-c",
                 "cd " + data_ +
                     " && cat f && echo && echo mine > f && cat f && echo new > g && rm doomed && "
                     "chmod 600 f && mv g h && ls && test -c /dev/null && test -r /proc/self/status && "
                     "test -e /sys/class/net/lo && test -c /dev/pts/ptmx && readlink /proc/self/ns/mnt"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "host\nmine\nf\nh\nmnt:[")) << r.out;
    char own[64] = {};
    ASSERT_GT(::readlink("/proc/self/ns/mnt", own, sizeof own - 1), 0);
    EXPECT_FALSE(contains(r.out, own)) << "the command runs in a mount namespace of its own";
    EXPECT_EQ(read("f"), "host");
    EXPECT_EQ(read("h"), "<absent>");
    EXPECT_EQ(read("doomed"), "host");
    struct stat st {};
    ASSERT_EQ(::stat((data_ + "/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u) << "chmod inside does not reach the host";
}

TEST_P(FileSpaceBackendTest, NamedSpaceKeepsItsChangesUntilDestroyed) {
    ASSERT_EQ(mk({"--name", "fsn", backend(), "--", "sh", "-c", "echo kept > " + data_ + "/f"}).rc, 0);
    EXPECT_EQ(read("f"), "host");
    auto again = mk({"--name", "fsn", "--", "cat", data_ + "/f"});
    EXPECT_EQ(again.out, "kept\n") << again.err;
    auto exec = pnet({"exec", "fsn", "--", "cat", data_ + "/f"});
    EXPECT_EQ(exec.out, "kept\n") << exec.err;
    ASSERT_EQ(mk({"--name", "fsn", "--", "sh", "-c",
                  "cd " + data_ + " && echo n > g && mkdir d && echo x > d/y && rm doomed"})
                  .rc,
              0);
    auto diff = pnet({"diff", "fsn"});
    EXPECT_EQ(diff.rc, 0) << diff.err;
    EXPECT_EQ(diff.out, "A " + data_ + "/d\nA " + data_ + "/d/y\nD " + data_ + "/doomed\nM " + data_ +
                            "/f\nA " + data_ + "/g\n");
    auto show = pnet({"show", "fsn", "--json"});
    EXPECT_TRUE(contains(show.out, "\"file_space\":true")) << show.out;
    EXPECT_TRUE(contains(show.out, std::string("\"fs_backend\":\"") + GetParam() + "\"")) << show.out;

    // Destroyed with --keep-files (what a reboot does to the space), then made again:
    // the changes are back. A plain destroy removes them for good.
    ASSERT_EQ(pnet({"destroy", "--keep-files", "fsn"}).rc, 0);
    EXPECT_EQ(pnet({"show", "fsn"}).rc, 2);
    auto reborn = mk({"--name", "fsn", backend(), "--", "cat", data_ + "/f", data_ + "/d/y"});
    EXPECT_EQ(reborn.out, "kept\nx\n") << reborn.err;
    EXPECT_EQ(pnet({"destroy", "fsn"}).rc, 0);
    auto fresh = mk({"--name", "fsn", backend(), "--", "cat", data_ + "/f"});
    EXPECT_EQ(fresh.out, "host") << fresh.err;
    EXPECT_EQ(pnet({"destroy", "fsn"}).rc, 0);
    EXPECT_EQ(read("f"), "host");
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// Eight file spaces, each inside the previous: each level writes its own file and
// overwrites "who"; the innermost sees every level's file and the nearest "who".
TEST_P(FileSpaceBackendTest, NestedFileSpacesStackFlatToDepthEight) {
    std::string inner = "cat " + data_ + "/who; for i in 1 2 3 4 5 6 7 8; do cat " + data_ + "/l$i; done";
    std::vector<std::string> argv;
    for (int i = 1; i <= 8; ++i) {
        argv.insert(argv.end(), {bin("mkportspace"), "-q", backend(), "--", "sh", "-c"});
        std::string step = "echo " + std::to_string(i) + " > " + data_ + "/who && echo " + std::to_string(i) +
                           " > " + data_ + "/l" + std::to_string(i) + " && exec \"$0\" \"$@\"";
        argv.push_back(step);
    }
    argv.insert(argv.end(), {"sh", "-c", inner});
    auto r = A().run(argv, 60000);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "8\n1\n2\n3\n4\n5\n6\n7\n8\n");
    EXPECT_EQ(read("who"), "<absent>");
    EXPECT_EQ(read("l1"), "<absent>");
}

// A child sees what its parent wrote before and after the child was made, until it
// writes its own copy; the parent never sees the child's writes.
TEST_P(FileSpaceBackendTest, ChildSeesParentChangesMadeBeforeAndAfter) {
    ASSERT_EQ(mk({"--name", "par", backend(), "--", "sh", "-c", "echo before > " + data_ + "/p"}).rc, 0);
    ASSERT_EQ(
        pnet({"exec", "par", "--", bin("mkportspace"), "-q", "--name", "kid", backend(), "--", "true"}).rc,
        0);
    ASSERT_EQ(pnet({"exec", "par", "--", "sh", "-c", "echo after > " + data_ + "/q"}).rc, 0);
    auto seen = pnet({"exec", "kid", "--", "cat", data_ + "/p", data_ + "/q"});
    EXPECT_EQ(seen.out, "before\nafter\n") << seen.err;
    ASSERT_EQ(pnet({"exec", "kid", "--", "sh", "-c", "echo kid > " + data_ + "/p"}).rc, 0);
    ASSERT_EQ(pnet({"exec", "par", "--", "sh", "-c", "echo parent-again > " + data_ + "/p"}).rc, 0);
    EXPECT_EQ(pnet({"exec", "kid", "--", "cat", data_ + "/p"}).out, "kid\n") << "the child's own copy wins";
    EXPECT_EQ(pnet({"exec", "par", "--", "cat", data_ + "/p"}).out, "parent-again\n");
    EXPECT_EQ(read("p"), "<absent>");
    EXPECT_EQ(pnet({"destroy", "kid"}).rc, 0);
    EXPECT_EQ(pnet({"destroy", "par"}).rc, 0);
}

TEST_P(FileSpaceBackendTest, SharedDirectoriesAreLiveAndPrivateTmpIsEmpty) {
    auto shared = mk({backend(), "--share", data_, "--", "sh", "-c", "echo through > " + data_ + "/s"});
    ASSERT_EQ(shared.rc, 0) << shared.err;
    EXPECT_EQ(read("s"), "through\n") << "a write to a shared directory reaches the host";

    auto priv =
        mk({backend(), "--private-tmp", "--", "sh", "-c",
            "test ! -e " + data_ + "/f && touch /tmp/pn-private-marker && test -e /tmp/pn-private-marker"});
    EXPECT_EQ(priv.rc, 0) << priv.err << " (the host's /tmp must be hidden, the private one writable)";
    struct stat st {};
    EXPECT_NE(::stat("/tmp/pn-private-marker", &st), 0) << "a file in the private /tmp stays inside";
}

// A space made inside a space sees its parent's private /tmp (the same directory, not a
// copy) and its shared directories live, though its union is assembled in the host's
// mount namespace (docs/SECURITY.md, rule 2).
TEST_P(FileSpaceBackendTest, NestedSpacesSeeTheParentsPrivateTmpAndShares) {
    // The build tree is shared too: it may lie under /tmp, which the private one hides.
    auto r = mk({backend(), "--private-tmp", "--share", data_, "--share", build_dir(), "--", "sh", "-c",
                 "echo parent > /tmp/pn-nested-tmp && " + bin("mkportspace") + " -q " + backend() +
                     " -- sh -c 'cat /tmp/pn-nested-tmp && echo kid > /tmp/pn-nested-kid && echo live > " +
                     data_ + "/kid' && cat /tmp/pn-nested-kid"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "parent\nkid\n") << "the child reads and writes the parent's /tmp";
    EXPECT_EQ(read("kid"), "live\n") << "the parent's shared directory is live in the child";
    struct stat st {};
    EXPECT_NE(::stat("/tmp/pn-nested-tmp", &st), 0) << "the private /tmp stays inside";
}

INSTANTIATE_TEST_SUITE_P(Backends, FileSpaceBackendTest, ::testing::Values("kernel", "fuse"));

TEST_F(FileSpaceTest, OnByDefaultAndNoneSharesTheParentsFiles) {
    ASSERT_EQ(mk({"--", "sh", "-c", "echo inside > " + data_ + "/f"}).rc, 0);
    EXPECT_EQ(read("f"), "host") << "a file space is the default";
    ASSERT_EQ(mk({"--file-space=none", "--", "sh", "-c", "echo shared > " + data_ + "/f"}).rc, 0);
    EXPECT_EQ(read("f"), "shared\n") << "--file-space=none writes the parent's files";
}

// A descriptor opened outside would write the host's file past the file space's copy on
// write: mkportspace and pnet exec close every inherited one above 2 before the command
// starts in a file space, and keep them where the space shares the parent's files.
TEST_F(FileSpaceTest, DescriptorsOpenedOutsideAreClosedInAFileSpace) {
    auto with_fd_9 = [&](std::vector<std::string> argv) {
        // sh opens data_/f read-write as descriptor 9, then becomes the tool.
        argv.insert(argv.begin(), {"sh", "-c", "exec 9<>\"$0\"; exec \"$@\"", data_ + "/f"});
        return A().run(argv);
    };
    const std::vector<std::string> write_9 = {"sh", "-c", "echo through >&9 && echo wrote || echo closed"};
    auto in_file_space = with_fd_9([&] {
        std::vector<std::string> v = {bin("mkportspace"), "-q", "--"};
        v.insert(v.end(), write_9.begin(), write_9.end());
        return v;
    }());
    EXPECT_TRUE(contains(in_file_space.out, "closed")) << in_file_space.out << in_file_space.err;
    EXPECT_EQ(read("f"), "host") << "the host's file is unchanged";
    ASSERT_EQ(mk({"--name", "fds", "--", "true"}).rc, 0);
    auto exec = with_fd_9([&] {
        std::vector<std::string> v = {bin("pnet"), "exec", "fds", "--"};
        v.insert(v.end(), write_9.begin(), write_9.end());
        return v;
    }());
    EXPECT_TRUE(contains(exec.out, "closed")) << exec.out << exec.err;
    EXPECT_EQ(read("f"), "host");
    EXPECT_EQ(pnet({"destroy", "fds"}).rc, 0);
    auto shared = with_fd_9([&] {
        std::vector<std::string> v = {bin("mkportspace"), "-q", "--file-space=none", "--"};
        v.insert(v.end(), write_9.begin(), write_9.end());
        return v;
    }());
    EXPECT_TRUE(contains(shared.out, "wrote")) << shared.out << shared.err;
    EXPECT_EQ(read("f"), "through\n") << "without a file space the descriptor is kept";
}

TEST_F(FileSpaceTest, WorkingDirectoryAndMountsArePrivate) {
    auto r = mk({"--", "sh", "-c",
                 "pwd && mkdir -p " + data_ + "/m && mount -t tmpfs none " + data_ + "/m && grep -c " +
                     data_ + "/m /proc/self/mountinfo"});
    ASSERT_EQ(r.rc, 0) << r.err;
    char cwd[4096] = {};
    ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
    EXPECT_TRUE(contains(r.out, std::string(cwd) + "\n1\n")) << r.out;
    // The fixture's leak check compares the mounts under the test's directory.
}

// Joining a named space whose file space has a process running shares that mount
// namespace (a mount made inside is seen), rather than assembling a second union on the
// same layer.
TEST_F(FileSpaceTest, JoiningARunningNamedSpaceSharesItsMountNamespace) {
    std::string m = data_ + "/m";
    ASSERT_TRUE(personalnet::sys::make_dirs(m, 0755).ok());
    Proc bg = A().spawn({bin("mkportspace"), "-q", "--name", "live", "--", "sh", "-c",
                         "mount -t tmpfs pntest-live " + m +
                             " && echo ready && readlink /proc/self/ns/mnt && "
                             "cat >/dev/null"});
    ASSERT_EQ(bg.read_line(10000), "ready");
    std::string ns = bg.read_line();
    auto joined = pnet({"exec", "live", "--", "sh", "-c",
                        "readlink /proc/self/ns/mnt; grep -c " + m + " /proc/self/mountinfo"});
    EXPECT_EQ(joined.out, ns + "\n1\n") << joined.err;
    bg.close_stdin();
    EXPECT_EQ(bg.wait(), 0);
    EXPECT_EQ(pnet({"destroy", "live"}).rc, 0);
}

// A space's mount namespace holds none of the registry's pins (lib/fs/run_view): its
// mount table does not grow with the spaces made after it, with or without a file space.
// Root's tools inside still make, enter and destroy named spaces (through the host's
// mount namespace), and a pin made in the space's view is refused, not made unseen.
TEST_F(FileSpaceTest, ASpacesMountNamespaceHoldsNoPins) {
    const std::string pins = A().rundir() + "/ns";
    auto count = [&](const std::string& name) {
        auto r = pnet({"exec", name, "--", "sh", "-c",
                       "grep -c ' - nsfs ' /proc/self/mountinfo; wc -l < /proc/self/mountinfo"});
        EXPECT_EQ(r.rc, 0) << r.err;
        return r.out;
    };
    ASSERT_EQ(mk({"--name", "withfiles", "--", "true"}).rc, 0);
    ASSERT_EQ(mk({"--name", "without", "--file-space=none", "--", "true"}).rc, 0);
    const std::string with_files = count("withfiles"), without = count("without");
    EXPECT_EQ(with_files.substr(0, 2), "0\n") << with_files;
    EXPECT_EQ(without.substr(0, 2), "0\n") << without;
    for (const char* n : {"later1", "later2", "later3"}) ASSERT_EQ(mk({"--name", n, "--", "true"}).rc, 0);
    EXPECT_EQ(count("withfiles"), with_files) << "pins made later reached the space";
    EXPECT_EQ(count("without"), without) << "pins made later reached the space";
    for (const char* outer : {"withfiles", "without"}) {
        SCOPED_TRACE(outer);
        auto r = pnet({"exec", outer, "--", "sh", "-c",
                       "touch " + pins + "/planted 2>/dev/null && echo planted; " + bin("mkportspace") +
                           " -q --name inner -- true && " + bin("pnet") + " exec inner -- echo entered"});
        EXPECT_EQ(r.rc, 0) << r.err;
        EXPECT_EQ(r.out, "entered\n") << r.err;
        EXPECT_EQ(pnet({"exec", "inner", "--", "true"}).rc, 0) << "the pin made inside is the host's";
        auto d = pnet({"exec", outer, "--", bin("pnet"), "destroy", "inner"});
        EXPECT_EQ(d.rc, 0) << d.err;
        EXPECT_FALSE(contains(pnet({"list"}).out, "inner"));
    }
    for (const char* n : {"withfiles", "without", "later1", "later2", "later3"})
        EXPECT_EQ(pnet({"destroy", n}).rc, 0) << n;
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// A file system mounted under / on the host (here a tmpfs in the test's directory) is
// copied on write like the root; --share binds one live instead.
TEST_F(FileSpaceTest, OtherFileSystemsAreCopiedOnWrite) {
    std::string mnt = top_ + "/other";
    ASSERT_TRUE(personalnet::sys::make_dirs(mnt, 0755).ok());
    ASSERT_EQ(::mount("pntest-other", mnt.c_str(), "tmpfs", 0, "mode=0755"), 0);
    ASSERT_TRUE(personalnet::sys::write_atomic(mnt + "/x", "real").ok());
    auto r = mk(
        {"--", "sh", "-c",
         "cat " + mnt + "/x && echo mine > " + mnt + "/x && echo new > " + mnt + "/y && cat " + mnt + "/x"});
    EXPECT_EQ(r.out,
              "real"
              "mine\n")
        << r.err;
    EXPECT_EQ(personalnet::sys::read_file(mnt + "/x").value(), "real");
    struct stat st {};
    EXPECT_NE(::stat((mnt + "/y").c_str(), &st), 0);
    ASSERT_EQ(mk({"--share", mnt, "--", "sh", "-c", "echo live > " + mnt + "/x"}).rc, 0);
    EXPECT_EQ(personalnet::sys::read_file(mnt + "/x").value(), "live\n");
    ASSERT_EQ(::umount2(mnt.c_str(), MNT_DETACH), 0);
}

// Sockets of host resolvers and caches are hidden; --resolv-conf and --hosts give the
// space its own files, which nested spaces inherit.
TEST_F(FileSpaceTest, HostResolverSocketsAreHiddenAndResolvConfIsTheSpacesOwn) {
    bool made = ::access("/run/nscd", F_OK) != 0;
    if (made) {
        ASSERT_TRUE(personalnet::sys::make_dirs("/run/nscd", 0755).ok());
        ASSERT_TRUE(personalnet::sys::write_atomic("/run/nscd/pntest-socket", "x").ok());
    }
    std::string resolv = top_ + "/resolv.conf", hosts = top_ + "/hosts";
    ASSERT_TRUE(personalnet::sys::write_atomic(resolv, "nameserver 10.9.9.9\n").ok());
    ASSERT_TRUE(personalnet::sys::write_atomic(hosts, "10.9.9.8 corp-gw\n").ok());
    auto host_resolv = personalnet::sys::read_file("/etc/resolv.conf");
    auto r = mk({"--resolv-conf", resolv, "--hosts", hosts, "--", "sh", "-c",
                 "ls -A /run/nscd | wc -l; cat /etc/resolv.conf /etc/hosts; " + bin("mkportspace") +
                     " -q -- cat /etc/resolv.conf"});
    EXPECT_EQ(r.out, "0\nnameserver 10.9.9.9\n10.9.9.8 corp-gw\nnameserver 10.9.9.9\n") << r.err;
    EXPECT_EQ(personalnet::sys::read_file("/etc/resolv.conf").ok(), host_resolv.ok());
    if (host_resolv.ok()) {
        EXPECT_EQ(personalnet::sys::read_file("/etc/resolv.conf").value(), host_resolv.value());
    }
    if (made) {
        (void)::unlink("/run/nscd/pntest-socket");
        (void)::rmdir("/run/nscd");
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--resolv-conf", top_ + "/nonexistent", "--", "true"},
             {"--resolv-conf", top_, "--", "true"},
             {"--hosts", "", "--", "true"},
             {"--file-space=none", "--resolv-conf", resolv, "--", "true"}}) {
        auto bad = mk(args);
        EXPECT_EQ(bad.rc, 2) << args[1];
        EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
    }
}

// The layer store is mounted nosuid,nodev: a setuid copy made inside gains nothing
// when run from outside.
TEST_F(FileSpaceTest, SetuidFilesMadeInsideAreInertOutside) {
    ASSERT_EQ(mk({"--name", "suid", "--", "sh", "-c",
                  "cp /usr/bin/id " + data_ + "/id && chmod 4755 " + data_ + "/id"})
                  .rc,
              0);
    auto mi = personalnet::sys::read_file("/proc/self/mountinfo").value();
    std::string store = A().rundir() + "/fs/0";  // root's store
    auto line_at = mi.rfind(" " + store + " ");
    ASSERT_NE(line_at, std::string::npos);
    std::string line = mi.substr(line_at, mi.find('\n', line_at) - line_at);
    EXPECT_TRUE(contains(line, "nosuid") && contains(line, "nodev")) << line;
    std::string copy = store + "/named/suid/upper" + data_ + "/id";
    struct stat st {};
    ASSERT_EQ(::stat(copy.c_str(), &st), 0);
    auto r = A().run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", copy, "-u"});
    EXPECT_EQ(r.out, "65534\n") << r.err << " (the setuid bit must not work from the store)";
    EXPECT_EQ(pnet({"destroy", "suid"}).rc, 0);
}

// Destroy only moves a named space's layers out of the way, into its store's trash, so
// that a space that wrote much is destroyed as fast as an empty one (issue 21); its
// reaper removes them. Another space keeps root's store mounted meanwhile, so that the
// trash can be looked at once gc has waited for the reaper.
TEST_F(FileSpaceTest, DestroyedLayersAreRemovedByTheReaper) {
    ASSERT_EQ(mk({"--name", "keeper", "--", "true"}).rc, 0);
    const std::string dir = data_ + "/many";
    ASSERT_EQ(mk({"--name", "many", "--", "sh", "-c",
                  "mkdir " + dir + " && for i in $(seq 500); do echo $i > " + dir + "/f$i; done"})
                  .rc,
              0);
    const std::string store = A().rundir() + "/fs/0";  // root's store
    struct stat st {};
    ASSERT_EQ(::stat((store + "/named/many/upper" + dir + "/f500").c_str(), &st), 0);
    ASSERT_EQ(pnet({"destroy", "many"}).rc, 0);
    EXPECT_NE(::stat((store + "/named/many").c_str(), &st), 0) << "the name's layers are out of the way";
    auto gc = pnet({"gc"});
    ASSERT_EQ(gc.rc, 0) << gc.err;
    auto trash = personalnet::sys::list_dir(store + "/trash");
    ASSERT_TRUE(trash.ok()) << trash.error().message();
    EXPECT_TRUE(trash->empty()) << "left in the trash: " << trash->front();
    EXPECT_NE(::stat(dir.c_str(), &st), 0) << "written in the space, not on the host";
    ASSERT_EQ(pnet({"destroy", "keeper"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

// Layers live only below root-owned directories that nobody else can write to.
TEST_F(FileSpaceTest, UntrustedStateDirectoryIsRefused) {
    std::string open_dir = top_ + "/world-writable";
    ASSERT_TRUE(personalnet::sys::make_dirs(open_dir, 0755).ok());
    ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
    std::string state = open_dir + "/state";
    auto r = A().run({"env", "PERSONALNET_STATEDIR=" + state, bin("mkportspace"), "-q", "--", "true"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(contains(r.err, "untrusted path") && contains(r.err, open_dir)) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    struct stat st {};
    EXPECT_NE(::stat(state.c_str(), &st), 0) << "nothing is created below it";
    ASSERT_EQ(::symlink("/tmp", (top_ + "/link").c_str()), 0);
    r = A().run(
        {"env", "PERSONALNET_STATEDIR=" + top_ + "/link/pn-state", bin("mkportspace"), "-q", "--", "true"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(contains(r.err, "symbolic link")) << r.err;
    EXPECT_NE(::stat("/tmp/pn-state", &st), 0);
}

TEST_F(FileSpaceTest, BadFileSpaceOptionsAreRefused) {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--file-space=bogus", "--", "true"},
                                               {"--fs-backend=zfs", "--", "true"},
                                               {"--share", "relative/dir", "--", "true"},
                                               {"--share", data_ + "/nonexistent", "--", "true"},
                                               {"--share", data_ + "/../data", "--", "true"},
                                               {"--file-space=none", "--share", data_, "--", "true"},
                                               {"--file-space=none", "--private-tmp", "--", "true"},
                                               {"--file-space=none", "--fs-backend=fuse", "--", "true"}}) {
        auto r = mk(args);
        EXPECT_EQ(r.rc, 2) << args[0] << " " << args[1];
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_TRUE(contains(mk({"--file-space=bogus", "--", "true"}).err, "bad file space 'bogus'"));
    EXPECT_TRUE(contains(mk({"--fs-backend=zfs", "--", "true"}).err, "'zfs'"));
    ASSERT_EQ(mk({"--name", "plain", "--file-space=none", "--", "true"}).rc, 0);
    auto diff = pnet({"diff", "plain"});
    EXPECT_EQ(diff.rc, 2) << "a space without a file space has nothing to diff";
    EXPECT_TRUE(contains(diff.err, "no file space")) << diff.err;
    EXPECT_EQ(pnet({"diff", "nosuch"}).rc, 2);
    EXPECT_EQ(pnet({"destroy", "nosuch"}).rc, 2);
    EXPECT_EQ(pnet({"destroy", "plain"}).rc, 0);
    EXPECT_EQ(settled_snapshot(), baseline_);
}

}  // namespace
}  // namespace pntest
