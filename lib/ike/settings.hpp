// strongSwan's settings syntax (strongswan.conf, swanctl.conf), which overlay
// definitions use so that administrators reuse what they know:
//
//   # a comment
//   connections {
//       corp {
//           remote_addrs = 192.0.2.1, 192.0.2.2
//           local { auth = psk }
//       }
//   }
//
// A value runs to the end of its line (comments aside) or is a double-quoted string
// (with \" \\ \n \t escapes, spanning lines). Sections and keys keep their order.
// `include` and section references (`name : other {`) are refused: a definition is
// one self-contained, root-owned file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::ike {

struct Settings {
    struct Section;
    std::vector<std::pair<std::string, std::string>> values;
    std::vector<Section> sections;
    // The line each value starts on, parallel to values, so that checks made after parsing
    // (overlay_config) can name it; empty or short for settings built by hand (line 0).
    std::vector<int> lines;

    int line_of(size_t value_index) const { return value_index < lines.size() ? lines[value_index] : 0; }

    const std::string* find(const std::string& key) const;
    const Settings* section(const std::string& name) const;
};

struct Settings::Section {
    std::string name;
    Settings body;
    int line = 0;  // where the section's name is; 0 for sections built by hand
};

// Parses text; errors are EINVAL with "WHERE:LINE: what" (where names the source).
// include_refusal is what is said of an `include` (a user's network definition gives
// its own reason).
Result<Settings> parse_settings(
    const std::string& text, const std::string& where,
    const std::string& include_refusal = "'include' is not allowed in an overlay definition");

// Text that parse_settings reads back as settings (every value quoted): how the keeper of
// a space's charon (tools/pnkeeper) is handed the overlay's definition.
std::string render_settings(const Settings& settings);

}  // namespace personalnet::ike
