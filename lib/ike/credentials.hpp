// Certificate and private-key bytes, as a user's network definition brings them.
//
// The library reads a user's certificate and key files with the user's rights and sends
// their bytes; the root side never hands charon a path. The bytes travel inside the
// definition's Settings (the sealed memfd the keeper reads), by this convention:
//
//   connections.C.localN.certs / connections.C.remoteN.cacerts items starting "b64:"
//       certificate data (PEM or DER), base64 after the prefix; connections_of sends the
//       decoded bytes as the VICI list item, as swanctl sends a file's contents;
//   credentials { keys = b64:..., b64:... }
//       private keys (PEM or DER, RSA or ECDSA), loaded with load-key before load-conn.
//
// Everything here reads bytes a user chose, so the DER reader is small and strict: every
// length checked against what holds it, no indefinite or over-long lengths, no recursion.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/ike/settings.hpp"
#include "lib/ike/vici_client.hpp"
#include "personalnet/error.hpp"

namespace personalnet::ike {

// The prefix that marks an item as base64 data rather than a file or CA name.
inline constexpr std::string_view kDataPrefix = "b64:";
// The section and key the private keys travel in.
inline constexpr const char* kCredentialsSection = "credentials";
inline constexpr const char* kKeysKey = "keys";

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);
// Strict: only the alphabet, a length that is a multiple of 4, '=' only as the last one
// or two characters and zero bits under it. EINVAL otherwise (no whitespace either).
Result<std::string> base64_decode(std::string_view text);

// "b64:" + base64_encode(bytes): an item of the convention above.
std::string data_item(std::string_view bytes);
// The bytes of a "b64:" item; nothing when item does not start with the prefix, EINVAL
// when it does but what follows is not strict base64 (or is empty).
Result<std::string> decode_data_item(std::string_view item);

// A certificate's DER: bytes that are one DER certificate, or PEM text whose first
// "-----BEGIN CERTIFICATE-----" block holds one (text around it is ignored, as OpenSSL
// and strongSwan do). EINVAL for anything else, naming what it found.
Result<std::string> certificate_der(const std::string& bytes);

// The certificate's subject as strongSwan shows it ("C=CH, O=Example, CN=alice"): RDNs in
// the certificate's order separated by ", ", the attributes of a multi-valued RDN joined
// by '+' (in their DER order), the attribute types by strongSwan's names (C ST L O OU CN
// E DC UID SN G T serialNumber), others as a dotted OID. Values are PrintableString,
// UTF8String, IA5String, TeletexString (its bytes) or BMPString (as UTF-8); a ',' '+' '"'
// '\' ';' '<' '>' '=' in a value, a leading '#' or blank and a trailing blank are escaped
// with '\' (RFC 4514), so that lib/policy/dn_map.hpp's normalize_dn reads the DN back
// attribute for attribute. Empty for an empty subject. EINVAL for DER that is not a
// certificate, a string type or character it cannot show (control characters, invalid
// UTF-8) or an empty value, naming what and where.
Result<std::string> subject_dn(const std::string& der);

// A private key, as load-key is given it.
struct PrivateKey {
    std::string type;  // "rsa" or "ecdsa": load-key's type (strongSwan's key_type_names)
    std::string der;   // PKCS#1, SEC1 or PKCS#8 DER: no PEM parsing left to charon
};

// The key in bytes: PEM ("RSA PRIVATE KEY" = PKCS#1, "EC PRIVATE KEY" = SEC1, "PRIVATE
// KEY" = PKCS#8, whose algorithm OID says RSA or EC; other blocks such as "EC
// PARAMETERS" are skipped) or the same structures in DER. EINVAL, naming what it is,
// for encrypted keys (charon cannot ask for a passphrase here), other algorithms and
// anything that is not a private key.
Result<PrivateKey> read_private_key(const std::string& bytes);
// read_private_key(bytes)->type.
Result<std::string> private_key_type(const std::string& bytes);

// Checks the convention in swanctl: every "b64:" item of the connections' certs and
// cacerts decodes to a certificate, and credentials holds only `keys`, every item "b64:"
// data of a private key. Returns those keys, in order. EINVAL naming the setting and item
// ("credentials.keys item 2: not 'b64:' data"); never quotes a key's bytes.
Result<std::vector<PrivateKey>> credentials_of(const Settings& swanctl);

// credentials_of, then every key into charon (load-key), all checked before the first is
// sent: what bring_up_overlay does before it loads the connections. charon's refusals as
// load_key's, naming which key.
Status load_credentials(ViciClient& c, const Settings& swanctl);

}  // namespace personalnet::ike
