// The routing tables that hold a parent's routes back to its children: one per live
// child, taken from a pool of slots. A new child takes the lowest slot no sibling holds.
//
// The kernel frees a routing table only with its namespace, and at every rule added or
// removed it walks every IPv6 table (__fib6_clean_all). A table id derived from the label
// (random, up to 65535 of them) left the parent one more table for every child it ever
// had: after ~7000 spaces a creation took 55 ms instead of 20, most of it in that walk.
// With slots, a parent has as many tables as it once had children at the same time.
//
// In the parent's state directory (rundir/parents/INODE), under the registry lock that
// every creation and release of a child holds:
//   kids/LLLL    the child's registration: "COOKIE TABLE" (an earlier version wrote
//                "COOKIE" alone, and used legacy_table_of(label));
//   tables/SLOT  the label (hex) of the child that holds the slot.
// A slot file is written after the kid and removed before it, and only by the child it
// names, so a creation or release killed half-way can leave a kid without its slot (its
// routes then were never added, or are gone already), never a slot that two children use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::space {

// The table of a slot (1-65535). Apart from the ids of the earlier version (0x50......);
// the low byte stays below 251, out of the kernel's hash bucket of the main, default and
// local tables (addressing.hpp's legacy_table_of says why).
uint32_t table_of_slot(uint32_t slot);
// Whether table is one of the pool's (else an earlier version's, derived from a label).
bool is_slot_table(uint32_t table);

// What a child's kids/ entry says: the namespace cookie of the parent it registered
// with, and its reply table.
struct KidEntry {
    std::string cookie;
    uint32_t table = 0;
};
std::string format_kid(const KidEntry& kid);
// An entry of an earlier version, without a table, gets legacy_table_of(label).
std::optional<KidEntry> parse_kid(const std::string& text, uint16_t label);

// Registers label as a child of the parent whose state is dir, with the lowest free slot,
// and returns its table. A child registered already with this cookie and still holding
// its slot keeps it.
Result<uint32_t> register_kid(const std::string& dir, uint16_t label, const std::string& cookie);

// The reply table of label's registration, if it is registered, and whether it holds the
// table's slot still: only then are the routes in it the child's to remove.
struct RegisteredKid {
    KidEntry entry;
    bool holds_table = false;
};
std::optional<RegisteredKid> registered_kid(const std::string& dir, uint16_t label);

// Removes label's registration: its slot first (if it holds it), then its kids/ entry.
void unregister_kid(const std::string& dir, uint16_t label);

// Whether a child other than `except` is registered (a kids/ name that is not a killed
// writer's temporary counts), without listing the whole directory: the scan stops at the
// first one, and removes the temporaries it meets (callers hold the registry lock).
// false when kids/ is not there. A release and a creation ask this with thousands of
// siblings, and listing kids/ each time made collecting them quadratic.
Result<bool> any_other_kid(const std::string& dir, std::optional<uint16_t> except);

// Enough of label's siblings to tell which rules of its reply path (reply_tree.hpp) no
// sibling shares: reply_path_unshared gives with them what it gives with every sibling.
// The labels next to label's, which share the deepest prefixes with it, are looked up one
// by one, nearest block first; only when the nearest 64 labels have no child is kids/
// listed (with thousands of children that is rare; with few, listing is cheap).
Result<std::vector<uint16_t>> siblings_on_path(const std::string& dir, uint16_t label);

// Removes the slots of a parent state being forgotten or torn down.
void forget_tables(const std::string& dir);

}  // namespace personalnet::space
