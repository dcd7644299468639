// pntime: times commands the way a user runs them, for make bench's creation rows.
//
//   pntime RUNS {:: | ::-} COMMAND [ARG...] [{:: | ::-} COMMAND [ARG...]]...
//
// ("::" separates the commands, so that a command's own "--" is its own.)
//
// Runs each command RUNS times, alternating between them round by round (so that a
// machine's drift touches them alike), with stdin, stdout and stderr on /dev/null, and
// prints one line per command, in order: "wall_ms=W cpu_ms=C fails=F", the medians of the
// wall time and of the CPU time (user + system) of the command and the descendants it
// waited for (wait4's rusage). Wall minus CPU is the time it spent waiting. A command
// after "::-" is not timed and prints nothing: it runs in its place in each round, to
// prepare the next one (make what a timed command removes); it must succeed. Exit 2 for
// a usage error, 1 if a command could not be started or a preparation failed.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kExitUsage = 2;
constexpr int kMaxRuns = 100000;

int usage(const std::string& why) {
    std::fprintf(
        stderr,
        "pntime: %s\nusage: pntime RUNS {:: | ::-} COMMAND [ARG...] [{:: | ::-} COMMAND [ARG...]]...\n",
        why.c_str());
    return kExitUsage;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double ms_of(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
}

struct Sample {
    double wall_ms = 0;
    double cpu_ms = 0;
    bool failed = false;
};

// One run of argv; false when it could not be started.
bool run_once(const std::vector<char*>& argv, Sample& out) {
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0) ::_exit(127);
        for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    struct rusage ru {};
    while (::wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return false;
    out.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    out.cpu_ms = ms_of(ru.ru_utime) + ms_of(ru.ru_stime);
    out.failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 127);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) return usage("missing RUNS or a command");
    char* end = nullptr;
    errno = 0;
    long runs = std::strtol(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || runs < 1 || runs > kMaxRuns)
        return usage(std::string("bad RUNS '") + argv[1] + "' (want 1 to 100000)");
    if (std::strcmp(argv[2], "::") != 0 && std::strcmp(argv[2], "::-") != 0)
        return usage(std::string("want :: or ::- after RUNS, not '") + argv[2] + "'");
    std::vector<std::vector<char*>> commands;
    std::vector<bool> timed;
    for (int i = 2; i < argc; ++i) {
        const bool sep = std::strcmp(argv[i], "::") == 0, prep = std::strcmp(argv[i], "::-") == 0;
        if (sep || prep || commands.empty()) {
            if (!commands.empty() && commands.back().empty()) return usage("an empty command");
            commands.emplace_back();
            timed.push_back(!prep);
            if (sep || prep) continue;
        }
        commands.back().push_back(argv[i]);
    }
    if (commands.back().empty()) return usage("an empty command");
    if (std::find(timed.begin(), timed.end(), true) == timed.end())
        return usage("no command to time (only ::-)");
    std::vector<std::vector<Sample>> samples(commands.size());
    for (long r = 0; r < runs; ++r)
        for (size_t c = 0; c < commands.size(); ++c) {
            std::vector<char*> cmd = commands[c];
            cmd.push_back(nullptr);
            Sample s;
            if (!run_once(cmd, s)) {
                std::fprintf(stderr, "pntime: cannot run '%s'\n", commands[c][0]);
                return 1;
            }
            if (!timed[c] && s.failed) {
                std::fprintf(stderr, "pntime: the preparation '%s' failed\n", commands[c][0]);
                return 1;
            }
            samples[c].push_back(s);
        }
    for (size_t c = 0; c < commands.size(); ++c) {
        if (!timed[c]) continue;
        const auto& runs_of = samples[c];
        std::vector<double> wall, cpu;
        int fails = 0;
        for (const auto& s : runs_of) {
            wall.push_back(s.wall_ms);
            cpu.push_back(s.cpu_ms);
            fails += s.failed;
        }
        std::printf("wall_ms=%.3f cpu_ms=%.3f fails=%d\n", median(wall), median(cpu), fails);
    }
    return 0;
}
