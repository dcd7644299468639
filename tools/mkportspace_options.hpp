// mkportspace's command line, parsed apart from acting on it: a function without side
// effects (beyond --share's look-up of the directory) can be fuzzed and called repeatedly.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "personalnet/space.hpp"

namespace personalnet::mkportspace {

struct Options {
    enum class Action { run, help, version };
    Action action = Action::run;  // help and version win as soon as they are seen
    SpaceSpec spec;
    bool quiet = false;
    bool prompt = true;                // the space's name in bash's prompt (--no-prompt)
    std::vector<std::string> command;  // empty: the caller's shell
    // The last option given that applies only when creating a space: joining an existing
    // named space refuses it rather than silently ignoring it.
    std::string creation_option;
};

// A refused command line: the whole line for stderr (without its newline) and the exit
// status, 2 for what the user got wrong.
struct OptionsError {
    std::string line;
    int exit_code = 2;
};

// Parses argv (argv[argc] == nullptr, argv[0] the program name), stopping at the first
// refused option as the tool always has. Resets getopt's global state first.
std::variant<Options, OptionsError> parse_options(int argc, char* const* argv);

const char* help_text();

}  // namespace personalnet::mkportspace
