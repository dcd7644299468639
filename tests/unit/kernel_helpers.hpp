// Helpers for unit tests that need the real kernel: run a command, and run a test body
// in a forked child inside a fresh network namespace, so nothing reaches the host.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace pn_unit {

// Bodies return "" on success or a description of the first failed check.
#define CHECK_THAT(cond, msg)                                       \
    do {                                                            \
        if (!(cond)) return std::string(#cond " failed: ") + (msg); \
    } while (0)
#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        personalnet::Status st_ = (expr);                                      \
        if (!st_.ok()) return std::string(#expr ": ") + st_.error().message(); \
    } while (0)
#define CHECK_RUN(...)                         \
    do {                                       \
        std::string err_ = run({__VA_ARGS__}); \
        if (!err_.empty()) return err_;        \
    } while (0)

inline constexpr const char* kNft = "/usr/sbin/nft";
inline constexpr const char* kIp = "/usr/sbin/ip";

std::string read_all(int fd);
void write_all(int fd, const std::string& s);

// Runs argv (absolute path first) with `input` on stdin; "" on exit status 0, else the
// command and its stderr. Its stdout goes to *out.
std::string run(const std::vector<std::string>& argv, std::string* out = nullptr,
                const std::string& input = "");

// Runs body in a forked child; "" when it returned "", else its verdict (or how the
// child died). For bodies that change process state (namespaces, root, mounts).
std::string in_child(const std::function<std::string()>& body);

// in_child, with the child in a new network namespace first.
std::string in_netns(const std::function<std::string()>& body);

inline bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

}  // namespace pn_unit
