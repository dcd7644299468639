#include "lib/space/reply_tree.hpp"

#include <algorithm>

#include "lib/space/addressing.hpp"

namespace personalnet::space {

namespace {

// Where the block of the labels sharing the top `digits` hex digits with label starts.
uint32_t block_pref(uint16_t label, int digits) {
    switch (digits) {
        case 0:
            return kRulePrefTree;
        case 1:
            return kRulePrefTree + 1 + (label >> 12U);
        case 2:
            return kRulePrefTree + 1 + 16 + (label >> 8U);
        default:
            return kRulePrefTree + 1 + 16 + 256 + (label >> 4U);
    }
}

// The rule at level `level` (0..2) of label's path: picks the block of one more digit.
netlink::Rule interior(int family, uint16_t label, int level) {
    const uint32_t kept_bits = 4U * static_cast<uint32_t>(level + 1);
    const uint32_t low = 0xffffU >> kept_bits;  // the digits not yet decided
    netlink::Rule r;
    r.family = family;
    r.priority = block_pref(label, level);
    r.fwmark = mark_of(static_cast<uint16_t>(label & ~low));
    r.fwmask = ~low;
    r.goto_priority = block_pref(label, level + 1);
    return r;
}

}  // namespace

std::array<netlink::Rule, 3> reply_tree_frame(int family) {
    netlink::Rule jump;
    jump.family = family;
    jump.priority = kRulePrefChild;
    jump.fwmark = kMarkTag;
    jump.fwmask = kMarkTagMask;
    jump.goto_priority = kRulePrefTree;
    netlink::Rule gate = jump;
    gate.priority = kRulePrefTreeGate;
    gate.invert = true;
    gate.goto_priority = kRulePrefTreeEnd;
    netlink::Rule end;
    end.family = family;
    end.priority = kRulePrefTreeEnd;
    end.nop = true;
    return {jump, gate, end};
}

std::array<netlink::Rule, 4> reply_path(int family, uint16_t label) {
    netlink::Rule leaf;
    leaf.family = family;
    leaf.priority = block_pref(label, 3);
    leaf.fwmark = mark_of(label);
    leaf.table = table_of(label);
    return {interior(family, label, 0), interior(family, label, 1), interior(family, label, 2), leaf};
}

std::vector<netlink::Rule> reply_path_unshared(int family, uint16_t label,
                                               const std::vector<uint16_t>& others) {
    auto path = reply_path(family, label);
    std::vector<netlink::Rule> out{path[3]};
    // Level k is shared with another label that has the same top k+1 digits.
    for (int level = 2; level >= 0; --level) {
        const unsigned shift = 16U - 4U * static_cast<unsigned>(level + 1);
        bool shared = std::any_of(others.begin(), others.end(),
                                  [&](uint16_t o) { return o != label && (o >> shift) == (label >> shift); });
        if (shared) break;  // and so are the levels above it
        out.push_back(path[static_cast<size_t>(level)]);
    }
    return out;
}

}  // namespace personalnet::space
