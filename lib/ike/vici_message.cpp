#include "lib/ike/vici_message.hpp"

#include <cerrno>
#include <cstdio>

namespace personalnet::ike {

namespace {

// Element types of the message encoding (README "Message format").
enum Element : uint8_t {
    kSectionStart = 1,
    kSectionEnd = 2,
    kKeyValue = 3,
    kListStart = 4,
    kListItem = 5,
    kListEnd = 6,
};

// Names in error messages are cut short: they come from the peer and may be long
// binary junk.
std::string quoted(std::string_view name) {
    std::string out = "'";
    for (size_t i = 0; i < name.size() && i < 64; ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (name.size() > 64) out += "...";
    return out + "'";
}

// Bounds-checked reader over the input; every read either succeeds whole or fails.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool done() const { return pos_ >= in_.size(); }
    size_t pos() const { return pos_; }

    bool byte(uint8_t& out) {
        if (in_.size() - pos_ < 1) return false;
        out = static_cast<uint8_t>(in_[pos_++]);
        return true;
    }
    bool name(std::string& out) {
        uint8_t len = 0;
        if (!byte(len) || in_.size() - pos_ < len) return false;
        out.assign(in_.substr(pos_, len));
        pos_ += len;
        return true;
    }
    bool value(std::string& out) {
        if (in_.size() - pos_ < 2) return false;
        size_t len =
            (static_cast<size_t>(static_cast<uint8_t>(in_[pos_])) << 8) | static_cast<uint8_t>(in_[pos_ + 1]);
        pos_ += 2;
        if (in_.size() - pos_ < len) return false;
        out.assign(in_.substr(pos_, len));
        pos_ += len;
        return true;
    }

private:
    std::string_view in_;
    size_t pos_ = 0;
};

Error bad(size_t offset, const std::string& what) {
    return make_error(EBADMSG, "vici message: offset " + std::to_string(offset) + ": " + what);
}

Status put_name(std::string& out, std::string_view name) {
    if (name.size() > ViciMessage::kMaxName)
        return make_error(EMSGSIZE, "vici name " + quoted(name) + " longer than 255 bytes");
    out += static_cast<char>(name.size());
    out += name;
    return {};
}

Status put_value(std::string& out, std::string_view name, std::string_view value) {
    if (value.size() > ViciMessage::kMaxValue)
        return make_error(EMSGSIZE, "vici value of " + quoted(name) + " longer than 65535 bytes");
    out += static_cast<char>(value.size() >> 8);
    out += static_cast<char>(value.size() & 0xff);
    out += value;
    return {};
}

void dump_value(std::string& out, std::string_view v) {
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += ch;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
}

}  // namespace

ViciMessage::Entry::Entry(const Entry& o)
    : kind(o.kind),
      name(o.name),
      value(o.value),
      items(o.items),
      section(o.section ? std::make_unique<ViciMessage>(*o.section) : nullptr) {}

ViciMessage::Entry& ViciMessage::Entry::operator=(const Entry& o) {
    if (this != &o) *this = Entry(o);
    return *this;
}

ViciMessage::Entry* ViciMessage::find_entry(std::string_view name, Kind kind) {
    for (auto& e : entries_)
        if (e.kind == kind && e.name == name) return &e;
    return nullptr;
}

const ViciMessage::Entry* ViciMessage::find_entry(std::string_view name, Kind kind) const {
    for (const auto& e : entries_)
        if (e.kind == kind && e.name == name) return &e;
    return nullptr;
}

ViciMessage& ViciMessage::set(std::string_view key, std::string_view value) {
    if (Entry* e = find_entry(key, Kind::kValue)) {
        e->value.assign(value);
        return *this;
    }
    Entry e;
    e.kind = Kind::kValue;
    e.name.assign(key);
    e.value.assign(value);
    entries_.push_back(std::move(e));
    return *this;
}

ViciMessage& ViciMessage::set_list(std::string_view key, std::vector<std::string> items) {
    if (Entry* e = find_entry(key, Kind::kList)) {
        e->items = std::move(items);
        return *this;
    }
    Entry e;
    e.kind = Kind::kList;
    e.name.assign(key);
    e.items = std::move(items);
    entries_.push_back(std::move(e));
    return *this;
}

ViciMessage& ViciMessage::append(std::string_view key, std::string_view item) {
    if (Entry* e = find_entry(key, Kind::kList)) {
        e->items.emplace_back(item);
        return *this;
    }
    return set_list(key, {std::string(item)});
}

ViciMessage& ViciMessage::section(std::string_view name) {
    if (Entry* e = find_entry(name, Kind::kSection)) return *e->section;
    Entry e;
    e.kind = Kind::kSection;
    e.name.assign(name);
    e.section = std::make_unique<ViciMessage>();
    entries_.push_back(std::move(e));
    return *entries_.back().section;
}

ViciMessage& ViciMessage::set_section(std::string_view name, ViciMessage content) {
    section(name) = std::move(content);
    return *this;
}

const std::string* ViciMessage::find(std::string_view key) const {
    const Entry* e = find_entry(key, Kind::kValue);
    return e ? &e->value : nullptr;
}

const std::string* ViciMessage::find(std::initializer_list<std::string_view> path) const {
    if (path.size() == 0) return nullptr;
    const ViciMessage* m = this;
    auto last = path.end() - 1;
    for (auto it = path.begin(); it != last && m != nullptr; ++it) m = m->find_section(*it);
    return m ? m->find(*last) : nullptr;
}

std::string ViciMessage::get(std::string_view key, std::string_view fallback) const {
    const std::string* v = find(key);
    return v ? *v : std::string(fallback);
}

std::string ViciMessage::get(std::initializer_list<std::string_view> path, std::string_view fallback) const {
    const std::string* v = find(path);
    return v ? *v : std::string(fallback);
}

bool ViciMessage::is_yes(std::string_view key) const {
    const std::string* v = find(key);
    return v && *v == "yes";
}

const std::vector<std::string>* ViciMessage::find_list(std::string_view key) const {
    const Entry* e = find_entry(key, Kind::kList);
    return e ? &e->items : nullptr;
}

std::vector<std::string> ViciMessage::list(std::string_view key) const {
    const auto* l = find_list(key);
    return l ? *l : std::vector<std::string>{};
}

const ViciMessage* ViciMessage::find_section(std::string_view name) const {
    const Entry* e = find_entry(name, Kind::kSection);
    return e ? e->section.get() : nullptr;
}

const ViciMessage* ViciMessage::find_section(std::initializer_list<std::string_view> path) const {
    const ViciMessage* m = this;
    for (auto it = path.begin(); it != path.end() && m != nullptr; ++it) m = m->find_section(*it);
    return m;
}

Status ViciMessage::encode_into(std::string& out, int depth) const {
    for (const auto& e : entries_) {
        switch (e.kind) {
            case Kind::kValue:
                out += static_cast<char>(kKeyValue);
                PN_TRY(put_name(out, e.name), "");
                PN_TRY(put_value(out, e.name, e.value), "");
                break;
            case Kind::kList:
                out += static_cast<char>(kListStart);
                PN_TRY(put_name(out, e.name), "");
                for (const auto& item : e.items) {
                    out += static_cast<char>(kListItem);
                    PN_TRY(put_value(out, e.name, item), "");
                }
                out += static_cast<char>(kListEnd);
                break;
            case Kind::kSection:
                if (depth + 1 > kMaxDepth)
                    return make_error(ELOOP, "vici section " + quoted(e.name) + " nested deeper than " +
                                                 std::to_string(kMaxDepth));
                out += static_cast<char>(kSectionStart);
                PN_TRY(put_name(out, e.name), "");
                PN_TRY(e.section->encode_into(out, depth + 1), "");
                out += static_cast<char>(kSectionEnd);
                break;
        }
    }
    return {};
}

Result<std::string> ViciMessage::encode() const {
    std::string out;
    PN_TRY(encode_into(out, 0), "encode vici message");
    return out;
}

// Iterative, so a hostile input cannot use the recursion as a stack-depth attack; the
// depth limit still applies because the tree's destructor and dump() do recurse.
Result<ViciMessage> ViciMessage::decode(std::string_view bytes) {
    ViciMessage root;
    std::vector<std::pair<ViciMessage*, std::string>> open{{&root, {}}};  // sections, innermost last
    Entry* list = nullptr;  // the open list: nothing else is added to its section meanwhile
    Reader r(bytes);
    while (!r.done()) {
        size_t at = r.pos();
        uint8_t type = 0;
        (void)r.byte(type);
        ViciMessage& cur = *open.back().first;
        if (list != nullptr && type != kListItem && type != kListEnd)
            return bad(at, "element type " + std::to_string(type) + " inside list " + quoted(list->name));
        Entry e;
        switch (type) {
            case kSectionStart:
                if (!r.name(e.name)) return bad(at, "truncated section name");
                if (static_cast<int>(open.size()) > kMaxDepth)
                    return bad(
                        at, "section " + quoted(e.name) + " nested deeper than " + std::to_string(kMaxDepth));
                e.kind = Kind::kSection;
                e.section = std::make_unique<ViciMessage>();
                cur.entries_.push_back(std::move(e));
                open.emplace_back(cur.entries_.back().section.get(), cur.entries_.back().name);
                break;
            case kSectionEnd:
                if (open.size() == 1) return bad(at, "section end without an open section");
                open.pop_back();
                break;
            case kKeyValue:
                if (!r.name(e.name)) return bad(at, "truncated key name");
                if (!r.value(e.value)) return bad(at, "truncated value of key " + quoted(e.name));
                e.kind = Kind::kValue;
                cur.entries_.push_back(std::move(e));
                break;
            case kListStart:
                if (!r.name(e.name)) return bad(at, "truncated list name");
                e.kind = Kind::kList;
                cur.entries_.push_back(std::move(e));
                list = &cur.entries_.back();
                break;
            case kListItem: {
                if (list == nullptr) return bad(at, "list item outside a list");
                std::string item;
                if (!r.value(item)) return bad(at, "truncated item of list " + quoted(list->name));
                list->items.push_back(std::move(item));
                break;
            }
            case kListEnd:
                if (list == nullptr) return bad(at, "list end without an open list");
                list = nullptr;
                break;
            default:
                return bad(at, "unknown element type " + std::to_string(type));
        }
    }
    if (list != nullptr) return bad(r.pos(), "list " + quoted(list->name) + " not closed");
    if (open.size() > 1) return bad(r.pos(), "section " + quoted(open.back().second) + " not closed");
    return root;
}

void ViciMessage::dump_into(std::string& out, int indent) const {
    std::string pad(static_cast<size_t>(indent) * 2, ' ');
    for (const auto& e : entries_) {
        out += pad;
        dump_value(out, e.name);
        switch (e.kind) {
            case Kind::kValue:
                out += " = ";
                dump_value(out, e.value);
                out += '\n';
                break;
            case Kind::kList:
                out += " = [";
                for (size_t i = 0; i < e.items.size(); ++i) {
                    out += i == 0 ? " " : ", ";
                    dump_value(out, e.items[i]);
                }
                out += " ]\n";
                break;
            case Kind::kSection:
                out += " {\n";
                e.section->dump_into(out, indent + 1);
                out += pad + "}\n";
                break;
        }
    }
}

std::string ViciMessage::dump() const {
    std::string out;
    dump_into(out, 0);
    return out;
}

bool ViciMessage::operator==(const ViciMessage& o) const {
    if (entries_.size() != o.entries_.size()) return false;
    for (size_t i = 0; i < entries_.size(); ++i) {
        const Entry& a = entries_[i];
        const Entry& b = o.entries_[i];
        if (a.kind != b.kind || a.name != b.name || a.value != b.value || a.items != b.items) return false;
        if (a.kind == Kind::kSection && !(*a.section == *b.section)) return false;
    }
    return true;
}

}  // namespace personalnet::ike
