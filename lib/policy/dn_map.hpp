// The DN map (personalnet.conf: networks.dnmap): which local user a certificate's subject
// stands for, as the grid systems' grid-mapfile says it. One entry a line:
//
//   # subject DN (quoted)                      local user
//   "C=CH, O=Example, CN=Alice Smith"          alice
//   "C=CH, O=Example, CN=Bob \"the\" Builder"  bob
//
// A DN is written as strongSwan shows a certificate's subject (RFC 4514 attributes
// separated by ',' or, within one RDN, '+', in the certificate's order): between the
// quotes it is taken as written, a backslash escaping the next character (\" and \, keep
// their backslash, as RFC 4514 writes them). Comments start with '#'; blank lines are
// ignored. Two DNs that differ only in blanks around the separators and around '=', or in
// the case of attribute types, are the same DN ("CN=a, O=b" == "cn = a,O=b"); values are
// compared exactly.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "personalnet/error.hpp"

namespace personalnet::policy {

// dn with the blanks around separators and '=' removed and attribute types in uppercase
// ("C=CH,O=Example,CN=Alice Smith"); nothing when dn is not a DN: empty, an RDN without
// "TYPE=value", a type other than letters, digits, '.' and '-', an empty value, a
// dangling backslash or a control character.
std::optional<std::string> normalize_dn(const std::string& dn);

class DnMap {
public:
    // The user subject maps to; nullptr when it maps to nobody (or is not a DN).
    const std::string* lookup(const std::string& subject) const;
    // Normalised DN -> user.
    const std::map<std::string, std::string>& entries() const { return users_; }
    const std::string& path() const { return path_; }

private:
    friend Result<DnMap> parse_dn_map(const std::string& text, const std::string& path);
    std::map<std::string, std::string> users_;
    std::string path_;
};

// Parses the map's text; path names the source in errors ("PATH:LINE: what"), EINVAL for
// a line that is not `"DN" user` (with an optional comment), a DN that normalize_dn
// refuses, a user name that is not a name (lib/policy/names.hpp), or a DN given twice.
Result<DnMap> parse_dn_map(const std::string& text, const std::string& path);

// Loads the map from path, trusted like the policy (sys::read_trusted_file: root-owned,
// writable by nobody else, no symbolic link, a regular file of at most 1 MiB); a missing
// file is an error (ENOENT), not an empty map. Errors start "DN map: " and name the path.
Result<DnMap> load_dn_map(const std::string& path);

// {} when subject maps to user; else EPERM, one line:
//   "certificate subject \"CN=b\" maps to bob, not alice (DN map /etc/personalnet/dnmap)"
//   "certificate subject \"CN=x\" is not in the DN map /etc/personalnet/dnmap"
Status check_subject_maps_to(const DnMap& map, const std::string& subject, const std::string& user);

}  // namespace personalnet::policy
