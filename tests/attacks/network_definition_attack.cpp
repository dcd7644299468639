// Attacks through users' own network definitions (issue 18): the set-uid helper receives a
// definition's text and the bytes of the files it names, and builds from them what a
// root-run charon is given. A hostile user sends the request raw (not through the
// library, which would check first) and tries to make root read a file of root's, take
// a label of the administrator's networks, or smuggle files the definition does not name.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "lib/helper/channel.hpp"
#include "lib/helper/request.hpp"
#include "tests/attacks/attack.hpp"
#include "tests/integration/network_definition.hpp"

namespace pntest {
namespace {

namespace helper = personalnet::helper;

class NetworkDefinitionAttack : public AttackTest {
protected:
    void SetUp() override {
        AttackTest::SetUp();
        if (HasFatalFailure()) return;
        const std::string top = A().rundir().substr(0, A().rundir().rfind('/'));
        write_policy(
            std::string("networks {\n    users {\n        ") + kAlice +
            " {\n            peers = 10.9.0.0/24\n            claim = 10.80.0.0/24\n"
            "            reach = 10.80.0.0/24\n            labels = 0x4e00-0x4eff\n        }\n    }\n"
            "    trustdir = " +
            top + "/cacerts.d\n}\n");
        ASSERT_TRUE(personalnet::sys::make_dirs(top + "/cacerts.d", 0755).ok());
        ASSERT_TRUE(personalnet::sys::make_dirs(top + "/overlays.d", 0755).ok());
        // An administrator's network whose label alice's definitions must not take.
        NetworkSide corp;
        corp.label = "0x4e77";
        ASSERT_TRUE(
            personalnet::sys::write_atomic(top + "/overlays.d/corp.conf", network_definition(corp)).ok());
    }

    // A create request for alice's "own" network with text and files as given, sent raw to
    // the helper as alice: its answer ("ok" or the error).
    std::string create_raw(const std::string& text,
                           const std::vector<std::pair<std::string, std::string>>& files) {
        helper::Request r;
        r.op = helper::Op::create;
        r.spec.file_space = false;
        r.spec.user_network.name = "net";
        r.spec.user_network.path = "/home/alice/.config/personalnet/networks/net.conf";
        r.spec.user_network.text = text;
        r.spec.user_network.files = files;
        return ask_helper_raw(kAlice, helper::encode(helper::to_message(r)));
    }
};

// root's canary, named as a certificate, a key and a CA by a definition whose files were
// not sent (or were sent under other names): every request is refused, no space is made,
// and the canary's bytes reach nobody (AttackTest checks the canaries are untouched).
TEST_F(NetworkDefinitionAttack, RootsFilesCannotBeNamedInADefinition) {
    const std::string canary = roots_canary();
    const std::string before = A().snapshot();
    std::string evidence;
    auto attempt = [&](const std::string& what, const std::string& text,
                       const std::vector<std::pair<std::string, std::string>>& files,
                       const std::string& want) {
        auto answer = create_raw(text, files);
        if (answer == "ok" || !contains(answer, want)) evidence += " " + what + ": " + answer + ";";
        if (A().snapshot() != before) evidence += " " + what + " left state behind;";
    };
    NetworkSide side;
    side.label = "0x4e02";
    side.cert = canary;  // an absolute path of root's
    side.key = canary;
    side.ca = "ca";
    attempt("root's file as certificate and key, not sent", network_definition(side), {},
            "the file was not sent with the definition");
    attempt("root's file sent as something else", network_definition(side), {{canary, "not a certificate"}},
            "'" + canary + "'");
    NetworkSide psk;
    psk.label = "0x4e02";
    std::string dotdot = network_definition(psk);
    dotdot.insert(dotdot.find("            id = alice-2"), "            cacerts = ..\n");
    attempt("a CA named '..'", dotdot, {}, "'connections.net.remote.cacerts = ..' is not allowed");
    attempt("a file the definition does not name", network_definition(psk), {{"/etc/shadow", "x"}},
            "does not name");
    attempt("include", "include " + canary + "\n" + network_definition(psk), {}, "'include' is not allowed");
    // charon's default for a round without auth (pubkey, any CA) would escape the rules.
    std::string no_auth = network_definition(psk);
    no_auth.erase(no_auth.find("            auth = psk\n            id = alice-2"), 23);
    attempt("a remote without auth", no_auth, {}, "'connections.net.remote' names no auth");
    psk.label = "0x4e77";
    attempt("the administrator's label", network_definition(psk), {},
            "is the administrator's network 'corp'");
    verdict("user-network-definitions-reach-roots-files", evidence);
}

}  // namespace
}  // namespace pntest
