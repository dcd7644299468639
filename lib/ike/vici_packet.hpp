// The packet layer of VICI: what travels in one length-prefixed segment of the stream.
//
// A segment is a 32-bit big-endian length followed by that many bytes; the first
// byte is the packet type, named types carry an 8-bit-length name next, and the rest
// is a ViciMessage (for the types that carry one). No I/O here, so the codec is
// testable on its own; ViciClient moves the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/ike/vici_message.hpp"
#include "personalnet/error.hpp"

namespace personalnet::ike {

enum class PacketType : uint8_t {
    kCmdRequest = 0,       // named, message: a command
    kCmdResponse = 1,      // message: the command's answer
    kCmdUnknown = 2,       // the daemon has no such command
    kEventRegister = 3,    // named: follow an event
    kEventUnregister = 4,  // named: stop following it
    kEventConfirm = 5,     // (un)registration done
    kEventUnknown = 6,     // no such event
    kEvent = 7,            // named, message: an event
};

// charon refuses segments larger than this (VICI_MESSAGE_SIZE_MAX); we refuse them too,
// which also bounds what a broken peer can make us allocate.
inline constexpr size_t kMaxSegment = size_t{512} * 1024;
inline constexpr size_t kSegmentHeader = 4;

struct Packet {
    PacketType type = PacketType::kCmdRequest;
    std::string name;     // named types only
    ViciMessage message;  // kCmdRequest, kCmdResponse, kEvent
};

// "CMD_REQUEST" etc., or "type N" for an unknown value.
std::string packet_type_name(uint8_t type);
bool packet_is_named(PacketType type);
bool packet_has_message(PacketType type);

// The whole segment, length header included. EMSGSIZE when the name or the segment is
// too long; message errors as in ViciMessage::encode().
Result<std::string> encode_packet(const Packet& packet);

// The 32-bit length from a segment header (header must hold kSegmentHeader bytes);
// EBADMSG when above kMaxSegment or zero (a packet has at least its type byte).
Result<size_t> segment_length(std::string_view header);

// Parses a segment's payload (without its length header). EBADMSG on an unknown type,
// a truncated name, or bytes after a packet type that carries no message.
Result<Packet> decode_packet(std::string_view payload);

}  // namespace personalnet::ike
