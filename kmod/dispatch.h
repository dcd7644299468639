/* The records the SPI dispatcher's maps hold, shared by the eBPF programs
 * (kmod/dispatch.bpf.c) and the library that fills the maps (lib/bpf/dispatch.cpp).
 * Plain C with fixed-width fields, so both compilers lay them out the same way. */
#ifndef PERSONALNET_KMOD_DISPATCH_H
#define PERSONALNET_KMOD_DISPATCH_H

#include <linux/types.h>

/* labels: SPI label (host order) -> the child on the way; what the program delivered to
 * that space by its exact ESP SPIs is counted here. */
struct pn_target {
    __u32 ifindex; /* host-side veth of the child on the way, in this namespace */
    __u32 reserved;
    __u64 packets; /* redirected into the child so far */
};

/* espspis: an inbound ESP SPI (the key is its four bytes as on the wire) -> where it goes.
 * Synced from the owning space's charon (space::sync_spis). */
struct pn_esp {
    __u32 ifindex; /* host-side veth of the child on the way, in this namespace */
    __u16 owner;   /* label of the space that chose the SPI (here or further down) */
    __u16 reserved;
};

/* kids: host-side veth ifindex -> what leaves through the uplink from it. */
struct pn_kid {
    __u16 label;
    __u16 flags; /* PN_KID_* */
    __u16 reserved[2];
    __u64 packets; /* IKE/ESP sent straight out of an uplink so far */
};

/* pn_kid.flags: the child has a bandwidth limit, shaped by qdiscs on its host-side veth
 * (lib/space/shaper): its packets must pass them, so the fast path neither delivers
 * into it past its veth's egress (bpf_redirect_peer) nor takes what it sends off its
 * veth's ingress before the shaper's filter there. */
#define PN_KID_SHAPED 1

/* sources: the addresses a child may send IKE/ESP from on the fast path: those the
 * library gave it. Anything else takes the ordinary path, where the parent's
 * anti-spoofing chain decides. */
struct pn_source {
    __u32 ifindex; /* the child's host-side veth */
    __u8 family;   /* AF_INET (2) or AF_INET6 (10) */
    __u8 reserved[3];
    __u8 addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

/* stats (per CPU): why packets were passed to the ordinary path. */
enum pn_stat {
    PN_STAT_IN_FRAGMENT,    /* a fragment: only the stack can reassemble it */
    PN_STAT_IN_TRUNCATED,   /* too short to read the label */
    PN_STAT_IN_UNKNOWN,     /* no child has this ESP SPI */
    PN_STAT_OUT_SPOOFED,    /* a source the library did not give the child */
    PN_STAT_OUT_NO_ROUTE,   /* the FIB lookup did not give a forwarding route */
    PN_STAT_COUNT
};

#endif
