#include "lib/space/parent.hpp"

#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "lib/core/sys.hpp"
#include "lib/nft/nft.hpp"
#include "lib/space/addressing.hpp"
#include "lib/space/leftovers.hpp"
#include "lib/space/netns.hpp"
#include "lib/space/pins.hpp"
#include "lib/space/reach.hpp"
#include "lib/space/reply_tables.hpp"
#include "lib/space/reply_tree.hpp"
#include "lib/space/shaper.hpp"
#include "lib/space/watcher.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

namespace {

// Settings a parent needs while it has children; the previous values are saved and
// restored with the last child. Early demux must be off: it hands an arriving packet to
// a local established socket with the same 4-tuple before policy routing runs, so a
// reply meant for a child whose flow shares a tuple with one of the parent's own (its
// port was remapped on the wire, not in the child) would be swallowed by the parent.
struct Setting {
    const char* key;
    const char* value;
};
constexpr Setting kParentSettings[] = {
    {"net.ipv4.ip_forward", "1"},
    {"net.ipv6.conf.all.forwarding", "1"},
    {"net.ipv4.ip_early_demux", "0"},  // covers IPv6 too
};
constexpr int kFamilies[] = {AF_INET, AF_INET6};

bool tolerated(const Status& st, int code) { return st.ok() || st.error().code == code; }

// The kernel's own local-table rule, and its moved copy. Marked proto kernel like the
// original, so that restoring pref 0 when the original is still there (a setup killed
// before moving it) is refused as a duplicate instead of adding a second one.
netlink::Rule local_rule(int family, uint32_t pref) {
    netlink::Rule r;
    r.family = family;
    r.priority = pref;
    r.table = RT_TABLE_LOCAL;
    r.protocol = RTPROT_KERNEL;
    return r;
}

netlink::Rule gate_rule(int family) { return mark_tag_goto(family, kRulePrefGate, kRulePrefLocal, true); }

// What `ready` holds once parent_setup is done: a parent set up by an earlier version
// (one reply rule per child at pref 10, no reply tree) is set up again by its next child.
constexpr const char* kReadyVersion = "reply-tree\n";

// A reply rule of the kind made before the reply tree: pref 10, one per child. Only
// removed, for the children of a parent set up by an earlier version.
netlink::Rule flat_child_rule(int family, uint16_t label) {
    netlink::Rule r;
    r.family = family;
    r.priority = kRulePrefChild;
    r.fwmark = mark_of(label);
    r.table = kMarkTag | label;  // the table id of that version
    return r;
}

// Whether r is one of the per-child reply rules (of the tree, or of an earlier version):
// at our prefs, and on our marks; an administrator's rule at one of those prefs is not.
bool is_reply_rule(const netlink::Rule& r) {
    const bool tagged =
        r.fwmark && (*r.fwmark & kMarkTagMask) == kMarkTag && (r.fwmask & kMarkTagMask) == kMarkTagMask;
    if (r.priority >= kRulePrefTreeGate && r.priority < kRulePrefTreeEnd) return tagged;
    if (r.priority == kRulePrefTreeEnd) return r.nop && !r.fwmark;
    return r.priority == kRulePrefChild && tagged && r.fwmask == 0xffffffff;
}

// The default route of a child's reply table, as removed: what it is over (the child's
// veth, its side's address) is added to it.
netlink::Route reply_route(int family, uint32_t table) {
    netlink::Route r;
    r.family = family;
    r.dst.addr.family = family;
    r.table = table;
    r.protocol = kRouteProto;
    return r;
}

// Where the children of a parent reach it (the DNAT target of inherited services). The
// IPv4 one is link-local, so it is never picked as a source address for other traffic.
struct ServiceAddress {
    IpPrefix prefix;
    int scope;
};
std::array<ServiceAddress, 2> service_addresses(int child_depth) {
    return {ServiceAddress{IpPrefix{link4(child_depth, 1), 32}, RT_SCOPE_LINK},
            ServiceAddress{IpPrefix{service6(child_depth), 128}, RT_SCOPE_UNIVERSE}};
}

// Replies of the parent's listeners to connections its children handed over (inherited
// services) come from the service address. Their route is chosen by the conntrack mark
// (the output chain), but only after a first route lookup has succeeded, and for a
// client the parent has no route to (a peer on a child's overlay, or an address only a
// child carries) it would fail: a SYN-ACK is dropped before any hook sees it. So that
// lookup goes to a table whose default route always succeeds. A packet from the service
// address without a child's conntrack mark (none is ever sent) would loop back on lo.
netlink::Rule service_reply_rule(int family, int child_depth) {
    netlink::Rule r;
    r.family = family;
    r.priority = kRulePrefServiceReply;
    r.src = service_addresses(child_depth)[family == AF_INET ? 0 : 1].prefix;
    r.table = kServiceReplyTable;
    return r;
}
netlink::Route service_reply_route(int family) {
    netlink::Route r;
    r.family = family;
    r.dst.addr.family = family;
    r.oif = kLoopbackIndex;
    r.table = kServiceReplyTable;
    r.scope = RT_SCOPE_LINK;
    r.protocol = kRouteProto;
    return r;
}

// One-time setup of a namespace that becomes a parent. Every step tolerates
// "already done" so that a setup interrupted by SIGKILL is completed next time.
Status parent_setup(const ParentRef& p, int parent_ns_fd) {
    std::string dir = p.dir();
    PN_TRY(sys::make_dirs(dir + "/kids", 0755), "create parent state");
    PN_TRY(sys::write_atomic(dir + "/cookie", std::to_string(netns_cookie(parent_ns_fd))),
           "create parent state");
    auto pinned = pinned_inode_under(*p.reg, dir + "/ns");
    if (!pinned.ok()) return pinned.error().wrap("pin parent namespace");
    if (pinned.value() != p.inode) {
        (void)unpin_under(*p.reg, dir + "/ns");
        PN_TRY(pin_under(*p.reg, parent_ns_fd, dir + "/ns"), "pin parent namespace");
    }
    if (::access((dir + "/saved").c_str(), F_OK) != 0) {
        std::string saved;
        for (const auto& [key, value] : kParentSettings) {
            auto v = sys::get_sysctl(key);
            if (!v.ok()) return v.error().wrap("save parent settings");
            saved += std::string(key) + "=" + v.value() + "\n";
        }
        PN_TRY(sys::write_atomic(dir + "/saved", saved), "save parent settings");
    }
    for (const auto& [key, value] : kParentSettings) PN_TRY(sys::set_sysctl(key, value), "configure parent");

    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error().wrap("parent setup");
    for (int fam : kFamilies) {
        auto st = netlink::add_rule(*s, local_rule(fam, kRulePrefLocal));
        if (!tolerated(st, EEXIST)) return st.error().wrap("move local rule");
        st = netlink::delete_rule(*s, local_rule(fam, 0));
        if (!tolerated(st, ENOENT)) return st.error().wrap("move local rule");
        st = netlink::add_rule(*s, gate_rule(fam));
        if (!tolerated(st, EEXIST)) return st.error().wrap("add gate rule");
        for (const auto& r : reply_tree_frame(fam)) {
            st = netlink::add_rule(*s, r);
            if (!tolerated(st, EEXIST)) return st.error().wrap("add the reply tree's frame");
        }
        st = netlink::add_route(*s, service_reply_route(fam));
        if (!tolerated(st, EEXIST)) return st.error().wrap("add service reply route");
        st = netlink::add_rule(*s, service_reply_rule(fam, p.child_depth));
        if (!tolerated(st, EEXIST)) return st.error().wrap("add service reply rule");
    }
    for (const auto& [prefix, scope] : service_addresses(p.child_depth)) {
        auto st = netlink::add_address(*s, kLoopbackIndex, prefix, scope, true, false);
        if (!tolerated(st, EEXIST)) return st.error().wrap("add service address");
    }
    PN_TRY(sys::write_atomic(dir + "/ready", kReadyVersion), "mark parent ready");
    return {};
}

namespace {

// Detaches the eBPF dispatcher from every device of the current namespace.
Status remove_dispatcher(netlink::Socket& s) {
    auto links = netlink::list_links(s);
    if (!links.ok()) return links.error().wrap("remove the BPF dispatcher: list devices");
    std::vector<int> devices;
    for (const auto& l : links.value()) devices.push_back(l.index);
    PN_TRY(bpf::remove_instance(devices), "remove the BPF dispatcher");
    return {};
}

}  // namespace

// Undoes parent_setup; runs inside the parent namespace. Goes on after a step fails, so
// that the error names everything left. keep_dispatcher: Release::leave_to_reaper.
Status parent_teardown(const ParentRef& p, bool keep_dispatcher) {
    std::string dir = p.dir();
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error().wrap("parent teardown");
    (void)::unlink((dir + "/ready").c_str());
    Leftovers left;
    for (int fam : kFamilies) {
        const char* v = fam == AF_INET ? " (IPv4)" : " (IPv6)";
        auto st = netlink::delete_rule(*s, gate_rule(fam));
        if (!tolerated(st, ENOENT)) left.note(st, std::string("remove gate rule 9") + v);
        // The frame and whatever a killed release left of the tree.
        for (const auto& r : reply_tree_frame(fam)) {
            st = netlink::delete_rule(*s, r);
            if (!tolerated(st, ENOENT)) left.note(st, std::string("remove the reply tree's frame") + v);
        }
        if (auto rules = netlink::list_rules(*s, fam); rules.ok()) {
            for (const auto& r : rules.value()) {
                if (!is_reply_rule(r)) continue;
                st = netlink::delete_rule(*s, r);
                if (!tolerated(st, ENOENT)) left.note(st, std::string("remove a reply rule") + v);
            }
        } else {
            left.note(rules.error(), std::string("remove the reply rules: list them") + v);
        }
        st = netlink::delete_rule(*s, service_reply_rule(fam, p.child_depth));
        if (!tolerated(st, ENOENT)) left.note(st, std::string("remove service reply rule 101") + v);
        st = netlink::delete_route(*s, service_reply_route(fam));
        if (!tolerated(st, ESRCH)) left.note(st, std::string("remove service reply route") + v);
        st = netlink::add_rule(*s, local_rule(fam, 0));
        if (!tolerated(st, EEXIST)) {
            left.note(st, std::string("restore local rule 0") + v);
            continue;  // the moved copy at 100 is then all that routes local traffic
        }
        st = netlink::delete_rule(*s, local_rule(fam, kRulePrefLocal));
        if (!tolerated(st, ENOENT)) left.note(st, std::string("remove moved local rule 100") + v);
    }
    left.note(nft::parent_remove_table(), "remove parent nft table");
    if (!keep_dispatcher) left.note(remove_dispatcher(*s), "");
    for (const auto& [prefix, scope] : service_addresses(p.child_depth)) {
        auto st = netlink::delete_address(*s, kLoopbackIndex, prefix);
        if (!tolerated(st, EADDRNOTAVAIL)) left.note(st, "remove service address " + prefix.str());
    }
    auto saved = sys::read_file(dir + "/saved");
    if (saved.ok()) {
        size_t pos = 0;
        const std::string& text = saved.value();
        Leftovers settings;
        while (pos < text.size()) {
            size_t nl = text.find('\n', pos);
            std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? text.size() : nl + 1;
            auto eq = line.find('=');
            if (eq != std::string::npos)
                settings.note(sys::set_sysctl(line.substr(0, eq), line.substr(eq + 1)),
                              "restore parent setting " + line.substr(0, eq));
        }
        left.note(settings.result(), "");
        if (settings.empty()) (void)::unlink((dir + "/saved").c_str());
    }
    if (!left.empty()) (void)sys::write_atomic(dir + "/ready", "");  // a retry sets it up again
    return left.result();
}

// The parent state in dir describes a namespace that had this inode before and is gone
// (inodes are reused; cookies are not): what it says is not about the caller's.
bool parent_state_is_stale(const std::string& dir, int parent_ns_fd) {
    auto recorded = sys::read_file(dir + "/cookie");
    uint64_t now = netns_cookie(parent_ns_fd);
    return recorded.ok() && now != 0 && recorded.value() != std::to_string(now);
}

// Forgets the files of a parent state that no namespace has any more.
void forget_parent_state(const std::string& dir) {
    stop_watcher(dir);
    const std::string kids_dir = dir + "/kids/";
    if (auto kids = sys::list_dir(kids_dir); kids.ok())
        for (const auto& k : kids.value()) (void)::unlink((kids_dir + k).c_str());
    (void)::rmdir((dir + "/kids").c_str());
    forget_tables(dir);
    (void)unpin(dir + "/ns");
    for (const char* f : {"/saved", "/ready", "/cookie"}) (void)::unlink((dir + f).c_str());
    sys::remove_stale_temps(dir);
    (void)::rmdir(dir.c_str());
}

}  // namespace

Result<uint32_t> parent_acquire(const ParentRef& p, int parent_ns_fd, uint16_t label) {
    std::string dir = p.dir();
    if (parent_state_is_stale(dir, parent_ns_fd)) forget_parent_state(dir);
    if (auto ready = sys::read_file(dir + "/ready"); !ready.ok() || ready.value() != kReadyVersion)
        PN_TRY(parent_setup(p, parent_ns_fd), "set up parent");
    // The kid names the parent it was registered with, so that a release can tell it
    // from a later namespace that reuses the inode.
    auto table = register_kid(dir, label, std::to_string(netns_cookie(parent_ns_fd)));
    if (!table.ok()) return table.error();
    // After the kid is registered: a watcher with no kid stops at once. Not starting one
    // does not fail the creation (like the reaper): `pnet show` then says the addresses
    // are stale, and gc starts it.
    // Its only child has just read the parent: no first pass (other children: a dead
    // watcher's, which may have missed changes).
    auto others = any_other_kid(dir, label);
    const bool only = others.ok() && !others.value();
    (void)ensure_watcher(p, parent_ns_fd, only ? WatchStart::fresh : WatchStart::catch_up);
    return table.value();
}

Status parent_attach_child(netlink::Socket& s, uint16_t label, uint32_t table, int depth, int host_ifindex) {
    std::string ifname = host_ifname(label);
    std::string conf = "net.ipv4.conf." + ifname + ".";
    PN_TRY(sys::set_sysctl(conf + "accept_local", "1"), "configure " + ifname);
    PN_TRY(sys::set_sysctl(conf + "rp_filter", "0"), "configure " + ifname);
    PN_TRY(sys::set_sysctl("net.ipv6.conf." + ifname + ".accept_ra", "0"), "configure " + ifname);
    PN_TRY(sys::set_sysctl("net.ipv6.conf." + ifname + ".addr_gen_mode", "1"), "configure " + ifname);
    // No addresses on the parent side: neighbours are static and the service addresses
    // live on lo (see parent_setup).
    auto peer_mac = mac_of(label, depth, true);
    PN_TRY(netlink::add_neighbor(s, host_ifindex, link4(depth, 2), peer_mac), "neighbour on " + ifname);
    PN_TRY(netlink::add_neighbor(s, host_ifindex, link6(2), peer_mac), "neighbour on " + ifname);
    PN_TRY(netlink::set_link_up(s, host_ifindex), "bring up " + ifname);
    for (int fam : kFamilies) {
        netlink::Route r = reply_route(fam, table);
        r.gateway = fam == AF_INET ? link4(depth, 2) : link6(2);
        r.oif = host_ifindex;
        r.onlink = true;
        // Replaced: the table's slot may have been a destroyed sibling's, whose route over
        // its own veth (left to the kernel by destroy's fast path) may still be there.
        PN_TRY(netlink::replace_route(s, r), "reply route to " + ifname);
        // The leaf last: once it exists, its path leads to it. Interior rules may be there
        // already, for a sibling under the same prefix.
        auto path = reply_path(fam, label, table);
        for (size_t i = 0; i + 1 < path.size(); ++i) {
            auto st = netlink::add_rule(s, path[i]);
            if (!tolerated(st, EEXIST)) return st.error().wrap("reply rules for " + ifname);
        }
        PN_TRY(netlink::add_rule(s, path.back()), "reply rule for " + ifname);
    }
    return {};
}

Result<bpf::Devices> dispatch_devices() {
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    auto links = netlink::list_links(*s);
    if (!links.ok()) return links.error().wrap("list devices");
    bpf::Devices devs;
    for (const auto& l : links.value()) {
        if (l.index == kLoopbackIndex) continue;
        if (!is_host_ifname(l.name) && !is_shaper_ifname(l.name)) devs.uplinks.push_back(l.index);
    }
    return devs;
}

Status parent_steer_child(const registry::Record& child, const std::vector<IpAddr>& sources,
                          const std::vector<IpPrefix>& peers) {
    std::string ifname = host_ifname(child.label);
    // What the child may reach of ours is enforced here, not (only) in its own table:
    // the owner of an --admin space can rewrite that one.
    nft::ChildGuard guard;
    guard.link4 = link4(child.depth, 2);
    guard.link6 = link6(2);
    guard.services = child.inherit_services;
    for (const auto& text : child.hidden_services) {
        auto svc = Service::parse(text);
        if (!svc) {
            std::string why = "guard for " + ifname;
            why.append(": bad hidden service '").append(text).append("'");
            return make_error(EINVAL, why);
        }
        bool seen = std::any_of(guard.hidden.begin(), guard.hidden.end(),
                                [&](const auto& h) { return h.proto == svc->proto && h.port == svc->port; });
        if (!seen) guard.hidden.push_back({svc->proto, svc->port});
    }
    guard.peers = peers;
    guard.network = child.network;
    std::vector<PublishedPort> published;
    for (const auto& text : child.published) {
        auto p = PublishedPort::parse(text);
        if (!p) {
            std::string why = "publish for " + ifname;
            why.append(": bad published port '").append(text).append("'");
            return make_error(EINVAL, why);
        }
        published.push_back(*p);
    }
    PN_TRY(nft::parent_add_child(ifname, mark_of(child.label), child.label, guard, published),
           "reply steering for " + ifname);
    if (child.dispatch != Dispatch::bpf) return {};
    const bool shaped = child.rate_in != 0 || child.rate_out != 0;
    PN_TRY(bpf::attach_child(child.host_ifindex, child.label, sources, shaped), "dispatch for " + ifname);
    return {};
}

Result<std::optional<UniqueFd>> reach_parent(const ParentRef& p) {
    std::string dir = p.dir();
    auto reached = reach_pinned(*p.reg, p.inode, dir + "/ns", Reach::anywhere);
    if (!reached.ok()) return reached.error().wrap("reach the parent namespace");
    // A later namespace with the recorded one's inode: ours never were in that one.
    if (reached->has_value() && parent_state_is_stale(dir, (*reached)->get()))
        return std::optional<UniqueFd>{};
    return reached;
}

namespace {

Status remove_stray_uplink(const ParentRef& p, uint16_t label, bool shaped) {
    auto here = sys::current_netns_inode();
    if (!here.ok() || here.value() != p.inode) return {};
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    std::string ifname = host_ifname(label);
    auto st = netlink::delete_link(*s, ifname);
    if (!tolerated(st, ENODEV)) return st.error().wrap("remove " + ifname);
    if (shaped) PN_TRY(unshape_child(*s, label), "");
    // No child here now (no parent state, and callers hold the registry lock): a
    // dispatcher destroy's fast path left (Release) goes too, if its reaper did not get
    // to it.
    return remove_dispatcher(*s);
}

}  // namespace

Status parent_release(const ParentRef& p, uint16_t label, Release what, bool shaped) {
    std::string dir = p.dir();
    if (::access(dir.c_str(), F_OK) != 0) {
        // The parent's state is gone; the uplink of a space destroyed without deleting it
        // (its namespace still held by a descriptor) may not be: removed when the caller
        // is in that parent. The label is ours (its record and lock), and so is the name.
        if (what == Release::whole) return remove_stray_uplink(p, label, shaped);
        return {};
    }
    auto reached = reach_parent(p);
    if (!reached.ok()) return reached.error();
    if (!reached->has_value()) {
        // Nothing refers to the parent namespace any more: nothing of ours is left in it.
        unregister_kid(dir, label);
        if (auto left = any_other_kid(dir, std::nullopt); !left.ok() || !left.value())
            forget_parent_state(dir);
        return {};
    }
    UniqueFd pin = std::move(**reached);
    const std::string now = std::to_string(netns_cookie(pin.get()));
    const auto kid = registered_kid(dir, label);
    if (kid && !kid->entry.cookie.empty() && now != "0" && kid->entry.cookie != now) {
        unregister_kid(dir, label);  // registered with an earlier namespace of that inode
        return {};
    }
    auto sw = NetnsSwitch::enter(pin.get());
    if (!sw.ok()) return sw.error().wrap("enter parent namespace");
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    std::string ifname = host_ifname(label);
    Leftovers left;
    Status st;
    if (what == Release::whole) {
        st = netlink::delete_link(*s, ifname);
        if (!tolerated(st, ENODEV)) left.note(st, "remove " + ifname);
    }
    // The ifb lives in the parent namespace: it does not go with the child's (even when
    // the veth is left to the kernel).
    if (shaped) left.note(unshape_child(*s, label), "");
    // The leaf, and the interior rules of its path that no sibling shares (the registry
    // lock, which callers hold, keeps kids/ as it is meanwhile), unless those are left to
    // the reaper: its release, when this child is no longer registered, finds them unshared
    // with the siblings there are then.
    std::vector<uint16_t> siblings;
    if (what == Release::whole) {
        auto near = siblings_on_path(dir, label);
        if (!near.ok()) return near.error().wrap("release " + ifname);
        siblings = std::move(near).value();
    }
    // Without a registration there is no leaf (it is added after the kid, and the kid
    // goes after it), nor routes of ours: a release killed late, or a creation early.
    const uint32_t table = kid ? kid->entry.table : 0;
    for (int fam : kFamilies) {
        const char* v = fam == AF_INET ? " (IPv4)" : " (IPv6)";
        auto rules = what == Release::whole
                         ? reply_path_unshared(fam, label, table, siblings)
                         : std::vector<netlink::Rule>{reply_path(fam, label, table).back()};
        if (!kid) rules.erase(rules.begin());
        // A kid with a slot was registered after the tree replaced the flat rules.
        if (!kid || !is_slot_table(kid->entry.table)) rules.push_back(flat_child_rule(fam, label));
        for (const auto& r : rules) {
            st = netlink::delete_rule(*s, r);
            if (!tolerated(st, ENOENT)) left.note(st, "remove the reply rules of " + ifname + v);
        }
        // The table goes back to the pool empty, even while the kernel keeps the veth (and
        // the route over it) until the child's namespace is torn down.
        if (kid && kid->holds_table) {
            st = netlink::delete_route(*s, reply_route(fam, table));
            if (!tolerated(st, ESRCH)) left.note(st, "remove the reply route of " + ifname + v);
        }
    }
    left.note(nft::parent_remove_child(ifname, label), "remove reply steering of " + ifname);
    left.note(bpf::forget_child(label), "remove the BPF dispatch of " + ifname);
    if (!left.empty()) return left.result();  // the kid stays registered: a retry finds it
    unregister_kid(dir, label);
    // Callers hold the registry lock, so a temporary file here is a killed writer's (in
    // kids/, the scan below removes those it meets, and the teardown the rest).
    sys::remove_stale_temps(dir);
    // No kids/ at all means a release killed after removing it: finish that teardown.
    auto others = any_other_kid(dir, std::nullopt);
    if (others.ok() && !others.value()) {
        sys::remove_stale_temps(dir + "/kids");
        stop_watcher(dir);
        PN_TRY(parent_teardown(p, what == Release::leave_to_reaper), "tear down parent");
        (void)::rmdir((dir + "/kids").c_str());
        forget_tables(dir);
        pin.reset();
        PN_TRY(unpin_under(*p.reg, dir + "/ns"), "unpin parent");
        (void)::unlink((dir + "/cookie").c_str());
        (void)::rmdir(dir.c_str());
    }
    return {};
}

Status remove_idle_dispatcher(const registry::Registry& reg, int netns_fd) {
    auto inode = sys::inode_of_fd(netns_fd);
    if (!inode.ok()) return inode.error();
    if (::access(ParentRef{&reg, inode.value()}.dir().c_str(), F_OK) == 0) return {};
    auto sw = NetnsSwitch::enter(netns_fd);
    if (!sw.ok()) return sw.error().wrap("enter parent namespace");
    auto s = netlink::Socket::open();
    if (!s.ok()) return s.error();
    return remove_dispatcher(*s);
}

}  // namespace personalnet::space
