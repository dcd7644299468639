// The requests the library sends the set-uid helper (pnhelper), and its answers.
//
// A message is an ordered list of (key, value) fields. On the wire each key and each
// value is followed by one NUL byte: no quoting, no escapes, and a value can hold
// anything a command-line argument or an environment entry can (newlines, tabs, '=').
// Keys are 1-32 of [a-z_]; values at most 64 KiB; a message at most 1 MiB and 8192
// fields. The decoder checks the framing only; parse_request then checks every field of
// a request the way the helper needs it (it runs as root on what a user sent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::helper {

inline constexpr size_t kMaxMessage = size_t{1} << 20;
inline constexpr size_t kMaxValue = size_t{64} << 10;
inline constexpr size_t kMaxFields = 8192;

struct Message {
    std::vector<std::pair<std::string, std::string>> fields;

    Message& add(std::string key, std::string value);
    const std::string* get(std::string_view key) const;  // the first field with that key
    std::vector<std::string> all(std::string_view key) const;
};

// A NUL byte inside a value cannot be framed (it ends the value), so it is no value: the
// sender refuses it (check_framing, in send_message) and the receiver, which sees only a
// misframed message, refuses what it decoded in one answer ("bad message: ...").
// EINVAL naming the key (and the value, shortened) that breaks a limit or holds a NUL.
Status check_framing(const Message& m);

std::string encode(const Message& m);
// EINVAL naming what is wrong (truncated field, bad key, oversized value or message).
Result<Message> decode(std::string_view wire);

// What a session or a one-shot call asks for.
enum class Op {
    create,    // create a space from spec; the session then holds it (unnamed: until closed)
    open,      // open the named space `name`
    run,       // in a session: run argv (with env) in the space, as the caller
    list,      // one-shot: the caller's spaces (root's: all)
    show,      // one-shot: one space
    destroy,   // one-shot: a named space (keep_files)
    gc,        // one-shot: collect garbage (full)
    diff,      // one-shot: a named space's file changes
    networks,  // one-shot: the administrator's overlays the caller may bind
};
const char* op_name(Op op);

struct Request {
    Op op = Op::list;
    SpaceSpec spec;                 // create
    std::string resolv_conf_text;   // create: contents, read by the caller (never a path)
    std::string hosts_text;         // create: likewise
    std::string name;               // open, show, destroy, diff
    std::vector<std::string> argv;  // run
    std::vector<std::string> env;   // run: the command's environment, "KEY=VALUE"
    std::string cwd;                // run: the caller's working directory, if it sent one
    bool keep_files = false;        // destroy
    bool full = false;              // gc
};

Message to_message(const Request& r);
// Checks every field: a known op, only the keys that op takes, each at most once unless a
// list, names (validate_name), prefixes, services, published ports (PublishedPort::parse,
// validate_published), shared paths (validate_shared_path),
// overlay names, booleans "0"/"1", a non-empty argv without empty program name, env
// entries "KEY=VALUE" with a non-empty KEY free of '='. EINVAL naming the key and value.
// Also EINVAL when to_message() of the request would exceed the framing limits (it adds
// the defaults), so that whatever parses can be encoded and decoded again.
Result<Request> parse_request(const Message& m);

}  // namespace personalnet::helper
