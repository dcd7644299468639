// mkportspace: run a command in a new (or existing named) port space.
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <variant>
#include <vector>

#include "personalnet/space.hpp"
#include "tools/cli.hpp"
#include "tools/mkportspace_options.hpp"

namespace {

constexpr const char* kProg = "mkportspace";

std::string default_shell() {
    if (const char* s = std::getenv("SHELL"); s != nullptr && *s == '/') return s;
    if (struct passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_shell && *pw->pw_shell)
        return pw->pw_shell;
    return "/bin/sh";
}

namespace opt = pn::mkportspace;

// Like a virtualenv: an interactive bash shows the space's name in front of its prompt.
// PROMPT_COMMAND runs after the user's rc files have set PS1, before every prompt, and
// adds the prefix once; a PROMPT_COMMAND of the user's own still runs after it.
void mark_prompt(const std::string& shell, const std::string& space) {
    const char* off = std::getenv("PERSONALNET_PROMPT");
    if ((off != nullptr && std::string(off) == "0") || shell.substr(shell.rfind('/') + 1) != "bash") return;
    const std::string tag = "(" + space + ") ";  // space names are [A-Za-z0-9_.-]: nothing to quote
    std::string pc = "case \"$PS1\" in \"" + tag + "\"*) ;; *) PS1=\"" + tag + "$PS1\" ;; esac";
    if (const char* old = std::getenv("PROMPT_COMMAND"); old != nullptr && *old != '\0')
        pc += "; " + std::string(old);
    ::setenv("PROMPT_COMMAND", pc.c_str(), 1);
}

int run_main(int argc, char** argv) {
    auto parsed = opt::parse_options(argc, argv);
    if (const auto* err = std::get_if<opt::OptionsError>(&parsed)) {
        std::fprintf(stderr, "%s\n", err->line.c_str());
        return err->exit_code;
    }
    auto& opts = std::get<opt::Options>(parsed);
    switch (opts.action) {
        case opt::Options::Action::help:
            std::fputs(opt::help_text(), stdout);
            return 0;
        case opt::Options::Action::version:
            std::printf("mkportspace (personalnet) %s\n", PERSONALNET_VERSION);
            return 0;
        case opt::Options::Action::run:
            break;
    }
    const pn::SpaceSpec& spec = opts.spec;
    std::vector<std::string> command = std::move(opts.command);
    const bool shell = command.empty();
    if (shell) command.push_back(default_shell());
    const std::string& creation_option = opts.creation_option;

    const pn::Context ctx = pn::cli::context();
    if (!spec.name.empty()) {
        auto existing = pn::Space::open(spec.name, ctx);
        if (existing.ok()) {
            if (!creation_option.empty())
                return pn::cli::usage_error(kProg, "space '" + spec.name + "' exists; " + creation_option +
                                                       " applies only when creating it");
            if (shell && opts.prompt) mark_prompt(command.front(), spec.name);
            auto rc = existing->run(command);
            if (!rc.ok()) {
                pn::cli::fail(kProg, rc.error());
                return 127;
            }
            return rc.value();
        }
        if (existing.error().code != ENOENT) return pn::cli::fail(kProg, existing.error());
    }
    auto space = pn::Space::create(spec, ctx);
    if (!space.ok()) return pn::cli::fail(kProg, space.error());
    if (!opts.quiet) {
        const auto& i = space->info();
        std::string addrs;
        for (const auto& a : i.addresses) addrs += (addrs.empty() ? "" : " ") + a;
        std::string published;
        for (const auto& p : i.published) published += " " + p;
        std::fprintf(stderr, "mkportspace: space '%s' (label 0x%04x, depth %d) addresses: %s%s%s\n",
                     i.name.c_str(), i.label, i.depth, addrs.empty() ? "none" : addrs.c_str(),
                     published.empty() ? "" : "; publishes", published.c_str());
    }
    if (shell && opts.prompt) mark_prompt(command.front(), space->info().name);
    // For make bench: where creation, the command and the teardown spend their time.
    const char* t = std::getenv("PERSONALNET_TIMING");
    const bool timing = t != nullptr && *t == '1';
    if (timing) {
        // "timing STEP WALL_MS CPU_MS"
        const auto& cpu = space->cpu_timings();
        for (size_t i = 0; i < space->timings().size(); ++i)
            std::fprintf(stderr, "timing %s %.3f %.3f\n", space->timings()[i].first.c_str(),
                         space->timings()[i].second, i < cpu.size() ? cpu[i].second : 0.0);
    }
    using Clock = std::chrono::steady_clock;
    auto ms_since = [](Clock::time_point t0) {
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };
    // CPU time so far (this process and the children it reaped), as the creation steps count it.
    auto cpu_ms = [] {
        double total = 0;
        for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
            struct rusage ru {};
            if (::getrusage(who, &ru) == 0)
                total += static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        }
        return total;
    };
    auto t0 = Clock::now();
    double cpu0 = cpu_ms();
    auto rc = space->run(command);
    double run_ms = ms_since(t0), run_cpu = cpu_ms() - cpu0;
    if (!rc.ok()) pn::cli::fail(kProg, rc.error());
    t0 = Clock::now();
    cpu0 = cpu_ms();
    {
        pn::Space done = std::move(space).value();  // an unnamed space is released here
    }
    if (timing)
        std::fprintf(stderr, "timing run %.3f %.3f\ntiming teardown %.3f %.3f\n", run_ms, run_cpu,
                     ms_since(t0), cpu_ms() - cpu0);
    return rc.ok() ? rc.value() : 127;
}
}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main(kProg, [&] { return run_main(argc, argv); });
}
