// Slurm hostlist expressions (lib/slurm/hostlist.hpp): the SPANK plugin expands
// SLURM_JOB_NODELIST as root in slurmstepd, from the job's environment.
#include <cerrno>
#include <string>
#include <unordered_set>
#include <vector>

#include "lib/slurm/hostlist.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

// Small enough that libFuzzer reaches the limit often; the property is the same for 4096.
constexpr size_t kMaxHosts = 64;

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

// What hostlist.hpp promises of the names of a list it accepts. Empty when it holds.
std::string broken_promise(const std::vector<std::string>& names) {
    if (names.empty()) return "no name";
    if (names.size() > kMaxHosts) return std::to_string(names.size()) + " names";
    std::unordered_set<std::string> seen;
    for (const auto& n : names) {
        if (n.empty() || n.size() > slurm::kMaxHostName)
            return "name '" + n + "' of length " + std::to_string(n.size());
        for (char c : n)
            if (!host_char(c)) return "name '" + n + "' has a character no host name has";
        if (!seen.insert(n).second) return "name '" + n + "' twice";
    }
    return {};
}

// A refusal is one line starting "hostlist: ", its quoted values escaped and cut.
std::string broken_refusal(const Error& e) {
    const std::string m = e.message();
    if (e.code != EINVAL) return "errno " + std::to_string(e.code) + ": " + m;
    if (m.rfind("hostlist: ", 0) != 0) return "message does not start with 'hostlist: ': " + m;
    for (unsigned char c : m)
        if (c < 0x20 || c == 0x7f) return "control character in the message";
    // At most two values quoted, each cut after 100 bytes of up to 4 characters ("\x00").
    if (m.size() > 1024) return "message of " + std::to_string(m.size()) + " bytes";
    return {};
}

}  // namespace

int fuzz_hostlist(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto r = slurm::expand_hostlist(text, kMaxHosts);
    if (!r.ok()) {
        if (std::string why = broken_refusal(r.error()); !why.empty())
            return violated("fuzz_hostlist", "a refusal breaks its form: " + why, text);
        return 0;
    }
    const auto& names = r.value();
    if (std::string why = broken_promise(names); !why.empty())
        return violated("fuzz_hostlist", "accepted a list that breaks its contract: " + why, text);
    // The names written out as a plain list expand to themselves.
    std::string plain;
    for (const auto& n : names) plain += (plain.empty() ? "" : ",") + n;
    auto again = slurm::expand_hostlist(plain, kMaxHosts);
    if (!again.ok())
        return violated("fuzz_hostlist", "its names are refused: " + again.error().message(), text);
    if (again.value() != names) return violated("fuzz_hostlist", "its names expand to other names", text);
    // The limit is exact: one host fewer allowed, the same text is refused.
    auto fewer = slurm::expand_hostlist(text, names.size() - 1);
    if (fewer.ok()) return violated("fuzz_hostlist", "accepted with max_hosts one below its count", text);
    if (fewer.error().message().find(" hosts in the list") == std::string::npos)
        return violated("fuzz_hostlist",
                        "one host over the limit refused otherwise: " + fewer.error().message(), text);
    return 0;
}

}  // namespace personalnet::fuzz
