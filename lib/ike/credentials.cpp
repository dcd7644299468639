// Certificate and key bytes: base64, PEM blocks, and a small DER reader that walks a
// certificate to its subject and a private key to its algorithm. It reads only what it
// needs and checks every length against the element that holds it; it never recurses.
#include "lib/ike/credentials.hpp"

#include <string.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <vector>

#include "lib/ike/swanctl_convert.hpp"
#include "lib/ike/vici_commands.hpp"

namespace personalnet::ike {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// ---- DER -------------------------------------------------------------------------

// Universal tags this reader meets.
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kBitString = 0x03;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kUtf8String = 0x0c;
constexpr uint8_t kPrintableString = 0x13;
constexpr uint8_t kTeletexString = 0x14;
constexpr uint8_t kIa5String = 0x16;
constexpr uint8_t kBmpString = 0x1e;
constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kVersionTag = 0xa0;  // tbsCertificate's [0] EXPLICIT version

// One element: its tag and its contents (a view into the input).
struct Tlv {
    uint8_t tag = 0;
    std::string_view value;
};

// A cursor over the contents of one element; reading past its end is an error.
class Der {
public:
    explicit Der(std::string_view bytes) : rest_(bytes) {}
    bool empty() const { return rest_.empty(); }
    std::optional<uint8_t> peek_tag() const {
        if (rest_.empty()) return std::nullopt;
        return static_cast<uint8_t>(rest_[0]);
    }

    // The next element, whatever its tag. what names it in errors.
    Result<Tlv> next(const char* what) {
        if (rest_.size() < 2) return error(what, "is cut short");
        Tlv t;
        t.tag = static_cast<uint8_t>(rest_[0]);
        // High tag numbers (0x1f) never occur in what this reader walks.
        if ((t.tag & 0x1f) == 0x1f) return error(what, "has a multi-byte tag");
        auto first = static_cast<uint8_t>(rest_[1]);
        size_t header = 2;
        size_t length = first;
        if (first == 0x80) return error(what, "has an indefinite length (not DER)");
        if (first > 0x80) {
            size_t count = first & 0x7f;
            // Four length bytes describe 4 GiB, far beyond any certificate or key.
            if (count > 4) return error(what, "has a length of more than 4 bytes");
            if (rest_.size() < 2 + count) return error(what, "is cut short in its length");
            length = 0;
            for (size_t i = 0; i < count; ++i) length = (length << 8) | static_cast<uint8_t>(rest_[2 + i]);
            // DER: the shortest form, so one value has one encoding.
            if (length < 0x80 || static_cast<uint8_t>(rest_[2]) == 0)
                return error(what, "has a length in a longer form than DER allows");
            header += count;
        }
        if (length > rest_.size() - header) return error(what, "is longer than what holds it");
        t.value = rest_.substr(header, length);
        rest_.remove_prefix(header + length);
        return t;
    }

    // The next element, which must have tag.
    Result<std::string_view> expect(uint8_t tag, const char* what) {
        // The tag first: "not a SEQUENCE" says more than a length that does not fit.
        if (!rest_.empty() && static_cast<uint8_t>(rest_[0]) != tag) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "has tag 0x%02x, not 0x%02x", static_cast<uint8_t>(rest_[0]), tag);
            return error(what, buf);
        }
        auto t = next(what);
        if (!t.ok()) return t.error();
        return t->value;
    }

private:
    static Error error(const char* what, const std::string& how) {
        return make_error(EINVAL, std::string(what) + " " + how);
    }
    std::string_view rest_;
};

// The whole of bytes is one element with tag: its contents.
Result<std::string_view> only(std::string_view bytes, uint8_t tag, const char* what) {
    Der d(bytes);
    auto v = d.expect(tag, what);
    if (!v.ok()) return v.error();
    if (!d.empty()) return make_error(EINVAL, std::string(what) + " is followed by other bytes");
    return v;
}

// "2.5.4.3" from an OID's contents; nothing when the encoding is broken.
std::optional<std::string> dotted(std::string_view oid) {
    if (oid.empty() || (static_cast<uint8_t>(oid.back()) & 0x80) != 0) return std::nullopt;
    std::string out;
    uint64_t value = 0;
    bool first = true;
    bool start = true;
    for (char ch : oid) {
        auto c = static_cast<uint8_t>(ch);
        if (start && c == 0x80) return std::nullopt;  // a padded sub-identifier
        start = false;
        if (value > (UINT64_MAX >> 7)) return std::nullopt;
        value = (value << 7) | (c & 0x7f);
        if ((c & 0x80) != 0) continue;
        if (first) {
            uint64_t arc = value < 80 ? value / 40 : 2;
            out = std::to_string(arc) + "." + std::to_string(value - arc * 40);
            first = false;
        } else {
            out += "." + std::to_string(value);
        }
        value = 0;
        start = true;
    }
    return out;
}

// strongSwan's names for the attribute types (src/libstrongswan/asn1/oid.txt), so that
// a DN reads as `pki --print` and charon's log show it.
const char* attribute_name(const std::string& oid) {
    static constexpr std::array<std::pair<const char*, const char*>, 13> kNames = {{
        {"2.5.4.6", "C"},
        {"2.5.4.8", "ST"},
        {"2.5.4.7", "L"},
        {"2.5.4.10", "O"},
        {"2.5.4.11", "OU"},
        {"2.5.4.3", "CN"},
        {"1.2.840.113549.1.9.1", "E"},
        {"0.9.2342.19200300.100.1.25", "DC"},
        {"0.9.2342.19200300.100.1.1", "UID"},
        {"2.5.4.4", "SN"},
        {"2.5.4.42", "G"},
        {"2.5.4.12", "T"},
        {"2.5.4.5", "serialNumber"},
    }};
    for (const auto& [dotted_oid, name] : kNames)
        if (oid == dotted_oid) return name;
    return nullptr;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// Well-formed UTF-8: no over-long forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<uint8_t>(s[i]);
        size_t n = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s.size() - i <= n) return false;
        for (size_t k = 1; k <= n; ++k) {
            auto cc = static_cast<uint8_t>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

// A value's characters as UTF-8 (or bytes, for TeletexString); EINVAL for what cannot
// be shown.
Result<std::string> string_value(const Tlv& v, const std::string& where) {
    std::string out;
    switch (v.tag) {
        case kPrintableString:
        case kIa5String:
        case kTeletexString:
        case kUtf8String:
            out.assign(v.value);
            break;
        case kBmpString: {
            if (v.value.size() % 2 != 0) return make_error(EINVAL, where + ": BMPString of odd length");
            for (size_t i = 0; i < v.value.size(); i += 2) {
                uint32_t cp = (static_cast<uint8_t>(v.value[i]) << 8) | static_cast<uint8_t>(v.value[i + 1]);
                if (cp >= 0xd800 && cp <= 0xdfff)
                    return make_error(EINVAL, where + ": BMPString holds a surrogate");
                append_utf8(out, cp);
            }
            break;
        }
        default: {
            char buf[64];
            std::snprintf(buf, sizeof buf, ": string type 0x%02x is not supported", v.tag);
            return make_error(EINVAL, where + buf);
        }
    }
    // An empty value names nobody, and lib/policy's DN map could not read it back.
    if (out.empty()) return make_error(EINVAL, where + ": value is empty");
    for (unsigned char c : out)
        if (c < 0x20 || c == 0x7f) return make_error(EINVAL, where + ": value holds a control character");
    if (v.tag == kPrintableString || v.tag == kIa5String)
        for (unsigned char c : out)
            if (c >= 0x80) return make_error(EINVAL, where + ": ASCII string holds a non-ASCII byte");
    if ((v.tag == kUtf8String) && !valid_utf8(out))
        return make_error(EINVAL, where + ": UTF8String is not valid UTF-8");
    return out;
}

// RFC 4514's escapes, which lib/policy/dn_map.hpp reads back.
std::string escaped(const std::string& value) {
    std::string out;
    for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == ';' || c == '<' || c == '>';
        bool edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == value.size() && c == ' ');
        if (special || edge) out += '\\';
        out += c;
    }
    return out;
}

// The Name's contents (a SEQUENCE OF RDN) as a DN string.
Result<std::string> format_name(std::string_view name) {
    std::string out;
    Der rdns(name);
    int index = 0;
    while (!rdns.empty()) {
        ++index;
        const std::string where = "subject RDN " + std::to_string(index);
        auto rdn = rdns.expect(kSet, "subject RDN");
        if (!rdn.ok()) return rdn.error().wrap(where);
        Der atvs(rdn.value());
        if (atvs.empty()) return make_error(EINVAL, where + " is empty");
        if (!out.empty()) out += ", ";
        bool first = true;
        while (!atvs.empty()) {
            auto atv = atvs.expect(kSequence, "attribute");
            if (!atv.ok()) return atv.error().wrap(where);
            Der parts(atv.value());
            auto oid = parts.expect(kOid, "attribute type");
            if (!oid.ok()) return oid.error().wrap(where);
            auto value = parts.next("attribute value");
            if (!value.ok()) return value.error().wrap(where);
            if (!parts.empty())
                return make_error(EINVAL, where + ": attribute has more than a type and value");
            auto type = dotted(oid.value());
            if (!type) return make_error(EINVAL, where + ": attribute type is not a valid OID");
            const char* name = attribute_name(*type);
            auto text = string_value(value.value(), where + " (" + (name ? name : *type) + ")");
            if (!text.ok()) return text.error();
            if (!first) out += "+";
            out += (name ? std::string(name) : *type) + "=" + escaped(text.value());
            first = false;
        }
    }
    return out;
}

// Certificate -> tbsCertificate -> subject: the Name's contents.
Result<std::string_view> subject_of(std::string_view der) {
    auto cert = only(der, kSequence, "certificate");
    if (!cert.ok()) return cert.error();
    Der c(cert.value());
    auto tbs = c.expect(kSequence, "tbsCertificate");
    if (!tbs.ok()) return tbs.error();
    // signatureAlgorithm and signatureValue follow; charon checks them, we need the name.
    if (!c.expect(kSequence, "signatureAlgorithm").ok() || !c.expect(kBitString, "signatureValue").ok() ||
        !c.empty())
        return make_error(EINVAL, "certificate: not tbsCertificate, signatureAlgorithm, signature");
    Der t(tbs.value());
    if (t.peek_tag() == kVersionTag) PN_TRY(t.next("version"), "tbsCertificate");
    PN_TRY(t.expect(kInteger, "serialNumber"), "tbsCertificate");
    PN_TRY(t.expect(kSequence, "signature"), "tbsCertificate");
    PN_TRY(t.expect(kSequence, "issuer"), "tbsCertificate");
    PN_TRY(t.expect(kSequence, "validity"), "tbsCertificate");
    auto subject = t.expect(kSequence, "subject");
    if (!subject.ok()) return subject.error().wrap("tbsCertificate");
    return subject.value();
}

// ---- PEM -------------------------------------------------------------------------

struct PemBlock {
    std::string label;
    std::string body;  // the text between the lines, headers included
};

// Every "-----BEGIN X-----" ... "-----END X-----" block in text, in order. EINVAL for a
// block that does not end.
Result<std::vector<PemBlock>> pem_blocks(const std::string& text) {
    std::vector<PemBlock> out;
    static constexpr std::string_view kBegin = "-----BEGIN ";
    size_t pos = 0;
    while ((pos = text.find(kBegin, pos)) != std::string::npos) {
        size_t label_start = pos + kBegin.size();
        size_t label_end = text.find("-----", label_start);
        if (label_end == std::string::npos) return make_error(EINVAL, "PEM: a BEGIN line that does not end");
        PemBlock b;
        b.label = text.substr(label_start, label_end - label_start);
        if (b.label.find('\n') != std::string::npos)
            return make_error(EINVAL, "PEM: a BEGIN line that does not end");
        const std::string end = "-----END " + b.label + "-----";
        size_t body_start = label_end + 5;
        size_t body_end = text.find(end, body_start);
        if (body_end == std::string::npos) return make_error(EINVAL, "PEM: no '" + end + "' line");
        b.body = text.substr(body_start, body_end - body_start);
        out.push_back(std::move(b));
        pos = body_end + end.size();
    }
    return out;
}

bool looks_like_pem(const std::string& bytes) { return bytes.find("-----BEGIN ") != std::string::npos; }

// A block's body without blanks, decoded. Encapsulated headers (RFC 1421's "Proc-Type:",
// "DEK-Info:") mean an encrypted key and are refused by the caller before this.
Result<std::string> pem_decode(const PemBlock& b) {
    std::string compact;
    for (char c : b.body)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact += c;
    auto der = base64_decode(compact);
    if (!der.ok()) return der.error().wrap("PEM '" + b.label + "' block");
    return der;
}

// ---- private keys ----------------------------------------------------------------

constexpr std::string_view kRsaOid = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";  // 1.2.840.113549.1.1.1
constexpr std::string_view kEcOid = "\x2a\x86\x48\xce\x3d\x02\x01";           // 1.2.840.10045.2.1

// The type of a DER key: PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey or PKCS#8
// PrivateKeyInfo, told apart by what follows the version.
Result<std::string> der_key_type(std::string_view der) {
    auto seq = only(der, kSequence, "private key");
    if (!seq.ok()) return make_error(EINVAL, "not a private key (" + seq.error().context + ")");
    Der d(seq.value());
    if (d.peek_tag() == kSequence)
        return make_error(EINVAL,
                          "an encrypted PKCS#8 key: charon cannot ask for its passphrase here; decrypt it "
                          "first (openssl pkcs8 -nocrypt)");
    auto version = d.expect(kInteger, "private key version");
    if (!version.ok()) return make_error(EINVAL, "not a private key (" + version.error().context + ")");
    auto second = d.peek_tag();
    if (second == kInteger) {
        // RSAPrivateKey: version, modulus, publicExponent, privateExponent, ...
        for (const char* what : {"modulus", "publicExponent", "privateExponent"})
            if (!d.expect(kInteger, what).ok())
                return make_error(EINVAL, "not a private key (RSA without " + std::string(what) + ")");
        return std::string("rsa");
    }
    if (second == kOctetString) {
        // ECPrivateKey: version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey.
        if (version.value() != std::string_view("\x01", 1))
            return make_error(EINVAL, "not a private key (EC key version is not 1)");
        return std::string("ecdsa");
    }
    if (second == kSequence) {
        auto alg = d.expect(kSequence, "privateKeyAlgorithm");
        if (!alg.ok()) return alg.error();
        Der a(alg.value());
        auto oid = a.expect(kOid, "algorithm");
        if (!oid.ok()) return make_error(EINVAL, "not a private key (" + oid.error().context + ")");
        if (!d.expect(kOctetString, "privateKey").ok())
            return make_error(EINVAL, "not a private key (PKCS#8 without its key)");
        if (oid.value() == kRsaOid) return std::string("rsa");
        if (oid.value() == kEcOid) return std::string("ecdsa");
        auto name = dotted(oid.value());
        return make_error(EINVAL, "a PKCS#8 key of algorithm " + name.value_or("?") + ", not RSA or ECDSA");
    }
    return make_error(EINVAL, "not a private key (neither PKCS#1, SEC1 nor PKCS#8)");
}

bool has_encapsulated_headers(const std::string& body) {
    return body.find("Proc-Type:") != std::string::npos || body.find("DEK-Info:") != std::string::npos;
}

void wipe(std::string& s) {
    if (!s.empty()) ::explicit_bzero(s.data(), s.size());
    s.clear();
}

// Every "b64:" item of a connection's certs and cacerts must be a certificate.
Status check_certificate_items(const Settings& swanctl) {
    const Settings* conns = swanctl.section("connections");
    if (conns == nullptr) return {};
    for (const auto& conn : conns->sections)
        for (const auto& auth : conn.body.sections)
            for (const auto& [key, value] : auth.body.values) {
                if (key != "certs" && key != "cacerts") continue;
                const std::string where = "connections." + conn.name + "." + auth.name + "." + key;
                int n = 0;
                for (const auto& item : list_items(value)) {
                    ++n;
                    auto bytes = decode_data_item(item);
                    if (!bytes.ok()) return bytes.error().wrap(where + " item " + std::to_string(n));
                    if (bytes->empty()) continue;  // not data: a name, kept as today
                    auto der = certificate_der(bytes.value());
                    if (!der.ok()) return der.error().wrap(where + " item " + std::to_string(n));
                }
            }
    return {};
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                     static_cast<uint8_t>(bytes[i + 2]);
        for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
    }
    size_t left = bytes.size() - i;
    if (left > 0) {
        uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
        if (left == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0)
        return make_error(EINVAL,
                          "base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
    size_t pad = 0;
    if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        uint32_t v = 0;
        for (size_t k = 0; k < 4; ++k) {
            char c = text[i + k];
            int d = base64_value(c);
            if (d < 0) {
                if (c == '=' && last && k >= 4 - pad) {
                    d = 0;
                } else {
                    char buf[64];
                    std::snprintf(buf, sizeof buf, "base64: bad character 0x%02x at offset %zu",
                                  static_cast<unsigned char>(c), i + k);
                    return make_error(EINVAL, buf);
                }
            }
            v = (v << 6) | static_cast<uint32_t>(d);
        }
        out += static_cast<char>((v >> 16) & 0xff);
        if (last && pad == 2) {
            if ((v & 0xffff) != 0) return make_error(EINVAL, "base64: non-zero bits under the padding");
            break;
        }
        out += static_cast<char>((v >> 8) & 0xff);
        if (last && pad == 1) {
            if ((v & 0xff) != 0) return make_error(EINVAL, "base64: non-zero bits under the padding");
            break;
        }
        out += static_cast<char>(v & 0xff);
    }
    return out;
}

std::string data_item(std::string_view bytes) { return std::string(kDataPrefix) + base64_encode(bytes); }

Result<std::string> decode_data_item(std::string_view item) {
    if (item.substr(0, kDataPrefix.size()) != kDataPrefix) return std::string();
    item.remove_prefix(kDataPrefix.size());
    if (item.empty()) return make_error(EINVAL, "'b64:' without data");
    return base64_decode(item);
}

Result<std::string> certificate_der(const std::string& bytes) {
    // DER first: its bytes may hold anything, "-----BEGIN " too.
    const bool der_like = !bytes.empty() && static_cast<uint8_t>(bytes[0]) == kSequence;
    if (der_like && subject_of(bytes).ok()) return bytes;
    if (looks_like_pem(bytes)) {
        auto blocks = pem_blocks(bytes);
        if (!blocks.ok()) return blocks.error();
        for (const auto& b : blocks.value()) {
            if (b.label != "CERTIFICATE" && b.label != "X509 CERTIFICATE") continue;
            auto der = pem_decode(b);
            if (!der.ok()) return der.error();
            auto subject = subject_of(der.value());
            if (!subject.ok()) return subject.error().wrap("PEM certificate");
            return der;
        }
        std::string found;
        for (const auto& b : blocks.value()) found += (found.empty() ? "" : ", ") + ("'" + b.label + "'");
        return make_error(EINVAL,
                          "PEM without a CERTIFICATE block (found " + (found.empty() ? "none" : found) + ")");
    }
    auto subject = subject_of(bytes);
    if (!subject.ok()) return subject.error().wrap("neither a PEM nor a DER certificate");
    return bytes;
}

Result<std::string> subject_dn(const std::string& der) {
    auto subject = subject_of(der);
    if (!subject.ok()) return subject.error();
    return format_name(subject.value());
}

Result<PrivateKey> read_private_key(const std::string& bytes) {
    // DER first: its bytes may hold anything, "-----BEGIN " too.
    const bool der_like = !bytes.empty() && static_cast<uint8_t>(bytes[0]) == kSequence;
    if (der_like) {
        if (auto type = der_key_type(bytes); type.ok()) return PrivateKey{type.value(), bytes};
    }
    if (!looks_like_pem(bytes)) {
        auto type = der_key_type(bytes);
        if (!type.ok()) return type.error().wrap("neither a PEM nor a DER private key");
        return PrivateKey{type.value(), bytes};
    }
    auto blocks = pem_blocks(bytes);
    if (!blocks.ok()) return blocks.error();
    std::string found;
    for (const auto& b : blocks.value()) {
        if (b.label == "EC PARAMETERS") continue;  // what `openssl ecparam -genkey` puts first
        if (b.label == "ENCRYPTED PRIVATE KEY" ||
            ((b.label == "RSA PRIVATE KEY" || b.label == "EC PRIVATE KEY") &&
             has_encapsulated_headers(b.body)))
            return make_error(EINVAL, "an encrypted '" + b.label +
                                          "': charon cannot ask for its passphrase here; decrypt it first");
        if (b.label != "RSA PRIVATE KEY" && b.label != "EC PRIVATE KEY" && b.label != "PRIVATE KEY") {
            found += (found.empty() ? "" : ", ") + ("'" + b.label + "'");
            continue;
        }
        auto der = pem_decode(b);
        if (!der.ok()) return der.error();
        auto type = der_key_type(der.value());
        if (!type.ok()) return type.error().wrap("PEM '" + b.label + "'");
        const char* expected = b.label == "RSA PRIVATE KEY"  ? "rsa"
                               : b.label == "EC PRIVATE KEY" ? "ecdsa"
                                                             : nullptr;
        if (expected != nullptr && type.value() != expected)
            return make_error(EINVAL, "PEM '" + b.label + "' holds an " + type.value() + " key");
        return PrivateKey{type.value(), std::move(der).value()};
    }
    return make_error(EINVAL,
                      "PEM without a private key block (found " + (found.empty() ? "none" : found) + ")");
}

Result<std::string> private_key_type(const std::string& bytes) {
    auto key = read_private_key(bytes);
    if (!key.ok()) return key.error();
    wipe(key->der);
    return key->type;
}

Result<std::vector<PrivateKey>> credentials_of(const Settings& swanctl) {
    PN_TRY(check_certificate_items(swanctl), "");
    std::vector<PrivateKey> keys;
    const Settings* creds = swanctl.section(kCredentialsSection);
    if (creds == nullptr) return keys;
    if (!creds->sections.empty())
        return make_error(EINVAL, std::string(kCredentialsSection) + "." + creds->sections.front().name +
                                      ": unknown section");
    auto refuse = [&keys](Error e) {
        for (auto& k : keys) wipe(k.der);
        return e;
    };
    for (const auto& [key, value] : creds->values) {
        const std::string where = std::string(kCredentialsSection) + "." + key;
        if (key != kKeysKey) return refuse(make_error(EINVAL, where + ": unknown setting"));
        int n = 0;
        for (const auto& item : list_items(value)) {
            const std::string which = where + " item " + std::to_string(++n);
            if (item.substr(0, kDataPrefix.size()) != kDataPrefix)
                return refuse(make_error(EINVAL, which + ": not 'b64:' data"));
            auto bytes = decode_data_item(item);
            if (!bytes.ok()) return refuse(bytes.error().wrap(which));
            auto k = read_private_key(bytes.value());
            wipe(bytes.value());
            if (!k.ok()) return refuse(k.error().wrap(which));
            keys.push_back(std::move(k).value());
        }
    }
    return keys;
}

Status load_credentials(ViciClient& c, const Settings& swanctl) {
    // Every key read before the first is loaded: a bad one leaves charon with none.
    auto keys = credentials_of(swanctl);
    if (!keys.ok()) return keys.error();
    Status st;
    int n = 0;
    for (auto& k : keys.value()) {
        ++n;
        if (st.ok()) {
            st = load_key(c, k.type, k.der);
            if (!st.ok())
                st = st.error().wrap(std::string(kCredentialsSection) + "." + kKeysKey + " key " +
                                     std::to_string(n));
        }
        wipe(k.der);
    }
    return st;
}

}  // namespace personalnet::ike
