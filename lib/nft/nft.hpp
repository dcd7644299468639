// nftables through libnftnl: the rules personalnet owns, one atomic batch per change.
//
// Two tables, both family inet, each created and removed as a whole:
//
// Parent side ("personalnet_parent", in a namespace that has child spaces):
//   map kids { type ifname : mark }            host-side veth name -> 0x5000LLLL
//   map zones { type ifname : integer }        host-side veth name -> LLLL (ct zone)
//   chain raw { type filter hook prerouting priority raw (-300);
//       ct state != untracked ct original zone set iifname map @zones }
//   chain pre  { type filter hook prerouting priority mangle (-150);
//       ct state new ct mark set iifname map @kids
//       ct direction reply ct mark and 0xff000000 == 0x50000000 meta mark set ct mark }
//   chain out  { type route hook output priority mangle (-150);
//       ct direction reply ct mark and 0xff000000 == 0x50000000 meta mark set ct mark }
//   chain spoof { type filter hook forward priority filter (0);
//       iifname @kids fib saddr type != local drop }   a child sends only from addresses it
//       carries, which are this namespace's own (an --admin space could add any other)
//   map services { type ifname : verdict }   child -> jump svc_LLLL (only children that
//       hide services or inherit none have one)
//   map peers { type ifname : verdict }      child -> jump peers_LLLL (overlay-bound children:
//       their overlay addresses and the networks behind the overlay)
//   chain guard { type filter hook prerouting priority mangle - 10 (-160);
//       iifname vmap @services
//       iifname @kids fib saddr type != local jump foreign }
//   chain foreign {                         a source that is not ours, from a child:
//       fib daddr type != local drop        never forwarded (the spoof chain, before routing)
//       ip saddr 169.254.(100+d).2 accept ; ip6 saddr fe80::2 accept   (the child's uplink)
//       iifname vmap @peers                 (an overlay peer handed to our listener)
//       drop }
//   chain svc_LLLL { ct direction reply return ; fib daddr type unicast return ;
//       meta l4proto . th dport { hidden } drop   (or, inheriting nothing:
//       meta l4proto icmp return ; meta l4proto ipv6-icmp return ; drop) }
//   chain peers_LLLL { ip saddr NETWORK accept ; ... }   (then back in foreign: drop)
//   The guard runs on both paths at once (input and forward) and sees the destination
//   before any DNAT: every destination that reaches this namespace's sockets (local, and
//   broadcast, multicast, anycast: all but unicast, which is forwarded), the service
//   addresses and the host addresses alike, so a service is refused by every address.
//   The lookups are hashes keyed by the child's veth: the cost per packet does not grow with the
//   number of children; a child's own chain is entered by its own packets only.
//   chain post { type nat hook postrouting priority srcnat (100); }   // empty on purpose:
//       a nat chain makes conntrack give every new flow a null binding, so a child's flow
//       whose source port clashes with an existing flow gets its port remapped.
//   map labels { type integer (16 bits, network order) : mark }   SPI label -> 0x5000LLLL: the
//       labels dispatched here (no rule reads it since issue 17; exact SPIs do)
//   map netlabels { same }     personal networks' labels only (issue 17): IKE_SA_INIT requests
//   map ikespis { type integer (64 bits) : mark; flags dynamic,timeout }   exact IKE SPIs
//   map espspis { type integer (32 bits) : mark; flags dynamic,timeout }   exact inbound ESP SPIs
//   chain ipsec { type filter hook prerouting priority raw - 10;
//       udp dport/sport 500/4500 notrack ; meta l4proto esp notrack
//       <IKE from a child, by the I flag> meta mark set iifname map @kids
//           update @ikespis { <the child's own SPI> timeout 5m : meta mark }
//       iifname map @kids meta mark set 0 return
//       <IKE_SA_INIT request: exchange 34, I flag, responder SPI 0>
//           meta mark set <top 16 bits of the initiator SPI> map @netlabels
//       <other IKE, on 500 / 4500 after the zero marker> meta mark set <receiver's SPI> map @ikespis
//       <ESP in UDP 4500 | raw ESP> meta mark set <SPI> map @espspis }
//   map published { type inet_proto . inet_service : mark }   a port this namespace publishes
//       for a child (mkportspace --publish) -> 0x5100LLLL, the child's published-flow mark
//   map portmap { type inet_proto . inet_service : inet_service }   the port in the child,
//       for the published ports it listens on under another number
//   chain publish { type filter hook prerouting priority mangle + 5 (-145);
//       ct state new iifname != "lo" ct mark != 0x50000000/8 fib daddr type local
//           tcp flags syn / fin,syn,rst,ack ct mark set meta l4proto . tcp dport map @published
//       (the same for udp, without the flags)
//       ct direction original ct mark 0x51000000/8 meta mark set ct mark & 0xffff | 0x50000000 }
//   chain publish_nat { type nat hook prerouting priority dstnat (-100);
//       ct mark 0x51000000/8 meta l4proto { tcp, udp }
//           dnat ip to ip daddr : meta l4proto . th dport map @portmap   (and ip6) }
//   A new connection from outside (not from lo, nor a child's: the pre chain, just before,
//   gave those the child's mark) to one of this namespace's own addresses on a published
//   port is the child's: its flow gets mark 0x5100LLLL, and every packet of its original
//   direction the child's routing mark 0x5000LLLL, so policy routing forwards it into the
//   child at the same address, the client's address untouched (no masquerade). Its
//   replies leave the child with this namespace's own address as their source, are routed
//   as this namespace's own traffic (the reply rules above want 0x50 in the top byte) and
//   conntrack undoes the DNAT. TCP only from a plain SYN: a mid-stream packet conntrack
//   picks up (an idle flow of this namespace's own, older than tracking) is never taken.
//   The mark selects the child's policy-routing table; see lib/space. IKE and ESP are
//   never tracked, so ports 500/4500 are shared by every space and never remapped;
//   IKE/ESP whose SPI no child owns (a host-level IKE daemon's) stays in this namespace,
//   even when its SPI carries a child's label. Learned IKE SPIs (with a timeout) cover
//   the exchanges before space::sync_spis has put the established ones (no timeout,
//   commented "pn LLLL" with the owning space's label) in place. A descendant deeper down
//   is dispatched here with the mark of the child on the way: learned from the packets
//   that child forwards, synced by the descendant's sync (parent_add_label for labels).
//
// Child side ("personalnet_space", in a space that inherits services):
//   set local4 { type ipv4_addr }  set local6 { type ipv6_addr }   the host addresses
//   set hidden { type inet_proto . inet_service }                  hidden services
//   set published { type inet_proto . inet_service }   the ports the parent publishes
//       for this space, as they arrive here (their inner ports)
//   chain raw_out { type filter hook output priority raw (-300);
//       ip daddr @local4 ip saddr != <down4> notrack ; (same for ip6 / down6) }
//   chain raw_pre { type filter hook prerouting priority raw (-300);
//       iifname "lo" ip daddr @local4 ct zone set 0 ; (same for ip6) }
//   chain svc { type nat hook prerouting priority dstnat (-100);
//       iifname "up0" meta l4proto . th dport @published return   (what the parent hands
//           in for a port this space publishes is this space's: never handed back up,
//           nor to a space nested here that publishes the same port at the parent's)
//       ip daddr @local4 socket transparent 0 return ; ... transparent 1 return
//       ip daddr @local4 meta l4proto . th dport @hidden return
//       ip daddr @local4 meta l4proto { tcp, udp } dnat ip to <parent4>
//       (and the same three for ip6 / @local6 / dnat ip6 to <parent6>) }
//   Why raw_out/raw_pre: nft's socket expression is useless in the output hook (it sees
//   the sending socket), so locally generated connections to the host address are left
//   untracked in output and tracked afresh when they come back in through lo, where the
//   socket lookup decides between the child's own listener and the parent's. Replies of
//   this space's listeners to its own children come from down4/down6 (their DNAT target)
//   and must stay tracked, or they would never reach the conntrack that steers them back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/ip.hpp"
#include "personalnet/space.hpp"

namespace personalnet::nft {

// Keeps the calling thread's netfilter netlink sockets open while it lives: one per
// network namespace, reused by every request of this library on that thread meanwhile.
// The kernel finishes a namespace's pending nftables destruction work whenever a
// netfilter socket is released (nft_rcv_nl_event), and that work waits out an RCU grace
// period after every commit that deleted something: a close after a deletion took 5 to
// 18 ms here. So a caller that deletes and should not wait keeps its sockets until its
// lock is let go, or hands their descriptors (fds()) to a process that outlives it: the
// last close, and the wait, is then that one's. Inert if the thread has one already.
class SocketKeeper {
public:
    SocketKeeper();
    ~SocketKeeper();
    SocketKeeper(const SocketKeeper&) = delete;
    SocketKeeper& operator=(const SocketKeeper&) = delete;
    // Every socket kept, except those in the network namespace with inode `except` (a
    // process handed them must not keep that namespace alive).
    std::vector<int> fds(uint64_t except = 0) const;

private:
    friend class SocketLease;  // lib/nft/nft.cpp: takes and kept sockets
    struct Kept {
        uint64_t netns = 0;      // its namespace's inode
        bool reusable = true;    // false after a failed exchange: replies may be left unread
        void* socket = nullptr;  // the mnl_socket
    };
    bool active_ = false;
    std::vector<Kept> kept_;
};

inline constexpr const char* kParentTable = "personalnet_parent";
inline constexpr const char* kSpaceTable = "personalnet_space";

// All functions act on the network namespace current in the calling thread
// (they open their own NETLINK_NETFILTER socket per call).

struct HiddenService {
    uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
    uint16_t port = 0;
};

// What a parent enforces for one child whatever the child's own tables, addresses and
// routes say (the owner of an --admin space can change all of those).
struct ChildGuard {
    // The child's side of the uplink (169.254.(100+d).2, fe80::2): the one source that is
    // not this namespace's own that a child sends to it from (connecting to the service
    // address directly). All children of a parent share them; the table takes the first's.
    IpAddr link4, link6;
    bool services = true;               // false: none of this namespace's services (--no-inherit-services)
    std::vector<HiddenService> hidden;  // services of this namespace the child may not reach
    // Foreign sources the child hands to our listeners: its own overlay addresses and the
    // networks behind its overlay (accepted towards this namespace only, never forwarded).
    std::vector<IpPrefix> peers;
    // Bound to a personal network (issue 17): IKE_SA_INIT requests whose initiator SPI
    // carries its label are dispatched to it (map netlabels).
    bool network = false;
};

// The mark of a child's published flows (see map published above).
constexpr uint32_t publish_mark_of(uint16_t label) { return 0x51000000u | label; }

// Creates the parent table if it does not exist yet and adds {ifname : mark} to kids,
// {ifname : label} to zones, {label : mark} to labels, the child's guard and the ports
// it publishes (map published, and portmap for those it listens on under another
// number), in one batch. Idempotent for the table; EEXIST if an element exists (a port
// another child publishes: "add element tcp . 8080 to map published").
Status parent_add_child(const std::string& ifname, uint32_t mark, uint16_t label,
                        const ChildGuard& guard = {}, const std::vector<PublishedPort>& published = {});
// The ports published here, each with the label of the child it leads to (read from its
// mark in map published; the inner port from portmap), by listing (commits nothing);
// none without the table or its maps (one made by a build from before publishing).
Result<std::vector<std::pair<PublishedPort, uint16_t>>> parent_list_published();
// Removes the elements, the ports it publishes and the child's chains (ENOENT tolerated).
Status parent_remove_child(const std::string& ifname, uint16_t label);
// {label : mark} for a space further down, reached through the child with that mark
// (and in netlabels for a network-bound one).
Status parent_add_label(uint16_t label, uint32_t mark, bool network = false);
Status parent_remove_label(uint16_t label);  // both maps; ENOENT tolerated

// The exact SPIs of map ikespis (64-bit IKE SPIs) or espspis (32-bit inbound ESP SPIs),
// numbers as charon prints them (the wire's big-endian bytes).
enum class SpiMap { ike, esp };
struct SpiEntry {
    uint64_t spi = 0;
    uint32_t mark = 0;     // where it leads: the child on the way
    uint16_t owner = 0;    // the space it was synced for (its label); 0: learned
    bool learned = false;  // added on the packet path, with a timeout
};
Result<std::vector<SpiEntry>> parent_list_spis(SpiMap m);
// Makes the map hold exactly `wanted` for owner, with mark and no timeout: adds what is
// missing (replacing a learned or stale element of the same SPI), deletes owner's
// elements that are not wanted. Commits nothing when nothing changes.
Status parent_sync_spis(SpiMap m, uint16_t owner, uint32_t mark, const std::vector<uint64_t>& wanted);
// Deletes every element synced for owner, and those of `also` that lead to mark.
Status parent_forget_spis(uint16_t owner, uint32_t mark,
                          const std::vector<std::pair<SpiMap, uint64_t>>& also);
// Deletes the whole parent table (ENOENT tolerated).
Status parent_remove_table();
bool parent_table_exists();

struct ChildServices {
    std::vector<IpAddr> local;  // host addresses (v4 and v6) plus own downlink address
    std::vector<HiddenService> hidden;
    IpAddr parent4;  // DNAT target for IPv4 (parent side of the uplink)
    IpAddr parent6;  // DNAT target for IPv6
    IpAddr down4;    // where this space's own children reach it (IPv4)
    IpAddr down6;    // ... and IPv6; replies from there stay tracked
    // The ports the space publishes, as they arrive in it (their inner numbers), and its
    // uplink ("up0"), where they arrive; no uplink: no rule for them.
    std::vector<HiddenService> published;
    std::string uplink;
};

// Overlay-only spaces ("personalnet_overlay", in a space bound to an overlay without
// inherited routes): nothing but IKE and ESP leaves through the uplink, whether the
// overlay is up or not, from the space itself or from spaces nested in it:
//   chain out { type filter hook output priority filter; oifname "up0" <rules> }
//   chain fwd { type filter hook forward priority filter; the same }
//   rules: udp dport 500 accept; udp dport 4500 accept; meta l4proto esp accept;
//          rt ipsec exists accept; drop
// `rt ipsec exists`: a packet routed into an XFRM bundle, i.e. about to be encrypted by
// the kernel datapath (the hook sees it before the transform, its ESP packet after).
Status overlay_guard_install(const std::string& uplink);
inline constexpr const char* kOverlayTable = "personalnet_overlay";

// Creates the child table in one batch (fails with EEXIST if present).
Status child_install(const ChildServices& spec);
Status child_remove();
// Makes the child table's sets local4 and local6 hold exactly `local` (ChildServices::local),
// in one batch: the space follows its parent's addresses (lib/space/follow). ENOENT
// without the table.
Status child_set_local(const std::vector<IpAddr>& local);

}  // namespace personalnet::nft
