// pnet: manage port spaces (list, show, destroy, exec, gc).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "personalnet/space.hpp"
#include "tools/cli.hpp"
#include "tools/resource_text.hpp"

namespace {

constexpr const char* kProg = "pnet";

void print_help() {
    std::printf(
        "Usage: pnet COMMAND [ARGS]\n"
        "Manage personalnet port spaces.\n"
        "\n"
        "  list [--json]               spaces you own (root: all)\n"
        "  show NAME [--json]          details of one space\n"
        "  networks [--json]           the networks you can bind (--overlay NAME): your own\n"
        "                              (~/.config/personalnet/networks) and the\n"
        "                              administrator's, and your spaces bound to each\n"
        "  destroy [--keep-files] NAME remove a named space, its host-side state and its\n"
        "                              stored file-space changes (kept with --keep-files,\n"
        "                              for a space of the same name created later)\n"
        "  exec NAME [--] COMMAND...   run COMMAND inside a named space\n"
        "  top [-n COUNT] [-d SECONDS] a live table of what your spaces use (CPU, memory,\n"
        "                              processes, traffic), every SECONDS (default 1),\n"
        "                              COUNT times (default: until interrupted)\n"
        "  diff NAME                   what a named space's file space changed (A/M/D PATH)\n"
        "  gc                          remove state left by killed supervisors\n"
        "  -h, --help                  show this help\n"
        "      --version               show the version\n");
}

// The word of an enum that may be unset (no file space, no overlay): "" then, as pnet
// has always printed it.
template <typename E>
std::string word_or_empty(const std::optional<E>& value, const char* (*word_of)(E)) {
    return value ? word_of(*value) : "";
}

std::string json_list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + pn::cli::json_string(v[i]);
    return out + "]";
}

std::string peers_json(const std::vector<pn::SpaceInfo::Peer>& peers) {
    std::string out = "[";
    for (size_t n = 0; n < peers.size(); ++n)
        out += std::string(n ? "," : "") + "{\"address\":" + pn::cli::json_string(peers[n].address) +
               ",\"state\":\"" + (peers[n].up ? "up" : "down") + "\"}";
    return out + "]";
}

std::string to_json(const pn::SpaceInfo& i) {
    char label[8];
    std::snprintf(label, sizeof label, "%04x", i.label);
    return std::string("{\"name\":") + pn::cli::json_string(i.name) +
           ",\"named\":" + (i.named ? "true" : "false") + ",\"label\":\"" + label +
           "\",\"owner\":" + std::to_string(i.owner) + ",\"parent\":" + pn::cli::json_string(i.parent) +
           ",\"depth\":" + std::to_string(i.depth) + ",\"netns_inode\":" + std::to_string(i.netns_inode) +
           ",\"host_ifname\":" + pn::cli::json_string(i.host_ifname) +
           ",\"supervisor\":" + std::to_string(i.supervisor) +
           ",\"state\":" + pn::cli::json_string(pn::space_state_word(i.state)) +
           ",\"created\":" + std::to_string(i.created) + ",\"addresses\":" + json_list(i.addresses) +
           ",\"addresses_stale\":" + (i.addresses_stale ? "true" : "false") +
           ",\"inherit_routes\":" + (i.inherit_routes ? "true" : "false") +
           ",\"inherit_services\":" + (i.inherit_services ? "true" : "false") +
           ",\"hidden_routes\":" + json_list(i.hidden_routes) +
           ",\"hidden_services\":" + json_list(i.hidden_services) +
           ",\"published\":" + json_list(i.published) +
           ",\"pids\":" + (i.own_pids ? "\"own\"" : "\"shared\"") +
           ",\"hostname\":" + pn::cli::json_string(i.hostname) +
           ",\"file_space\":" + (i.file_space ? "true" : "false") +
           ",\"fs_backend\":" + pn::cli::json_string(word_or_empty(i.fs_backend, pn::fs_backend_word)) +
           ",\"overlay\":" + pn::cli::json_string(i.overlay) +
           ",\"network\":" + pn::cli::json_string(i.network ? i.overlay : "") +
           ",\"datapath\":" + pn::cli::json_string(word_or_empty(i.datapath, pn::datapath_word)) +
           ",\"dispatch\":" + pn::cli::json_string(word_or_empty(i.dispatch, pn::dispatch_word)) +
           (i.dispatched_in >= 0 ? ",\"dispatched_in\":" + std::to_string(i.dispatched_in) +
                                       ",\"dispatched_out\":" + std::to_string(i.dispatched_out)
                                 : std::string()) +
           ",\"overlay_sas\":" + json_list(i.overlay_sas) + ",\"peers\":" + peers_json(i.peers) +
           ",\"shared_paths\":" + json_list(i.shared_paths) +
           ",\"private_tmp\":" + (i.private_tmp ? "true" : "false") +
           ",\"overlay_source\":" + pn::cli::json_string(i.overlay_source) +
           ",\"user_network\":" + (i.user_network ? "true" : "false") +
           ",\"pin\":" + pn::cli::json_string(i.pin) + ",\"limits\":" + pn::cli::limits_json(i.limits) +
           ",\"usage\":" + pn::cli::usage_json(i.usage) + "}";
}

std::string file_space_text(const pn::SpaceInfo& i) {
    if (!i.file_space) return "none (the parent's files)";
    std::string t = "overlay (" + word_or_empty(i.fs_backend, pn::fs_backend_word) + ")";
    for (const auto& p : i.shared_paths) t += ", shares " + p;
    if (i.private_tmp) t += ", private /tmp";
    return t;
}

// Limits and use; what this host cannot tell is said, not left out.
void print_usage(const pn::SpaceInfo& i) {
    const auto& u = i.usage;
    std::printf("limits:      %s\n", pn::cli::limits_text(i.limits).c_str());
    if (u.cpu_usec >= 0)
        std::printf("cpu time:    %.3f s\n", static_cast<double>(u.cpu_usec) / 1e6);
    else
        std::printf("cpu time:    - (no cgroup v2 on this host)\n");
    if (u.memory_bytes >= 0)
        std::printf("memory:      %s now%s\n",
                    pn::cli::iec_bytes(static_cast<double>(u.memory_bytes)).c_str(),
                    u.memory_peak >= 0
                        ? (", " + pn::cli::iec_bytes(static_cast<double>(u.memory_peak)) + " at peak").c_str()
                        : "");
    else
        std::printf("memory:      - (cgroup v2's memory controller is not on here)\n");
    if (u.processes >= 0)
        std::printf("processes:   %lld\n", static_cast<long long>(u.processes));
    else
        std::printf("processes:   - (no cgroup v2 on this host)\n");
    if (u.rx_bytes >= 0)
        std::printf("traffic:     in %s bytes (%lld packets), out %s bytes (%lld packets)\n",
                    pn::cli::iec_bytes(static_cast<double>(u.rx_bytes)).c_str(),
                    static_cast<long long>(u.rx_packets),
                    pn::cli::iec_bytes(static_cast<double>(u.tx_bytes)).c_str(),
                    static_cast<long long>(u.tx_packets));
    else
        std::printf("traffic:     - (its uplink's counters could not be read)\n");
}

void print_text(const pn::SpaceInfo& i) {
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
        return s.empty() ? std::string("-") : s;
    };
    std::printf(
        "name:        %s%s\nlabel:       0x%04x\nstate:       %s\nparent:      %s\ndepth:       %d\n"
        "owner:       %u\nuplink:      %s\naddresses:   %s\nroutes:      %s%s\nservices:    %s%s\n"
        "file space:  %s\n",
        i.name.c_str(), i.named ? "" : " (unnamed)", i.label, pn::space_state_word(i.state),
        i.parent.empty() ? "(host)" : i.parent.c_str(), i.depth, i.owner, i.host_ifname.c_str(),
        (join(i.addresses) + (i.addresses_stale ? " (stale: no watcher; pnet gc restarts it)" : "")).c_str(),
        i.inherit_routes ? "inherited" : "not inherited",
        i.hidden_routes.empty() ? "" : (", hidden: " + join(i.hidden_routes)).c_str(),
        i.inherit_services ? "inherited" : "not inherited",
        i.hidden_services.empty() ? "" : (", hidden: " + join(i.hidden_services)).c_str(),
        file_space_text(i).c_str());
    if (!i.pin.empty()) std::printf("pin:         %s\n", i.pin.c_str());
    std::printf("pids:        %s\n",
                i.own_pids ? "own (a PID namespace and /proc of its own)" : "shared (the parent's)");
    if (!i.hostname.empty()) std::printf("hostname:    %s\n", i.hostname.c_str());
    if (!i.published.empty())
        std::printf("published:   %s (on the parent's addresses, for other hosts)\n",
                    join(i.published).c_str());
    if (i.dispatch == pn::Dispatch::bpf && i.dispatched_in >= 0)
        std::printf("dispatch:    bpf (tc programs; %lld packets in, %lld out on the fast path)\n",
                    static_cast<long long>(i.dispatched_in), static_cast<long long>(i.dispatched_out));
    else
        std::printf("dispatch:    %s\n",
                    i.dispatch == pn::Dispatch::bpf ? "bpf (tc programs)" : "nft (nftables)");
    if (!i.overlay.empty()) {
        std::printf("overlay:     %s (ESP: %s)\n", i.overlay.c_str(),
                    i.datapath == pn::Datapath::kernel ? "kernel XFRM" : "kernel-libipsec, in user space");
        if (!i.overlay_source.empty())
            std::printf("definition:  %s (%s)\n", i.overlay_source.c_str(),
                        i.user_network ? "the owner's own" : "the administrator's");
        for (const auto& p : i.peers)
            std::printf("peer:        %s %s\n", p.address.c_str(), p.up ? "up" : "down");
        for (const auto& l : i.overlay_sas) std::printf("             %s\n", l.c_str());
    }
    if (i.network)
        std::printf("network:     %s (label 0x%04x, the same on every host of the network)\n",
                    i.overlay.c_str(), i.label);
    print_usage(i);
}

int cmd_list(const std::vector<std::string>& args) {
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json")
            json = true;
        else
            return pn::cli::usage_error(kProg, "list: unknown argument '" + a + "'");
    }
    auto spaces = pn::list_spaces(pn::cli::context());
    if (!spaces.ok()) return pn::cli::fail(kProg, spaces.error());
    if (json) {
        std::string out = "[";
        for (size_t i = 0; i < spaces->size(); ++i) out += (i ? "," : "") + to_json((*spaces)[i]);
        std::printf("%s]\n", out.c_str());
        return 0;
    }
    std::printf("%-20s %-6s %-6s %-13s %-20s %s\n", "NAME", "LABEL", "DEPTH", "STATE", "PARENT", "UPLINK");
    for (const auto& i : spaces.value())
        std::printf("%-20s %04x   %-6d %-13s %-20s %s%s\n", i.name.c_str(), i.label, i.depth,
                    pn::space_state_word(i.state), i.parent.empty() ? "(host)" : i.parent.c_str(),
                    i.host_ifname.c_str(), i.addresses_stale ? " (addresses stale: no watcher)" : "");
    return 0;
}

int cmd_networks(const std::vector<std::string>& args) {
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json")
            json = true;
        else
            return pn::cli::usage_error(kProg, "networks: unknown argument '" + a + "'");
    }
    auto nets = pn::list_networks(pn::cli::context());
    if (!nets.ok()) return pn::cli::fail(kProg, nets.error());
    auto label_of = [](const pn::NetworkInfo& n) {
        char buf[8] = "-";
        if (n.label) std::snprintf(buf, sizeof buf, "0x%04x", *n.label);
        return std::string(buf);
    };
    if (json) {
        std::string out = "[";
        for (const auto& n : nets.value())
            out += std::string(out.size() > 1 ? "," : "") + "{\"name\":" + pn::cli::json_string(n.name) +
                   ",\"owner\":" + pn::cli::json_string(n.user ? "you" : "administrator") +
                   ",\"source\":" + pn::cli::json_string(n.source) +
                   ",\"shadowed\":" + (n.shadowed ? "true" : "false") +
                   ",\"label\":" + pn::cli::json_string(n.label ? label_of(n) : "") +
                   ",\"problem\":" + pn::cli::json_string(n.problem) + ",\"live\":" + json_list(n.live) + "}";
        std::printf("%s]\n", out.c_str());
        return 0;
    }
    std::printf("%-20s %-14s %-7s %-20s %s\n", "NAME", "OWNER", "LABEL", "LIVE", "DEFINITION");
    for (const auto& n : nets.value()) {
        std::string live;
        for (const auto& s : n.live) live += (live.empty() ? "" : ",") + s;
        std::string note = n.source;
        if (n.shadowed) note += " (hidden by your own)";
        std::printf("%-20s %-14s %-7s %-20s %s\n", n.name.c_str(), n.user ? "you" : "administrator",
                    label_of(n).c_str(), live.empty() ? "-" : live.c_str(), note.c_str());
        if (!n.problem.empty()) std::printf("%-20s cannot be bound: %s\n", "", n.problem.c_str());
    }
    return 0;
}

int cmd_show(const std::vector<std::string>& args) {
    std::string name;
    bool json = false;
    for (const auto& a : args) {
        if (a == "--json")
            json = true;
        else if (name.empty() && (a.empty() || a[0] != '-'))
            name = a;
        else
            return pn::cli::usage_error(kProg, "show: unexpected argument '" + a + "'");
    }
    if (name.empty()) return pn::cli::usage_error(kProg, "show: missing NAME");
    auto info = pn::show_space(name, pn::cli::context());
    if (!info.ok()) return pn::cli::fail(kProg, info.error());
    if (json)
        std::printf("%s\n", to_json(info.value()).c_str());
    else
        print_text(info.value());
    return 0;
}

int cmd_destroy(const std::vector<std::string>& args) {
    std::string name;
    pn::Keep keep = pn::Keep::nothing;
    for (const auto& a : args) {
        if (a == "--keep-files")
            keep = pn::Keep::files;
        else if (name.empty() && (a.empty() || a[0] != '-'))
            name = a;
        else
            return pn::cli::usage_error(kProg, "destroy: unexpected argument '" + a + "'");
    }
    if (name.empty()) return pn::cli::usage_error(kProg, "destroy: missing NAME");
    auto st = pn::destroy_space(name, pn::cli::context(), keep);
    if (!st.ok()) return pn::cli::fail(kProg, st.error());
    return 0;
}

int cmd_exec(std::vector<std::string> args) {
    if (args.empty()) return pn::cli::usage_error(kProg, "exec: missing NAME");
    std::string name = args[0];
    args.erase(args.begin());
    if (!args.empty() && args[0] == "--") args.erase(args.begin());
    if (args.empty()) return pn::cli::usage_error(kProg, "exec: missing COMMAND");
    auto space = pn::Space::open(name, pn::cli::context());
    if (!space.ok()) return pn::cli::fail(kProg, space.error());
    auto rc = space->run(args);
    if (!rc.ok()) {
        pn::cli::fail(kProg, rc.error());
        return 127;
    }
    return rc.value();
}

int cmd_diff(const std::vector<std::string>& args) {
    if (args.size() != 1) return pn::cli::usage_error(kProg, "diff: want exactly one NAME");
    auto changes = pn::diff_space(args[0], pn::cli::context());
    if (!changes.ok()) return pn::cli::fail(kProg, changes.error());
    for (const auto& c : changes.value()) std::printf("%c %s\n", c.kind, c.path.c_str());
    return 0;
}

// `pnet top`: what each space the caller can see uses, sampled every interval; CPU share
// and traffic rates are the change between two samples.
struct TopOptions {
    long count = 0;         // frames to print; 0: until interrupted
    double interval = 1.0;  // seconds between samples
};

std::optional<long> parse_count(const std::string& v) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos || v[0] == '0')
        return std::nullopt;
    return std::strtol(v.c_str(), nullptr, 10);
}

std::optional<double> parse_interval(const std::string& v) {
    if (v.empty() || v.find_first_not_of("0123456789.") != std::string::npos || v.front() == '.')
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(v.c_str(), &end);
    if (errno || *end || d < 0.1 || d > 3600) return std::nullopt;
    return d;
}

double monotonic_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Sample {
    std::vector<pn::SpaceInfo> spaces;  // with usage filled
    double at = 0;
};

pn::Result<Sample> take_sample(const pn::Context& ctx) {
    auto spaces = pn::list_spaces(ctx);
    if (!spaces.ok()) return spaces.error();
    Sample s;
    for (auto& info : spaces.value()) {
        auto u = pn::space_usage(info, ctx);
        if (!u.ok()) {
            if (u.error().code == ENOENT) continue;  // gone since the list
            return u.error();
        }
        info.usage = u.value();
        s.spaces.push_back(std::move(info));
    }
    s.at = monotonic_seconds();
    return s;
}

std::string cell_bytes(int64_t v) { return v < 0 ? "-" : pn::cli::iec_bytes(static_cast<double>(v)); }

// The rate of a counter between two samples, per second (times scale), or "-".
std::string cell_rate(int64_t before, int64_t now, double seconds, double scale, bool percent) {
    if (before < 0 || now < 0 || now < before || seconds <= 0) return "-";
    double r = static_cast<double>(now - before) * scale / seconds;
    if (!percent) return pn::cli::si_rate(r);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f", r);
    return buf;
}

void print_frame(const Sample& prev, const Sample& now, bool tty) {
    if (tty) std::fputs("\033[H\033[2J", stdout);
    double dt = now.at - prev.at;
    std::map<uint16_t, const pn::ResourceUsage*> before;
    for (const auto& i : prev.spaces) before[i.label] = &i.usage;
    std::printf("%-20s %-5s %6s %9s %7s %7s %5s %9s %9s %7s %7s\n", "NAME", "LABEL", "CPU%", "CPU-TIME",
                "MEMORY", "PEAK", "PROCS", "IN-BIT/S", "OUT-BIT/S", "IN", "OUT");
    for (const auto& i : now.spaces) {
        const auto& u = i.usage;
        auto it = before.find(i.label);
        const pn::ResourceUsage empty;
        const pn::ResourceUsage& b = it == before.end() ? empty : *it->second;
        char cpu_time[24] = "-";
        if (u.cpu_usec >= 0)
            std::snprintf(cpu_time, sizeof cpu_time, "%.2f", static_cast<double>(u.cpu_usec) / 1e6);
        std::printf("%-20s %04x  %6s %9s %7s %7s %5s %9s %9s %7s %7s\n", i.name.c_str(), i.label,
                    cell_rate(b.cpu_usec, u.cpu_usec, dt, 1e-4, true).c_str(), cpu_time,
                    cell_bytes(u.memory_bytes).c_str(), cell_bytes(u.memory_peak).c_str(),
                    u.processes < 0 ? "-" : std::to_string(u.processes).c_str(),
                    cell_rate(b.rx_bytes, u.rx_bytes, dt, 8, false).c_str(),
                    cell_rate(b.tx_bytes, u.tx_bytes, dt, 8, false).c_str(), cell_bytes(u.rx_bytes).c_str(),
                    cell_bytes(u.tx_bytes).c_str());
    }
    if (now.spaces.empty()) std::printf("(no spaces)\n");
    if (!tty) std::printf("\n");
    std::fflush(stdout);
}

void sleep_seconds(double s) {
    timespec ts{static_cast<time_t>(s),
                static_cast<long>((s - static_cast<double>(static_cast<time_t>(s))) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int cmd_top(const std::vector<std::string>& args) {
    TopOptions o;
    for (size_t n = 0; n < args.size(); ++n) {
        const std::string& a = args[n];
        if ((a == "-n" || a == "-d") && n + 1 == args.size())
            return pn::cli::usage_error(kProg, "top: " + a + " needs a value");
        if (a == "-n") {
            auto c = parse_count(args[++n]);
            if (!c)
                return pn::cli::usage_error(kProg,
                                            "top: -n '" + args[n] + "' is not a count from 1 to 999999999");
            o.count = *c;
        } else if (a == "-d") {
            auto d = parse_interval(args[++n]);
            if (!d)
                return pn::cli::usage_error(
                    kProg, "top: -d '" + args[n] + "' is not a number of seconds from 0.1 to 3600");
            o.interval = *d;
        } else {
            return pn::cli::usage_error(kProg, "top: unknown argument '" + a + "'");
        }
    }
    const auto ctx = pn::cli::context();
    const bool tty = isatty(STDOUT_FILENO) == 1;
    auto prev = take_sample(ctx);
    if (!prev.ok()) return pn::cli::fail(kProg, prev.error());
    for (long frame = 0; o.count == 0 || frame < o.count; ++frame) {
        sleep_seconds(o.interval);
        auto now = take_sample(ctx);
        if (!now.ok()) return pn::cli::fail(kProg, now.error());
        print_frame(prev.value(), now.value(), tty);
        prev = std::move(now);
    }
    return 0;
}

int cmd_gc(const std::vector<std::string>& args) {
    if (!args.empty()) return pn::cli::usage_error(kProg, "gc: unexpected argument '" + args[0] + "'");
    auto st = pn::collect_garbage(true, pn::cli::context());
    if (!st.ok()) return pn::cli::fail(kProg, st.error());
    return 0;
}

}  // namespace

namespace {
int run_main(int argc, char** argv) {
    if (argc < 2) return pn::cli::usage_error(kProg, "missing command");
    std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        print_help();
        return 0;
    }
    if (cmd == "--version") {
        std::printf("pnet (personalnet) %s\n", PERSONALNET_VERSION);
        return 0;
    }
    // `pnet COMMAND --help`: the help, as a user tries it first. Only before a command
    // line of exec's own (`pnet exec NAME -- ls --help` is ls's).
    const size_t own = cmd == "exec" ? std::min<size_t>(args.size(), 1) : args.size();
    if (std::any_of(args.begin(), args.begin() + static_cast<long>(own),
                    [](const std::string& a) { return a == "-h" || a == "--help"; })) {
        print_help();
        return 0;
    }
    if (cmd == "list") return cmd_list(args);
    if (cmd == "show") return cmd_show(args);
    if (cmd == "networks") return cmd_networks(args);
    if (cmd == "destroy") return cmd_destroy(args);
    if (cmd == "exec") return cmd_exec(args);
    if (cmd == "gc") return cmd_gc(args);
    if (cmd == "top") return cmd_top(args);
    if (cmd == "diff") return cmd_diff(args);
    return pn::cli::usage_error(kProg, "unknown command '" + cmd + "'");
}
}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main(kProg, [&] { return run_main(argc, argv); });
}
