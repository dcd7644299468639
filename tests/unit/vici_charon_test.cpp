// lib/ike against real charon daemons: two simulated hosts (network namespaces joined
// by a veth pair, 10.77.0.1/24 and 10.77.0.2/24, overlay addresses 10.88.0.1 and
// 10.88.0.2 on their loopbacks), each with its own charon started by the test. Each
// test runs in a forked child inside a fresh network namespace and ends by checking
// that nothing is left: daemons reaped, TUN devices and routes gone, namespaces
// unreferenced, temporary directories removed.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "lib/core/sys.hpp"
#include "lib/ike/credentials.hpp"
#include "lib/ike/settings.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/ike/vici_commands.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/space/netns.hpp"
#include "tests/unit/charon_daemon.hpp"
#include "tests/unit/credential_fixtures.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;
namespace nl = personalnet::netlink;
namespace sys = personalnet::sys;
namespace space = personalnet::space;
using namespace std::chrono_literals;
using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::UniqueFd;
using Clock = std::chrono::steady_clock;

constexpr const char* kPing = "/usr/bin/ping";
constexpr const char* kPsk = "pn-unit-test-psk-0123456789";

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Host {
    const char* name;   // "a" or "b": also its IKE identity
    const char* outer;  // address on the veth
    const char* inner;  // overlay address on lo, the CHILD_SA's traffic selector
    const char* veth;
    uint16_t label;  // its SPI label
    UniqueFd ns;
    uint64_t ns_inode = 0;
    std::string dir;
    std::optional<Charon> charon;
    std::optional<ike::ViciClient> vici;
};

// The connection "t" with CHILD_SA "c" from self to peer, as swanctl.conf would say it.
ike::ViciMessage conn_config(const Host& self, const Host& peer, const char* remote_addr = nullptr) {
    ike::ViciMessage c;
    c.set("version", "2");
    c.set_list("local_addrs", {self.outer});
    c.set_list("remote_addrs", {remote_addr ? remote_addr : peer.outer});
    c.set_list("proposals", {"aes128-sha256-x25519"});
    c.section("local").set("auth", "psk").set("id", self.name);
    c.section("remote").set("auth", "psk").set("id", peer.name);
    auto& child = c.section("children").section("c");
    child.set_list("local_ts", {std::string(self.inner) + "/32"});
    child.set_list("remote_ts", {std::string(peer.inner) + "/32"});
    child.set_list("esp_proposals", {"aes128gcm16"});
    return c;
}

ike::SharedSecret psk(const std::string& secret) {
    ike::SharedSecret s;
    s.data = secret;
    s.owners = {"a", "b"};
    return s;
}

class Lab {
public:
    Lab() : libipsec_(!personalnet::netlink::kernel_has_esp().value()) {}
    // Only std::bad_alloc could escape, which ends the test child either way.
    ~Lab() { (void)teardown(); }  // NOLINT(bugprone-exception-escape)

    bool libipsec() const { return libipsec_; }

    // Namespaces, veth, addresses, directories and both daemons.
    std::string build() {
        for (Host* h : {&a, &b}) {
            auto ns = space::new_netns();
            if (!ns.ok()) return ns.error().message();
            h->ns = std::move(ns).value();
            auto ino = sys::inode_of_fd(h->ns.get());
            if (!ino.ok()) return ino.error().message();
            h->ns_inode = ino.value();
            char tmpl[] = "/tmp/pnvici-XXXXXX";
            if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
            h->dir = tmpl;
        }
        if (auto e = configure(a, &b); !e.empty()) return "host a: " + e;
        if (auto e = configure(b, nullptr); !e.empty()) return "host b: " + e;
        for (Host* h : {&a, &b}) {
            auto c = Charon::start(h->ns.get(), h->dir, h->label, !libipsec_);
            if (!c.ok()) return std::string("host ") + h->name + ": " + c.error().message();
            h->charon.emplace(std::move(c).value());
            auto v = ike::ViciClient::connect(h->charon->vici(), 2s);
            if (!v.ok()) return v.error().message();
            h->vici.emplace(std::move(v).value());
        }
        return "";
    }

    // Stops everything and reports what was left behind ("" when nothing).
    std::string teardown() {
        std::string leaks;
        for (Host* h : {&a, &b}) {
            h->vici.reset();
            if (!h->charon) continue;
            pid_t pid = h->charon->pid();
            std::string how = h->charon->stop();
            if (!how.empty()) leaks += std::string("charon ") + h->name + ": " + how + "; ";
            h->charon.reset();
            if (pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH))
                leaks += "charon " + std::to_string(pid) + " not reaped; ";
        }
        for (Host* h : {&a, &b}) {
            if (h->ns.valid()) {
                std::string left = leftovers(*h);
                if (!left.empty()) leaks += std::string("host ") + h->name + ": " + left + "; ";
            }
            h->ns.reset();
            if (h->ns_inode != 0 && space::netns_has_processes(h->ns_inode))
                leaks += std::string("netns of ") + h->name + " still has processes; ";
            if (!h->dir.empty()) {
                auto names = sys::list_dir(h->dir);
                if (names.ok())
                    for (const auto& n : names.value()) (void)::unlink((h->dir + "/" + n).c_str());
                if (::rmdir(h->dir.c_str()) != 0) leaks += "cannot remove " + h->dir + "; ";
                struct stat st {};
                if (::lstat(h->dir.c_str(), &st) == 0) leaks += h->dir + " still exists; ";
                h->dir.clear();
            }
        }
        return leaks;
    }

    // TUN devices (libipsec's ipsec0) in h's namespace.
    int tun_count(const Host& h) {
        auto sw = space::NetnsSwitch::enter(h.ns.get());
        if (!sw.ok()) return -1;
        auto s = nl::Socket::open();
        if (!s.ok()) return -1;
        auto links = nl::list_links(*s);
        if (!links.ok()) return -1;
        int n = 0;
        for (const auto& l : links.value()) n += l.kind == "tun" ? 1 : 0;
        return n;
    }

    // Appends both daemons' log tails to a failure description.
    std::string with_logs(const std::string& why) const {
        std::string out = why;
        for (const Host* h : {&a, &b})
            if (h->charon) out += std::string("\n--- charon ") + h->name + " log:\n" + h->charon->log_tail();
        return out;
    }

    Host a{"a", "10.77.0.1", "10.88.0.1", "pnva", 0x0a0a, {}, 0, {}, {}, {}};
    Host b{"b", "10.77.0.2", "10.88.0.2", "pnvb", 0x0b0b, {}, 0, {}, {}, {}};

private:
    // Loopback up with the overlay address, the veth (created from a's side) addressed
    // and up.
    static std::string configure(Host& h, Host* peer) {
        auto sw = space::NetnsSwitch::enter(h.ns.get());
        if (!sw.ok()) return sw.error().message();
        auto s = nl::Socket::open();
        if (!s.ok()) return s.error().message();
        if (peer != nullptr) {
            auto idx = nl::create_veth(*s, h.veth, {0x02, 0x77, 0, 0, 0, 1}, peer->veth,
                                       {0x02, 0x77, 0, 0, 0, 2}, peer->ns.get());
            if (!idx.ok()) return idx.error().message();
        }
        auto lo = nl::link_index(*s, "lo");
        auto veth = nl::link_index(*s, h.veth);
        if (!lo.ok() || !veth.ok()) return "links missing";
        // IpPrefix::parse() would clear the host bits of "10.77.0.1/24": built by hand.
        const IpPrefix inner{*IpAddr::parse(h.inner), 32};
        const IpPrefix outer{*IpAddr::parse(h.outer), 24};
        for (const auto& [ifindex, prefix] : {std::pair{lo.value(), inner}, std::pair{veth.value(), outer}}) {
            auto st = nl::add_address(*s, ifindex, prefix, RT_SCOPE_UNIVERSE, false);
            if (!st.ok()) return st.error().message();
            auto up = nl::set_link_up(*s, ifindex);
            if (!up.ok()) return up.error().message();
        }
        return "";
    }

    // What the daemon should have taken with it: TUN devices and its routes in table
    // 220 (charon's default routing table).
    std::string leftovers(const Host& h) {
        std::string out;
        int tuns = tun_count(h);
        if (tuns != 0) out += std::to_string(tuns) + " TUN device(s) left";
        auto sw = space::NetnsSwitch::enter(h.ns.get());
        if (!sw.ok()) return out + sw.error().message();
        auto s = nl::Socket::open();
        if (!s.ok()) return out + s.error().message();
        auto routes = nl::list_routes(*s, AF_INET, 220);
        if (routes.ok() && !routes->empty())
            out += std::to_string(routes->size()) + " route(s) left in table 220";
        return out;
    }

    bool libipsec_;
};

// list_sas() until it is empty: a responder drops its SA just after the down event.
std::string wait_no_sas(ike::ViciClient& c, const char* who) {
    const auto deadline = Clock::now() + 3s;
    for (;;) {
        auto sas = ike::list_sas(c);
        if (!sas.ok()) return std::string(who) + ": " + sas.error().message();
        if (sas->empty()) return "";
        if (Clock::now() >= deadline)
            return std::string(who) + " still lists IKE_SA '" + sas->front().name + "' in " +
                   sas->front().state;
        std::this_thread::sleep_for(20ms);
    }
}

class ViciCharon : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (network and mount namespaces)";
        if (::access(kCharon, X_OK) != 0)
            GTEST_SKIP() << kCharon << " missing: install strongswan-charon, strongswan-swanctl, "
                         << "libcharon-extra-plugins";
        if (::access(kIp, X_OK) != 0) GTEST_SKIP() << kIp << " not installed (iproute2)";
        if (::access(kPing, X_OK) != 0) GTEST_SKIP() << kPing << " not installed (iputils-ping)";
    }
};

TEST_F(ViciCharon, EstablishesListsAndTerminatesAnSa) {
    std::string verdict = in_netns([]() -> std::string {
        Lab lab;
        if (auto e = lab.build(); !e.empty()) return lab.with_logs("build: " + e);
        ike::ViciClient& A = *lab.a.vici;
        ike::ViciClient& B = *lab.b.vici;

        auto v = ike::version(A);
        CHECK_THAT(v.ok(), v.error().message());
        CHECK_THAT(v->daemon == "charon" && !v->version.empty(), v->daemon + " " + v->version);

        CHECK_OK(ike::load_shared(A, psk(kPsk)));
        CHECK_OK(ike::load_shared(B, psk(kPsk)));
        CHECK_OK(ike::load_conn(A, "t", conn_config(lab.a, lab.b)));
        CHECK_OK(ike::load_conn(B, "t", conn_config(lab.b, lab.a)));
        for (auto* c : {&A, &B})
            for (const char* ev : {"ike-updown", "child-updown"}) CHECK_OK(c->follow(ev, 1s));

        auto t0 = Clock::now();
        auto up = ike::initiate(A, "c", "t", 5s);
        double initiate_ms = ms_since(t0);
        if (!up.ok()) return lab.with_logs("initiate: " + up.error().message());

        // The up events arrived while initiate() streamed its log: they were queued.
        auto child_up = A.wait_event("child-updown", 2s);
        CHECK_THAT(child_up.ok(), child_up.error().message());
        CHECK_THAT(child_up->is_yes("up"), child_up->dump());
        auto ike_up = A.wait_event("ike-updown", 2s);
        CHECK_THAT(ike_up.ok() && ike_up->is_yes("up"), "no ike-updown up on the initiator");
        for (const char* ev : {"ike-updown", "child-updown"}) {
            auto b_up = B.wait_event(ev, 3s);
            CHECK_THAT(b_up.ok() && b_up->is_yes("up"), std::string("no ") + ev + " up on the responder");
        }

        auto sa = ike::list_sas(A);
        CHECK_THAT(sa.ok(), sa.error().message());
        auto sb = ike::list_sas(B);
        CHECK_THAT(sb.ok(), sb.error().message());
        CHECK_THAT(sa->size() == 1 && sb->size() == 1, "expected one IKE_SA on each side");
        const ike::IkeSaInfo& ia = sa->front();
        const ike::IkeSaInfo& ib = sb->front();
        CHECK_THAT(ia.name == "t" && ia.state == "ESTABLISHED" && ia.version == 2, ia.name + " " + ia.state);
        CHECK_THAT(ib.state == "ESTABLISHED", ib.state);
        CHECK_THAT(ia.initiator && !ib.initiator, "initiator flags");
        CHECK_THAT(ia.local_spi() != 0 && ia.remote_spi() != 0, "zero IKE SPI");
        CHECK_THAT(ia.local_spi() == ib.remote_spi() && ia.remote_spi() == ib.local_spi(), "IKE SPIs differ");
        CHECK_THAT(ia.local_host == "10.77.0.1" && ia.remote_id == "b", ia.local_host + " " + ia.remote_id);
        CHECK_THAT(ia.children.size() == 1 && ib.children.size() == 1, "expected one CHILD_SA on each side");
        const ike::ChildSaInfo& ca = ia.children.front();
        const ike::ChildSaInfo& cb = ib.children.front();
        CHECK_THAT(ca.name == "c" && ca.state == "INSTALLED", ca.name + " " + ca.state);
        CHECK_THAT(cb.state == "INSTALLED", cb.state);
        CHECK_THAT(ca.spi_in != 0 && ca.spi_out != 0, "zero ESP SPI");
        CHECK_THAT(ca.spi_in == cb.spi_out && ca.spi_out == cb.spi_in, "ESP SPIs do not pair up");
        // The SPIs each side chose carry its label (charon.spi_min/max, spi_mask/label).
        CHECK_THAT((ca.spi_in >> 16) == lab.a.label && (cb.spi_in >> 16) == lab.b.label,
                   "ESP SPIs outside the label ranges");
        CHECK_THAT((ia.local_spi() >> 48) == lab.a.label && (ib.local_spi() >> 48) == lab.b.label,
                   "IKE SPIs without the label");
        CHECK_THAT(ca.protocol == "ESP" && ca.mode == "TUNNEL", ca.protocol + " " + ca.mode);
        CHECK_THAT(!lab.libipsec() || ca.encap, "kernel-libipsec always encapsulates in UDP");
        CHECK_THAT(ca.local_ts == std::vector<std::string>{"10.88.0.1/32"}, "local traffic selector");
        CHECK_THAT(!lab.libipsec() || lab.tun_count(lab.a) == 1, "kernel-libipsec's TUN device missing");

        // Traffic through the tunnel shows in the counters.
        {
            auto sw = space::NetnsSwitch::enter(lab.a.ns.get());
            CHECK_THAT(sw.ok(), sw.error().message());
            CHECK_RUN(kPing, "-n", "-q", "-c", "1", "-W", "2", "-I", "10.88.0.1", "10.88.0.2");
        }
        auto after = ike::list_sas(A);
        CHECK_THAT(after.ok() && after->size() == 1 && after->front().children.size() == 1, "SA vanished");
        const ike::ChildSaInfo& counted = after->front().children.front();
        CHECK_THAT(counted.packets_out >= 1 && counted.packets_in >= 1 && counted.bytes_out >= 84,
                   "counters: out " + std::to_string(counted.packets_out) + " packets, in " +
                       std::to_string(counted.packets_in));

        t0 = Clock::now();
        auto down = ike::terminate_ike(A, "t", 5s);
        double terminate_ms = ms_since(t0);
        if (!down.ok()) return lab.with_logs("terminate: " + down.error().message());
        for (auto* c : {&A, &B}) {
            auto ev = c->wait_event("ike-updown", 3s);
            CHECK_THAT(ev.ok(), ev.error().message());
            CHECK_THAT(!ev->is_yes("up"), "ike-updown after terminate says up: " + ev->dump());
        }
        if (auto e = wait_no_sas(A, "initiator"); !e.empty()) return lab.with_logs(e);
        if (auto e = wait_no_sas(B, "responder"); !e.empty()) return lab.with_logs(e);

        std::fprintf(stderr,
                     "[ ViciCharon ] %s backend; charon start %.0f ms / %.0f ms, IKE+CHILD %.0f ms, "
                     "terminate %.0f ms\n",
                     lab.libipsec() ? "kernel-libipsec" : "kernel XFRM", lab.a.charon->start_ms(),
                     lab.b.charon->start_ms(), initiate_ms, terminate_ms);
        return lab.teardown();
    });
    EXPECT_EQ(verdict, "");
}

TEST_F(ViciCharon, FailuresCarryTheDaemonsWords) {
    std::string verdict = in_netns([]() -> std::string {
        Lab lab;
        if (auto e = lab.build(); !e.empty()) return lab.with_logs("build: " + e);
        ike::ViciClient& A = *lab.a.vici;
        ike::ViciClient& B = *lab.b.vici;

        auto unknown = A.request("no-such-command", {}, 2s);
        CHECK_THAT(!unknown.ok() && unknown.error().code == EOPNOTSUPP, "unknown command accepted");
        auto no_event = A.follow("no-such-event", 2s);
        CHECK_THAT(!no_event.ok() && no_event.error().code == EOPNOTSUPP, "unknown event accepted");

        ike::ViciMessage bad = conn_config(lab.a, lab.b);
        bad.section("local").set("auth", "bogus");
        auto refused = ike::load_conn(A, "bad", bad);
        CHECK_THAT(!refused.ok() && refused.error().code == EREMOTEIO, "bogus auth accepted");
        CHECK_THAT(has(refused.error().message(),
                       "load connection 'bad': vici '" + A.path() + "': load-conn: charon: "),
                   refused.error().message());

        auto missing = ike::initiate(A, "nope", "", 2s);
        CHECK_THAT(!missing.ok() && missing.error().code == EREMOTEIO, "initiating an unknown child worked");
        CHECK_THAT(has(missing.error().message(), "initiate CHILD_SA 'nope': charon: "),
                   missing.error().message());

        auto forever = ike::initiate(A, "nope", "", 0ms);
        CHECK_THAT(!forever.ok() && forever.error().code == EINVAL, "a zero timeout must be refused");

        // Different secrets: the responder refuses the initiator's AUTH payload.
        CHECK_OK(ike::load_shared(A, psk(kPsk)));
        CHECK_OK(ike::load_shared(B, psk("another-secret-entirely")));
        CHECK_OK(ike::load_conn(A, "t", conn_config(lab.a, lab.b)));
        CHECK_OK(ike::load_conn(B, "t", conn_config(lab.b, lab.a)));
        auto auth = ike::initiate(A, "c", "t", 5s);
        CHECK_THAT(!auth.ok() && auth.error().code == EREMOTEIO, "initiate with a wrong PSK worked");
        CHECK_THAT(has(auth.error().message(), "initiate CHILD_SA 'c' of 't': charon: ") &&
                       has(auth.error().message(), "log: ") &&
                       has(auth.error().message(), "AUTHENTICATION_FAILED"),
                   auth.error().message());

        // Nobody at the peer address: charon gives up when our timeout expires.
        CHECK_OK(ike::load_conn(A, "lost", conn_config(lab.a, lab.b, "10.77.0.3")));
        auto t0 = Clock::now();
        auto lost = ike::initiate(A, "c", "lost", 1000ms);
        double took = ms_since(t0);
        CHECK_THAT(
            !lost.ok() && lost.error().code == ETIMEDOUT,
            "initiate towards nobody: " + (lost.ok() ? std::string("worked") : lost.error().message()));
        CHECK_THAT(took >= 900 && took < 2500, "initiate timeout took " + std::to_string(took) + " ms");
        CHECK_THAT(A.usable(), "a daemon-side failure must leave the connection usable");
        CHECK_OK(ike::unload_conn(A, "lost"));

        // A stopped daemon: its socket refuses (or is gone), and the error names it.
        const std::string path = lab.a.charon->vici();
        lab.a.vici.reset();
        CHECK_THAT(lab.a.charon->stop().empty(), "charon a did not stop cleanly");
        auto gone = ike::ViciClient::connect(path, 1s);
        CHECK_THAT(!gone.ok() && (gone.error().code == ECONNREFUSED || gone.error().code == ENOENT),
                   "connect to a stopped charon");
        CHECK_THAT(has(gone.error().message(), "'" + path + "'"), gone.error().message());
        return lab.teardown();
    });
    EXPECT_EQ(verdict, "");
}

// A definition with certificates as a user's reaches charon: the certificate data and the
// private keys as "b64:" items (lib/ike/credentials.hpp), loaded the way bring_up_overlay
// loads them. alice (this side) has an RSA key in PKCS#8, bob an ECDSA key in SEC1 DER;
// each trusts the CA only through the remote section's cacerts data.
std::string pubkey_definition(const Host& self, const Host& peer, const std::string& cert,
                              const std::string& key, const char* my_dn, const char* peer_dn) {
    namespace fx = pn_unit::fixtures;
    return std::string("connections {\n  t {\n    version = 2\n") + "    local_addrs = " + self.outer +
           "\n    remote_addrs = " + peer.outer + "\n    proposals = aes128-sha256-x25519\n" +
           "    local {\n      auth = pubkey\n      certs = " + ike::data_item(cert) + "\n      id = \"" +
           my_dn + "\"\n    }\n" + "    remote {\n      auth = pubkey\n      id = \"" + peer_dn +
           "\"\n      cacerts = " + ike::data_item(fx::kCaCert) + "\n    }\n" +
           "    children {\n      c {\n        local_ts = " + self.inner +
           "/32\n        remote_ts = " + peer.inner +
           "/32\n        esp_proposals = aes128gcm16\n      }\n    }\n  }\n}\n" +
           "credentials {\n  keys = " + ike::data_item(key) + "\n}\n";
}

TEST_F(ViciCharon, CertificatesAndKeysFromDataAuthenticateAnSa) {
    std::string verdict = in_netns([]() -> std::string {
        namespace fx = pn_unit::fixtures;
        Lab lab;
        if (auto e = lab.build(); !e.empty()) return lab.with_logs("build: " + e);
        ike::ViciClient& A = *lab.a.vici;
        ike::ViciClient& B = *lab.b.vici;
        const char* alice = "C=CH, O=Example, CN=alice";
        const char* bob = "C=CH, O=Example, CN=bob";

        auto bob_key = ike::read_private_key(fx::kBobEcKey);
        CHECK_THAT(bob_key.ok(), bob_key.error().message());
        auto bob_cert = ike::certificate_der(fx::kBobCert);
        CHECK_THAT(bob_cert.ok(), bob_cert.error().message());
        const std::pair<Host*, std::string> defs[] = {
            {&lab.a, pubkey_definition(lab.a, lab.b, fx::kAliceCert, fx::kAliceRsaPkcs8, alice, bob)},
            {&lab.b, pubkey_definition(lab.b, lab.a, bob_cert.value(), bob_key->der, bob, alice)},
        };
        for (const auto& [host, text] : defs) {
            auto settings = ike::parse_settings(text, host->name);
            CHECK_THAT(settings.ok(), settings.error().message());
            // As the keeper gets it: rendered into its memfd and read back.
            auto kept = ike::parse_settings(ike::render_settings(settings.value()), host->name);
            CHECK_THAT(kept.ok(), kept.error().message());
            ike::ViciClient& v = *host->vici;
            auto loaded = ike::load_credentials(v, kept.value());
            if (!loaded.ok())
                return lab.with_logs(std::string("load_credentials ") + host->name + ": " +
                                     loaded.error().message());
            for (const auto& [name, conn] : ike::connections_of(kept.value())) {
                auto st = ike::load_conn(v, name, conn);
                if (!st.ok())
                    return lab.with_logs(std::string("load_conn ") + host->name + ": " +
                                         st.error().message());
            }
        }
        // load-cert directly: the CA again, as an authority (charon keeps one copy).
        CHECK_OK(ike::load_cert(A, "X509", "CA", fx::kCaCert));

        auto up = ike::initiate(A, "c", "t", 5s);
        if (!up.ok()) return lab.with_logs("initiate: " + up.error().message());
        auto sa = ike::list_sas(A);
        CHECK_THAT(sa.ok(), sa.error().message());
        CHECK_THAT(sa->size() == 1 && sa->front().state == "ESTABLISHED", "no established IKE_SA");
        CHECK_THAT(sa->front().local_id == alice && sa->front().remote_id == bob,
                   sa->front().local_id + " / " + sa->front().remote_id);
        {
            auto sw = space::NetnsSwitch::enter(lab.a.ns.get());
            CHECK_THAT(sw.ok(), sw.error().message());
            CHECK_RUN(kPing, "-n", "-q", "-c", "1", "-W", "2", "-I", "10.88.0.1", "10.88.0.2");
        }

        // charon's refusals carry its words: a key of the wrong type, a certificate that is not one.
        auto alice_key = ike::read_private_key(fx::kAliceRsaKey);
        CHECK_THAT(alice_key.ok(), alice_key.error().message());
        auto wrong = ike::load_key(B, "ecdsa", alice_key->der);
        CHECK_THAT(!wrong.ok() && wrong.error().code == EREMOTEIO, "an RSA key loaded as ecdsa");
        CHECK_THAT(has(wrong.error().message(), "load ecdsa private key: ") &&
                       has(wrong.error().message(), "parsing ECDSA private key failed"),
                   wrong.error().message());
        auto junk = ike::load_cert(B, "X509", "NONE", "not a certificate");
        CHECK_THAT(!junk.ok() && junk.error().code == EREMOTEIO, "junk loaded as a certificate");
        CHECK_THAT(has(junk.error().message(), "load X509 certificate (NONE): "), junk.error().message());

        auto down = ike::terminate_ike(A, "t", 5s);
        if (!down.ok()) return lab.with_logs("terminate: " + down.error().message());
        if (auto e = wait_no_sas(A, "initiator"); !e.empty()) return lab.with_logs(e);
        if (auto e = wait_no_sas(B, "responder"); !e.empty()) return lab.with_logs(e);
        return lab.teardown();
    });
    EXPECT_EQ(verdict, "");
}

}  // namespace
}  // namespace pn_unit
