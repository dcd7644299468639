// The administrator's policy: parsing /etc/personalnet/personalnet.conf, trusting (or not)
// the file on disk (here in a temporary directory), and the decisions taken from it.
#include "lib/policy/policy.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "lib/core/sys.hpp"
#include "lib/policy/names.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace policy = personalnet::policy;
namespace sys = personalnet::sys;
using personalnet::Status;

constexpr const char* kFull = R"(# every setting
create {
    users = alice, bob
    groups = personalnet, staff
    publish = 8000-8999, udp/5353, tcp/443, 30000
}
limits {
    max_spaces_per_user = 4
    max_spaces = 100
    max_depth = 3
}
overlays {
    corp = corpusers, admins
    home = *
    lab =
}
share {
    paths = /home, /srv/projects
}
admin = yes          # yes/no
rundir = /run/pn
statedir = /var/lib/pn
overlaydir = /etc/pn/overlays.d
)";

policy::Policy parsed(const std::string& text) {
    auto p = policy::parse_policy(text, "pn.conf");
    EXPECT_TRUE(p.ok()) << p.error().message();
    return p.ok() ? p.value() : policy::Policy{};
}

// The message of a refusal, "" when the text was accepted.
std::string refusal(const std::string& text) {
    auto p = policy::parse_policy(text, "pn.conf");
    if (p.ok()) return "";
    EXPECT_EQ(p.error().code, EINVAL) << p.error().message();
    return p.error().message();
}

bool has(const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
}

policy::Caller caller(const std::string& user, std::vector<std::string> groups, uid_t uid = 1000) {
    policy::Caller c;
    c.uid = uid;
    c.gid = uid;
    c.user = user;
    c.group_names = std::move(groups);
    return c;
}

TEST(PolicyParse, EverySetting) {
    policy::Policy p = parsed(kFull);
    EXPECT_EQ(p.users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(p.groups, (std::vector<std::string>{"personalnet", "staff"}));
    ASSERT_EQ(p.publish.size(), 4u);
    EXPECT_EQ(p.publish[0], (policy::PortRange{0, 8000, 8999}));
    EXPECT_EQ(p.publish[1], (policy::PortRange{IPPROTO_UDP, 5353, 5353}));
    EXPECT_EQ(p.publish[2], (policy::PortRange{IPPROTO_TCP, 443, 443}))
        << "parsed; refused for users all the same";
    EXPECT_EQ(p.publish[3].str(), "30000");
    EXPECT_EQ(p.max_spaces_per_user, 4);
    EXPECT_EQ(p.max_spaces, 100);
    EXPECT_EQ(p.max_depth, 3);
    ASSERT_EQ(p.overlays.size(), 3u);
    EXPECT_EQ(p.overlays[0].first, "corp") << "order is kept";
    EXPECT_EQ(p.overlays[0].second, (std::vector<std::string>{"corpusers", "admins"}));
    EXPECT_EQ(p.overlays[1].first, "home");
    EXPECT_EQ(p.overlays[1].second, (std::vector<std::string>{"*"}));
    EXPECT_EQ(p.overlays[2].first, "lab");
    EXPECT_TRUE(p.overlays[2].second.empty()) << "listed for nobody: root only";
    EXPECT_EQ(p.share_paths, (std::vector<std::string>{"/home", "/srv/projects"}));
    EXPECT_TRUE(p.admin);
    EXPECT_EQ(p.rundir, "/run/pn");
    EXPECT_EQ(p.statedir, "/var/lib/pn");
    EXPECT_EQ(p.overlaydir, "/etc/pn/overlays.d");
}

TEST(PolicyParse, MissingSettingsKeepTheirDefaults) {
    for (const char* text : {"", "# nothing\n", "create { }\nlimits { }\n"}) {
        policy::Policy p = parsed(text);
        EXPECT_TRUE(p.users.empty());
        EXPECT_EQ(p.groups, (std::vector<std::string>{"personalnet"}));
        EXPECT_TRUE(p.publish.empty()) << "users publish nothing by default";
        EXPECT_EQ(p.max_spaces_per_user, 16);
        EXPECT_EQ(p.max_spaces, 1024);
        EXPECT_EQ(p.max_depth, 8);
        EXPECT_EQ(p.max_layer_size, uint64_t{4} << 30);
        EXPECT_TRUE(p.overlays.empty());
        EXPECT_TRUE(p.share_paths.empty());
        EXPECT_FALSE(p.admin);
        EXPECT_EQ(p.rundir, "/run/personalnet");
        EXPECT_EQ(p.statedir, "/var/lib/personalnet");
        EXPECT_EQ(p.overlaydir, "/etc/personalnet/overlays.d");
    }
    policy::Policy p = parsed("create { users = alice }\n");
    EXPECT_EQ(p.groups, (std::vector<std::string>{"personalnet"})) << "each setting defaults on its own";
    EXPECT_TRUE(parsed("create {\n groups =\n}\n").groups.empty())
        << "an empty value drops the default group";
    EXPECT_TRUE(parsed("share { paths = }\n").share_paths.empty());
}

TEST(PolicyParse, BooleansAndNumberBounds) {
    for (const char* yes : {"yes", "true", "1", "YES", "True"})
        EXPECT_TRUE(parsed(std::string("admin = ") + yes).admin);
    for (const char* no : {"no", "false", "0", "No"})
        EXPECT_FALSE(parsed(std::string("admin = ") + no).admin);
    EXPECT_EQ(parsed("limits { max_spaces_per_user = 0 }").max_spaces_per_user, 0) << "0: users create none";
    EXPECT_EQ(parsed("limits { max_spaces = 65535 }").max_spaces, 65535);
    EXPECT_EQ(parsed("limits { max_depth = 1 }").max_depth, 1);
    EXPECT_EQ(parsed("limits { max_depth = 32 }").max_depth, 32);
    EXPECT_EQ(parsed("limits { max_depth = \"5\" }").max_depth, 5) << "quoted values are values";
    EXPECT_EQ(parsed("share { paths = / }").share_paths, (std::vector<std::string>{"/"}));
}

TEST(PolicyParse, LayerSizes) {
    EXPECT_EQ(parsed("limits { max_layer_size = 1G }").max_layer_size, uint64_t{1} << 30);
    EXPECT_EQ(parsed("limits { max_layer_size = 32M }").max_layer_size, uint64_t{32} << 20);
    EXPECT_EQ(parsed("limits { max_layer_size = 1024T }").max_layer_size, uint64_t{1} << 50);
    EXPECT_EQ(parsed("limits { max_layer_size = 2048K }").max_layer_size, uint64_t{2} << 20);
    EXPECT_EQ(parsed("limits { max_layer_size = 1048576 }").max_layer_size, uint64_t{1} << 20);
    EXPECT_EQ(parsed("limits { max_layer_size = unlimited }").max_layer_size, 0u);
    for (const char* v : {"0", "1K", "1048575", "1025T", "1P", "-1G", "1g", "1.5G", "01G", "G", "", "1 G",
                          "0x10M", "99999999999999G", "unlimit"}) {
        std::string m = refusal(std::string("limits {\n max_layer_size = ") + v + "\n}\n");
        EXPECT_TRUE(has(m, "pn.conf: limits.max_layer_size: '" + std::string(v) +
                               "' is not a size from 1M to 1024T (digits with a suffix K, M, G or T) or "
                               "unlimited"))
            << v << " -> " << m;
    }
}

TEST(PolicyParse, SyntaxErrorsNameFileAndLine) {
    EXPECT_TRUE(has(refusal("create {\n users = alice\n"), "pn.conf:3: missing '}'"));
    EXPECT_TRUE(
        has(refusal("limits {\n\n max_depth 3\n}\n"), "pn.conf:3: expected '=' or '{' after 'max_depth'"));
    EXPECT_TRUE(has(refusal("}\n"), "pn.conf:1: '}' without a section"));
    EXPECT_TRUE(has(refusal("admin = \"yes\n"), "unterminated string"));
    EXPECT_TRUE(has(refusal("include /etc/other.conf\n"), "pn.conf:1: 'include' is not allowed"));
}

TEST(PolicyParse, UnknownRepeatedAndMisplacedAreRefused) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c : {
             Case{"admn = yes\n", "pn.conf: unknown setting 'admn'"},
             Case{"users = alice\n", "unknown setting 'users'"},
             Case{"limits { max_space = 3 }\n", "unknown setting 'limits.max_space'"},
             Case{"create { user = alice }\n",
                  "unknown setting 'create.user' (want users, groups, publish, share_pids)"},
             Case{"share { path = /home }\n", "unknown setting 'share.path' (want paths)"},
             Case{"crate { users = alice }\n", "unknown section 'crate'"},
             Case{"create { nested { users = alice } }\n", "unknown section 'create.nested'"},
             Case{"admin = yes\nadmin = no\n", "setting 'admin' given twice"},
             Case{"limits { max_depth = 3\n max_depth = 4 }\n", "setting 'limits.max_depth' given twice"},
             Case{"limits { max_depth = 3 }\nlimits { max_spaces = 4 }\n", "section 'limits' given twice"},
             Case{"overlays { corp = a\n corp = b }\n", "setting 'overlays.corp' given twice"},
         }) {
        std::string m = refusal(c.text);
        EXPECT_TRUE(has(m, c.says)) << c.text << " -> " << m;
    }
}

TEST(PolicyParse, BadNumbersNameKeyAndValue) {
    for (const char* v : {"-1", "+1", "12abc", "18446744073709551616", "99999999999999999999", "4294967296",
                          "65536", "016", " ", "1 2", "0x10", "1e3"}) {
        std::string m = refusal(std::string("limits {\n max_spaces = ") + v + "\n}\n");
        std::string shown = std::string(v) == " " ? "" : v;
        EXPECT_TRUE(
            has(m, "pn.conf: limits.max_spaces: '" + shown + "' is not a decimal number from 0 to 65535"))
            << v << " -> " << m;
    }
    EXPECT_TRUE(has(refusal("limits { max_depth = 0 }"),
                    "limits.max_depth: '0' is not a decimal number from 1 to 32"));
    EXPECT_TRUE(has(refusal("limits { max_depth = 33 }"), "'33'"));
    EXPECT_TRUE(has(refusal("limits { max_spaces_per_user = -1 }"), "limits.max_spaces_per_user: '-1'"));
    EXPECT_TRUE(has(refusal("limits { max_depth = }"), "limits.max_depth: ''")) << "empty";
    EXPECT_TRUE(has(refusal("admin = maybe"), "admin: 'maybe' is not yes, no"));
    EXPECT_TRUE(has(refusal("admin ="), "admin: ''"));
}

TEST(PolicyParse, BadNamesAndPathsNameKeyAndValue) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& c : {
             Case{"create { users = alice, -rf }", "create.users: '-rf' is not a name"},
             Case{"create { users = al ice }", "create.users: 'al ice' is not a name"},
             Case{"create { users = alice,, bob }", "create.users: 'alice,, bob' has an empty entry"},
             Case{"create { users = alice, }", "has an empty entry"},
             Case{"create { groups = a/b }", "create.groups: 'a/b' is not a name"},
             Case{"create { groups = .. }", "create.groups: '..' is not a name"},
             Case{"create { groups = * }", "create.groups: '*' is not a name"},
             Case{"create { users = abcdefghijklmnopqrstuvwxyz0123456 }", "is not a name"},
             Case{"overlays { -corp = a }", "overlays: '-corp' is not an overlay name"},
             Case{"overlays { .corp = a }", "overlays: '.corp' is not an overlay name"},
             Case{"overlays { co*rp = a }", "overlays: 'co*rp' is not an overlay name"},
             Case{"overlays { corp = *, admins }", "overlays.corp: '*, admins' mixes '*' with group names"},
             Case{"overlays { corp = ad*mins }", "overlays.corp: 'ad*mins' is not a name"},
             Case{"overlays { corp { x = y } }", "unknown section 'overlays.corp'"},
             Case{"share { paths = /home, home }", "share.paths: 'home' is not an absolute path"},
             Case{"share { paths = /home/../etc }", "share.paths: '/home/../etc' is not an absolute path"},
             Case{"share { paths = /home/./x }", "'/home/./x'"},
             Case{"share { paths = /home//x }", "'/home//x'"},
             Case{"share { paths = /home/ }", "'/home/'"},
             Case{"rundir = run/personalnet", "rundir: 'run/personalnet' is not an absolute path"},
             Case{"statedir = /", "statedir: '/' may not be the root directory"},
             Case{"overlaydir =", "overlaydir: '' is not an absolute path"},
             Case{"overlaydir = \"/etc/a\\nb\"", "is not an absolute path"},
         }) {
        std::string m = refusal(c.text);
        EXPECT_TRUE(has(m, c.says)) << c.text << " -> " << m;
    }
    EXPECT_EQ(parsed("create { users = abcdefghijklmnopqrstuvwxyz012345, a.b_c-d, _x }").users.size(), 3u)
        << "32 characters is the longest";
}

// The shipped example must stay a valid policy.
TEST(PolicyParse, TheShippedExampleParses) {
    std::string here = __FILE__;
    std::string example = here.substr(0, here.rfind("tests/unit/")) + "etc/personalnet.conf.example";
    auto text = sys::read_file(example);
    if (!text.ok()) GTEST_SKIP() << text.error().message();
    policy::Policy p = parsed(text.value());
    EXPECT_EQ(p.users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(p.overlays.size(), 2u);
    EXPECT_EQ(p.share_paths.size(), 2u);
}

TEST(PolicyNames, LexicalChecks) {
    EXPECT_TRUE(policy::is_clean_path("/"));
    EXPECT_TRUE(policy::is_clean_path("/home/alice"));
    EXPECT_FALSE(policy::is_clean_path(""));
    EXPECT_FALSE(policy::is_clean_path("//"));
    EXPECT_FALSE(policy::is_clean_path(std::string("/a\0b", 4)));
    EXPECT_FALSE(policy::is_clean_path("/a\nb"));
    EXPECT_TRUE(policy::path_covers("/home/al", "/home/al"));
    EXPECT_TRUE(policy::path_covers("/home/al", "/home/al/src"));
    EXPECT_FALSE(policy::path_covers("/home/al", "/home/alice"));
    EXPECT_FALSE(policy::path_covers("/home/al", "/home"));
    EXPECT_TRUE(policy::path_covers("/", "/etc"));
}

class PolicyLoadTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (root-owned policy files)";
        char tmpl[] = "/tmp/pnpolicy-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    }
    void TearDown() override {
        if (!dir_.empty()) {
            EXPECT_TRUE(run({"/bin/rm", "-rf", dir_}).empty());
        }
    }
    std::string put(const std::string& name, const std::string& text, mode_t mode = 0644) {
        std::string path = dir_ + "/" + name;
        EXPECT_TRUE(sys::write_atomic(path, text).ok());
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }
    personalnet::Error refused(const std::string& path, int code) {
        auto p = policy::load_policy(path);
        EXPECT_FALSE(p.ok()) << path;
        if (p.ok()) return {};
        EXPECT_EQ(p.error().code, code) << p.error().message();
        EXPECT_TRUE(has(p.error().message(), "policy: ")) << p.error().message();
        return p.error();
    }
    std::string dir_;
};

TEST_F(PolicyLoadTest, LoadsATrustedFile) {
    std::string path = put("personalnet.conf", kFull);
    auto p = policy::load_policy(path);
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(p->users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(p->overlays.size(), 3u);
}

TEST_F(PolicyLoadTest, MissingFileGivesTheDefaults) {
    for (const std::string& path : {dir_ + "/personalnet.conf", dir_ + "/absent/dir/personalnet.conf"}) {
        auto p = policy::load_policy(path);
        ASSERT_TRUE(p.ok()) << path << ": " << p.error().message();
        EXPECT_TRUE(p->users.empty());
        EXPECT_EQ(p->groups, (std::vector<std::string>{"personalnet"}));
        EXPECT_TRUE(p->overlays.empty());
        EXPECT_TRUE(p->share_paths.empty());
        EXPECT_FALSE(p->admin);
        EXPECT_EQ(p->max_spaces_per_user, 16);
    }
}

TEST_F(PolicyLoadTest, MissingFileInAnUntrustedDirectoryIsRefused) {
    ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
    auto e = refused(dir_ + "/personalnet.conf", EPERM);
    EXPECT_TRUE(has(e.message(), dir_ + "/personalnet.conf is missing in an untrusted directory"))
        << e.message();
    EXPECT_TRUE(has(e.message(), "writable by others")) << e.message();
}

TEST_F(PolicyLoadTest, UntrustedFilesAreRefused) {
    std::string path = put("group.conf", kFull, 0664);
    auto e = refused(path, EPERM);
    EXPECT_TRUE(has(e.message(), path)) << e.message();
    EXPECT_TRUE(has(e.message(), "writable by group")) << e.message();

    put("target.conf", kFull);
    ASSERT_EQ(::symlink((dir_ + "/target.conf").c_str(), (dir_ + "/link.conf").c_str()), 0);
    e = refused(dir_ + "/link.conf", ELOOP);
    EXPECT_TRUE(has(e.message(), dir_ + "/link.conf")) << e.message();

    path = put("owned.conf", kFull);
    ASSERT_EQ(::chown(path.c_str(), 65534, 0), 0);
    e = refused(path, EPERM);
    EXPECT_TRUE(has(e.message(), "owned by uid 65534")) << e.message();

    std::string open = dir_ + "/open";
    ASSERT_EQ(::mkdir(open.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
    path = put("open/personalnet.conf", kFull);
    e = refused(path, EPERM);
    EXPECT_TRUE(has(e.message(), "'" + open + "' is writable by others")) << e.message();
}

TEST_F(PolicyLoadTest, OnlySmallRegularFiles) {
    std::string sub = dir_ + "/dir.conf";
    ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
    auto e = refused(sub, EINVAL);
    EXPECT_TRUE(has(e.message(), sub + " is not a regular file")) << e.message();

    std::string big = put("big.conf", "# " + std::string(1 << 20, 'x') + "\n");
    e = refused(big, EFBIG);
    EXPECT_TRUE(has(e.message(), big + " is larger than 1 MiB")) << e.message();

    e = refused("relative/personalnet.conf", EINVAL);
    e = refused(dir_ + "/../etc/personalnet.conf", EINVAL);
}

TEST_F(PolicyLoadTest, ContentErrorsNameThePath) {
    std::string path = put("syntax.conf", "limits {\n max_depth = 3\n");
    auto e = refused(path, EINVAL);
    EXPECT_TRUE(has(e.message(), "policy: " + path + ":3: missing '}'")) << e.message();
    path = put("value.conf", "limits { max_depth = 12abc }\n");
    e = refused(path, EINVAL);
    EXPECT_TRUE(has(e.message(), "policy: " + path + ": limits.max_depth: '12abc'")) << e.message();
}

TEST(PolicyCreate, UsersGroupsAndRoot) {
    policy::Policy p = parsed("create {\n users = alice\n groups = staff\n}\n");
    EXPECT_TRUE(policy::may_create(p, caller("alice", {"alice"})).ok());
    EXPECT_TRUE(policy::may_create(p, caller("carol", {"carol", "staff"})).ok()) << "supplementary group";
    EXPECT_TRUE(policy::may_create(p, caller("root", {}, 0)).ok());
    EXPECT_TRUE(policy::may_create(policy::Policy{}, caller("", {}, 0)).ok()) << "root always may";
    Status s = policy::may_create(p, caller("bob", {"bob", "personalnet"}));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EPERM);
    EXPECT_EQ(s.error().context, "user 'bob' may not create spaces (personalnet.conf: users, groups)");
    s = policy::may_create(p, caller("", {}, 4242));
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(has(s.error().message(), "uid 4242 may not create spaces")) << "an unknown user by uid";
    EXPECT_FALSE(policy::may_create(p, caller("", {""})).ok()) << "empty names match nothing";

    policy::Policy defaults;
    EXPECT_TRUE(policy::may_create(defaults, caller("dave", {"dave", "personalnet"})).ok());
    EXPECT_FALSE(policy::may_create(defaults, caller("dave", {"dave"})).ok());
}

TEST(PolicyOverlay, ListedGroupsStarAndRoot) {
    policy::Policy p = parsed(kFull);
    auto alice = caller("alice", {"alice", "corpusers"});
    auto bob = caller("bob", {"bob"});
    EXPECT_TRUE(policy::may_bind_overlay(p, alice, "corp").ok());
    EXPECT_TRUE(policy::may_bind_overlay(p, bob, "home").ok()) << "'*': anyone who may create";
    EXPECT_TRUE(policy::may_bind_overlay(p, caller("root", {}, 0), "corp").ok());
    EXPECT_TRUE(policy::may_bind_overlay(p, caller("root", {}, 0), "unlisted").ok());

    Status s = policy::may_bind_overlay(p, bob, "corp");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EPERM);
    EXPECT_EQ(
        s.error().context,
        "user 'bob' may not bind overlay 'corp' (personalnet.conf: overlays: corp = corpusers, admins)");
    s = policy::may_bind_overlay(p, alice, "other");
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(
        has(s.error().context, "user 'alice' may not bind overlay 'other' (personalnet.conf: overlays"));
    s = policy::may_bind_overlay(p, alice, "lab");
    EXPECT_FALSE(s.ok()) << "an empty list admits nobody";

    s = policy::may_bind_overlay(p, caller("eve", {"eve", "corpusers"}), "home");
    ASSERT_FALSE(s.ok()) << "'*' and group lists need may_create first";
    EXPECT_TRUE(has(s.error().context, "user 'eve' may not create spaces"));
    EXPECT_FALSE(policy::may_bind_overlay(p, caller("eve", {"eve", "corpusers"}), "corp").ok());
}

TEST(PolicyShare, ComponentWisePrefixes) {
    policy::Policy p = parsed("create { users = alice }\nshare { paths = /home/al, /srv/projects }\n");
    auto alice = caller("alice", {});
    for (const char* ok : {"/home/al", "/home/al/", "/home/al/src", "/srv/projects/x/y"})
        EXPECT_TRUE(policy::may_share(p, alice, ok).ok()) << ok;
    for (const char* no : {"/home/alice", "/home", "/srv", "/etc", "/srv/projectsX"}) {
        Status s = policy::may_share(p, alice, no);
        ASSERT_FALSE(s.ok()) << no;
        EXPECT_EQ(s.error().code, EPERM);
        EXPECT_EQ(s.error().context, "user 'alice' may not share '" + std::string(no) +
                                         "' (personalnet.conf: share.paths = /home/al, /srv/projects)");
    }
    for (const char* odd : {"home/al", "/home/al/../../etc", "/home/al/./x", "/home/al//x", ""}) {
        Status s = policy::may_share(p, alice, odd);
        ASSERT_FALSE(s.ok()) << odd;
        EXPECT_EQ(s.error().code, EPERM);
        EXPECT_TRUE(has(s.error().context, "not an absolute path without")) << s.error().context;
    }
    EXPECT_TRUE(policy::may_share(p, caller("root", {}, 0), "/etc").ok());
    Status s = policy::may_share(parsed("create { users = alice }"), alice, "/home/al");
    ASSERT_FALSE(s.ok()) << "no share paths: --share refused";
    EXPECT_TRUE(has(s.error().context, "(personalnet.conf: share.paths is empty)"));
    EXPECT_FALSE(policy::may_share(p, caller("bob", {}), "/home/al").ok()) << "needs may_create";
    EXPECT_TRUE(
        policy::may_share(parsed("create { users = alice }\nshare { paths = / }"), alice, "/etc").ok());
}

TEST(PolicyAdmin, OnlyWhenEnabled) {
    auto alice = caller("alice", {});
    Status s = policy::may_admin(parsed("create { users = alice }"), alice);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EPERM);
    EXPECT_EQ(s.error().context, "user 'alice' may not create --admin spaces (personalnet.conf: admin = no)");
    EXPECT_TRUE(policy::may_admin(parsed("create { users = alice }\nadmin = yes"), alice).ok());
    EXPECT_FALSE(policy::may_admin(parsed("admin = yes"), alice).ok()) << "needs may_create";
    EXPECT_TRUE(policy::may_admin(policy::Policy{}, caller("root", {}, 0)).ok());
}

TEST(PolicySharePids, AllowedUnlessTheSettingSaysNo) {
    auto alice = caller("alice", {});
    EXPECT_TRUE(policy::may_share_pids(parsed("create { users = alice }"), alice).ok()) << "yes by default";
    Status s = policy::may_share_pids(parsed("create {\n users = alice\n share_pids = no\n}"), alice);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EPERM);
    EXPECT_EQ(s.error().context,
              "user 'alice' may not create --share-pids spaces (personalnet.conf: create.share_pids = no)");
    EXPECT_FALSE(policy::may_share_pids(parsed("create { share_pids = yes }"), alice).ok())
        << "needs may_create";
    EXPECT_TRUE(policy::may_share_pids(parsed("create { share_pids = no }"), caller("root", {}, 0)).ok());
    EXPECT_FALSE(policy::parse_policy("create { share_pids = maybe }", "pn.conf").ok());
}

TEST(PolicyParse, PublishRangesNameTheBadValue) {
    for (const char* bad : {"0", "65536", "9000-8000", "tcp/", "sctp/80", "80-", "-80", "8o", "tcp/udp/80",
                            "1-2-3", "08080", "udp/ 53"}) {
        std::string m = refusal(std::string("create {\n publish = 8000, ") + bad + "\n}\n");
        EXPECT_TRUE(
            has(m, std::string("pn.conf: create.publish: '") + bad + "' is not a port or range of ports"))
            << bad << " -> " << m;
    }
    EXPECT_TRUE(has(refusal("create { publish = 80,,81 }"), "create.publish: '80,,81' has an empty entry"));
    EXPECT_TRUE(parsed("create {\n publish =\n}\n").publish.empty());
    EXPECT_EQ(parsed("create { publish = 1-65535 }").publish.front(), (policy::PortRange{0, 1, 65535}));
}

// Users publish what create.publish lists for the protocol, never below 1024 whatever it
// says; the inner port is theirs; root is not restricted.
TEST(PolicyPublish, RangesPerProtocolAndNeverBelow1024) {
    using personalnet::PublishedPort;
    auto port = [](const char* text) { return *PublishedPort::parse(text); };
    auto alice = caller("alice", {});
    policy::Policy p = parsed("create {\n users = alice\n publish = 8000-8099, udp/5353, 1-65535\n}\n");
    policy::Policy narrow = parsed("create {\n users = alice\n publish = 8000-8099, udp/5353\n}\n");
    EXPECT_TRUE(policy::may_publish(narrow, alice, port("tcp/8000:80")).ok())
        << "the inner port is the space's";
    EXPECT_TRUE(policy::may_publish(narrow, alice, port("udp/8099")).ok());
    EXPECT_TRUE(policy::may_publish(narrow, alice, port("udp/5353")).ok());

    Status s = policy::may_publish(narrow, alice, port("tcp/5353"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EPERM);
    EXPECT_EQ(
        s.error().context,
        "user 'alice' may not publish tcp/5353 (personalnet.conf: create.publish = 8000-8099, udp/5353)");
    EXPECT_FALSE(policy::may_publish(narrow, alice, port("tcp/8100")).ok());
    for (const char* low : {"tcp/80", "udp/1023", "tcp/22:2222"}) {
        s = policy::may_publish(p, alice, port(low));
        ASSERT_FALSE(s.ok()) << low;
        EXPECT_EQ(s.error().code, EPERM);
        EXPECT_TRUE(has(s.error().context, "ports below 1024 are the host's")) << s.error().context;
    }
    EXPECT_TRUE(policy::may_publish(p, alice, port("tcp/1024")).ok());

    s = policy::may_publish(parsed("create { users = alice }"), alice, port("tcp/8080"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().context,
              "user 'alice' may not publish tcp/8080 (personalnet.conf: create.publish is empty)");
    EXPECT_FALSE(policy::may_publish(parsed("create { publish = 1-65535 }"), alice, port("tcp/8080")).ok())
        << "needs may_create";
    for (const char* any : {"tcp/80", "udp/1", "tcp/65535:1"})
        EXPECT_TRUE(policy::may_publish(policy::Policy{}, caller("root", {}, 0), port(any)).ok()) << any;
}

TEST(PolicyLimits, CountsAndDepth) {
    policy::Policy p;  // 16 per user, 1024 in all, depth 8
    auto bob = caller("bob", {"personalnet"});
    EXPECT_TRUE(policy::within_limits(p, bob, 15, 1023, 8).ok());

    Status s = policy::within_limits(p, bob, 16, 20, 1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EUSERS);
    EXPECT_EQ(s.error().context, "user 'bob' owns 16 spaces (personalnet.conf: max_spaces_per_user = 16)");

    s = policy::within_limits(p, bob, 2, 1024, 1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EUSERS);
    EXPECT_TRUE(has(s.error().context, "the host has 1024 spaces (personalnet.conf: max_spaces = 1024)"));

    s = policy::within_limits(p, bob, 0, 0, 9);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ELOOP);
    EXPECT_TRUE(has(s.error().context, "user 'bob' may not create a space at depth 9"));
    EXPECT_TRUE(has(s.error().context, "nesting deeper than 8 (personalnet.conf: max_depth)"));

    p.max_spaces_per_user = 0;
    EXPECT_EQ(policy::within_limits(p, bob, 0, 0, 1).error().code, EUSERS) << "0: none at all";

    auto root = caller("root", {}, 0);
    EXPECT_TRUE(policy::within_limits(p, root, 500, 5000, 30).ok()) << "root is not limited";
    for (auto [mine, all, depth] : {std::tuple{-1, 0, 1}, std::tuple{0, -1, 1}, std::tuple{0, 0, 0}})
        EXPECT_EQ(policy::within_limits(p, root, mine, all, depth).error().code, EINVAL);
}

}  // namespace
}  // namespace pn_unit
