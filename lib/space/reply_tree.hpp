// The policy-routing rules that steer a marked reply to the child it belongs to, in a
// number of rule checks bounded by the label's width, not by the number of children.
//
// The kernel walks fib rules one after another and has no rule that takes its table from
// the mark, so one `fwmark 0x5000LLLL lookup 0x5000LLLL` rule per child (what a parent
// had before) costs a marked reply one check per older sibling. Instead the rules form a
// tree of `goto`s on the label's hexadecimal digits, each level a block of at most 16
// rules at a pref of its own:
//
//   pref 10           fwmark 0x50000000/0xff000000   goto 40000   (the jump)
//   pref 39999        not fwmark 0x50000000/0xff000000 goto 44369 (the tree gate)
//   pref 40000        fwmark 0x5000D000/0xfffff000   goto 40001+D
//   pref 40001+D      fwmark 0x5000DD00/0xffffff00   goto 40017+DD
//   pref 40017+DD     fwmark 0x5000DDD0/0xfffffff0   goto 40273+DDD
//   pref 40273+DDD    fwmark 0x5000LLLL              lookup 0x5000LLLL (the leaf)
//   pref 44369        nop                                          (the tree's end)
//
// A marked reply checks at most 1 + 4 x 16 rules. The tree sits after the main and
// default tables (32766, 32767) so that it is never in the path of unmarked traffic,
// which the gate at pref 9 sends to the local table at 100 and which reaches the tree
// gate only when nothing routed it; the gate then skips the tree to its end, so a rule
// an administrator put after the tree still applies. Interior rules are shared by the
// children under them: added with the first, removed with the last.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "lib/netlink/netlink.hpp"

namespace personalnet::space {

// The rules that exist once per parent and family: the jump, the tree gate, the end.
std::array<netlink::Rule, 3> reply_tree_frame(int family);
// The rules on label's path from the root of the tree: three interior levels, the leaf.
std::array<netlink::Rule, 4> reply_path(int family, uint16_t label);
// The rules of label's path that no label in others has on its path (what removing
// label's child removes), leaf first.
std::vector<netlink::Rule> reply_path_unshared(int family, uint16_t label,
                                               const std::vector<uint16_t>& others);

}  // namespace personalnet::space
