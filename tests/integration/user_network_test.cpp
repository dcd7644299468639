// Users' own personal networks (issue 18), as real users through the staged set-uid
// helper: a user's definition in ~/.config/personalnet/networks (here XDG_CONFIG_HOME),
// read with her rights and checked by the helper against the administrator's
// constraints (personalnet.conf's networks section) and the allow-list of swanctl keys.
//
// The simulated hosts share one personalnet.conf (the staged helper's, whose rundir is
// host A's), so only host A's side runs as a user; host B's side is root's own user
// network (mkportspace --network-file), which takes the same path through the library
// minus the administrator's constraints.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/sys.hpp"
#include "tests/integration/network_definition.hpp"
#include "tests/integration/unprivileged.hpp"

namespace pntest {
namespace {

using namespace std::chrono_literals;
namespace sys = personalnet::sys;

constexpr const char* kSecret = "pntest-user-network-secret-7f3a";

// One side's definition of alice's network (host `self`, overlay address 10.80.0.x),
// with what `extra_conn` adds to the connection.
std::string definition(int self, const std::string& extra_conn = "", const std::string& label = "0x4e02",
                       const std::string& proposals = "aes128-sha256-x25519") {
    NetworkSide side;
    side.self = self;
    side.label = label;
    side.proposals = proposals;
    side.connection_extra = extra_conn;
    side.id_prefix = "user-";
    side.secret = kSecret;
    return network_definition(side);
}

// The networks section of the policy: alice's constraints (max_networks among them).
std::string networks_policy(int max_networks = 1, const std::string& more = "") {
    return std::string("networks {\n    users {\n        ") + kAlice +
           " {\n"
           "            peers = 10.9.0.0/24\n"
           "            claim = 10.80.0.0/24\n"
           "            reach = 10.80.0.0/24\n"
           "            labels = 0x4e00-0x4eff\n"
           "            max_networks = " +
           std::to_string(max_networks) + "\n" + more + "        }\n    }\n}\n";
}

// One side's definition authenticated by certificates: its own certificate and key files,
// and the peer's CA by name in the administrator's trust directory.
std::string cert_definition(int self, const std::string& cert, const std::string& key,
                            const std::string& ca = "ca.pem") {
    NetworkSide side;
    side.self = self;
    side.label = "0x4e02";
    side.local_addrs = false;
    side.cert = cert;
    side.key = key;
    side.ca = ca;
    return network_definition(side);
}

class UserNetworkTest : public UnprivilegedTest {
protected:
    void SetUp() override {
        UnprivilegedTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        baseline_b_ = B().snapshot();
        char tmpl[] = "/tmp/pn-usernet-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        ASSERT_EQ(::chmod(top_.c_str(), 0755), 0);
        // Alice's configuration directory, hers alone.
        config_ = top_ + "/alice-config";
        networks_ = config_ + "/personalnet/networks";
        ASSERT_TRUE(sys::make_dirs(networks_, 0700).ok());
        for (const std::string& d : {config_, config_ + "/personalnet", networks_})
            ASSERT_EQ(::chown(d.c_str(), uid_of(kAlice), uid_of(kAlice)), 0);
        ASSERT_EQ(::chmod(config_.c_str(), 0700), 0);
        // Root's own definition on host B.
        ASSERT_TRUE(sys::make_dirs(top_ + "/b", 0700).ok());
        write_policy(networks_policy());
    }
    void TearDown() override {
        if (topo_) {
            // Both hosts' spaces first: BPF programs are counted machine-wide.
            for (const char* name : {"n", "m"}) (void)A().run({bin("pnet"), "destroy", name});
            (void)B().run({bin("pnet"), "destroy", "n"});
            (void)B().run({bin("pnet"), "gc"});
            EXPECT_EQ(B().snapshot(), baseline_b_) << "host B's state leaked";
        }
        UnprivilegedTest::TearDown();
        if (!top_.empty()) (void)sys::remove_tree(top_);
    }

    // A file of alice's (mode 0600, hers) in her networks directory.
    void write_alices(const std::string& name, const std::string& text, mode_t mode = 0600) {
        const std::string path = networks_ + "/" + name;
        ASSERT_TRUE(sys::write_atomic(path, text).ok());
        ASSERT_EQ(::chown(path.c_str(), uid_of(kAlice), uid_of(kAlice)), 0);
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    }
    std::vector<std::string> alices_env() { return {"XDG_CONFIG_HOME=" + config_}; }
    RunResult alice(std::vector<std::string> argv, int timeout_ms = 30000) {
        return as(kAlice, std::move(argv), alices_env(), timeout_ms);
    }
    RunResult alice_makes(const std::string& overlay, const std::string& name = "n") {
        return alice({mkps(), "-q", "--name", name, "--overlay", overlay, "--file-space=none", "--", "true"});
    }
    // Root's side on host B, from a definition file of root's.
    RunResult b_makes(const std::string& text) {
        const std::string file = top_ + "/b/net.conf";
        EXPECT_TRUE(sys::write_atomic(file, text).ok());
        return B().run({bin("mkportspace"), "-q", "--name", "n", "--network-file", file, "--file-space=none",
                        "--", "true"});
    }
    bool peer_up_on_a(std::chrono::seconds wait) {
        auto t0 = std::chrono::steady_clock::now();
        do {
            if (contains(alice({pnet_bin(), "show", "n", "--json"}).out,
                         "{\"address\":\"10.9.0.2\",\"state\":\"up\"}"))
                return true;
            std::this_thread::sleep_for(200ms);
        } while (std::chrono::steady_clock::now() - t0 < wait);
        return false;
    }
    // Both sides' view and the end of their charons' logs, for a failure message.
    std::string diagnosis() {
        std::string out = "== A (alice's)\n" + alice({pnet_bin(), "show", "n"}).out + "== B\n" +
                          B().run({bin("pnet"), "show", "n"}).out;
        for (Host* h : {&A(), &B()}) {
            auto log = sys::read_file(h->rundir() + "/charon/4e02/charon.log");
            if (log.ok())
                out += "== charon log of " + h->name() + "\n" +
                       log->substr(log->size() > 3000 ? log->size() - 3000 : 0);
        }
        return out;
    }
    // A TCP exchange from alice's space to B's space over the network, and back.
    void expect_reach_both_ways() {
        auto b_server = B().spawn({bin("pnet"), "exec", "n", "--", bin("pnprobe"), "serve", "tcp",
                                   "10.80.0.2", "7101", "--reply", "from-b"});
        EXPECT_EQ(b_server.read_line(), "listening") << "B's server";
        bool reached = false;
        std::string last;
        for (int i = 0; i < 20 && !reached; ++i) {
            auto r =
                alice({pnet_bin(), "exec", "n", "--", bin("pnprobe"), "connect", "tcp", "10.80.0.2", "7101"});
            last = r.out + r.err;
            reached = contains(r.out, "from-b");
            if (!reached) std::this_thread::sleep_for(250ms);
        }
        EXPECT_TRUE(reached) << last << alice({pnet_bin(), "show", "n"}).out
                             << B().run({bin("pnet"), "show", "n"}).out;
        b_server.kill();
        (void)b_server.wait();
    }
    // Every file under dir (as root) whose bytes contain needle.
    static std::vector<std::string> files_holding(const std::string& dir, const std::string& needle) {
        std::vector<std::string> out;
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(
                 dir, std::filesystem::directory_options::skip_permission_denied, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
            auto text = sys::read_file(it->path().string());
            if (text.ok() && text->find(needle) != std::string::npos) out.push_back(it->path().string());
        }
        return out;
    }
    // Every /proc/PID/{environ,cmdline} that contains needle.
    static std::vector<std::string> processes_holding(const std::string& needle) {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator("/proc")) {
            const std::string pid = e.path().filename().string();
            if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
            for (const char* f : {"environ", "cmdline"}) {
                auto text = sys::read_file("/proc/" + pid + "/" + f);
                if (text.ok() && text->find(needle) != std::string::npos)
                    out.push_back("/proc/" + pid + "/" + f);
            }
        }
        return out;
    }
    // openssl, run to completion; the test fails on its error.
    void openssl(std::vector<std::string> args) {
        args.insert(args.begin(), "openssl");
        auto r = A().run(args);
        ASSERT_EQ(r.rc, 0) << r.err;
    }
    // A CA (DIR/NAME.pem, DIR/NAME.key) and certificates it issues (DIR/CERT.pem, .key).
    void make_ca(const std::string& dir, const std::string& name) {
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".pem", "-subj",
                 "/O=pntest/CN=" + name, "-days", "2"});
    }
    void issue(const std::string& dir, const std::string& ca, const std::string& cert,
               const std::string& subject) {
        openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                 dir + "/" + cert + ".key", "-out", dir + "/" + cert + ".csr", "-subj", subject});
        openssl({"x509", "-req", "-in", dir + "/" + cert + ".csr", "-CA", dir + "/" + ca + ".pem", "-CAkey",
                 dir + "/" + ca + ".key", "-CAcreateserial", "-out", dir + "/" + cert + ".pem", "-days",
                 "2"});
    }
    // A file of dir copied into alice's networks directory as hers (0600).
    void give_alice(const std::string& dir, const std::string& name) {
        auto bytes = sys::read_file(dir + "/" + name);
        ASSERT_TRUE(bytes.ok()) << name;
        write_alices(name, bytes.value());
    }

    std::string state_dir() { return A().rundir().substr(0, A().rundir().rfind('/')) + "/state"; }

    std::string top_, config_, networks_, baseline_b_;
};

// Alice's own PSK network between host A (her space, through the helper) and host B: it
// comes up, carries traffic both ways, is shown as hers, and no byte of its secret is in
// any file under the run or state directories or in any process's environment or
// command line. Bob sees none of it.
TEST_F(UserNetworkTest, UsersOwnPskNetworkAcrossTwoHosts) {
    write_alices("net.conf", definition(1));
    // An administrator's overlay of the same name, which alice may bind: hers is taken.
    const std::string admin = A().rundir().substr(0, A().rundir().rfind('/')) + "/overlays.d";
    ASSERT_TRUE(sys::make_dirs(admin, 0755).ok());
    NetworkSide theirs;
    theirs.label = "0x4e09";
    ASSERT_TRUE(sys::write_atomic(admin + "/net.conf", network_definition(theirs)).ok());
    // As installed: the directories readable, the definition (its secret) root's alone.
    ASSERT_EQ(::chmod(admin.substr(0, admin.rfind('/')).c_str(), 0755), 0);
    ASSERT_EQ(::chmod((admin + "/net.conf").c_str(), 0600), 0);
    write_policy(networks_policy() + "overlays {\n    net = *\n}\n");
    auto made = alice_makes("net");
    ASSERT_EQ(made.rc, 0) << made.err;
    ASSERT_EQ(b_makes(definition(2)).rc, 0);
    ASSERT_TRUE(peer_up_on_a(15s)) << diagnosis();
    expect_reach_both_ways();

    auto shown = alice({pnet_bin(), "show", "n"});
    EXPECT_TRUE(contains(shown.out, "definition:  " + networks_ + "/net.conf (the owner's own)"))
        << shown.out;
    EXPECT_TRUE(contains(shown.out, "network:     net (label 0x4e02")) << shown.out;
    auto json = alice({pnet_bin(), "show", "n", "--json"});
    EXPECT_TRUE(contains(json.out, "\"user_network\":true")) << json.out;
    auto nets = alice({pnet_bin(), "networks", "--json"});
    EXPECT_EQ(nets.rc, 0) << nets.err;
    EXPECT_TRUE(contains(nets.out, "{\"name\":\"net\",\"owner\":\"you\",\"source\":\"" + networks_ +
                                       "/net.conf\",\"shadowed\":false,\"label\":\"0x4e02\",\"problem\":\"\","
                                       "\"live\":[\"n\"]}"))
        << nets.out;
    EXPECT_TRUE(contains(
        nets.out, "{\"name\":\"net\",\"owner\":\"administrator\",\"source\":\"" + admin +
                      "/net.conf\",\"shadowed\":true,\"label\":\"0x4e09\",\"problem\":\"\",\"live\":[]}"))
        << nets.out;

    // The secret is nowhere to be read.
    for (const auto& dir : {A().rundir(), state_dir(), B().rundir()})
        EXPECT_TRUE(files_holding(dir, kSecret).empty())
            << dir << ": " << files_holding(dir, kSecret).front();
    EXPECT_TRUE(processes_holding(kSecret).empty()) << processes_holding(kSecret).front();

    // Bob can neither show, join nor list it, nor bind the network's label.
    auto bob_show = as(kBob, {pnet_bin(), "show", "n"});
    EXPECT_NE(bob_show.rc, 0);
    EXPECT_NE(as(kBob, {pnet_bin(), "exec", "n", "--", "true"}).rc, 0);
    EXPECT_FALSE(contains(as(kBob, {pnet_bin(), "list"}).out, "n "));
    EXPECT_FALSE(contains(as(kBob, {pnet_bin(), "networks"}).out, networks_));
    // Bob's own definition of the same network (allowed the same rules): its label is
    // alice's while her space lives, and he is not told her space's name.
    {
        auto policy = sys::read_file(std::string(kPolicyDir) + "/personalnet.conf").value();
        auto rules = networks_policy();
        auto body = rules.substr(rules.find(kAlice) + std::string(kAlice).size());
        body = body.substr(0, body.find("        }\n") + 10);
        policy.insert(policy.rfind("    }\n}\n"), std::string("        ") + kBob + body);
        ASSERT_TRUE(sys::write_atomic(std::string(kPolicyDir) + "/personalnet.conf", policy).ok());
        const std::string bobs = top_ + "/bob.conf";
        ASSERT_TRUE(sys::write_atomic(bobs, definition(1)).ok());
        ASSERT_EQ(::chmod(bobs.c_str(), 0644), 0);
        const std::string before = A().snapshot();
        auto r = as(kBob, {mkps(), "--network-file", bobs, "--file-space=none", "--", "true"});
        EXPECT_EQ(r.rc, 2) << r.err;
        EXPECT_TRUE(
            contains(r.err, "network 'bob' (label 0x4e02) is already bound by a space of another user"))
            << r.err;
        EXPECT_EQ(A().snapshot(), before);
    }
    EXPECT_EQ(alice({pnet_bin(), "destroy", "n"}).rc, 0);
}

// Each constraint and each forbidden key refused in one line naming the value or key
// (and the file and line), exit 2 for what the user wrote, and nothing changes.
TEST_F(UserNetworkTest, ConstraintsAndForbiddenKeysAreRefusedInOneLineChangingNothing) {
    struct Case {
        std::string what, text, message;
        int rc;
    };
    const std::string file = networks_ + "/bad.conf";
    std::string outside_peer = definition(1);
    outside_peer.replace(outside_peer.find("remote_addrs = 10.9.0.2"), 23, "remote_addrs = 192.0.2.9");
    std::string outside_claim = definition(1);
    outside_claim.replace(outside_claim.find("addresses = 10.80.0.1/32"), 24, "addresses = 10.99.0.1/32");
    const std::vector<Case> cases = {
        {"a peer outside", outside_peer,
         std::string("peer 192.0.2.9 is outside the peers ") + kAlice + " may reach (10.9.0.0/24)", 2},
        {"a claimed address outside", outside_claim,
         std::string("address 10.99.0.1/32 is outside what ") + kAlice + " may claim (10.80.0.0/24)", 2},
        {"a weak proposal", definition(1, "", "0x4e02", "aes128-sha1-modp1024"),
         "proposal aes128-sha1-modp1024: sha1 is not an allowed algorithm", 2},
        {"a label outside", definition(1, "", "0x4f00"),
         std::string("label 0x4f00 is outside ") + kAlice + "'s range 0x4e00-0x4eff", 2},
        {"updown", definition(1, "        updown = /bin/sh\n"),
         file + ":7: 'connections.net.updown' is not allowed in a user's network definition (runs a command)",
         2},
        {"include", "include /etc/shadow\n" + definition(1), file + ":1: 'include' is not allowed", 2},
        {"foreign local_addrs",
         [] {
             std::string t = definition(1);
             t.replace(t.find("local_addrs = 10.9.0.1"), 22, "local_addrs = 10.9.0.7");
             return t;
         }(),
         file + ":4: 'connections.net.local_addrs = 10.9.0.7' is not allowed in a user's network definition "
                "(local_addrs must be one of this host's addresses: 127.0.0.1, 10.9.0.1,",
         2},
        {"if_id_in", definition(1, "        if_id_in = 7\n"),
         file + ":7: 'connections.net.if_id_in' is not allowed in a user's network definition (claims a host "
                "mark or "
                "interface)",
         2},
        {"an unknown key", definition(1, "        frobnicate = yes\n"),
         file + ":7: 'connections.net.frobnicate' is not allowed in a user's network definition", 2},
        {"file",
         [] {
             std::string t = definition(1);
             t.insert(t.find("        secret = "), "        file = /etc/shadow\n");
             return t;
         }(),
         file + ":28: 'secrets.ike-net.file' is not allowed in a user's network definition (charon would "
                "read or "
                "write a path)",
         2},
    };
    const std::string before = A().snapshot();
    for (const auto& c : cases) {
        write_alices("bad.conf", c.text);
        auto r = alice_makes("bad");
        EXPECT_EQ(r.rc, c.rc) << c.what << ": " << r.err;
        EXPECT_TRUE(contains(r.err, c.message)) << c.what << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.what << ": " << r.err;
        EXPECT_EQ(A().snapshot(), before) << c.what;
    }
    // One network too many: the first is live.
    write_alices("net.conf", definition(1));
    ASSERT_EQ(alice_makes("net").rc, 0);
    std::string second = definition(1, "", "0x4e03");
    write_alices("other.conf", second);
    const std::string with_one = A().snapshot();
    auto r = alice_makes("other", "m");
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(
        contains(r.err, std::string(kAlice) + " has 1 live network, the most allowed (max_networks = 1)"))
        << r.err;
    EXPECT_EQ(A().snapshot(), with_one);
    EXPECT_EQ(alice({pnet_bin(), "destroy", "n"}).rc, 0);

    // Without rules in the policy (carol; and the default policy), no user networks.
    write_alices("net.conf", definition(1));
    write_policy("");
    auto none = alice_makes("net");
    EXPECT_NE(none.rc, 0);
    EXPECT_TRUE(contains(none.err, std::string("user '") + kAlice + "' may not have networks of their own"))
        << none.err;
    EXPECT_EQ(A().snapshot(), before);
}

// Alice's own network authenticated by certificates (ECDSA, issued by a CA the
// administrator trusts, her subject mapped to her in the DN map, peers required to
// present certificates from that CA): it comes up and carries traffic, and her private
// key's bytes are in no file under the run and state directories. A certificate whose
// subject the map gives to bob is refused before anything exists; one from another CA
// is loaded but the peer never accepts it.
TEST_F(UserNetworkTest, UsersOwnCertificateNetworkAcrossTwoHosts) {
    const std::string pki = top_ + "/pki";
    ASSERT_TRUE(sys::make_dirs(pki, 0700).ok());
    make_ca(pki, "ca");
    make_ca(pki, "other-ca");
    issue(pki, "ca", "alice", "/O=pntest/CN=alice-1");
    issue(pki, "ca", "bobs", "/O=pntest/CN=bob-1");
    issue(pki, "other-ca", "stranger", "/O=pntest/CN=alice-2");
    issue(pki, "ca", "hostb", "/O=pntest/CN=host-b");
    if (HasFatalFailure()) return;
    // The administrator's trust directory and DN map.
    const std::string trust = top_ + "/cacerts.d";
    ASSERT_TRUE(sys::make_dirs(trust, 0755).ok());
    ASSERT_TRUE(sys::write_atomic(trust + "/ca.pem", sys::read_file(pki + "/ca.pem").value()).ok());
    ASSERT_TRUE(sys::write_atomic(top_ + "/dnmap", "\"O=pntest, CN=alice-1\" " + std::string(kAlice) +
                                                       "\n\"O=pntest, CN=alice-2\" " + kAlice +
                                                       "\n\"O=pntest, CN=bob-1\" " + kBob + "\n")
                    .ok());
    for (const char* f : {"/cacerts.d/ca.pem", "/dnmap"}) ASSERT_EQ(::chmod((top_ + f).c_str(), 0644), 0);
    write_policy(networks_policy(1,
                                 "            auth = pubkey\n            require_dn_map = yes\n"
                                 "            peer_ca = ca.pem\n") +
                 "");
    {
        // trustdir and dnmap belong in the networks section: append them to it.
        auto policy = sys::read_file(std::string(kPolicyDir) + "/personalnet.conf").value();
        auto end = policy.rfind("}\n");
        policy.insert(end, "    trustdir = " + trust + "\n    dnmap = " + top_ + "/dnmap\n");
        ASSERT_TRUE(sys::write_atomic(std::string(kPolicyDir) + "/personalnet.conf", policy).ok());
    }
    const std::string before = A().snapshot();

    // bob's certificate, in alice's definition: refused before anything exists.
    give_alice(pki, "bobs.pem");
    give_alice(pki, "bobs.key");
    write_alices("net.conf", cert_definition(1, "bobs.pem", "bobs.key"));
    auto refused = alice_makes("net");
    EXPECT_EQ(refused.rc, 2) << refused.err;
    EXPECT_TRUE(contains(refused.err, std::string("certificate subject \"O=pntest, CN=bob-1\" maps to ") +
                                          kBob + ", not " + kAlice))
        << refused.err;
    EXPECT_EQ(A().snapshot(), before);

    // Her own: the network comes up with host B's side (root's, same CA).
    give_alice(pki, "alice.pem");
    give_alice(pki, "alice.key");
    write_alices("net.conf", cert_definition(1, "alice.pem", "alice.key"));
    auto made = alice_makes("net");
    ASSERT_EQ(made.rc, 0) << made.err;
    const std::string bdir = top_ + "/b";
    for (const char* f : {"hostb.pem", "hostb.key"}) {
        ASSERT_TRUE(sys::write_atomic(bdir + "/" + f, sys::read_file(pki + "/" + f).value()).ok());
        ASSERT_EQ(::chmod((bdir + "/" + f).c_str(), 0600), 0);
    }
    const std::string bfile = bdir + "/net.conf";
    ASSERT_TRUE(sys::write_atomic(bfile, cert_definition(2, "hostb.pem", "hostb.key")).ok());
    auto bside = B().run({"env", "PERSONALNET_TRUSTDIR=" + trust, bin("mkportspace"), "-q", "--name", "n",
                          "--network-file", bfile, "--file-space=none", "--", "true"});
    ASSERT_EQ(bside.rc, 0) << bside.err;
    ASSERT_TRUE(peer_up_on_a(15s)) << diagnosis();
    expect_reach_both_ways();
    // The private key's bytes (its base64 body, as PEM holds it) are in no file there.
    auto key = sys::read_file(pki + "/alice.key").value();
    auto body = key.substr(key.find('\n') + 1, 40);
    for (const auto& dir : {A().rundir(), state_dir()})
        EXPECT_TRUE(files_holding(dir, body).empty()) << dir << ": " << files_holding(dir, body).front();
    EXPECT_TRUE(processes_holding(body).empty());
    EXPECT_EQ(alice({pnet_bin(), "destroy", "n"}).rc, 0);

    // A certificate from another CA (its subject mapped to alice): the space is made, the
    // peer (requiring ca.pem) never accepts it.
    give_alice(pki, "stranger.pem");
    give_alice(pki, "stranger.key");
    write_alices("net.conf", cert_definition(1, "stranger.pem", "stranger.key"));
    ASSERT_EQ(alice_makes("net").rc, 0);
    EXPECT_FALSE(peer_up_on_a(8s)) << alice({pnet_bin(), "show", "n"}).out;
    EXPECT_EQ(alice({pnet_bin(), "destroy", "n"}).rc, 0);
}

}  // namespace
}  // namespace pntest
