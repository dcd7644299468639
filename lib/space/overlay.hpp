// A port space bound to an overlay network (issue 4): the space runs its own strongSwan
// charon, whose SPIs carry the space's label (lib/ike/charon_conf), so that the parent
// dispatches the overlay's IKE and ESP to it (nft.hpp). The charon runs in the space's
// network namespace and in a mount namespace of its own, derived from the space's file
// space, with a private /run (its pid file path is compiled in). Its files (strongswan.conf,
// VICI socket, log) live in RUNDIR/charon/LLLL, root only.
//
// A keeper process in the space's namespaces (pnkeeper, exec'd: tools/pnkeeper.cpp) runs
// charon and restarts it when it dies, bringing the overlay up again; rec.ike_daemon is
// the keeper. The daemon lives while
// the space does: an unnamed space's supervisor stops it when the command exits (its
// processes would otherwise keep the namespace alive), destroy and gc stop it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ike/overlay_config.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/registry/registry.hpp"
#include "personalnet/error.hpp"

namespace personalnet::space {

// Starts rec's charon, loads the overlay's secrets and connections over VICI and brings
// every CHILD_SA up (timeout per SA). Fills rec.overlay, rec.ike_daemon, rec.datapath.
// netns: the space's network namespace. charon joins it and no more: its mount namespace
// is the host's (never the space's file space), with a private /run.
Status start_overlay(const registry::Registry& reg, registry::Record& rec, const ike::OverlayDefinition& def,
                     int netns);

// Stops rec's charon (if it is still the process in rec's namespace) and removes its
// directory. Idempotent.
Status stop_overlay(const registry::Registry& reg, const registry::Record& rec);

// Loads the overlay's secrets and connections (swanctl) into a fresh charon listening on
// socket and initiates every CHILD_SA: the creator does, and the keeper after a restart.
// wait: until each is up (timeout per SA; a gateway that does not answer fails the
// creation). background: charon tries on its own and the call returns at once (a
// personal network, whose peers come up in any order and initiate themselves; the keeper).
enum class Initiation { wait, background };
Status bring_up_overlay(const std::string& socket, const ike::Settings& swanctl, Initiation how);

// A personal network's two sides may both initiate (at the same moment, or one side's
// retransmissions reaching the other after the other's own initiation succeeded) and end
// up with two IKE_SAs (and CHILD_SA pairs) between them. Each side settles it without
// talking: of one connection's established IKE_SAs with one peer the one this side
// initiated stays (then the newest), and the others are terminated (in the background:
// the keeper's loop must not wait), which deletes them on the peer too. Each side keeping
// its own initiation, the lower side's delete takes the copy the peer initiated, and both
// are left with the lower side's. The side with the lower address does it once both are
// kSettleLowerS old; the higher side only once it is kSettleHigherS old, by when
// the lower side has settled every duplicate both hold: what the higher side still holds
// then, the peer dropped (crossed INITIAL_CONTACTs: charon drops its older SAs silently,
// and that is the one it initiated, so the one the peer kept is ours too).
// (Both sides deleting the same SA at once left it stuck in DELETING: each side's answer
// to the other's delete found the SA, and its SPIs, gone.) Returns how many were terminated.
inline constexpr uint64_t kSettleLowerS = 2;
inline constexpr uint64_t kSettleHigherS = 6;
Result<int> settle_duplicate_sas(ike::ViciClient& vici);

// What `pnet show` tells of rec's overlay: one line per IKE_SA and CHILD_SA of its charon,
// and whether each peer (rec.overlay_peers) is up: an established IKE_SA with it that has
// an installed CHILD_SA.
struct OverlayStatus {
    std::vector<std::string> lines;
    std::vector<std::pair<std::string, bool>> peers;  // address, up
};
Result<OverlayStatus> overlay_status(const registry::Registry& reg, const registry::Record& rec);

}  // namespace personalnet::space
