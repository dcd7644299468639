// Reading the values of a personalnet configuration file (strongSwan settings syntax:
// the policy, pam.conf): every refusal names the source, the key and the value.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "lib/policy/names.hpp"
#include "personalnet/error.hpp"

namespace personalnet::policy {

class SettingsReader {
public:
    explicit SettingsReader(const std::string& where) : where_(where) {}

    Error fail(const std::string& what) const { return make_error(EINVAL, where_ + ": " + what); }
    Error bad(const std::string& key, const std::string& value, const std::string& why) const {
        return fail(key + ": '" + value + "' " + why);
    }

    // Each key and section once: strongSwan would merge or override repeats, which hides
    // which line the administrator meant.
    Status once(const std::string& key, const char* kind) {
        if (!seen_.insert(key).second) return fail(std::string(kind) + " '" + key + "' given twice");
        return {};
    }

    Result<int> number(const std::string& key, const std::string& v, int lo, int hi) const {
        const std::string why =
            "is not a decimal number from " + std::to_string(lo) + " to " + std::to_string(hi);
        // Digits only: no sign, no blanks, no leading zero (which might be read as octal).
        bool digits = !v.empty() && v.size() <= 9 && (v == "0" || v[0] != '0');
        for (unsigned char c : v) digits = digits && std::isdigit(c) != 0;
        int n = 0;
        if (!digits || std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc{} || n < lo ||
            n > hi)
            return bad(key, v, why);
        return n;
    }

    Result<bool> boolean(const std::string& key, const std::string& v) const {
        std::string lower = v;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "yes" || lower == "true" || lower == "1") return true;
        if (lower == "no" || lower == "false" || lower == "0") return false;
        return bad(key, v, "is not yes, no, true, false, 1 or 0");
    }

    Result<std::string> path(const std::string& key, const std::string& v, bool root_ok) const {
        if (!is_clean_path(v))
            return bad(key, v, "is not an absolute path without '.', '..' or empty components");
        if (v == "/" && !root_ok) return bad(key, v, "may not be the root directory");
        return v;
    }

    // A comma-separated list; an empty value is an empty list, an empty item a mistake.
    Result<std::vector<std::string>> list(const std::string& key, const std::string& v) const {
        std::vector<std::string> out;
        if (v.find_first_not_of(" \t") == std::string::npos) return out;
        for (size_t pos = 0;;) {
            size_t end = v.find(',', pos);
            std::string item = v.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
            size_t b = item.find_first_not_of(" \t");
            if (b == std::string::npos) return bad(key, v, "has an empty entry");
            out.push_back(item.substr(b, item.find_last_not_of(" \t") - b + 1));
            if (end == std::string::npos) return out;
            pos = end + 1;
        }
    }

    Result<std::vector<std::string>> names(const std::string& key, const std::string& v) const {
        auto items = list(key, v);
        if (!items.ok()) return items.error();
        for (const auto& n : items.value())
            if (!is_name(n))
                return bad(key, n, "is not a name (want 1-32 of A-Z a-z 0-9 _ . -, not starting with -)");
        return items;
    }

private:
    const std::string& where_;
    std::set<std::string> seen_;
};

}  // namespace personalnet::policy
