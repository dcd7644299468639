#include <algorithm>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tests/fuzz/report.hpp"
#include "tests/fuzz/targets.hpp"
#include "tools/mkportspace_options.hpp"

namespace personalnet::fuzz {

namespace {

constexpr const char* kTarget = "fuzz_mkportspace";

std::vector<std::string> split_args(const uint8_t* data, size_t size) {
    std::vector<std::string> args;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    for (size_t at = 0; at < all.size();) {
        size_t end = all.find('\0', at);
        if (end == std::string_view::npos) end = all.size();
        args.emplace_back(all.substr(at, end - at));
        at = end + 1;
    }
    return args;
}

// Everything a parse answers, as text, so that two answers compare and print at once.
std::string describe(const std::variant<mkportspace::Options, mkportspace::OptionsError>& parsed) {
    if (const auto* e = std::get_if<mkportspace::OptionsError>(&parsed))
        return "error " + std::to_string(e->exit_code) + " " + e->line;
    const auto& o = std::get<mkportspace::Options>(parsed);
    const SpaceSpec& s = o.spec;
    std::string out =
        "action " + std::to_string(static_cast<int>(o.action)) + " quiet " + std::to_string(o.quiet) +
        " name '" + s.name + "' routes " + std::to_string(s.inherit_routes) + " services " +
        std::to_string(s.inherit_services) + " file_space " + std::to_string(s.file_space) + " backend " +
        std::to_string(static_cast<int>(s.fs_backend)) + " tmp " + std::to_string(s.private_tmp) + " admin " +
        std::to_string(s.admin) + " resolv '" + s.resolv_conf + "' hosts '" + s.hosts + "' overlay '" +
        s.overlay + "' creation '" + o.creation_option + "'";
    for (const auto& p : s.hidden_routes) out += " hide-route " + p.str();
    for (const auto& v : s.hidden_services) out += " hide-service " + v.str();
    for (const auto& p : s.published) out += " publish " + p.str();
    for (const auto& p : s.shared_paths) out += " share '" + p + "'";
    for (const auto& c : o.command) out += " arg '" + c + "'";
    return out;
}

}  // namespace

int fuzz_mkportspace(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args = split_args(data, size);
    std::string prog = "mkportspace";
    std::vector<char*> argv{prog.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int argc = static_cast<int>(argv.size()) - 1;

    auto first = mkportspace::parse_options(argc, argv.data());
    // getopt keeps its scan in globals: a second parse must not see the first one's state.
    auto second = mkportspace::parse_options(argc, argv.data());
    if (describe(first) != describe(second))
        return violated(kTarget, "parsing twice differs:\n  " + describe(first) + "\n  " + describe(second),
                        input);

    if (const auto* e = std::get_if<mkportspace::OptionsError>(&first)) {
        if (e->exit_code != 2 || e->line.rfind("mkportspace: ", 0) != 0)
            return violated(kTarget, "a refusal is not a usage error: " + describe(first), input);
        return 0;
    }
    // The command is what follows the options, untouched.
    const auto& o = std::get<mkportspace::Options>(first);
    // What it publishes is what the helper would accept as well.
    if (auto st = validate_published(o.spec.published); !st.ok())
        return violated(kTarget, "accepted ports the helper refuses: " + st.error().context, input);
    if (o.action == mkportspace::Options::Action::run &&
        (o.command.size() > args.size() ||
         !std::equal(o.command.begin(), o.command.end(), args.end() - static_cast<long>(o.command.size()))))
        return violated(kTarget, "the command is not the arguments' tail: " + describe(first), input);
    return 0;
}

}  // namespace personalnet::fuzz
