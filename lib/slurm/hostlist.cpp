#include "lib/slurm/hostlist.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "lib/core/quote.hpp"

namespace personalnet::slurm {

namespace {

// How much of a bad value an error message quotes: the text comes from the job's
// environment and ends up in slurmd's log.
constexpr size_t kShown = 100;

std::string shown(std::string_view value) { return quoted(std::string(value), kShown); }

Error bad(std::string_view value, const std::string& why) {
    return make_error(EINVAL, "hostlist: " + shown(value) + why);
}

Error too_many(std::string_view item, size_t max_hosts) {
    return bad(item, ": more than " + std::to_string(max_hosts) + " hosts in the list");
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

uint64_t number(std::string_view digits) {
    uint64_t n = 0;
    for (char c : digits) n = n * 10 + static_cast<uint64_t>(c - '0');
    return n;
}

// N or N-M; the numbers are printed at least as wide as N was written.
struct Range {
    uint64_t lo = 0, hi = 0;
    size_t width = 0;
};

// [r1,r2,...]: count is the number of values, longest the widest one printed.
struct Group {
    std::vector<Range> ranges;
    size_t count = 0;
    size_t longest = 0;
};

// words[0] groups[0] words[1] ... groups[n-1] words[n]; words may be empty, except that
// an item without groups is one non-empty word.
struct Item {
    std::vector<std::string> words;
    std::vector<Group> groups;
};

// The items of text at its commas outside brackets. Bracket errors are left to
// parse_item, which names the item: an unclosed '[' takes the rest of text with it.
std::vector<std::string_view> split_items(std::string_view text) {
    std::vector<std::string_view> items;
    size_t depth = 0, start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '[') {
            ++depth;
        } else if (text[i] == ']') {
            if (depth > 0) --depth;
        } else if (text[i] == ',' && depth == 0) {
            items.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    items.push_back(text.substr(start));
    return items;
}

Result<Range> parse_range(std::string_view item, std::string_view r) {
    if (r.empty()) return bad(item, ": empty range");
    const size_t dash = r.find('-');
    const std::string_view lo = r.substr(0, dash);
    const std::string_view hi = dash == std::string_view::npos ? lo : r.substr(dash + 1);
    auto invalid = [&](const std::string& why) {
        return bad(item, ": " + shown(r) + " is not a valid range" + why);
    };
    if (!all_digits(lo) || !all_digits(hi)) return invalid("");
    if (lo.size() > kMaxRangeDigits || hi.size() > kMaxRangeDigits)
        return invalid(": more than " + std::to_string(kMaxRangeDigits) + " digits");
    Range range{number(lo), number(hi), lo.size()};
    if (range.hi < range.lo) return invalid(": it ends before it starts");
    return range;
}

// The text between '[' and ']'. Fails as soon as the group alone has more than max_hosts
// values, so that its count cannot overflow.
Result<Group> parse_group(std::string_view item, std::string_view body, size_t max_hosts) {
    Group g;
    size_t start = 0;
    for (;;) {
        const size_t comma = body.find(',', start);
        auto r =
            parse_range(item, body.substr(start, comma == std::string_view::npos ? comma : comma - start));
        if (!r.ok()) return r.error();
        const Range& range = r.value();
        const uint64_t values = range.hi - range.lo + 1;
        if (values > max_hosts - g.count) return too_many(item, max_hosts);
        g.count += static_cast<size_t>(values);
        g.longest = std::max({g.longest, range.width, std::to_string(range.hi).size()});
        g.ranges.push_back(range);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return g;
}

Result<Item> parse_item(std::string_view item, size_t max_hosts) {
    Item it;
    it.words.emplace_back();
    size_t i = 0;
    while (i < item.size()) {
        const char c = item[i];
        if (c == '[') {
            const size_t close = item.find_first_of("[]", i + 1);
            if (close == std::string_view::npos) return bad(item, ": '[' is not closed");
            if (item[close] == '[') return bad(item, ": brackets are nested");
            auto g = parse_group(item, item.substr(i + 1, close - i - 1), max_hosts);
            if (!g.ok()) return g.error();
            it.groups.push_back(std::move(g.value()));
            it.words.emplace_back();
            i = close + 1;
        } else if (c == ']') {
            return bad(item, ": ']' closes no '['");
        } else if (!host_char(c)) {
            return bad(item, ": " + shown(std::string_view(&item[i], 1)) + " is not allowed in a host name");
        } else {
            it.words.back() += c;
            ++i;
        }
    }
    // The longest name the item makes: its words and each group's widest value.
    size_t longest = 0;
    for (const auto& w : it.words) longest += w.size();
    for (const auto& g : it.groups) longest += g.longest;
    if (longest > kMaxHostName)
        return bad(item, ": host names longer than " + std::to_string(kMaxHostName) + " characters");
    return it;
}

// A group's values as printed, in order.
std::vector<std::string> values_of(const Group& g) {
    std::vector<std::string> values;
    values.reserve(g.count);
    for (const auto& r : g.ranges)
        for (uint64_t v = r.lo; v <= r.hi; ++v) {
            std::string digits = std::to_string(v);
            if (digits.size() < r.width) digits.insert(0, r.width - digits.size(), '0');
            values.push_back(std::move(digits));
        }
    return values;
}

// Appends the item's names: the cartesian product of its groups in Slurm's order. The
// last group varies fastest, then the first, the second, ... up to the last but one,
// which varies slowest: "a[1-2]b[1-2]c[1-2]" is a1b1c1 a1b1c2 a2b1c1 a2b1c2 a1b2c1 ...
// (Slurm expands the last group as the item's range and the ones before it from right to
// left, each inside the one after it). With two groups, the leftmost varies slowest.
void expand_item(const Item& it, std::vector<std::string>& out) {
    std::vector<std::vector<std::string>> values;
    values.reserve(it.groups.size());
    for (const auto& g : it.groups) values.push_back(values_of(g));
    // The groups from the fastest to the slowest.
    std::vector<size_t> order;
    if (!values.empty()) {
        order.push_back(values.size() - 1);
        for (size_t k = 0; k + 1 < values.size(); ++k) order.push_back(k);
    }
    std::vector<size_t> at(values.size(), 0);
    for (bool done = false; !done;) {
        std::string name = it.words[0];
        for (size_t k = 0; k < values.size(); ++k) {
            name += values[k][at[k]];
            name += it.words[k + 1];
        }
        out.push_back(std::move(name));
        done = true;
        for (size_t k : order) {
            if (++at[k] < values[k].size()) {
                done = false;
                break;
            }
            at[k] = 0;
        }
    }
}

}  // namespace

Result<std::vector<std::string>> expand_hostlist(const std::string& text, size_t max_hosts) {
    if (text.empty()) return bad(text, " names no host");
    // Everything is parsed and counted before the first name is made.
    std::vector<Item> items;
    size_t total = 0;
    for (std::string_view s : split_items(text)) {
        if (s.empty()) return bad(text, " has an empty item");
        auto it = parse_item(s, max_hosts);
        if (!it.ok()) return it.error();
        size_t names = 1;
        for (const auto& g : it->groups) {
            if (g.count > (max_hosts - total) / names) return too_many(s, max_hosts);
            names *= g.count;
        }
        if (names > max_hosts - total) return too_many(s, max_hosts);
        total += names;
        items.push_back(std::move(it.value()));
    }

    std::vector<std::string> hosts;
    hosts.reserve(total);
    for (const auto& it : items) expand_item(it, hosts);

    std::unordered_set<std::string_view> seen;
    seen.reserve(hosts.size());
    for (const auto& h : hosts)
        if (!seen.insert(h).second) return bad(h, " is named twice");
    return hosts;
}

}  // namespace personalnet::slurm
