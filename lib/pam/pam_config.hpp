// The configuration of pam_personalnet(8): /etc/personalnet/pam.conf, which says which
// login sessions are put into which personal network. Same syntax as the overlay
// definitions and the policy (strongSwan settings, see lib/ike/settings.hpp):
//
//   session {
//       login {                       # a rule; rules are tried in order, first match wins
//           users = alice, bob        # user names, or * for every user
//           groups = staff            # members of these groups (primary or supplementary)
//           name = login-%u           # the space's name; %u = user name, %% = %
//           overlay = corp            # optional: bind the space to this overlay
//           inherit_routes = yes      # optional yes/no, likewise inherit_services, file_space
//           destroy_on_last_close = no  # destroy the space when its last session closes
//       }
//   }
//   rundir = /run/personalnet         # optional: the registry
//   statedir = /var/lib/personalnet
//   overlaydir = /etc/personalnet/overlays.d
//   libexecdir = /usr/local/libexec/personalnet   # optional: the programs the module runs
//
// Strict like the policy: anything unknown, repeated or malformed is refused with the
// file and the key named, because a typo must not silently leave a user on the host's
// network.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::pam {

inline constexpr const char* kDefaultConfigPath = "/etc/personalnet/pam.conf";

struct Rule {
    std::string label;                // the rule's section name, for logs
    std::vector<std::string> users;   // user names; "*" alone = everyone
    std::vector<std::string> groups;  // group names
    std::string name_template;        // space name with %u
    std::string overlay;              // "" = none
    bool inherit_routes = true;
    bool inherit_services = true;
    bool file_space = true;
    bool destroy_on_last_close = false;
};

struct Config {
    std::vector<Rule> rules;  // in file order
    std::string rundir = "/run/personalnet";
    std::string statedir = "/var/lib/personalnet";
    std::string overlaydir = "/etc/personalnet/overlays.d";
    std::string libexecdir;  // "" = the library's built-in one (Context)
};

// Parses text; `where` names the source in errors. EINVAL for syntax errors
// ("WHERE:LINE: what"), unknown/repeated keys and sections ("WHERE: unknown setting
// 'session.login.user'"), bad values ("WHERE: session.login.inherit_routes: 'maybe' is not
// yes, no, ..."), a rule without users and groups or without name, and a name template
// that does not give a valid space name for a short user name.
Result<Config> parse_pam_config(const std::string& text, const std::string& where);

// Loads path: it must exist and pass sys::check_trusted_path(path, true) (root-owned, not
// group/other-writable, no symlinks), be a regular file of at most 1 MiB. Errors start
// "pam.conf: " and name the path. A libexecdir set in it must pass check_trusted_path.
Result<Config> load_pam_config(const std::string& path = kDefaultConfigPath);

// The first rule that matches user (whose group names are given), or nullopt.
std::optional<Rule> match_rule(const Config& c, const std::string& user,
                               const std::vector<std::string>& group_names);

// The rule's space name for user: %u replaced, then checked with validate_name.
Result<std::string> space_name(const Rule& r, const std::string& user);

}  // namespace personalnet::pam
