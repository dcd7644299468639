// Exact SPI dispatch (issue 17): the SPIs a space's charon chose, in its parent's and
// every ancestor's maps. IKE and ESP are dispatched into a space only by SPIs it owns
// (lib/nft, kmod/dispatch.bpf.c), so a host-level IKE daemon whose SPIs happen to carry
// a space's label is never disturbed. The SPIs of IKE exchanges a space sends are learned
// on the packet path; those negotiated inside encrypted exchanges (rekeys) and every
// inbound ESP SPI are known only to its charon, and synced from there:
// - by the creator, as soon as the overlay is up, so the first packet after mkportspace
//   returns is dispatched;
// - by the keeper (tools/pnkeeper) on every IKE/CHILD_SA up, down or rekey event, every
//   2 s as a safety net, and after restarting charon.
// Until a new SA's SPIs are synced (a few ms), its inbound ESP stays with the host and is
// dropped there: the only cost of exactness.
// Removal is lib/space/dispatch's (undispatch_through_ancestors) and the parent's
// (nft::parent_remove_child, bpf::forget_child): everything leading into the space goes.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// The SPIs a space's charon chose: its own SPI of every IKE SA, the inbound SPI of every
// CHILD_SA.
struct OwnSpis {
    std::vector<uint64_t> ike;
    std::vector<uint32_t> esp;
};

// Asks rec's charon over VICI (its socket in RUNDIR/charon/LLLL).
Result<OwnSpis> own_spis(const registry::Registry& reg, const registry::Record& rec);

// Makes the parent's and every ancestor's ikespis/espspis (nft) and espspis (BPF, for a
// BPF-dispatched space) hold exactly `spis` for rec, each with the mark / veth of its
// child on the way. Commits nothing where nothing changed.
Status publish_spis(const registry::Registry& reg, const registry::Record& rec, const OwnSpis& spis);

// own_spis, then publish_spis. Nothing to do for a space without an overlay.
Status sync_spis(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
