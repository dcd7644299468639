// The policy-routing rules that steer a marked reply to the child it belongs to, in a
// number of rule checks bounded by the label's width, not by the number of children.
//
// The kernel walks fib rules one after another and has no rule that takes its table from
// the mark, so one `fwmark 0x5000LLLL lookup 0x5000LLLL` rule per child (what a parent
// had before) costs a marked reply one check per older sibling. Instead the rules form a
// tree of `goto`s that decides the label two bits at a time, each level a block of at
// most 4 rules at a pref of its own (kReplyTreeBits, kReplyTreeLevels):
//
//   pref 10            fwmark 0x50000000/0xff000000    goto 40000   (the jump)
//   pref 39999         not fwmark 0x50000000/0xff000000 goto 61845  (the tree gate)
//   pref 40000         fwmark 0x5000X000/0xffffc000    goto 40001+(L>>14)
//   pref 40001+(L>>14) fwmark .../0xfffff000           goto 40005+(L>>12)
//   ...                (8 levels in all; level k's blocks follow the 4^(k-1) above)
//   pref 45461+(L>>2)  fwmark 0x5000LLLL               lookup T (the leaf: the child's table)
//   pref 61845         nop                                           (the tree's end)
//
// A marked reply checks at most 1 + 8 x 4 rules. Two bits a level rather than four:
// with hundreds of children (random labels) the upper levels are full, and a full level
// of 16 costs 8.5 checks on average against 2.5 for 4, so the newest of 1000 children
// walks about 20 rules instead of 30, against 9 rather than 5 for a parent with few.
//
// The tree sits after the main and default tables (32766, 32767) so that it is never in
// the path of unmarked traffic, which the gate at pref 9 sends to the local table at 100
// and which reaches the tree gate only when nothing routed it; the gate then skips the
// tree to its end, so a rule an administrator put after the tree still applies. Interior
// rules are shared by the children under them: added with the first, removed with the
// last.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "lib/netlink/netlink.hpp"
#include "lib/space/addressing.hpp"

namespace personalnet::space {

// A rule at pref that sends packets with a personalnet mark (unmarked: those without
// one) to the rules at target: the parent's gate at pref 9, the tree's jump and gate.
netlink::Rule mark_tag_goto(int family, uint32_t pref, uint32_t target, bool unmarked);
// The rules that exist once per parent and family: the jump, the tree gate, the end.
std::array<netlink::Rule, 3> reply_tree_frame(int family);
// The rules on label's path from the root of the tree: the interior levels, and the leaf,
// which looks up table (lib/space/reply_tables.hpp).
std::array<netlink::Rule, kReplyTreeLevels> reply_path(int family, uint16_t label, uint32_t table);
// The rules of label's path that no label in others has on its path (what removing
// label's child removes), leaf first.
std::vector<netlink::Rule> reply_path_unshared(int family, uint16_t label, uint32_t table,
                                               const std::vector<uint16_t>& others);

}  // namespace personalnet::space
