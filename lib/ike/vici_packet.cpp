#include "lib/ike/vici_packet.hpp"

#include <cerrno>

namespace personalnet::ike {

namespace {

constexpr uint8_t kLastType = static_cast<uint8_t>(PacketType::kEvent);

Error bad(const std::string& what) { return make_error(EBADMSG, "vici packet: " + what); }

}  // namespace

std::string packet_type_name(uint8_t type) {
    static const char* const kNames[] = {
        "CMD_REQUEST",      "CMD_RESPONSE",  "CMD_UNKNOWN",   "EVENT_REGISTER",
        "EVENT_UNREGISTER", "EVENT_CONFIRM", "EVENT_UNKNOWN", "EVENT"};
    if (type <= kLastType) return kNames[type];
    return "type " + std::to_string(type);
}

bool packet_is_named(PacketType type) {
    return type == PacketType::kCmdRequest || type == PacketType::kEventRegister ||
           type == PacketType::kEventUnregister || type == PacketType::kEvent;
}

bool packet_has_message(PacketType type) {
    return type == PacketType::kCmdRequest || type == PacketType::kCmdResponse || type == PacketType::kEvent;
}

Result<std::string> encode_packet(const Packet& packet) {
    std::string out(kSegmentHeader, '\0');
    out += static_cast<char>(packet.type);
    if (packet_is_named(packet.type)) {
        if (packet.name.size() > ViciMessage::kMaxName)
            return make_error(EMSGSIZE, "vici packet name longer than 255 bytes");
        out += static_cast<char>(packet.name.size());
        out += packet.name;
    }
    if (packet_has_message(packet.type)) {
        auto body = packet.message.encode();
        if (!body.ok()) return body.error();
        out += body.value();
    }
    size_t len = out.size() - kSegmentHeader;
    if (len > kMaxSegment)
        return make_error(EMSGSIZE, "vici packet of " + std::to_string(len) + " bytes exceeds " +
                                        std::to_string(kMaxSegment));
    out[0] = static_cast<char>((len >> 24) & 0xff);
    out[1] = static_cast<char>((len >> 16) & 0xff);
    out[2] = static_cast<char>((len >> 8) & 0xff);
    out[3] = static_cast<char>(len & 0xff);
    return out;
}

Result<size_t> segment_length(std::string_view header) {
    if (header.size() < kSegmentHeader) return bad("short segment header");
    size_t len = 0;
    for (size_t i = 0; i < kSegmentHeader; ++i) len = (len << 8) | static_cast<uint8_t>(header[i]);
    if (len == 0) return bad("empty segment");
    if (len > kMaxSegment)
        return bad("segment of " + std::to_string(len) + " bytes exceeds " + std::to_string(kMaxSegment));
    return len;
}

Result<Packet> decode_packet(std::string_view payload) {
    if (payload.empty()) return bad("empty segment");
    auto raw = static_cast<uint8_t>(payload[0]);
    if (raw > kLastType) return bad("unknown packet type " + std::to_string(raw));
    Packet p;
    p.type = static_cast<PacketType>(raw);
    size_t pos = 1;
    if (packet_is_named(p.type)) {
        if (payload.size() < 2) return bad(packet_type_name(raw) + ": missing name");
        size_t len = static_cast<uint8_t>(payload[1]);
        if (payload.size() - 2 < len) return bad(packet_type_name(raw) + ": truncated name");
        p.name.assign(payload.substr(2, len));
        pos = 2 + len;
    }
    std::string_view rest = payload.substr(pos);
    if (!packet_has_message(p.type)) {
        if (!rest.empty()) return bad(packet_type_name(raw) + ": unexpected bytes after the packet");
        return p;
    }
    auto msg = ViciMessage::decode(rest);
    if (!msg.ok())
        return msg.error().wrap(packet_type_name(raw) + (p.name.empty() ? "" : " '" + p.name + "'"));
    p.message = std::move(msg).value();
    return p;
}

}  // namespace personalnet::ike
