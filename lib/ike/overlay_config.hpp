// Overlay definitions: /etc/personalnet/overlays.d/NAME.conf, in swanctl.conf syntax
// (connections { ... } and secrets { ... }, handed to the space's charon over VICI),
// plus one section personalnet owns:
//
//   personalnet {
//       dns = 10.50.0.53, 10.50.0.54     # the space's resolvers while bound to it
//       addresses = 10.61.0.2/32         # the space's own overlay addresses (on its lo)
//       label = 0x4a21                   # a personal network: the same on every host
//   }
//
// A definition with a label is a personal network: a space bound to it takes the label as
// its own (its SPIs carry it), and every connection must name its peer by a literal
// address in remote_addrs (the spaces on the other hosts are reached, and answered, there).
//
// A definition grants access to a network, so it is trusted only if the file and every
// directory above it are root-owned and writable by nobody else, and it is a plain
// file reached without symbolic links (sys::check_trusted_path).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/ike/settings.hpp"
#include "personalnet/error.hpp"

namespace personalnet::ike {

struct OverlayDefinition {
    std::string name;
    std::string path;
    Settings swanctl;                    // connections and secrets, as written
    std::vector<std::string> dns;        // from personalnet { dns = ... }
    std::vector<std::string> addresses;  // from personalnet { addresses = ... }
    std::optional<uint16_t> label;       // from personalnet { label = 0xNNNN }: a personal network
    bool user = false;                   // a user's own definition (lib/space/user_network.hpp)
};

// personalnet.label's syntax: "0x" and 1-4 hex digits, either case, nothing around them
// (decimal would be ambiguous beside the hex everywhere else labels are shown); nullopt
// otherwise. Range checks are the caller's. label_text shows one as written ("0x4e01").
std::optional<uint16_t> parse_label(const std::string& v);
std::string label_text(uint16_t label);

// EINVAL naming the value unless name is 1-32 of [A-Za-z0-9_.-], not starting with '.' or '-'.
Status validate_overlay_name(const std::string& name);

// Loads and checks the definition of overlay name from dir. EINVAL for a bad name or
// content (with file and line), ENOENT naming the file when there is none, EPERM/ELOOP
// for an untrusted file.
Result<OverlayDefinition> load_overlay(const std::string& name, const std::string& dir);

// The content checks of load_overlay on a definition's text, without the file checks:
// path only names the source in errors (and becomes def.path). EINVAL as above.
Result<OverlayDefinition> parse_overlay(const std::string& name, const std::string& text,
                                        const std::string& path);

// parse_overlay's content checks on a definition already parsed (a user's network
// definition is checked against its allow-list first): where starts every error
// (parse_overlay's is "overlay 'NAME': PATH"), path becomes def.path.
Result<OverlayDefinition> overlay_from_settings(const std::string& name, Settings conf,
                                                const std::string& path, const std::string& where);

// NAME of every DIR/NAME.conf whose NAME is an overlay name, sorted; none when dir is
// empty, missing or unreadable (the contents are not looked at).
std::vector<std::string> definition_names(const std::string& dir);

// The labels of the personal networks defined in dir (every NAME.conf that load_overlay
// accepts and that has a label), as (label, NAME). Definitions that fail to load are
// skipped: they cannot be bound, so their labels are nobody's yet. Local label allocation
// keeps clear of these.
std::vector<std::pair<uint16_t, std::string>> network_labels(const std::string& dir);

}  // namespace personalnet::ike
