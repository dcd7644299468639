#include "lib/space/reply_tables.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>
#include <vector>

#include "lib/core/fd.hpp"
#include "lib/core/sys.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/addressing.hpp"

namespace personalnet::space {

namespace {

constexpr uint32_t kSlotTableTag = 0x51000000;
constexpr uint32_t kMaxSlot = 0xffff;  // a parent has at most one child per label

std::optional<uint32_t> parse_u32(std::string_view text) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

std::optional<uint32_t> slot_of_table(uint32_t table) {
    if ((table & 0xff000000U) != kSlotTableTag) return std::nullopt;
    uint32_t slot = (table >> 8U) & kMaxSlot;
    if (slot == 0 || table_of_slot(slot) != table) return std::nullopt;
    return slot;
}

std::string tables_dir(const std::string& dir) { return dir + "/tables"; }
std::string slot_path(const std::string& dir, uint32_t slot) {
    return tables_dir(dir) + "/" + std::to_string(slot);
}
std::string kid_path(const std::string& dir, uint16_t label) {
    return dir + "/kids/" + registry::label_hex(label);
}

// Whether the slot's file names label.
bool holds_slot(const std::string& dir, uint32_t slot, uint16_t label) {
    auto holder = sys::read_file(slot_path(dir, slot));
    return holder.ok() && holder.value() == registry::label_hex(label);
}

}  // namespace

uint32_t table_of_slot(uint32_t slot) { return kSlotTableTag | (slot << 8U) | (slot % 251U); }

bool is_slot_table(uint32_t table) { return slot_of_table(table).has_value(); }

std::string format_kid(const KidEntry& kid) { return kid.cookie + " " + std::to_string(kid.table); }

std::optional<KidEntry> parse_kid(const std::string& text, uint16_t label) {
    auto space = text.find(' ');
    if (space == std::string::npos) {
        if (!parse_u32(text) && !text.empty()) return std::nullopt;
        return KidEntry{text, legacy_table_of(label)};
    }
    auto table = parse_u32(std::string_view(text).substr(space + 1));
    if (!table || !slot_of_table(*table)) return std::nullopt;
    return KidEntry{text.substr(0, space), *table};
}

Result<uint32_t> register_kid(const std::string& dir, uint16_t label, const std::string& cookie) {
    if (auto known = registered_kid(dir, label); known && known->holds_table && known->entry.cookie == cookie)
        return known->entry.table;
    PN_TRY(sys::make_dirs(tables_dir(dir), 0755), "register child: create " + tables_dir(dir));
    auto names = sys::list_dir(tables_dir(dir));
    if (!names.ok()) return names.error().wrap("register child");
    std::vector<bool> taken(kMaxSlot + 1, false);
    for (const auto& n : names.value())
        if (auto slot = parse_u32(n); slot && *slot >= 1 && *slot <= kMaxSlot) taken[*slot] = true;
    uint32_t slot = 1;
    while (slot <= kMaxSlot && taken[slot]) ++slot;
    if (slot > kMaxSlot)
        return make_error(ENOSPC, "register child: every reply table slot of " + dir + " is taken");
    const uint32_t table = table_of_slot(slot);
    // The kid first: killed before the slot is written, the kid holds none (see the header).
    PN_TRY(sys::write_atomic(kid_path(dir, label), format_kid(KidEntry{cookie, table})), "register child");
    PN_TRY(sys::write_atomic(slot_path(dir, slot), registry::label_hex(label)),
           "register child's reply table");
    return table;
}

std::optional<RegisteredKid> registered_kid(const std::string& dir, uint16_t label) {
    auto text = sys::read_file(kid_path(dir, label));
    if (!text.ok()) return std::nullopt;
    auto entry = parse_kid(text.value(), label);
    if (!entry) return std::nullopt;
    auto slot = slot_of_table(entry->table);
    // An earlier version's table is the label's alone: nobody else's routes are in it.
    bool holds = !slot || holds_slot(dir, *slot, label);
    return RegisteredKid{*entry, holds};
}

void unregister_kid(const std::string& dir, uint16_t label) {
    if (auto kid = registered_kid(dir, label); kid && kid->holds_table)
        if (auto slot = slot_of_table(kid->entry.table)) (void)::unlink(slot_path(dir, *slot).c_str());
    (void)::unlink(kid_path(dir, label).c_str());
}

Result<bool> any_other_kid(const std::string& dir, std::optional<uint16_t> except) {
    return sys::any_entry(dir + "/kids", [&](int kids, const char* name) {
        if (std::string_view(name).find(".tmp.") != std::string_view::npos) {
            (void)::unlinkat(kids, name, 0);
            return false;
        }
        auto l = registry::parse_label_hex(name);
        return !(l && except && *l == *except);
    });
}

Result<std::vector<uint16_t>> siblings_on_path(const std::string& dir, uint16_t label) {
    const std::string kids = dir + "/kids";
    UniqueFd fd(::open(kids.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT) return std::vector<uint16_t>{};
        return errno_error("open " + kids);
    }
    // The labels that share label's top 14, then 12, then 10 bits (3 levels of the tree,
    // 63 lookups at most): the first sibling found shares the deepest prefix any does, so
    // it alone decides reply_path_unshared, as the full list would.
    constexpr unsigned kProbedLevels = 3;
    uint32_t done_lo = label, done_hi = label;  // the labels looked at: [done_lo, done_hi]
    for (unsigned level = 1; level <= kProbedLevels; ++level) {
        const uint32_t span = 1U << (kReplyTreeBits * level);
        const uint32_t lo = label & ~(span - 1), hi = lo + span - 1;
        for (uint32_t l = lo; l <= hi; ++l) {
            if (l >= done_lo && l <= done_hi) continue;
            const auto hex = registry::label_hex(static_cast<uint16_t>(l));
            if (::faccessat(fd.get(), hex.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return std::vector<uint16_t>{static_cast<uint16_t>(l)};
        }
        done_lo = lo;
        done_hi = hi;
    }
    auto names = sys::list_dir(kids);
    if (!names.ok()) return names.error();
    std::vector<uint16_t> out;
    for (const auto& n : names.value())
        if (auto l = registry::parse_label_hex(n); l && *l != label) out.push_back(*l);
    return out;
}

void forget_tables(const std::string& dir) {
    if (auto names = sys::list_dir(tables_dir(dir)); names.ok())
        for (const auto& n : names.value()) (void)::unlink((tables_dir(dir) + "/" + n).c_str());
    sys::remove_stale_temps(tables_dir(dir));
    (void)::rmdir(tables_dir(dir).c_str());
}

}  // namespace personalnet::space
