// pnslurmbench: make bench's table for the Slurm SPANK plugin (issue 19), in a real cluster
// (tests/integration/slurm_cluster.hpp: munged, slurmctld and three slurmd as simulated
// hosts, the Debian packages' binaries), the jobs run by the test user pntest-alice
// (made here if missing, and removed again then) through the build's plugin:
//
//   pnslurmbench RUNS RR_COUNT
//
// Every row is a median of RUNS rounds, and every round runs the rows it compares one after
// the other, the first of them rotating, so that the machine's drift touches them alike:
// - launch: `srun --chdir=/ -N3 true` (the baseline), the same with the plugin left out of
//   plugstack.conf, with --personalnet and with --personalnet --personalnet-files=none;
//   wall time of srun, as the user runs it. srun returns when the tasks have; the job then
//   completes on its nodes (slurmstepd's end, where the plugin destroys the job's space):
//   the turnaround rows time each job from srun's start until squeue lists it no more.
//   Every job starts once the last one has completed (a node still completing a job takes
//   no new one).
// - connected: from srun's start until every ordered pair of the 3 nodes' tasks has
//   connected over TCP (each task serves, and connects to the two others until they
//   answer; the tasks' own clocks, which are the machine's), over the cluster's network
//   (no --personalnet: the nodes' addresses, the baseline) and over the job's network.
// - TCP RR from node1's task to node3's (pnprobe rr, RR_COUNT request/responses after 100
//   of warm-up, its median): two jobs run throughout, node3's task of each serving
//   (pnprobe serve --echo), and each round runs one step on node1 in each job (srun
//   --jobid --overlap): the job without --personalnet at 10.19.0.3 (the baseline) and the
//   one with it at 10.254.0.3.
// The table goes to stdout. Afterwards every node must be as it was before the jobs (no job
// space, the same `Host::snapshot`, as many charon and pnkeeper processes as before):
// otherwise it says what is left on stderr and exits 1. Exit 2 for a usage error, 1 when
// the cluster does not come up or a job fails (with srun's output).
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "tests/integration/slurm_cluster.hpp"

namespace {

namespace sys = personalnet::sys;
using pntest::SlurmCluster;
using Clock = std::chrono::steady_clock;

constexpr int kExitUsage = 2;
constexpr int kMaxRuns = 1000;
// The test suite's user (tests/integration/unprivileged.hpp): Slurm runs the jobs of real users.
constexpr const char* kUser = "pntest-alice";
constexpr int kJobTimeoutMs = 120000;
constexpr int kConnectPort = 7020;
constexpr int kRrPortPlain = 7031;
constexpr int kRrPortJob = 7032;
constexpr const char* kJobPrefix = "10.254.0.";  // the plugin's default addresses=10.254.0.0/16

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

void check_interrupted() {
    if (g_interrupted != 0) throw std::runtime_error("interrupted");
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int64_t realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

// The figures, in the order measured: "1.2 3.4 ...".
std::string list(const std::vector<double>& v) {
    std::string s;
    for (double x : v) s += (s.empty() ? "" : " ") + fmt("%.1f", x);
    return s;
}

std::string ratio(double v, double base) { return base > 0 ? fmt("%.2f", v / base) + "x" : "n/a"; }

// "+12.3 ms" or "-0.4 us".
std::string delta(double v, double base, const char* unit) {
    return (v >= base ? "+" : "") + fmt("%.1f", v - base) + " " + unit;
}

// Runs argv (searched in PATH) to completion with stdio on /dev/null; its exit code.
int run_tool(const std::vector<std::string>& argv) {
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0) ::_exit(127);
        pntest::exec_argv(argv);
    }
    return sys::wait_child(pid);
}

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// The value of "key=VALUE" in text; "" when absent.
std::string field(const std::string& text, const std::string& key) {
    const size_t at = text.find(key + "=");
    if (at == std::string::npos) return "";
    const size_t from = at + key.size() + 1;
    return text.substr(from, text.find_first_of(" \n", from) - from);
}

class Bench {
public:
    Bench(SlurmCluster& cluster, int runs, int rr_count) : c_(cluster), runs_(runs), rr_count_(rr_count) {}

    void setup() {
        secret_ = c_.dir() + "/slurm.secret";
        // The site secret, the same on every node, root's only (the plugin checks).
        if (auto st = sys::write_atomic(secret_, "pnslurmbench site secret, 32 bytes\n"); !st.ok())
            throw std::runtime_error("write " + secret_ + ": " + st.error().message());
        if (::chmod(secret_.c_str(), 0600) != 0) throw std::runtime_error("chmod " + secret_);
        use_plugin(true);
        for (int n = 1; n <= SlurmCluster::kNodes; ++n) baseline_.push_back(c_.node(n).snapshot());
        daemons_before_ = SlurmCluster::running_daemons();
    }

    void launch() {
        struct Row {
            std::vector<std::string> options;
            bool plugin;
        };
        const std::vector<Row> rows = {{{}, true},
                                       {{}, false},
                                       {{"--personalnet"}, true},
                                       {{"--personalnet", "--personalnet-files=none"}, true}};
        std::vector<std::vector<double>> times(rows.size()), after(rows.size()), turnaround(rows.size());
        for (int r = 0; r < runs_; ++r)
            for (size_t i = 0; i < rows.size(); ++i) {
                check_interrupted();
                const size_t at = (i + static_cast<size_t>(r)) % rows.size();
                use_plugin(rows[at].plugin);
                std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3"};
                argv.insert(argv.end(), rows[at].options.begin(), rows[at].options.end());
                argv.push_back("true");
                const auto t0 = Clock::now();
                auto res = c_.run(argv, kUser, kJobTimeoutMs);
                times[at].push_back(ms_since(t0));
                if (res.rc != 0) fail_job(argv, res);
                after[at].push_back(wait_until_no_jobs());
                turnaround[at].push_back(ms_since(t0));
                no_job_spaces();
            }
        use_plugin(true);
        for (size_t i = 0; i < rows.size(); ++i) {
            launch_[i] = median(times[i]);
            after_[i] = median(after[i]);
            turnaround_[i] = median(turnaround[i]);
        }
    }

    void connected() {
        std::vector<double> plain, job;
        for (int r = 0; r < runs_; ++r) {
            for (int i = 0; i < 2; ++i) {
                check_interrupted();
                const bool pn = (i + r) % 2 == 1;
                (pn ? job : plain).push_back(connect_round(pn));
            }
        }
        connected_ = median(plain);
        connected_pn_ = median(job);
        rounds_ += "- connected, each round (ms): no --personalnet " + list(plain) + "; --personalnet " +
                   list(job) + ".\n";
    }

    void rr() {
        const std::string probe = c_.tool("pnprobe");
        pntest::Proc plain = serving_job(false, kRrPortPlain);
        pntest::Proc job = serving_job(true, kRrPortJob);
        const unsigned plain_id = running_job("pnbench-rr-plain");
        const unsigned job_id = running_job("pnbench-rr-pn");
        // How the job's network carries ESP on node1 ("overlay: job-N (ESP: ...)") and
        // dispatches it ("dispatch: bpf (...)"), as `pnet show` says.
        auto show = c_.run_on_node(1, {pntest::bin("pnet"), "show", "job-" + std::to_string(job_id)});
        std::istringstream lines(show.out);
        for (std::string line; std::getline(lines, line);) {
            const size_t esp = line.find("(ESP: ");
            if (line.rfind("overlay:", 0) == 0 && esp != std::string::npos)
                esp_ = line.substr(esp + 1, line.find(')', esp) - esp - 1);
            if (line.rfind("dispatch:", 0) == 0) {
                std::istringstream words(line);
                std::string word;
                words >> word >> dispatch_;
            }
        }
        std::vector<double> base, over;
        for (int r = 0; r < runs_; ++r)
            for (int i = 0; i < 2; ++i) {
                check_interrupted();
                const bool pn = (i + r) % 2 == 1;
                const std::string addr = pn ? std::string(kJobPrefix) + "3" : SlurmCluster::node_address(3);
                const std::vector<std::string> argv = {
                    "srun",      "--jobid=" + std::to_string(pn ? job_id : plain_id),
                    "--overlap", "--chdir=/",
                    "--nodes=1", "--nodelist=node1",
                    probe,       "rr",
                    addr,        std::to_string(pn ? kRrPortJob : kRrPortPlain),
                    "--count",   std::to_string(rr_count_),
                    "--warmup",  "100"};
                auto res = c_.run(argv, kUser, kJobTimeoutMs);
                const std::string us = field(res.out, "median_us");
                if (res.rc != 0 || us.empty()) fail_job(argv, res);
                (pn ? over : base).push_back(std::stod(us));
            }
        for (auto* p : {&plain, &job}) {
            p->close_stdin();  // the tasks' `read` ends: the servers stop, the jobs end
            if (const int rc = p->wait(); rc != 0)
                throw std::runtime_error("a TCP RR job exited with " + std::to_string(rc));
        }
        (void)wait_until_no_jobs();
        no_job_spaces();
        rr_ = median(base);
        rr_pn_ = median(over);
        rounds_ += "- TCP RR, each round's median (us): no --personalnet " + list(base) +
                   "; over the job's network " + list(over) + ".\n";
    }

    // What the jobs left on the nodes: "" when nothing.
    std::string leftovers() {
        std::string left;
        for (int n = 1; n <= SlurmCluster::kNodes; ++n) {
            const std::string listed = spaces_listed(n);
            if (listed.find("job-") != std::string::npos)
                left += "node" + std::to_string(n) + " lists job spaces:\n" + listed;
            const std::string now = c_.node(n).snapshot();
            if (now != baseline_.at(static_cast<size_t>(n - 1)))
                left += "node" + std::to_string(n) + " is not as it was:\n" +
                        differing_lines(baseline_.at(static_cast<size_t>(n - 1)), now);
        }
        std::string now = SlurmCluster::running_daemons();
        for (int i = 0; i < 100 && now != daemons_before_; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            now = SlurmCluster::running_daemons();
        }
        if (now != daemons_before_)
            left += "daemons before the jobs: " + daemons_before_ + ", after: " + now + "\n";
        return left;
    }

    void print(double up_seconds, double bench_seconds) const {
        utsname u{};
        ::uname(&u);
        char date[32];
        const std::time_t t = std::time(nullptr);
        std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&t));
        auto version = c_.run({"srun", "--version"});
        std::printf(
            "\npersonalnet Slurm plugin benchmarks (%s, %ld cores, kernel %s, %s, medians of %d rounds)\n\n",
            date, ::sysconf(_SC_NPROCESSORS_ONLN), u.release, trim(version.out).c_str(), runs_);
        std::printf("| measurement | median | ratio | note |\n|---|---|---|---|\n");
        auto row = [](const std::string& what, const std::string& value, const std::string& r,
                      const std::string& note) {
            std::printf("| %s | %s | %s | %s |\n", what.c_str(), value.c_str(), r.c_str(), note.c_str());
        };
        const std::string launches[] = {
            "`srun -N3 true`", "`srun -N3 true`, the plugin not in plugstack.conf",
            "`srun -N3 --personalnet true`", "`srun -N3 --personalnet --personalnet-files=none true`"};
        const std::string notes[] = {"the plugin configured, as in every row but the next", "",
                                     "volatile file spaces (the default)", ""};
        for (size_t i = 0; i < 4; ++i)
            row("launch: " + launches[i], fmt("%.1f", launch_[i]) + " ms",
                i == 0 ? "1.00x (baseline)" : ratio(launch_[i], launch_[0]),
                i == 0 ? notes[i]
                       : delta(launch_[i], launch_[0], "ms") + (notes[i].empty() ? "" : "; " + notes[i]));
        for (size_t i : {size_t{0}, size_t{2}, size_t{3}})
            row("turnaround: " + launches[i] + ", from srun's start until squeue lists no job",
                fmt("%.1f", turnaround_[i]) + " ms",
                i == 0 ? "1.00x (baseline)" : ratio(turnaround_[i], turnaround_[0]),
                "of which after srun's return " + fmt("%.1f", after_[i]) + " ms" +
                    (i == 0 ? " (squeue polled every 20 ms)" : ": the job's spaces destroyed on every node"));
        row("connected: srun start until all 6 ordered task pairs reach each other, no --personalnet",
            fmt("%.1f", connected_) + " ms", "1.00x (baseline)", "TCP to the nodes' addresses 10.19.0.1-3");
        row("connected: the same with --personalnet", fmt("%.1f", connected_pn_) + " ms",
            ratio(connected_pn_, connected_),
            delta(connected_pn_, connected_, "ms") + "; the job's addresses " + kJobPrefix + "1-3");
        row("TCP RR: node1 task -> node3 task, no --personalnet (10.19.0.3)", fmt("%.2f", rr_) + " us",
            "1.00x (baseline)",
            "median of each round's pnprobe rr median (" + std::to_string(rr_count_) + " RRs)");
        row("TCP RR: node1 task -> node3 task over the job's network (10.254.0.3)",
            fmt("%.2f", rr_pn_) + " us", ratio(rr_pn_, rr_),
            delta(rr_pn_, rr_, "us") + "; " + (esp_.empty() ? "ESP: ?" : esp_) + ", dispatch " +
                (dispatch_.empty() ? "?" : dispatch_));
        std::printf(
            "\n- A real Slurm cluster: slurmctld on host ctl, slurmd on node1..node3, simulated hosts on one"
            " LAN (network, UTS and mount namespaces of their own, all on this machine); jobs run as %s with"
            " `--chdir=/`; up in %.1f s, %.0f s for the whole benchmark.\n"
            "- Rows compared are run one after the other in each round, the first rotating, each job once the"
            " last one has completed; a launch is srun's wall time, which ends before the job completes on"
            " its nodes (the turnaround rows).\n%s",
            kUser, up_seconds, bench_seconds, rounds_.c_str());
    }

private:
    void use_plugin(bool on) {
        if (on == plugin_on_ && plugin_known_) return;
        c_.write_plugstack(
            on ? "required " + pntest::build_dir() +
                     "/slurm/spank_personalnet.so rundir={rundir} statedir={statedir} libexecdir=" +
                     pntest::build_dir() + "/libexec secret=" + secret_ + " wait=20\n"
               : "");
        plugin_on_ = on;
        plugin_known_ = true;
    }

    [[noreturn]] static void fail_job(const std::vector<std::string>& argv, const pntest::RunResult& r) {
        std::string cmd;
        for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
        throw std::runtime_error("`" + cmd + "` exited with " + std::to_string(r.rc) + ":\n" + r.out + r.err);
    }

    std::string spaces_listed(int n) const { return c_.run_on_node(n, {pntest::bin("pnet"), "list"}).out; }

    // Until squeue lists no job (the last one has left COMPLETING on every node: a node
    // that still completes one takes no new job, which waits "for resources"); how long
    // that took, in ms (polled every 20 ms). Throws after 60 s.
    double wait_until_no_jobs() const {
        const auto t0 = Clock::now();
        for (;;) {
            auto q = c_.run({"squeue", "--noheader", "--format=%i %T"});
            if (q.rc == 0 && q.out.empty()) return ms_since(t0);
            if (ms_since(t0) > 60000)
                throw std::runtime_error("a job did not complete within 60 s of srun's return: " + q.out +
                                         q.err);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    // Once the jobs have completed, no node lists a job's space.
    void no_job_spaces() const {
        for (int n = 1; n <= SlurmCluster::kNodes; ++n) {
            const std::string listed = spaces_listed(n);
            if (listed.find("job-") != std::string::npos)
                throw std::runtime_error("node" + std::to_string(n) +
                                         " lists a job's space after its job completed:\n" + listed);
        }
    }

    // One job whose tasks connect to each other (see the top); from srun's start until the
    // last of the 6 ordered pairs connected, in ms.
    double connect_round(bool pn) {
        const std::string probe = c_.tool("pnprobe");
        const std::string port = std::to_string(kConnectPort);
        const std::string prefix = pn ? kJobPrefix : "10.19.0.";
        // Each task: serve, connect to the two others until they answer (a fresh connect
        // every 10 ms, each given 200 ms), print when, and keep serving until srun's stdin
        // (which srun gives every task) ends.
        const std::string script =
            "me=$((SLURM_NODEID + 1))\n" + probe + " serve tcp 0.0.0.0 " + port +
            " --reply up >/dev/null &\n"
            "srv=$!\n"
            "for n in 1 2 3; do\n"
            "  [ $n = $me ] && continue\n"
            "  i=0\n"
            "  until " +
            probe + " connect tcp " + prefix + "$n " + port +
            " --timeout-ms 200 >/dev/null 2>&1; do\n"
            "    i=$((i + 1))\n"
            "    if [ $i -ge 1500 ]; then echo \"unreachable $me $n\"; kill $srv; exit 1; fi\n"
            "    sleep 0.01\n"
            "  done\n"
            "  echo \"reached $me $n $(date +%s%N)\"\n"
            "done\n"
            "read x || true\n"
            "kill $srv\n";
        std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3"};
        if (pn) argv.push_back("--personalnet");
        argv.insert(argv.end(), {"sh", "-c", script});
        const int64_t t0 = realtime_ns();
        pntest::Proc job = c_.spawn(argv, kUser);
        int64_t last = 0;
        std::string seen;
        for (int pairs = 0; pairs < 6;) {
            const std::string line = job.read_line(kJobTimeoutMs);
            seen += line + "\n";
            if (line.rfind("reached ", 0) == 0) {
                last = std::max(last, static_cast<int64_t>(std::stoll(line.substr(line.rfind(' ') + 1))));
                ++pairs;
            } else if (line.empty() || line.rfind("unreachable ", 0) == 0) {
                job.kill(SIGKILL);
                throw std::runtime_error(std::string("the tasks of a job") +
                                         (pn ? " with --personalnet" : "") +
                                         " did not all reach each other:\n" + seen);
            }
        }
        job.close_stdin();
        if (const int rc = job.wait(); rc != 0)
            throw std::runtime_error("a connected-round job exited with " + std::to_string(rc) + ":\n" +
                                     seen);
        (void)wait_until_no_jobs();
        no_job_spaces();
        return static_cast<double>(last - t0) / 1e6;
    }

    // A job whose node3 task serves TCP echo on port until srun's stdin ends (the others
    // wait for that too); returns once it listens.
    pntest::Proc serving_job(bool pn, int port) {
        const std::string script = "if [ $SLURM_NODEID = 2 ]; then " + c_.tool("pnprobe") +
                                   " serve tcp 0.0.0.0 " + std::to_string(port) +
                                   " --echo & srv=$!; read x || true; kill $srv; else read x || true; fi";
        std::vector<std::string> argv = {"srun", "--chdir=/", "--nodes=3",
                                         pn ? "--job-name=pnbench-rr-pn" : "--job-name=pnbench-rr-plain"};
        if (pn) argv.push_back("--personalnet");
        argv.insert(argv.end(), {"sh", "-c", script});
        pntest::Proc job = c_.spawn(argv, kUser);
        const std::string line = job.read_line(kJobTimeoutMs);
        if (line != "listening") {
            job.kill(SIGKILL);
            throw std::runtime_error(std::string("the TCP RR server job") +
                                     (pn ? " with --personalnet" : "") + " did not start: '" + line + "'");
        }
        return job;
    }

    unsigned running_job(const std::string& name) const {
        auto r = c_.run({"squeue", "--noheader", "--name=" + name, "--states=running", "--format=%i"});
        const unsigned id = static_cast<unsigned>(std::atoi(r.out.c_str()));
        if (id == 0) throw std::runtime_error("job " + name + " is not running: " + r.out + r.err);
        return id;
    }

    static std::string differing_lines(const std::string& before, const std::string& after) {
        auto lines = [](const std::string& t) {
            std::vector<std::string> v;
            std::istringstream in(t);
            for (std::string l; std::getline(in, l);) v.push_back(l);
            std::sort(v.begin(), v.end());
            return v;
        };
        const auto b = lines(before), a = lines(after);
        std::vector<std::string> gone, added;
        std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(gone));
        std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(added));
        std::string s;
        for (const auto& l : gone) s += "  - " + l + "\n";
        for (const auto& l : added) s += "  + " + l + "\n";
        return s;
    }

    SlurmCluster& c_;
    const int runs_, rr_count_;
    std::string secret_;
    bool plugin_on_ = false, plugin_known_ = false;
    std::vector<std::string> baseline_;
    std::string daemons_before_;
    std::string rounds_;          // the notes' lines with every round's figure
    std::string esp_, dispatch_;  // the RR job's space on node1, as `pnet show` names them
    // The launch rows: srun -N3 true, without the plugin, --personalnet, and files=none.
    double launch_[4] = {}, after_[4] = {}, turnaround_[4] = {};
    double connected_ = 0, connected_pn_ = 0;
    double rr_ = 0, rr_pn_ = 0;
};

int usage(const std::string& why) {
    std::fprintf(stderr, "pnslurmbench: %s\nusage: pnslurmbench RUNS RR_COUNT\n", why.c_str());
    return kExitUsage;
}

bool parse_count(const char* s, int max, int& out) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) return false;
    out = static_cast<int>(v);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 0, rr_count = 0;
    if (argc != 3) return usage("want RUNS and RR_COUNT");
    if (!parse_count(argv[1], kMaxRuns, runs)) return usage(std::string("bad RUNS '") + argv[1] + "'");
    if (!parse_count(argv[2], 1000000, rr_count)) return usage(std::string("bad RR_COUNT '") + argv[2] + "'");
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: the rounds check the flag and unwind
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    const bool made_user = ::getpwnam(kUser) == nullptr;
    if (made_user && run_tool({"useradd", "--system", "--user-group", "--no-create-home", "--shell",
                               "/bin/sh", kUser}) != 0) {
        std::fprintf(stderr, "pnslurmbench: cannot create the user %s\n", kUser);
        return 1;
    }
    const auto t0 = Clock::now();
    int rc = 0;
    std::string left;
    try {
        SlurmCluster cluster;
        Bench bench(cluster, runs, rr_count);
        bench.setup();
        bench.launch();
        bench.connected();
        bench.rr();
        left = bench.leftovers();
        bench.print(cluster.up_seconds(), ms_since(t0) / 1000);
        cluster.stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pnslurmbench: %s\n", e.what());
        rc = 1;
    }
    if (!left.empty()) {
        std::fprintf(stderr, "pnslurmbench: the jobs left this behind:\n%s", left.c_str());
        rc = 1;
    }
    if (made_user && run_tool({"userdel", kUser}) != 0)
        std::fprintf(stderr, "pnslurmbench: cannot remove the user %s\n", kUser);
    return rc;
}
