// Ports a space publishes on its parent's addresses (mkportspace --publish), before they
// are published: who else holds them. Publishing itself is one of the child's elements
// in the parent's nft table (lib/nft, added and removed with the child: parent.hpp).
#pragma once

#include <string>

#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Refuses (EEXIST, one line naming the holder) a port of rec.published that is held in
// rec's parent namespace, which must be the calling thread's:
//   - published by another space of that namespace: a record of the registry (also one
//     still being created), or an element of the namespace's nft map (a space of
//     another registry); another user's space is not named to a user;
//   - a socket of that namespace listening on it (TCP) or bound to it unconnected (UDP),
//     unless only on a loopback address, which the parent's own address never reaches.
// parent_name: the parent space's name, "" for the registry's root (the host). Call with
// the registry lock held, so that no other creation publishes the port meanwhile.
Status check_publishable(const registry::Registry& reg, const registry::Record& rec,
                         const std::string& parent_name);

}  // namespace personalnet::space
