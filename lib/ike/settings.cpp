#include "lib/ike/settings.hpp"

#include <cctype>

namespace personalnet::ike {

namespace {

constexpr int kMaxDepth = 16;

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' || c == '/' ||
           c == '@' || c == '%' || c == '*';
}

class Parser {
public:
    Parser(const std::string& text, const std::string& where, const std::string& include_refusal)
        : t_(text), where_(where), include_refusal_(include_refusal) {}

    Status body(Settings& into, int depth, bool top) {
        if (depth > kMaxDepth) return fail("sections nested deeper than " + std::to_string(kMaxDepth));
        for (;;) {
            skip_blank_and_comments();
            if (at_end()) {
                if (top) return {};
                return fail("missing '}'");
            }
            if (t_[i_] == '}') {
                if (top) return fail("'}' without a section");
                ++i_;
                return {};
            }
            std::string name = word();
            if (name.empty()) return fail(std::string("unexpected '") + t_[i_] + "'");
            if (name == "include") return fail(include_refusal_);
            const int name_line = line();
            skip_spaces();
            if (at_end()) return fail("'" + name + "' has no value");
            if (t_[i_] == '{') {
                ++i_;
                Settings sub;
                PN_TRY(body(sub, depth + 1, false), "");
                into.sections.push_back(Settings::Section{name, std::move(sub), name_line});
            } else if (t_[i_] == '=') {
                ++i_;
                const int at = line();
                auto v = value();
                if (!v.ok()) return v.error();
                into.values.emplace_back(name, std::move(v).value());
                into.lines.push_back(at);
            } else if (t_[i_] == ':') {
                return fail("section references ('" + name + " : ...') are not allowed");
            } else {
                return fail("expected '=' or '{' after '" + name + "'");
            }
        }
    }

private:
    bool at_end() const { return i_ >= t_.size(); }
    Error fail(const std::string& what) const {
        return make_error(EINVAL, where_ + ":" + std::to_string(line()) + ": " + what);
    }
    // Counted on from the last call (the parser only moves forward), so that numbering
    // every value costs one pass over the text, not one per value.
    int line() const {
        if (i_ < counted_to_) counted_to_ = 0, counted_lines_ = 1;
        for (; counted_to_ < i_ && counted_to_ < t_.size(); ++counted_to_)
            counted_lines_ += t_[counted_to_] == '\n';
        return counted_lines_;
    }
    void skip_spaces() {
        while (!at_end() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\r')) ++i_;
    }
    void skip_blank_and_comments() {
        for (;;) {
            while (!at_end() && std::isspace(static_cast<unsigned char>(t_[i_])) != 0) ++i_;
            if (at_end() || t_[i_] != '#') return;
            while (!at_end() && t_[i_] != '\n') ++i_;
        }
    }
    std::string word() {
        size_t start = i_;
        while (!at_end() && name_char(t_[i_])) ++i_;
        return t_.substr(start, i_ - start);
    }
    Result<std::string> value() {
        skip_spaces();
        if (!at_end() && t_[i_] == '"') return quoted();
        size_t start = i_;
        while (!at_end() && t_[i_] != '\n' && t_[i_] != '#' && t_[i_] != '}') ++i_;
        std::string v = t_.substr(start, i_ - start);
        while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())) != 0) v.pop_back();
        return v;
    }
    Result<std::string> quoted() {
        ++i_;
        std::string v;
        while (!at_end() && t_[i_] != '"') {
            char c = t_[i_++];
            if (c == '\\') {
                if (at_end()) break;
                char e = t_[i_++];
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            }
            v += c;
        }
        if (at_end()) return fail("unterminated string");
        ++i_;
        skip_spaces();
        if (!at_end() && t_[i_] != '\n' && t_[i_] != '#' && t_[i_] != '}')
            return fail("text after a quoted value");
        return v;
    }

    const std::string& t_;
    const std::string& where_;
    const std::string& include_refusal_;
    size_t i_ = 0;
    mutable size_t counted_to_ = 0;
    mutable int counted_lines_ = 1;
};

}  // namespace

const std::string* Settings::find(const std::string& key) const {
    for (const auto& [k, v] : values)
        if (k == key) return &v;
    return nullptr;
}

const Settings* Settings::section(const std::string& name) const {
    for (const auto& s : sections)
        if (s.name == name) return &s.body;
    return nullptr;
}

Result<Settings> parse_settings(const std::string& text, const std::string& where,
                                const std::string& include_refusal) {
    Settings top;
    Parser p(text, where, include_refusal);
    PN_TRY(p.body(top, 0, true), "");
    return top;
}

namespace {

void render(const Settings& s, std::string& out) {
    for (const auto& [key, value] : s.values) {
        out += key + " = \"";
        for (char c : value) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;  // a newline or tab is taken literally inside quotes
        }
        out += "\"\n";
    }
    for (const auto& sec : s.sections) {
        out += sec.name + " {\n";
        render(sec.body, out);
        out += "}\n";
    }
}

}  // namespace

std::string render_settings(const Settings& settings) {
    std::string out;
    render(settings, out);
    return out;
}

}  // namespace personalnet::ike
