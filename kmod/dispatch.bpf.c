// SPDX-License-Identifier: GPL-2.0-only
/* personalnet's SPI dispatcher: the fast path of what the nftables dispatcher does
 * (lib/nft/nft.hpp), one instance per parent network namespace.
 *
 * One program, pn_dispatch, on the tc (tcx) ingress of every device of the namespace
 * that takes part; the kids map tells the two directions apart:
 * - from an uplink: ESP whose SPI a child (or a space further down) chose goes straight
 *   into that child's namespace (bpf_redirect_peer on the child's host-side veth),
 *   skipping this namespace's routing and netfilter;
 * - from a child's host-side veth: ESP the child sends from an address it was given goes
 *   straight out of the uplink the FIB names (bpf_redirect_neigh), with source address
 *   and ports unchanged.
 * IKE takes the ordinary path both ways: it is the control plane, and the nftables
 * dispatcher learns the SPIs a child sends (issue 17).
 * It is also attached to lo, where it lets everything pass: lo is every namespace's
 * first device, so the library always finds the instance (and its maps) there.
 *
 * Both only ever take packets they fully understand; everything else returns TC_ACT_OK
 * to the ordinary path, where the nftables dispatcher (always installed beside this one)
 * gives the same answer more slowly: fragments, truncated headers, unknown SPIs, IKE. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dispatch.h"

#define AF_INET 2
#define AF_INET6 10
#define NATT_PORT 4500
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define MAX_EXT_HEADERS 6
#define LOOPBACK_IFINDEX 1
/* Sizes: the kernel allocates a hash map's buckets when it creates the map (~3 ms for
 * 65536 of them), and a namespace creates its maps when its first child arrives. */
#define MAX_LABELS 4096   /* children and spaces further down, per parent namespace */
#define MAX_SOURCES 16384 /* the addresses of its children */
#define MAX_ESP_SPIS 16384 /* inbound ESP SAs of the spaces here and further down */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_LABELS);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u16);
    __type(value, struct pn_target);
} labels SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_LABELS);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u32);
    __type(value, struct pn_kid);
} kids SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ESP_SPIS);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u32);
    __type(value, struct pn_esp);
} espspis SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_SOURCES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct pn_source);
    __type(value, __u8);
} sources SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PN_STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

/* Where a packet's transport header is and what it says. */
struct l4 {
    __u32 off;  /* of the transport header, from the start of the frame */
    __u32 end;  /* of the IP payload (padding excluded) */
    __u8 proto; /* IPPROTO_UDP or IPPROTO_ESP; 0: nothing we dispatch */
    __u8 family;
    __u16 tot_len; /* of the IP packet, for the FIB's MTU check */
    __u8 saddr[16];
    __u8 daddr[16];
};

static __always_inline void count(__u32 what) {
    __u64* n = bpf_map_lookup_elem(&stats, &what);
    if (n) *n += 1;
}

/* Returns 0 and fills *p for an unfragmented IPv4/IPv6 packet carrying UDP or ESP;
 * -1 for anything else (counted as a fragment or truncated where that is why). */
static __always_inline int parse(struct __sk_buff* skb, struct l4* p) {
    __u16 eth_proto;
    if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &eth_proto, 2) < 0) return -1;
    __u32 off = sizeof(struct ethhdr);
    __u8 next;
    if (eth_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0) return -1;
        if (ip.version != 4 || ip.ihl < 5) return -1;
        if (ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
            count(PN_STAT_IN_FRAGMENT);
            return -1;
        }
        p->family = AF_INET;
        p->tot_len = bpf_ntohs(ip.tot_len);
        p->end = off + p->tot_len;
        __builtin_memcpy(p->saddr, &ip.saddr, 4);
        __builtin_memcpy(p->daddr, &ip.daddr, 4);
        off += ip.ihl * 4;
        next = ip.protocol;
    } else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip6;
        if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0) return -1;
        if (ip6.version != 6 || ip6.payload_len == 0) return -1; /* 0: a jumbogram */
        p->family = AF_INET6;
        p->tot_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
        p->end = off + p->tot_len;
        __builtin_memcpy(p->saddr, &ip6.saddr, 16);
        __builtin_memcpy(p->daddr, &ip6.daddr, 16);
        off += sizeof(ip6);
        next = ip6.nexthdr;
        /* Skip the extension headers the transport header may follow. */
#pragma unroll
        for (int i = 0; i < MAX_EXT_HEADERS; i++) {
            if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
                next != IPPROTO_FRAGMENT)
                break;
            __u8 ext[4];
            if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0) {
                count(PN_STAT_IN_TRUNCATED);
                return -1;
            }
            if (next == IPPROTO_FRAGMENT) {
                /* Offset (13 bits) and M flag: only an atomic fragment is whole. */
                if (((ext[2] << 8) | ext[3]) & 0xfff9) {
                    count(PN_STAT_IN_FRAGMENT);
                    return -1;
                }
                off += 8;
            } else {
                off += (ext[1] + 1) * 8;
            }
            next = ext[0];
        }
    } else {
        return -1;
    }
    if (off > p->end) {
        count(PN_STAT_IN_TRUNCATED);
        return -1;
    }
    p->off = off;
    p->proto = next == IPPROTO_UDP || next == IPPROTO_ESP ? next : 0;
    return p->proto ? 0 : -1;
}

/* Where the ESP SPI of an inbound packet starts: 0 with *spi_off set for raw ESP and
 * ESP in UDP 4500; 1 for anything else (IKE, which the ordinary path dispatches, a NAT-T
 * keepalive, other ports); -1 when the headers end too early. Bounded by the IP and UDP
 * lengths, so that Ethernet padding is never read as payload. */
static __always_inline int esp_spi_at(struct __sk_buff* skb, const struct l4* p, __u32* spi_off) {
    if (p->proto == IPPROTO_ESP) {
        if (p->off + 4 > p->end) return -1;
        *spi_off = p->off;
        return 0;
    }
    struct udphdr udp;
    if (p->off + sizeof(udp) > p->end || bpf_skb_load_bytes(skb, p->off, &udp, sizeof(udp)) < 0) return -1;
    __u32 payload = p->off + sizeof(udp);
    __u32 udp_end = p->off + bpf_ntohs(udp.len);
    if (udp_end < payload || udp_end > p->end) return -1;
    if (udp.dest != bpf_htons(NATT_PORT) && udp.source != bpf_htons(NATT_PORT)) return 1;
    if (payload + 4 > udp_end) return 1; /* a keepalive (one byte), or too short to be ESP */
    __u32 marker;
    if (bpf_skb_load_bytes(skb, payload, &marker, 4) < 0) return -1;
    if (marker == 0) return 1; /* IKE after the zero marker */
    *spi_off = payload;
    return 0;
}

static __always_inline int from_uplink(struct __sk_buff* skb, const struct l4* pp, __u32 off) {
    struct l4 p = *pp;
    /* ESP in UDP is dispatched by the destination port only, as the nftables rule does. */
    if (p.proto == IPPROTO_UDP) {
        __u16 dport;
        if (bpf_skb_load_bytes(skb, p.off + 2, &dport, 2) < 0 || dport != bpf_htons(NATT_PORT)) return TC_ACT_OK;
    }
    __u32 spi;
    if (bpf_skb_load_bytes(skb, off, &spi, 4) < 0) {
        count(PN_STAT_IN_TRUNCATED);
        return TC_ACT_OK;
    }
    struct pn_esp* e = bpf_map_lookup_elem(&espspis, &spi);
    if (!e) {
        count(PN_STAT_IN_UNKNOWN);
        return TC_ACT_OK;
    }
    __u16 owner = e->owner;
    struct pn_target* t = bpf_map_lookup_elem(&labels, &owner);
    if (t) __sync_fetch_and_add(&t->packets, 1);
    /* A shaped child on the way: out of its veth through the egress qdisc, where its
     * shaper is (bpf_redirect_peer would skip it). Sent to the child's side of the link,
     * fe80::2 on every uplink, whose neighbour entry the library made permanent: the
     * frame gets the child's MAC (a plain bpf_redirect would keep the uplink's, and the
     * child would drop it as another host's). An IPv4 packet may take an IPv6 next hop. */
    __u32 via = e->ifindex;
    struct pn_kid* v = bpf_map_lookup_elem(&kids, &via);
    if (v && (v->flags & PN_KID_SHAPED)) {
        struct bpf_redir_neigh nh = {.nh_family = AF_INET6};
        nh.ipv6_nh[0] = bpf_htonl(0xfe800000);
        nh.ipv6_nh[3] = bpf_htonl(2);
        return bpf_redirect_neigh(via, &nh, sizeof(nh), 0);
    }
    return bpf_redirect_peer(e->ifindex, 0);
}

static __always_inline int from_child(struct __sk_buff* skb, const struct l4* pp, struct pn_kid* k) {
    struct l4 p = *pp;
    struct pn_source src = {.ifindex = skb->ingress_ifindex, .family = p.family};
    __builtin_memcpy(src.addr, p.saddr, 16);
    if (!bpf_map_lookup_elem(&sources, &src)) {
        count(PN_STAT_OUT_SPOOFED);
        return TC_ACT_OK;
    }
    struct bpf_fib_lookup fib = {};
    fib.family = p.family;
    fib.l4_protocol = p.proto;
    fib.tot_len = p.tot_len;
    fib.ifindex = skb->ingress_ifindex;
    if (p.family == AF_INET) {
        __builtin_memcpy(&fib.ipv4_src, p.saddr, 4);
        __builtin_memcpy(&fib.ipv4_dst, p.daddr, 4);
    } else {
        __builtin_memcpy(fib.ipv6_src, p.saddr, 16);
        __builtin_memcpy(fib.ipv6_dst, p.daddr, 16);
    }
    long rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
    if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
        count(PN_STAT_OUT_NO_ROUTE); /* local, unreachable, too big...: the stack decides */
        return TC_ACT_OK;
    }
    /* The FIB put the next hop where the destination was. */
    struct bpf_redir_neigh nh = {};
    if (p.family == AF_INET) {
        nh.nh_family = AF_INET;
        nh.ipv4_nh = fib.ipv4_dst;
    } else {
        nh.nh_family = AF_INET6;
        __builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
    }
    __sync_fetch_and_add(&k->packets, 1);
    return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
}

SEC("tc")
int pn_dispatch(struct __sk_buff* skb) {
    __u32 dev = skb->ingress_ifindex;
    if (dev == LOOPBACK_IFINDEX) return TC_ACT_OK; /* the anchor: see above */
    struct pn_kid* k = bpf_map_lookup_elem(&kids, &dev);
    /* From a shaped child: everything goes on to the classic tc filter after this program
     * (TC_ACT_UNSPEC, tcx's TCX_NEXT; TC_ACT_OK would end tc there), which hands it to the
     * child's shaper. */
    if (k && (k->flags & PN_KID_SHAPED)) return TC_ACT_UNSPEC;
    struct l4 p = {};
    __u32 spi_off = 0;
    if (parse(skb, &p) < 0) return TC_ACT_OK;
    /* ESP only, raw or in UDP from or to 4500: everything else takes the ordinary path. */
    int esp = esp_spi_at(skb, &p, &spi_off);
    if (esp != 0) {
        if (esp < 0 && !k) count(PN_STAT_IN_TRUNCATED);
        return TC_ACT_OK;
    }
    return k ? from_child(skb, &p, k) : from_uplink(skb, &p, spi_off);
}

char LICENSE[] SEC("license") = "GPL";
