// Helpers shared by the command-line front-ends (header-only: the tools are thin).
#pragma once

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>

#include "personalnet/context.hpp"
#include "personalnet/error.hpp"

extern char** environ;

namespace personalnet::cli {

inline constexpr int kExitUsage = 2;

// What the library acts in for a command-line tool: the installed layout, with what the
// PERSONALNET_* variables of the tool's environment override (personalnet::Context).
inline Context context() { return Context::from_environment(environ); }

inline constexpr int kExitFailure = 1;

// Errors caused by what the user asked for (bad value, unknown or foreign space)
// exit with 2, failures of the system with 1.
inline int exit_code_for(const Error& e) {
    switch (e.code) {
        case EINVAL:
        case ENOENT:
        case EEXIST:
        case EPERM:
        case ELOOP:
            return kExitUsage;
        default:
            return kExitFailure;
    }
}

// The one line (without newline) that fail() and usage_error() print, for parsers that
// return their refusal instead of printing it.
inline std::string fail_line(const char* prog, const Error& e) {
    return std::string(prog) + ": " + e.message();
}

inline std::string usage_line(const char* prog, const std::string& msg) {
    return std::string(prog) + ": " + msg + " (try '" + prog + " --help')";
}

inline int fail(const char* prog, const Error& e) {
    std::fprintf(stderr, "%s\n", fail_line(prog, e).c_str());
    return exit_code_for(e);
}

inline int usage_error(const char* prog, const std::string& msg) {
    std::fprintf(stderr, "%s\n", usage_line(prog, msg).c_str());
    return kExitUsage;
}

inline std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// Runs a tool's main. The only exception that can reach here is std::bad_alloc (or a
// library bug): it is reported on one line like every other failure, not as an abort.
template <typename Main>
int guarded_main(const char* prog, Main&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", prog, e.what());
        return kExitFailure;
    }
}

}  // namespace personalnet::cli
