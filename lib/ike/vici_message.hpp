// ViciMessage: the message tree of strongSwan's VICI protocol, as a plain value.
//
// A message is an ordered sequence of entries: key/values (binary-safe values),
// lists of values, and named sub-sections, each itself a ViciMessage. Order is kept
// because charon gives it meaning in places (the order of auth rounds, proposals).
// The wire format is the one of strongSwan's src/libcharon/plugins/vici/README.md:
// 8-bit element types, names with an 8-bit length, values with a 16-bit big-endian
// length.
//
// decode() is meant for bytes from a peer that may be broken or hostile: it checks
// every length against the input, limits nesting, and refuses unknown element types,
// unbalanced sections or lists, and bytes after the last element, all with EBADMSG.
// It accepts duplicate names (the protocol forbids them, charon never sends them,
// and refusing them would only lose data); lookups return the first match.
//
// Not thread-safe; copy freely (a deep copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::ike {

class ViciMessage {
public:
    // Longest name an element can carry (8-bit length) and longest value (16-bit).
    static constexpr size_t kMaxName = 0xff;
    static constexpr size_t kMaxValue = 0xffff;
    // Sections deeper than this are refused by decode() and encode(). charon's own
    // messages nest four or five levels (list-sa: IKE_SA, child-sas, CHILD_SA).
    static constexpr int kMaxDepth = 32;

    enum class Kind : uint8_t { kValue, kList, kSection };

    struct Entry {
        Kind kind = Kind::kValue;
        std::string name;
        std::string value;                     // kValue
        std::vector<std::string> items;        // kList
        std::unique_ptr<ViciMessage> section;  // kSection, never null for it

        Entry() = default;
        Entry(const Entry& o);
        Entry& operator=(const Entry& o);
        Entry(Entry&&) noexcept = default;
        Entry& operator=(Entry&&) noexcept = default;
        ~Entry() = default;
    };

    ViciMessage() = default;

    // --- Building. Names and values are not checked here; encode() reports what
    // does not fit the wire format, so building code stays a plain sequence of calls.

    // Sets key to value, replacing an earlier value of key (keys are unique).
    ViciMessage& set(std::string_view key, std::string_view value);
    // Sets key to a list, replacing an earlier list of that name.
    ViciMessage& set_list(std::string_view key, std::vector<std::string> items);
    // Appends item to the list key, creating the list if needed.
    ViciMessage& append(std::string_view key, std::string_view item);
    // Returns the sub-section name, created empty at the end if absent. The reference
    // stays valid while this message lives (sections are held by pointer).
    ViciMessage& section(std::string_view name);
    // Adds (or replaces) the sub-section name with a copy of content; returns *this.
    ViciMessage& set_section(std::string_view name, ViciMessage content);

    // --- Reading.

    const std::vector<Entry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

    // The value of key in this section, or null if absent (or not a key/value).
    const std::string* find(std::string_view key) const;
    // The same along a path: sections first, the key last ({"conn", "local", "id"}).
    const std::string* find(std::initializer_list<std::string_view> path) const;
    // The value, or fallback when absent.
    std::string get(std::string_view key, std::string_view fallback = {}) const;
    std::string get(std::initializer_list<std::string_view> path, std::string_view fallback = {}) const;
    // True when key's value is "yes" (VICI's boolean).
    bool is_yes(std::string_view key) const;

    // The list key in this section, or null.
    const std::vector<std::string>* find_list(std::string_view key) const;
    // The list's items, empty when absent.
    std::vector<std::string> list(std::string_view key) const;

    // The sub-section name (or along a path of names), or null.
    const ViciMessage* find_section(std::string_view name) const;
    const ViciMessage* find_section(std::initializer_list<std::string_view> path) const;

    // --- Wire format.

    // The encoded bytes. EMSGSIZE when a name or value is too long, ELOOP when sections
    // nest deeper than kMaxDepth.
    Result<std::string> encode() const;
    // Parses bytes strictly (see the file comment); EBADMSG with the offset on failure.
    static Result<ViciMessage> decode(std::string_view bytes);

    // Human-readable form in the README's pseudo-markup, for logs and test failures.
    // Non-printable bytes in values are shown as \xNN.
    std::string dump() const;

    bool operator==(const ViciMessage& o) const;

private:
    Entry* find_entry(std::string_view name, Kind kind);
    const Entry* find_entry(std::string_view name, Kind kind) const;
    Status encode_into(std::string& out, int depth) const;
    void dump_into(std::string& out, int indent) const;

    std::vector<Entry> entries_;
};

}  // namespace personalnet::ike
