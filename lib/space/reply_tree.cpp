#include "lib/space/reply_tree.hpp"

#include <algorithm>

#include "lib/space/addressing.hpp"

namespace personalnet::space {

namespace {

constexpr unsigned kLabelBits = 16;

// The bits of label that the first `levels` levels have decided.
uint32_t top_bits(uint16_t label, unsigned levels) {
    return levels == 0 ? 0U : static_cast<uint32_t>(label) >> (kLabelBits - kReplyTreeBits * levels);
}

// Where the block of the labels sharing their top `levels` digits with label starts: the
// blocks of each level follow those of the one above (1, 4, 16, ... of them).
uint32_t block_pref(uint16_t label, unsigned levels) {
    uint32_t before = 0;
    for (unsigned l = 0; l < levels; ++l) before += 1U << (kReplyTreeBits * l);
    return kRulePrefTree + before + top_bits(label, levels);
}

// The rule at `level` of label's path: picks the block of one more digit.
netlink::Rule interior(int family, uint16_t label, unsigned level) {
    const unsigned decided = kReplyTreeBits * (level + 1);
    const uint32_t low = 0xffffU >> decided;  // the bits not yet decided
    netlink::Rule r;
    r.family = family;
    r.priority = block_pref(label, level);
    r.fwmark = mark_of(static_cast<uint16_t>(label & ~low));
    r.fwmask = ~low;
    r.goto_priority = block_pref(label, level + 1);
    return r;
}

}  // namespace

static_assert(kLabelBits % kReplyTreeBits == 0);
static_assert(kRulePrefTreeEnd == kRulePrefTree + ((1U << (kReplyTreeBits * kReplyTreeLevels)) - 1) / 3,
              "the tree's end follows its last block (the sum of 4^k for 2 bits a level)");

netlink::Rule mark_tag_goto(int family, uint32_t pref, uint32_t target, bool unmarked) {
    netlink::Rule r;
    r.family = family;
    r.priority = pref;
    r.fwmark = kMarkTag;
    r.fwmask = kMarkTagMask;
    r.invert = unmarked;
    r.goto_priority = target;
    return r;
}

std::array<netlink::Rule, 3> reply_tree_frame(int family) {
    netlink::Rule jump = mark_tag_goto(family, kRulePrefChild, kRulePrefTree, false);
    netlink::Rule gate = mark_tag_goto(family, kRulePrefTreeGate, kRulePrefTreeEnd, true);
    netlink::Rule end;
    end.family = family;
    end.priority = kRulePrefTreeEnd;
    end.nop = true;
    return {jump, gate, end};
}

std::array<netlink::Rule, kReplyTreeLevels> reply_path(int family, uint16_t label, uint32_t table) {
    std::array<netlink::Rule, kReplyTreeLevels> path;
    for (unsigned level = 0; level + 1 < kReplyTreeLevels; ++level)
        path[level] = interior(family, label, level);
    netlink::Rule& leaf = path.back();
    leaf.family = family;
    leaf.priority = block_pref(label, kReplyTreeLevels - 1);
    leaf.fwmark = mark_of(label);
    leaf.table = table;
    return path;
}

std::vector<netlink::Rule> reply_path_unshared(int family, uint16_t label, uint32_t table,
                                               const std::vector<uint16_t>& others) {
    auto path = reply_path(family, label, table);
    std::vector<netlink::Rule> out{path.back()};
    // The rule at a level is shared with another label whose top digits up to and
    // including that level's are the same; then so are the rules above it.
    for (unsigned level = kReplyTreeLevels - 1; level-- > 0;) {
        bool shared = std::any_of(others.begin(), others.end(), [&](uint16_t o) {
            return o != label && top_bits(o, level + 1) == top_bits(label, level + 1);
        });
        if (shared) break;
        out.push_back(path[level]);
    }
    return out;
}

}  // namespace personalnet::space
