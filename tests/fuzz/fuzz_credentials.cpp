// Certificate and key bytes (lib/ike/credentials.hpp): a user chooses them, the library
// reads their subject for the DN map and their type for charon's load-key.
#include <string>

#include "lib/ike/credentials.hpp"
#include "lib/policy/dn_map.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_credentials";

// What credentials.hpp promises of a certificate's DER and subject. Empty when it holds.
std::string broken_certificate_promise(const std::string& der) {
    auto again = ike::certificate_der(der);
    if (!again.ok()) return "its own DER is refused: " + again.error().message();
    if (again.value() != der) return "its own DER comes back changed";
    auto subject = ike::subject_dn(der);
    if (!subject.ok()) return {};  // a string type it cannot show: refused, fine
    for (unsigned char c : subject.value())
        if (c < 0x20 || c == 0x7f) return "the subject holds a control character";
    // Every subject it shows, the DN map can read (lib/policy/dn_map.hpp).
    if (!subject->empty() && !policy::normalize_dn(subject.value()))
        return "the DN map cannot read subject \"" + subject.value() + "\"";
    return {};
}

std::string broken_key_promise(const ike::PrivateKey& key) {
    if (key.type != "rsa" && key.type != "ecdsa") return "type '" + key.type + "'";
    auto again = ike::read_private_key(key.der);
    if (!again.ok()) return "its own DER is refused: " + again.error().message();
    if (again->type != key.type || again->der != key.der) return "its own DER reads differently";
    return {};
}

}  // namespace

int fuzz_credentials(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    auto der = ike::certificate_der(bytes);
    if (der.ok()) {
        if (std::string why = broken_certificate_promise(der.value()); !why.empty())
            return violated(kTarget, "certificate: " + why, bytes);
    }
    // subject_dn on the raw bytes too: it must refuse, never misread, what is not DER.
    auto subject = ike::subject_dn(bytes);
    if (subject.ok() && (!der.ok() || der.value() != bytes))
        return violated(kTarget, "subject_dn read what certificate_der refused", bytes);
    auto key = ike::read_private_key(bytes);
    if (key.ok()) {
        if (std::string why = broken_key_promise(key.value()); !why.empty())
            return violated(kTarget, "private key: " + why, bytes);
    }
    auto item = ike::decode_data_item(bytes);
    if (item.ok() && !item->empty() && ike::data_item(item.value()) != bytes)
        return violated(kTarget, "a b64: item does not encode back to itself", bytes);
    return 0;
}

}  // namespace personalnet::fuzz
