// The SPI plan's reserved labels, in core so that the registry (which hands labels out)
// and overlay definitions (whose personal networks name one) refuse the same values
// without either module needing the other.
#pragma once

#include <cstdint>

namespace personalnet {

// Label 0 is the host's (SPIs with nothing on top: a host-level IKE daemon's), and
// 0xc000-0xcfff is strongSwan's default ESP SPI range (spi_min/spi_max), which a host
// charon draws its inbound ESP SPIs from.
inline constexpr bool label_reserved(uint16_t label) {
    return label == 0 || (label >= 0xc000 && label <= 0xcfff);
}

// Which reserved range label falls in, for error messages ("0", "0xc000-0xcfff"); nullptr
// for a label that is not reserved.
inline constexpr const char* reserved_label_range(uint16_t label) {
    if (label == 0) return "0";
    if (label >= 0xc000 && label <= 0xcfff) return "0xc000-0xcfff";
    return nullptr;
}

}  // namespace personalnet
