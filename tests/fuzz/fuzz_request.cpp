#include <string>
#include <string_view>

#include "lib/helper/request.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_request";

// Where two byte strings first differ, for a report one can read.
std::string first_difference(std::string_view a, std::string_view b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    return "first difference at byte " + std::to_string(i) + " (lengths " + std::to_string(a.size()) +
           " and " + std::to_string(b.size()) + ")\n  first:  " + hex(a) + "\n  second: " + hex(b);
}

}  // namespace

int fuzz_request(const uint8_t* data, size_t size) {
    const std::string_view wire(reinterpret_cast<const char*>(data), size);
    auto message = helper::decode(wire);
    if (!message.ok()) return 0;
    // The framing alone must be lossless: what decodes encodes back to the same bytes.
    if (std::string back = helper::encode(message.value()); back != wire)
        return violated(kTarget, "encode(decode(wire)) differs: " + first_difference(wire, back), wire);

    auto request = helper::parse_request(message.value());
    if (!request.ok()) return 0;
    // What the helper accepted, the library must be able to send again: the canonical
    // encoding decodes, parses, and encodes to itself.
    const std::string canonical = helper::encode(helper::to_message(request.value()));
    auto redecoded = helper::decode(canonical);
    if (!redecoded.ok())
        return violated(kTarget,
                        "the re-encoded request does not decode: " + redecoded.error().message() +
                            "\n  re-encoded: " + hex(canonical),
                        wire);
    auto reparsed = helper::parse_request(redecoded.value());
    if (!reparsed.ok())
        return violated(kTarget,
                        "the re-encoded request does not parse: " + reparsed.error().message() +
                            "\n  re-encoded: " + hex(canonical),
                        wire);
    if (std::string again = helper::encode(helper::to_message(reparsed.value())); again != canonical)
        return violated(kTarget, "the request changes on a round trip: " + first_difference(canonical, again),
                        wire);
    return 0;
}

}  // namespace personalnet::fuzz
