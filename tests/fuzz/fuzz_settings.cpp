#include <string>

#include "lib/ike/settings.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

// Prints a tree in the settings syntax with every value quoted, the one form that can hold
// any value (newlines, '#', '}', leading or trailing blanks).
void print(const ike::Settings& s, std::string& out) {
    for (const auto& [key, value] : s.values) {
        out += key + " = \"";
        for (char c : value) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += "\"\n";
    }
    for (const auto& sec : s.sections) {
        out += sec.name + " {\n";
        print(sec.body, out);
        out += "}\n";
    }
}

bool same(const ike::Settings& a, const ike::Settings& b) {
    if (a.values != b.values || a.sections.size() != b.sections.size()) return false;
    for (size_t i = 0; i < a.sections.size(); ++i)
        if (a.sections[i].name != b.sections[i].name || !same(a.sections[i].body, b.sections[i].body))
            return false;
    return true;
}

}  // namespace

int fuzz_settings(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = ike::parse_settings(text, "fuzz");
    if (!parsed.ok()) return 0;
    std::string printed;
    print(parsed.value(), printed);
    auto again = ike::parse_settings(printed, "printed");
    if (!again.ok())
        return violated("fuzz_settings", "the printed tree does not parse: " + again.error().message(), text);
    if (!same(parsed.value(), again.value()))
        return violated("fuzz_settings", "the printed tree parses differently:\n" + printed, text);
    return 0;
}

}  // namespace personalnet::fuzz
