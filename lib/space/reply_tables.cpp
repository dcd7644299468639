#include "lib/space/reply_tables.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <vector>

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

void forget_tables(const std::string& dir) {
    if (auto names = sys::list_dir(tables_dir(dir)); names.ok())
        for (const auto& n : names.value()) (void)::unlink((tables_dir(dir) + "/" + n).c_str());
    sys::remove_stale_temps(tables_dir(dir));
    (void)::rmdir(tables_dir(dir).c_str());
}

}  // namespace personalnet::space
