#include <string>
#include <string_view>

#include "lib/ike/vici_message.hpp"
#include "lib/ike/vici_packet.hpp"
#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_vici";

}  // namespace

int fuzz_vici(const uint8_t* data, size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    // ViciClient never hands over more than one segment (segment_length bounds it).
    if (size > ike::kMaxSegment) return 0;
    auto packet = ike::decode_packet(payload);
    if (!packet.ok()) return 0;
    (void)packet->message.dump();  // what the logs show of charon's answers
    // The codec is exact: what decodes encodes back to the same bytes.
    auto segment = ike::encode_packet(packet.value());
    if (!segment.ok())
        return violated(kTarget, "a decoded packet does not encode: " + segment.error().message(), payload);
    auto header = ike::segment_length(segment.value());
    if (!header.ok() || header.value() != size)
        return violated(kTarget, "the segment header does not give the payload's length", payload);
    if (std::string_view(segment.value()).substr(ike::kSegmentHeader) != payload)
        return violated(kTarget, "encode(decode(payload)) differs: " + hex(segment.value()), payload);
    // And the message alone decodes to an equal tree.
    auto body = packet->message.encode();
    if (!body.ok())
        return violated(kTarget, "the message does not encode: " + body.error().message(), payload);
    auto again = ike::ViciMessage::decode(body.value());
    if (!again.ok() || !(again.value() == packet->message))
        return violated(kTarget, "the message changes on a round trip:\n" + packet->message.dump(), payload);
    return 0;
}

}  // namespace personalnet::fuzz
