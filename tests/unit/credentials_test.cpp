// Certificate and key bytes (lib/ike/credentials): base64, certificates in PEM and DER,
// subjects as strongSwan shows them (and as the DN map reads them), private key types,
// and the "b64:" items connections_of turns into certificate data.
#include "lib/ike/credentials.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/ike/settings.hpp"
#include "lib/ike/swanctl_convert.hpp"
#include "lib/policy/dn_map.hpp"
#include "tests/unit/credential_fixtures.hpp"

namespace pn_unit {
namespace {

namespace ike = personalnet::ike;
namespace fx = pn_unit::fixtures;

std::string der_of(const char* pem) {
    auto der = ike::certificate_der(pem);
    EXPECT_TRUE(der.ok()) << der.error().message();
    return der.ok() ? der.value() : std::string();
}

// ---- base64 -----------------------------------------------------------------------

TEST(Base64, RoundTripsRfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(ike::base64_encode(plain), encoded);
        auto back = ike::base64_decode(encoded);
        ASSERT_TRUE(back.ok()) << encoded << ": " << back.error().message();
        EXPECT_EQ(back.value(), plain);
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (size_t n = 0; n <= all.size(); n += 37) {
        auto back = ike::base64_decode(ike::base64_encode(all.substr(0, n)));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(back.value(), all.substr(0, n));
    }
}

TEST(Base64, RefusesWhatIsNotStrictBase64) {
    for (const char* bad : {"Zg=", "Zg", "Zm9v\n", "Zm 9v", "Zm9v====", "=Zm9", "Zg=a",
                            "Z===", "Zh==", "Zm9=", "Zm-v", "Zm_v", "Zm9v*A==", "Zm8=Zm8="}) {
        auto r = ike::base64_decode(bad);
        EXPECT_FALSE(r.ok()) << "accepted '" << bad << "'";
        if (!r.ok()) {
            EXPECT_EQ(r.error().code, EINVAL);
            EXPECT_EQ(r.error().context.rfind("base64: ", 0), 0u) << r.error().context;
        }
    }
}

TEST(Base64, DataItems) {
    EXPECT_EQ(ike::data_item("foo"), "b64:Zm9v");
    auto bytes = ike::decode_data_item("b64:Zm9v");
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes.value(), "foo");
    auto name = ike::decode_data_item("ca.pem");  // not data: nothing
    ASSERT_TRUE(name.ok());
    EXPECT_EQ(name.value(), "");
    EXPECT_FALSE(ike::decode_data_item("b64:").ok());
    EXPECT_FALSE(ike::decode_data_item("b64:Zm9").ok());
}

// ---- certificates -----------------------------------------------------------------

TEST(Certificate, PemAndDerGiveTheSameDer) {
    const std::string der = der_of(fx::kAliceCert);
    ASSERT_FALSE(der.empty());
    EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);
    auto again = ike::certificate_der(der);
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(again.value(), der);
    // Text around the block, as `openssl x509 -text` leaves it, is ignored.
    auto wrapped =
        ike::certificate_der(std::string("Certificate:\n  Data: ...\n") + fx::kAliceCert + "\ntrailer\n");
    ASSERT_TRUE(wrapped.ok()) << wrapped.error().message();
    EXPECT_EQ(wrapped.value(), der);
}

TEST(Certificate, RefusesWhatIsNotACertificate) {
    auto key = ike::certificate_der(fx::kBobEcKey);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().context, "PEM without a CERTIFICATE block (found 'EC PRIVATE KEY')");
    auto garbage = ike::certificate_der("hello world");
    ASSERT_FALSE(garbage.ok());
    EXPECT_EQ(garbage.error().code, EINVAL);
    EXPECT_NE(garbage.error().context.find("neither a PEM nor a DER certificate"), std::string::npos);
    std::string der = der_of(fx::kBobCert);
    auto cut = ike::certificate_der(der.substr(0, der.size() - 1));
    EXPECT_FALSE(cut.ok());
    auto extra = ike::certificate_der(der + '\0');
    EXPECT_FALSE(extra.ok());
    auto unterminated = ike::certificate_der("-----BEGIN CERTIFICATE-----\nMIIB\n");
    ASSERT_FALSE(unterminated.ok());
    EXPECT_EQ(unterminated.error().context, "PEM: no '-----END CERTIFICATE-----' line");
    auto bad_body = ike::certificate_der("-----BEGIN CERTIFICATE-----\nMII!\n-----END CERTIFICATE-----\n");
    EXPECT_FALSE(bad_body.ok());
}

TEST(SubjectDn, RsaAndEcdsaCertificatesInPemAndDer) {
    for (const auto& [pem, dn] : {std::pair{fx::kAliceCert, "C=CH, O=Example, CN=alice"},
                                  std::pair{fx::kBobCert, "C=CH, O=Example, CN=bob"},
                                  std::pair{fx::kCaCert, "C=CH, O=Example, CN=Example CA"}}) {
        auto subject = ike::subject_dn(der_of(pem));
        ASSERT_TRUE(subject.ok()) << subject.error().message();
        EXPECT_EQ(subject.value(), dn);
    }
    // PEM is not DER: subject_dn takes what certificate_der gives.
    EXPECT_FALSE(ike::subject_dn(fx::kAliceCert).ok());
}

TEST(SubjectDn, MultiValuedRdnUtf8AndEscapes) {
    auto subject = ike::subject_dn(der_of(fx::kMultiValuedCert));
    ASSERT_TRUE(subject.ok()) << subject.error().message();
    // The SET of the multi-valued RDN is in DER order (OU sorts before O).
    const std::string expected =
        "C=CH, OU=Lab+O=Example, CN=Zo\xc3\xab M\xc3\xbcller\\, Jr., E=zoe@example.org";
    EXPECT_EQ(subject.value(), expected);
}

TEST(SubjectDn, ReadsBackThroughTheDnMap) {
    namespace policy = personalnet::policy;
    auto map = policy::parse_dn_map(
        "\"C=CH,O=Example,CN=alice\" alice\n"
        "\"C=CH, OU=Lab + O=Example, CN=Zo\xc3\xab M\xc3\xbcller\\, Jr., E=zoe@example.org\" zoe\n",
        "dnmap");
    ASSERT_TRUE(map.ok()) << map.error().message();
    for (const auto& [pem, user] :
         {std::pair{fx::kAliceCert, "alice"}, std::pair{fx::kMultiValuedCert, "zoe"}}) {
        auto subject = ike::subject_dn(der_of(pem));
        ASSERT_TRUE(subject.ok()) << subject.error().message();
        ASSERT_TRUE(policy::normalize_dn(subject.value()).has_value()) << subject.value();
        EXPECT_TRUE(policy::check_subject_maps_to(map.value(), subject.value(), user).ok())
            << subject.value();
    }
    auto bob = ike::subject_dn(der_of(fx::kBobCert));
    ASSERT_TRUE(bob.ok());
    EXPECT_FALSE(policy::check_subject_maps_to(map.value(), bob.value(), "alice").ok());
}

// A certificate skeleton built by hand: subject_dn reads the structure, not the signature,
// so the string types and encodings OpenSSL does not make can be tried.
std::string tlv(unsigned char tag, const std::string& content) {
    std::string out(1, static_cast<char>(tag));
    size_t n = content.size();
    if (n < 0x80) {
        out += static_cast<char>(n);
    } else if (n < 0x100) {
        out += '\x81';
        out += static_cast<char>(n);
    } else {
        out += '\x82';
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xff);
    }
    return out + content;
}

const std::string kCnOid = tlv(0x06, "\x55\x04\x03");  // 2.5.4.3

std::string atv(const std::string& oid, unsigned char type, const std::string& value) {
    return tlv(0x30, oid + tlv(type, value));
}

std::string cert_with_subject(const std::string& name_contents) {
    const std::string alg = tlv(0x30, tlv(0x06, "\x2a\x86\x48\xce\x3d\x04\x03\x02"));
    const std::string tbs = tlv(0x30, tlv(0xa0, tlv(0x02, "\x02")) + tlv(0x02, "\x01") + alg + tlv(0x30, "") +
                                          tlv(0x30, "") + tlv(0x30, name_contents) + tlv(0x30, ""));
    return tlv(0x30, tbs + alg + tlv(0x03, std::string("\x00", 1)));
}

std::string subject_or_error(const std::string& der) {
    auto r = ike::subject_dn(der);
    return r.ok() ? r.value() : "error: " + r.error().context;
}

TEST(SubjectDn, StringTypesOidsAndEscapes) {
    auto cn = [](unsigned char type, const std::string& v) { return tlv(0x31, atv(kCnOid, type, v)); };
    // BMPString (UCS-2 big-endian) to UTF-8.
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x1e, std::string("\x00Z\x00o\x00\xeb", 6)))),
              "CN=Zo\xc3\xab");
    // TeletexString: its bytes.
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x14, "tele"))), "CN=tele");
    // An unknown attribute type, dotted; several RDNs.
    EXPECT_EQ(subject_or_error(
                  cert_with_subject(tlv(0x31, atv(tlv(0x06, "\x2a\x03\x04"), 0x0c, "x")) + cn(0x13, "y"))),
              "1.2.3.4=x, CN=y");
    // RFC 4514 escapes, including a leading '#' and blanks at either end.
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, "#a,b+c\"d\\e;f<g>h=i "))),
              "CN=\\#a\\,b\\+c\\\"d\\\\e\\;f\\<g\\>h=i\\ ");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, " x"))), "CN=\\ x");
    // An empty subject is empty.
    EXPECT_EQ(subject_or_error(cert_with_subject("")), "");
    // A long-form length (the subject over 127 bytes).
    const std::string long_cn(200, 'a');
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, long_cn))), "CN=" + long_cn);
}

TEST(SubjectDn, RefusesWhatItCannotRead) {
    auto cn = [](unsigned char type, const std::string& v) { return tlv(0x31, atv(kCnOid, type, v)); };
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x1c, "abcd"))),
              "error: subject RDN 1 (CN): string type 0x1c is not supported");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, "a\nCN=root"))),
              "error: subject RDN 1 (CN): value holds a control character");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, "\xc3"))),
              "error: subject RDN 1 (CN): UTF8String is not valid UTF-8");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x0c, "\xc0\xaf"))),  // over-long '/'
              "error: subject RDN 1 (CN): UTF8String is not valid UTF-8");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x13, "\xe9"))),
              "error: subject RDN 1 (CN): ASCII string holds a non-ASCII byte");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x1e, std::string("\xd8\x00", 2)))),
              "error: subject RDN 1 (CN): BMPString holds a surrogate");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x1e, "abc"))),
              "error: subject RDN 1 (CN): BMPString of odd length");
    EXPECT_EQ(subject_or_error(cert_with_subject(tlv(0x31, ""))), "error: subject RDN 1 is empty");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x13, ""))), "error: subject RDN 1 (CN): value is empty");
    EXPECT_EQ(subject_or_error(cert_with_subject(tlv(0x30, ""))),
              "error: subject RDN 1: subject RDN has tag 0x30, not 0x31");

    const std::string good = cert_with_subject(cn(0x0c, "x"));
    // Indefinite length, over-long length forms, lengths beyond what holds them.
    std::string indefinite = good;
    indefinite[1] = '\x80';
    EXPECT_EQ(subject_or_error(indefinite), "error: certificate has an indefinite length (not DER)");
    EXPECT_EQ(subject_or_error("\x30\x81\x05" + good.substr(2, 5)),
              "error: certificate has a length in a longer form than DER allows");
    EXPECT_EQ(subject_or_error(std::string("\x30\x85\x00\x00\x00\x00\x01", 7)),
              "error: certificate has a length of more than 4 bytes");
    EXPECT_EQ(subject_or_error(std::string("\x30\x82\x01", 3)),
              "error: certificate is cut short in its length");
    EXPECT_EQ(subject_or_error(std::string("\x30\x84\xff\xff\xff\xff", 6)),
              "error: certificate is longer than what holds it");
    EXPECT_EQ(subject_or_error(""), "error: certificate is cut short");
    EXPECT_EQ(subject_or_error(std::string("\x3f\x01\x00", 3)), "error: certificate has tag 0x3f, not 0x30");
    EXPECT_EQ(subject_or_error(cert_with_subject(cn(0x1f, "ab"))),
              "error: subject RDN 1: attribute value has a multi-byte tag");
    // Every prefix of a good certificate is refused, none crashes.
    for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(ike::subject_dn(good.substr(0, n)).ok()) << n;
}

// ---- private keys -----------------------------------------------------------------

TEST(PrivateKey, TypesOfRsaAndEcKeysInEveryForm) {
    for (const auto& [pem, type] : {std::pair{fx::kAliceRsaKey, "rsa"}, std::pair{fx::kAliceRsaPkcs8, "rsa"},
                                    std::pair{fx::kBobEcKey, "ecdsa"}, std::pair{fx::kBobEcPkcs8, "ecdsa"}}) {
        auto key = ike::read_private_key(pem);
        ASSERT_TRUE(key.ok()) << key.error().message();
        EXPECT_EQ(key->type, type);
        // The DER it gives has the same type, and is what a DER file would hold.
        auto again = ike::private_key_type(key->der);
        ASSERT_TRUE(again.ok()) << again.error().message();
        EXPECT_EQ(again.value(), type);
    }
    // `openssl ecparam -genkey` writes the curve's parameters first.
    auto with_params = ike::private_key_type(std::string("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                                                         "-----END EC PARAMETERS-----\n") +
                                             fx::kBobEcKey);
    ASSERT_TRUE(with_params.ok()) << with_params.error().message();
    EXPECT_EQ(with_params.value(), "ecdsa");
}

TEST(PrivateKey, RefusesEncryptedKeysWithAClearMessage) {
    auto pkcs8 = ike::private_key_type(fx::kBobEncryptedPkcs8);
    ASSERT_FALSE(pkcs8.ok());
    EXPECT_EQ(
        pkcs8.error().context,
        "an encrypted 'ENCRYPTED PRIVATE KEY': charon cannot ask for its passphrase here; decrypt it first");
    auto sec1 = ike::private_key_type(fx::kBobEncryptedSec1);
    ASSERT_FALSE(sec1.ok());
    EXPECT_EQ(sec1.error().context,
              "an encrypted 'EC PRIVATE KEY': charon cannot ask for its passphrase here; decrypt it first");
    // The same PKCS#8 structure in DER.
    auto blocks = std::string(fx::kBobEncryptedPkcs8);
    auto b = blocks.find('\n') + 1;
    auto e = blocks.find("-----END");
    std::string body;
    for (char c : blocks.substr(b, e - b))
        if (c != '\n') body += c;
    auto der = ike::base64_decode(body);
    ASSERT_TRUE(der.ok());
    auto enc_der = ike::private_key_type(der.value());
    ASSERT_FALSE(enc_der.ok());
    EXPECT_NE(enc_der.error().context.find("an encrypted PKCS#8 key"), std::string::npos)
        << enc_der.error().context;
}

TEST(PrivateKey, RefusesWhatIsNotAnRsaOrEcKey) {
    auto cert = ike::private_key_type(fx::kAliceCert);
    ASSERT_FALSE(cert.ok());
    EXPECT_EQ(cert.error().context, "PEM without a private key block (found 'CERTIFICATE')");
    auto garbage = ike::private_key_type("not a key at all");
    ASSERT_FALSE(garbage.ok());
    EXPECT_EQ(garbage.error().code, EINVAL);
    EXPECT_EQ(garbage.error().context.rfind("neither a PEM nor a DER private key: ", 0), 0u)
        << garbage.error().context;
    EXPECT_FALSE(ike::private_key_type(der_of(fx::kAliceCert)).ok());
    // Ed25519 in PKCS#8 (RFC 8410's example key): named, not taken.
    auto ed = ike::private_key_type(
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
        "-----END PRIVATE KEY-----\n");
    ASSERT_FALSE(ed.ok());
    EXPECT_EQ(ed.error().context,
              "PEM 'PRIVATE KEY': a PKCS#8 key of algorithm 1.3.101.112, not RSA or ECDSA");
    // A label that says RSA around an EC key.
    std::string lying = fx::kBobEcKey;
    for (auto pos = lying.find("EC PRIVATE"); pos != std::string::npos; pos = lying.find("EC PRIVATE"))
        lying.replace(pos, 2, "RSA");
    auto mislabeled = ike::private_key_type(lying);
    ASSERT_FALSE(mislabeled.ok());
    EXPECT_EQ(mislabeled.error().context, "PEM 'RSA PRIVATE KEY' holds an ecdsa key");
}

// ---- the "b64:" convention in connections_of -------------------------------------------

TEST(CredentialItems, ConnectionsOfSendsCertificateData) {
    const std::string cert = der_of(fx::kAliceCert);
    const std::string ca_pem = fx::kCaCert;
    const std::string text =
        "connections {\n  c {\n    local {\n      auth = pubkey\n      certs = " + ike::data_item(cert) +
        "\n    }\n    remote {\n      auth = pubkey\n      cacerts = " + ike::data_item(ca_pem) +
        ", admin-ca.pem\n    }\n  }\n}\n";
    auto settings = ike::parse_settings(text, "test");
    ASSERT_TRUE(settings.ok()) << settings.error().message();
    auto conns = ike::connections_of(settings.value());
    ASSERT_EQ(conns.size(), 1u);
    const ike::ViciMessage& c = conns.front().second;
    const ike::ViciMessage* local = c.find_section("local");
    const ike::ViciMessage* remote = c.find_section("remote");
    ASSERT_TRUE(local != nullptr && remote != nullptr);
    EXPECT_EQ(local->list("certs"), std::vector<std::string>{cert});
    // Data decoded (PEM stays PEM: charon reads both); a name is kept as written.
    EXPECT_EQ(remote->list("cacerts"), (std::vector<std::string>{ca_pem, "admin-ca.pem"}));
    // The message encodes: binary items are fine on the wire.
    auto wire = c.encode();
    EXPECT_TRUE(wire.ok()) << wire.error().message();
}

TEST(CredentialItems, KeysAreReadAndChecked) {
    const std::string text = "credentials {\n  keys = " + ike::data_item(fx::kAliceRsaKey) + ", " +
                             ike::data_item(fx::kBobEcPkcs8) + "\n}\n";
    auto settings = ike::parse_settings(text, "test");
    ASSERT_TRUE(settings.ok()) << settings.error().message();
    auto keys = ike::credentials_of(settings.value());
    ASSERT_TRUE(keys.ok()) << keys.error().message();
    ASSERT_EQ(keys->size(), 2u);
    EXPECT_EQ(keys.value()[0].type, "rsa");
    EXPECT_EQ(keys.value()[1].type, "ecdsa");
    // Rendered for the keeper and read back, the convention survives.
    auto again = ike::parse_settings(ike::render_settings(settings.value()), "again");
    ASSERT_TRUE(again.ok()) << again.error().message();
    auto keys_again = ike::credentials_of(again.value());
    ASSERT_TRUE(keys_again.ok());
    EXPECT_EQ(keys_again.value()[1].der, keys.value()[1].der);
    // No credentials section: no keys.
    auto none = ike::credentials_of(ike::Settings{});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST(CredentialItems, BadDataIsRefusedNamingTheSetting) {
    for (const auto& [text, why] : {
             std::pair{std::string("connections { c { local { certs = b64:!!!! } } }"),
                       "connections.c.local.certs item 1: base64: bad character 0x21 at offset 0"},
             std::pair{
                 "connections { c { remote { cacerts = b64:" + ike::base64_encode("junk") + " } } }",
                 "connections.c.remote.cacerts item 1: neither a PEM nor a DER certificate: certificate "
                 "has tag 0x6a, not 0x30"},
             std::pair{"credentials { keys = " + ike::data_item(fx::kAliceCert) + " }",
                       "credentials.keys item 1: PEM without a private key block (found 'CERTIFICATE')"},
             std::pair{"credentials { keys = " + ike::data_item(fx::kBobEcKey) + ", /home/alice/key.pem }",
                       "credentials.keys item 2: not 'b64:' data"},
             std::pair{std::string("credentials { file = /etc/shadow }"),
                       "credentials.file: unknown setting"},
         }) {
        auto settings = ike::parse_settings(text, "test");
        ASSERT_TRUE(settings.ok()) << settings.error().message();
        auto keys = ike::credentials_of(settings.value());
        ASSERT_FALSE(keys.ok()) << text;
        EXPECT_EQ(keys.error().code, EINVAL);
        EXPECT_EQ(keys.error().context, why);
    }
}

}  // namespace
}  // namespace pn_unit
