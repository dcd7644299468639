// The helper's requests from one field table (lib/helper/request.cpp): every op written
// as before the table existed, parsed back to itself, and a field of another op refused
// naming its key.
#include "lib/helper/request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "lib/helper/answer.hpp"

namespace pn_unit {
namespace {

namespace helper = personalnet::helper;
using helper::Op;
using helper::Request;
using Fields = std::vector<std::pair<std::string, std::string>>;

struct Case {
    Request request;
    Fields wire;  // as the code before the table wrote it (commit 3244a94)
};

std::vector<Case> every_op() {
    using personalnet::IpPrefix;
    using personalnet::Service;
    std::vector<Case> cases;

    Request create;
    create.op = Op::create;
    create.spec.name = "corp";
    create.spec.inherit_routes = false;
    create.spec.hidden_routes = {*IpPrefix::parse("10.0.0.0/8"), *IpPrefix::parse("fd00::/8")};
    create.spec.inherit_services = false;
    create.spec.hidden_services = {*Service::parse("tcp/22"), *Service::parse("udp/53")};
    create.spec.published = {*personalnet::PublishedPort::parse("tcp/8080"),
                             *personalnet::PublishedPort::parse("udp/5353:53")};
    create.spec.file_space = true;
    create.spec.fs_backend = personalnet::FsBackend::fuse;
    create.spec.shared_paths = {"/srv/data", "/home/a"};
    create.spec.private_tmp = true;
    create.resolv_conf_text = "nameserver 10.0.0.53";
    create.hosts_text = "10.0.0.1 gw";
    create.spec.overlay = "corp";
    create.spec.admin = true;
    create.spec.hostname = "box-1";
    create.spec.dispatch = personalnet::Dispatch::bpf;
    create.spec.limits.rate_in = 100'000'000;
    create.spec.limits.rate_out = 1'500'000;
    cases.push_back({create,
                     {{"op", "create"},
                      {"name", "corp"},
                      {"inherit_routes", "0"},
                      {"hide_route", "10.0.0.0/8"},
                      {"hide_route", "fd00::/8"},
                      {"inherit_services", "0"},
                      {"hide_service", "tcp/22"},
                      {"hide_service", "udp/53"},
                      {"publish", "tcp/8080"},  // new since: written only when there are some
                      {"publish", "udp/5353:53"},
                      {"file_space", "1"},
                      {"fs_backend", "fuse"},
                      {"share", "/srv/data"},
                      {"share", "/home/a"},
                      {"private_tmp", "1"},
                      {"resolv_conf_text", "nameserver 10.0.0.53"},
                      {"hosts_text", "10.0.0.1 gw"},
                      {"overlay", "corp"},
                      {"admin", "1"},
                      {"share_pids", "0"},
                      {"hostname", "box-1"},
                      {"dispatch", "bpf"},
                      {"bandwidth", "100M/1.5M"}}});  // new since: written only when set

    // The defaults: empty texts are left out, booleans and choices always written.
    Request unnamed;
    unnamed.op = Op::create;
    cases.push_back({unnamed,
                     {{"op", "create"},
                      {"inherit_routes", "1"},
                      {"inherit_services", "1"},
                      {"file_space", "1"},
                      {"fs_backend", "auto"},
                      {"private_tmp", "0"},
                      {"admin", "0"},
                      {"share_pids", "0"},
                      {"dispatch", "auto"}}});

    for (Op op : {Op::open, Op::show, Op::diff}) {
        Request r;
        r.op = op;
        r.name = "corp";
        cases.push_back({r, {{"op", helper::op_name(op)}, {"name", "corp"}}});
    }
    Request destroy;
    destroy.op = Op::destroy;
    destroy.name = "corp";
    destroy.keep_files = true;
    cases.push_back({destroy, {{"op", "destroy"}, {"name", "corp"}, {"keep_files", "1"}}});

    Request run;
    run.op = Op::run;
    run.argv = {"ls", "-l", ""};
    run.env = {"A=1", "B="};
    run.cwd = "/home/a";
    cases.push_back({run,
                     {{"op", "run"},
                      {"arg", "ls"},
                      {"arg", "-l"},
                      {"arg", ""},
                      {"env", "A=1"},
                      {"env", "B="},
                      {"cwd", "/home/a"}}});

    Request gc;
    gc.op = Op::gc;
    gc.full = true;
    cases.push_back({gc, {{"op", "gc"}, {"full", "1"}}});

    Request list;
    list.op = Op::list;
    cases.push_back({list, {{"op", "list"}}});
    return cases;
}

TEST(RequestFields, EveryOpIsWrittenAsBeforeAndParsesBackToItself) {
    for (const auto& c : every_op()) {
        const char* op = helper::op_name(c.request.op);
        helper::Message m = helper::to_message(c.request);
        EXPECT_EQ(m.fields, c.wire) << op;
        auto decoded = helper::decode(helper::encode(m));
        ASSERT_TRUE(decoded.ok()) << op << ": " << decoded.error().message();
        auto back = helper::parse_request(decoded.value());
        ASSERT_TRUE(back.ok()) << op << ": " << back.error().message();
        EXPECT_EQ(back->op, c.request.op);
        EXPECT_EQ(helper::to_message(back.value()).fields, c.wire) << op;
    }
    // The values themselves, for the op with the most fields.
    auto create = helper::parse_request(helper::to_message(every_op().front().request));
    ASSERT_TRUE(create.ok());
    const auto& s = create->spec;
    EXPECT_EQ(s.name, "corp");
    EXPECT_FALSE(s.inherit_routes);
    EXPECT_EQ(s.hidden_routes.size(), 2u);
    EXPECT_EQ(s.hidden_services.back().str(), "udp/53");
    ASSERT_EQ(s.published.size(), 2u);
    EXPECT_EQ(s.published.back().str(), "udp/5353:53");
    EXPECT_EQ(s.fs_backend, personalnet::FsBackend::fuse);
    EXPECT_EQ(s.shared_paths, (std::vector<std::string>{"/srv/data", "/home/a"}));
    EXPECT_TRUE(s.private_tmp);
    EXPECT_EQ(create->resolv_conf_text, "nameserver 10.0.0.53");
    EXPECT_EQ(create->hosts_text, "10.0.0.1 gw");
    EXPECT_EQ(s.overlay, "corp");
    EXPECT_TRUE(s.admin);
    EXPECT_EQ(s.dispatch, personalnet::Dispatch::bpf);
}

TEST(RequestFields, AFieldOfAnotherOpIsRefusedNamingTheKey) {
    // One field each op takes, and every op it does not belong to.
    const std::vector<std::pair<std::string, std::vector<Op>>> keys = {
        {"keep_files", {Op::create, Op::open, Op::run, Op::list, Op::show, Op::gc, Op::diff}},
        {"arg", {Op::create, Op::open, Op::list, Op::show, Op::destroy, Op::gc, Op::diff}},
        {"full", {Op::create, Op::open, Op::run, Op::list, Op::show, Op::destroy, Op::diff}},
        {"hide_route", {Op::open, Op::run, Op::list, Op::show, Op::destroy, Op::gc, Op::diff}},
        {"name", {Op::run, Op::list, Op::gc}},
    };
    for (const auto& [key, ops] : keys)
        for (Op op : ops) {
            helper::Message m;
            m.add("op", helper::op_name(op)).add(key, "1");
            auto r = helper::parse_request(m);
            ASSERT_FALSE(r.ok()) << key << " in " << helper::op_name(op);
            EXPECT_EQ(r.error().code, EINVAL);
            EXPECT_EQ(r.error().context,
                      "bad request: " + key + "='1': not a field of " + helper::op_name(op));
        }
}

TEST(RequestFields, OnceUnlessAListAndRequiredFields) {
    helper::Message twice;
    twice.add("op", "destroy").add("name", "a").add("name", "b");
    auto r = helper::parse_request(twice);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().context, "bad request: name='b': given twice");

    helper::Message shares;
    shares.add("op", "create").add("share", "/a").add("share", "/b");
    EXPECT_TRUE(helper::parse_request(shares).ok());

    helper::Message no_name;
    no_name.add("op", "show");
    EXPECT_EQ(helper::parse_request(no_name).error().context, "bad request: show needs a name");
    helper::Message no_command;
    no_command.add("op", "run").add("env", "A=1");
    EXPECT_EQ(helper::parse_request(no_command).error().context, "bad request: run needs a command");
}

TEST(RequestFields, EveryValueIsChecked) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"name", "anon-1"},
        {"inherit_routes", "yes"},
        {"hide_route", "10.0.0.0/33"},
        {"hide_service", "tcp/0"},
        {"fs_backend", "ext4"},
        {"share", "relative"},
        {"overlay", "../x"},
        {"dispatch", "xdp"},
        {"admin", ""},
        {"publish", "tcp/0"},
        {"publish", "8080"},
        {"publish", "tcp/8080:"},
        {"publish", "sctp/80"},
        {"publish", "udp/4500"},
        {"publish", "tcp/70000"},
        {"share_pids", "yes"},
        {"hostname", "a_b"},
        {"hostname", "-a"},
        {"hostname", std::string(65, 'h')},
    };
    for (const auto& [key, value] : bad) {
        helper::Message m;
        m.add("op", "create").add(key, value);
        auto r = helper::parse_request(m);
        ASSERT_FALSE(r.ok()) << key << "=" << value;
        EXPECT_EQ(r.error().context.rfind("bad request: " + key + "=", 0), 0u) << r.error().context;
    }
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"arg", ""}, {"env", "=x"}, {"env", "novalue"}, {"cwd", "rel"}}) {
        helper::Message m;
        m.add("op", "run").add(key, value);
        auto r = helper::parse_request(m);
        ASSERT_FALSE(r.ok()) << key << "=" << value;
        EXPECT_EQ(r.error().context.rfind("bad request: " + key + "=", 0), 0u) << r.error().context;
    }
}

// The helper checks the list of published ports itself, whatever the caller's library
// did: the same outer port twice for one protocol is refused naming the second.
TEST(RequestFields, APublishedPortTwiceIsRefused) {
    helper::Message m;
    m.add("op", "create").add("publish", "tcp/8080").add("publish", "udp/8080").add("publish", "tcp/8080:80");
    auto r = helper::parse_request(m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(
        r.error().context,
        "bad request: publish='tcp/8080:80': cannot publish 'tcp/8080:80': tcp/8080 is already published as "
        "'tcp/8080'");
    helper::Message ok;
    ok.add("op", "create")
        .add("publish", "tcp/8080")
        .add("publish", "udp/8080")
        .add("publish", "tcp/8081:80");
    auto good = helper::parse_request(ok);
    ASSERT_TRUE(good.ok()) << good.error().message();
    EXPECT_EQ(good->spec.published.size(), 3u);
}

// A user's network travels whole: name, where it was read, its text and each file it
// names as NAME, a newline and the file's bytes in base64 (binary-safe: a DER key holds
// NULs). Parts missing or malformed are refused naming the key.
TEST(RequestFields, AUserNetworkRoundTripsWithBinaryFiles) {
    Request r;
    r.op = Op::create;
    r.spec.user_network.name = "home";
    r.spec.user_network.path = "/home/a/.config/personalnet/networks/home.conf";
    r.spec.user_network.text = "connections {\n}\n";
    const std::string der("\x30\x82\x00\x01\x00\xff", 6);
    r.spec.user_network.files = {{"laptop.key", der}, {"laptop.pem", "-----BEGIN CERTIFICATE-----\n"}};
    auto wire = helper::decode(helper::encode(helper::to_message(r)));
    ASSERT_TRUE(wire.ok()) << wire.error().message();
    auto back = helper::parse_request(wire.value());
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->spec.user_network.name, "home");
    EXPECT_EQ(back->spec.user_network.path, r.spec.user_network.path);
    EXPECT_EQ(back->spec.user_network.text, r.spec.user_network.text);
    EXPECT_EQ(back->spec.user_network.files, r.spec.user_network.files);

    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"network_name", "../x"},
                                                          {"network_path", "relative.conf"},
                                                          {"network_path", "/a\nb.conf"},
                                                          {"network_file", "no-newline"},
                                                          {"network_file", "\nAAAA"},
                                                          {"network_file", "k.pem\nnot base64!"}}) {
        helper::Message m;
        m.add("op", "create").add(key, value);
        auto bad = helper::parse_request(m);
        ASSERT_FALSE(bad.ok()) << key << "=" << value;
        EXPECT_EQ(bad.error().context.rfind("bad request: " + key + "=", 0), 0u) << bad.error().context;
    }
    helper::Message partial;
    partial.add("op", "create").add("network_name", "home");
    auto p = helper::parse_request(partial);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().context,
              "bad request: a user network needs network_name, network_path and network_text");
}

// The answers that carry a space's peers, published ports and pin, and the
// administrator's networks, read back what was written; a malformed one is a bad
// answer, not a guess.
TEST(Answers, PeersAndNetworksRoundTrip) {
    personalnet::SpaceInfo info;
    info.name = "n";
    info.peers = {{"10.9.0.2", true}, {"fd00:9::2", false}};
    info.published = {"tcp/8080", "udp/5353:53"};
    info.pin = "/run/personalnet/ns/n";  // what pnet show prints for a user's named space
    auto m = helper::ok_answer();
    helper::add_space(m, info);
    auto spaces = helper::spaces_of(m);
    ASSERT_TRUE(spaces.ok()) << spaces.error().message();
    ASSERT_EQ(spaces->size(), 1u);
    ASSERT_EQ(spaces->front().peers.size(), 2u);
    EXPECT_EQ(spaces->front().peers[0].address, "10.9.0.2");
    EXPECT_TRUE(spaces->front().peers[0].up);
    EXPECT_FALSE(spaces->front().peers[1].up);
    EXPECT_EQ(spaces->front().published, info.published);
    EXPECT_EQ(spaces->front().pin, info.pin);

    personalnet::NetworkInfo corp, plain;
    corp.name = "corp";
    corp.label = 0x4e01;
    corp.source = "/etc/personalnet/overlays.d/corp.conf";
    plain.name = "vpn";
    plain.source = "/etc/personalnet/overlays.d/vpn.conf";
    auto n = helper::ok_answer();
    helper::add_network(n, corp);
    helper::add_network(n, plain);
    auto back = helper::networks_of(n);
    ASSERT_TRUE(back.ok()) << back.error().message();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].name, "corp");
    EXPECT_EQ((*back)[0].label, std::optional<uint16_t>(0x4e01));
    EXPECT_EQ((*back)[0].source, corp.source);
    EXPECT_FALSE((*back)[1].label.has_value());
    auto bad = helper::ok_answer();
    bad.add("network", "corp\n0xzz\n/x");
    EXPECT_FALSE(helper::networks_of(bad).ok());
}

}  // namespace
}  // namespace pn_unit
