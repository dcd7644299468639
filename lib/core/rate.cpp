// Bandwidth rates (mkportspace --bandwidth, personalnet.conf): parsing and printing. In
// core (declared in the public personalnet/space.hpp) because the helper's request
// parser and the policy check the same values as the library and the command line.
#include <cerrno>
#include <cstdint>
#include <string>

#include "lib/core/quote.hpp"
#include "personalnet/space.hpp"

namespace personalnet {

namespace {

Error bad_rate(const std::string& text, const std::string& why) {
    return make_error(EINVAL, "bad rate " + quoted(text) + ": " + why);
}

}  // namespace

Result<uint64_t> parse_rate(const std::string& text) {
    const char* const usage = "bits per second, e.g. 10M, 1.5Mbit, 500k (k, M, G: powers of 1000)";
    std::string t = text;
    if (t.size() > 3 && t.ends_with("bit")) t.resize(t.size() - 3);
    uint64_t scale = 1;
    if (!t.empty()) {
        switch (t.back()) {
            case 'k':
                scale = 1'000;
                break;
            case 'M':
                scale = 1'000'000;
                break;
            case 'G':
                scale = 1'000'000'000;
                break;
            default:
                break;
        }
        if (scale != 1) t.pop_back();
    }
    // Digits, at most one '.', with a digit before it: exact in integers (no locale, no
    // rounding surprises from strtod), and at most 9 fraction digits.
    uint64_t whole = 0, frac = 0, frac_scale = 1;
    bool dot = false, digits = false;
    size_t frac_digits = 0;
    for (char c : t) {
        if (c == '.' && !dot && digits) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9') return bad_rate(text, usage);
        digits = true;
        if (dot) {
            if (++frac_digits > 9) return bad_rate(text, "too many digits after the point");
            frac = frac * 10 + static_cast<uint64_t>(c - '0');
            frac_scale *= 10;
        } else {
            whole = whole * 10 + static_cast<uint64_t>(c - '0');
            if (whole > kMaxRate) return bad_rate(text, "more than " + rate_str(kMaxRate));
        }
    }
    if (!digits || (dot && frac_digits == 0)) return bad_rate(text, usage);
    // whole <= 1e11 and scale <= 1e9: compared before multiplying so nothing overflows.
    if (whole > kMaxRate / scale) return bad_rate(text, "more than " + rate_str(kMaxRate));
    uint64_t rate = whole * scale + frac * scale / frac_scale;
    if (rate > kMaxRate) return bad_rate(text, "more than " + rate_str(kMaxRate));
    if (rate < kMinRate) return bad_rate(text, "less than " + rate_str(kMinRate));
    return rate;
}

Status parse_bandwidth(const std::string& text, ResourceLimits& limits) {
    auto slash = text.find('/');
    if (slash != std::string::npos && text.find('/', slash + 1) != std::string::npos)
        return make_error(EINVAL, "bad bandwidth " + quoted(text) + ": RATE or IN/OUT");
    auto in = parse_rate(text.substr(0, slash));
    if (!in.ok()) return make_error(EINVAL, "bad bandwidth " + quoted(text) + ": " + in.error().message());
    uint64_t out = in.value();
    if (slash != std::string::npos) {
        auto o = parse_rate(text.substr(slash + 1));
        if (!o.ok()) return make_error(EINVAL, "bad bandwidth " + quoted(text) + ": " + o.error().message());
        out = o.value();
    }
    limits.rate_in = in.value();
    limits.rate_out = out;
    return {};
}

std::string rate_str(uint64_t bps) {
    struct Unit {
        uint64_t scale;
        char suffix;
    };
    for (Unit u : {Unit{1'000'000'000, 'G'}, Unit{1'000'000, 'M'}, Unit{1'000, 'k'}}) {
        if (bps < u.scale) continue;
        uint64_t whole = bps / u.scale, rest = bps % u.scale;
        std::string s = std::to_string(whole);
        if (rest != 0) {
            std::string frac = std::to_string(rest);
            frac.insert(0, std::to_string(u.scale).size() - 1 - frac.size(), '0');
            while (frac.back() == '0') frac.pop_back();
            s += "." + frac;
        }
        return s + u.suffix;
    }
    return std::to_string(bps);
}

std::string bandwidth_str(const ResourceLimits& l) {
    if (!l.rate_in && !l.rate_out) return "";
    if (l.rate_in == l.rate_out) return rate_str(l.rate_in);
    return rate_str(l.rate_in) + "/" + rate_str(l.rate_out);
}

Status validate_bandwidth(const ResourceLimits& l) {
    if (!l.rate_in && !l.rate_out) return {};
    for (uint64_t r : {l.rate_in, l.rate_out})
        if (r < kMinRate || r > kMaxRate)
            return make_error(EINVAL, "bad bandwidth " + quoted(std::to_string(r)) + ": from " +
                                          rate_str(kMinRate) + " to " + rate_str(kMaxRate) +
                                          " bits per second, each way");
    return {};
}

}  // namespace personalnet
