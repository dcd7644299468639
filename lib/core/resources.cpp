// The resource options' values (issue 22): CPU quotas, sizes, process counts and I/O
// weights. In core (declared in the public personalnet/space.hpp) because mkportspace,
// the helper's request parser and the policy check the same values the same way.
#include <charconv>
#include <string>

#include "lib/core/quote.hpp"
#include "personalnet/space.hpp"

namespace personalnet {

namespace {

constexpr uint32_t kMaxCpuMilli = 1024 * 1000;  // 1024 CPUs
constexpr uint64_t kMinSize = 4096;             // below a page the kernel rounds to nothing
constexpr uint64_t kMaxSize = uint64_t{1} << 62;
constexpr uint32_t kMaxPids = 4194304;  // PID_MAX_LIMIT
constexpr uint32_t kMaxIoWeight = 10000;

Error bad(const std::string& what, const std::string& text, const std::string& why) {
    return make_error(EINVAL, what + " " + quoted(text) + ": " + why);
}

bool all_digits(const std::string& s, size_t from, size_t to) {
    if (from >= to) return false;
    for (size_t i = from; i < to; ++i)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

// A decimal number of 1-10 digits within [min, max].
Result<uint32_t> small_number(const std::string& text, const std::string& what, uint32_t min, uint32_t max) {
    uint64_t n = 0;
    if (!all_digits(text, 0, text.size()) || text.size() > 10 ||
        std::from_chars(text.data(), text.data() + text.size(), n).ec != std::errc())
        return bad(what, text, "not a whole number");
    if (n < min || n > max)
        return bad(what, text, "out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    return static_cast<uint32_t>(n);
}

}  // namespace

Result<uint32_t> parse_cpu(const std::string& text, const std::string& what) {
    const std::string want = "not a number of CPUs (e.g. 0.5 or 2)";
    const size_t dot = text.find('.');
    const size_t int_end = dot == std::string::npos ? text.size() : dot;
    if (!all_digits(text, 0, int_end) || int_end > 7) return bad(what, text, want);
    uint64_t milli = 0;
    std::from_chars(text.data(), text.data() + int_end, milli);
    milli *= 1000;
    if (dot != std::string::npos) {
        const size_t decimals = text.size() - dot - 1;
        if (!all_digits(text, dot + 1, text.size())) return bad(what, text, want);
        if (decimals > 3) return bad(what, text, "more precise than a thousandth of a CPU");
        uint64_t frac = 0;
        std::from_chars(text.data() + dot + 1, text.data() + text.size(), frac);
        for (size_t i = decimals; i < 3; ++i) frac *= 10;
        milli += frac;
    }
    if (milli == 0) return bad(what, text, "must be more than 0");
    if (milli > kMaxCpuMilli) return bad(what, text, "more than 1024 CPUs");
    return static_cast<uint32_t>(milli);
}

Result<uint64_t> parse_size(const std::string& text, const std::string& what) {
    const std::string want = "not a size (a number with an optional K, M, G or T suffix)";
    size_t digits = text.size();
    unsigned shift = 0;
    if (!text.empty()) {
        switch (text.back()) {
            case 'K':
            case 'k':
                shift = 10;
                break;
            case 'M':
            case 'm':
                shift = 20;
                break;
            case 'G':
            case 'g':
                shift = 30;
                break;
            case 'T':
            case 't':
                shift = 40;
                break;
            default:
                break;
        }
        if (shift != 0) --digits;
    }
    uint64_t n = 0;
    if (!all_digits(text, 0, digits) || digits > 19 ||
        std::from_chars(text.data(), text.data() + digits, n).ec != std::errc())
        return bad(what, text, want);
    if (n > (kMaxSize >> shift)) return bad(what, text, "too large");
    n <<= shift;
    if (n < kMinSize) return bad(what, text, "less than 4K");
    return n;
}

Result<uint32_t> parse_pids(const std::string& text, const std::string& what) {
    return small_number(text, what, 1, kMaxPids);
}

Result<uint32_t> parse_io_weight(const std::string& text, const std::string& what) {
    return small_number(text, what, 1, kMaxIoWeight);
}

Status validate_limits(const ResourceLimits& l) {
    if (l.cpu_milli > kMaxCpuMilli) return bad("--cpu", cpu_text(l.cpu_milli), "more than 1024 CPUs");
    if (l.memory_bytes != 0 && (l.memory_bytes < kMinSize || l.memory_bytes > kMaxSize))
        return bad("--memory", std::to_string(l.memory_bytes), "out of range (4K-4194304T)");
    if (l.pids > kMaxPids) return bad("--pids", std::to_string(l.pids), "out of range (1-4194304)");
    if (l.io_weight > kMaxIoWeight)
        return bad("--io-weight", std::to_string(l.io_weight), "out of range (1-10000)");
    return {};
}

std::string cpu_text(uint32_t cpu_milli) {
    std::string out = std::to_string(cpu_milli / 1000);
    uint32_t frac = cpu_milli % 1000;
    if (frac == 0) return out;
    std::string f = std::to_string(1000 + frac).substr(1);  // three digits
    while (f.back() == '0') f.pop_back();
    return out + "." + f;
}

std::string size_text(uint64_t bytes) {
    static const char suffix[] = {'T', 'G', 'M', 'K'};
    for (unsigned i = 0; i < 4; ++i) {
        const unsigned shift = 40 - 10 * i;
        if (bytes != 0 && bytes % (uint64_t{1} << shift) == 0)
            return std::to_string(bytes >> shift) + suffix[i];
    }
    return std::to_string(bytes);
}

}  // namespace personalnet
