// The strongswan.conf of a port space's own charon (issue 4).
//
// SPIs carry the space's label so that the parent can dispatch by it (nft.hpp):
//   ESP SPIs (chosen by the kernel or libipsec) in [LLLL0000, LLLLffff]: charon.spi_min/max
//   IKE SPIs with LLLL in their top 16 bits:                      charon.spi_mask/spi_label
// The VICI socket lives in the space's run directory (root only); the plugins follow
// the datapath: kernel XFRM where the kernel has ESP, kernel-libipsec (ESP in user space
// over a TUN device) where it does not. openssl is loaded and strongSwan's own aes/gcm
// are not: with libipsec they were ~7x slower here (DESIGN.md). The plugin list was
// found with real daemons (tests/unit/vici_charon_test.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace personalnet::ike {

struct CharonConf {
    uint16_t label = 0;
    bool kernel_esp = false;  // netlink::kernel_has_esp()
    std::string vici_socket;  // absolute path of the unix socket
    std::string log_path;     // if set: a file log (level 1, flushed per line); else silent
};

std::string render_strongswan_conf(const CharonConf& conf);

}  // namespace personalnet::ike
