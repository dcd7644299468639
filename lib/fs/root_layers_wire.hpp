// A file space's RootLayers as one message, for the program that assembles the union
// (tools/pnassemble.cpp, exec'd: its parent cannot hand it C++ objects). Every field is a
// NUL-terminated string in a fixed order, lists preceded by their length: paths hold no
// NUL, so nothing needs quoting. trusted_mntns is a descriptor and travels as one.
#pragma once

#include <string>

#include "lib/fs/overlay_root.hpp"
#include "personalnet/error.hpp"

namespace personalnet::fs {

std::string encode_root_layers(const RootLayers& layers);

// EINVAL for anything encode_root_layers does not make (trusted_mntns is -1).
Result<RootLayers> decode_root_layers(const std::string& text);

}  // namespace personalnet::fs
