#include "tests/integration/slurm_cluster.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/space/netns.hpp"
#include "tests/sim/lan.hpp"

namespace pntest {

namespace sys = personalnet::sys;
using personalnet::UniqueFd;
using namespace std::chrono_literals;

namespace {

constexpr int kUpTimeoutMs = 30000;
constexpr size_t kLogTail = 1500;

[[noreturn]] void die(const std::string& what) { throw std::runtime_error(what); }

void must(const personalnet::Status& s, const std::string& what) {
    if (!s.ok()) die(what + ": " + s.error().message());
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
    must(sys::write_atomic(path, text), "write " + path);
    if (::chmod(path.c_str(), mode) != 0) die("chmod " + path);
}

std::string tail_of(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text.ok()) return "(no " + path + ")\n";
    const std::string& t = text.value();
    return t.size() > kLogTail ? "..." + t.substr(t.size() - kLogTail) : t;
}

unsigned long long inode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The cluster's configuration: the smallest that runs here. Nodes declare their CPUs and
// slurmd reports what is declared (config_overrides), so that three nodes on one small
// machine do not drain each other with their real, shared hardware; cons_tres with CR_CPU
// lets jobs share a node (the tests run two jobs at once).
std::string slurm_conf(const std::string& dir) {
    std::string c =
        "ClusterName=pntest\n"
        "SlurmctldHost=ctl(" +
        SlurmCluster::controller_address() +
        ")\n"
        "SlurmUser=root\n"
        "SlurmdUser=root\n"
        "AuthType=auth/munge\n"
        "CredType=cred/munge\n"
        "AuthInfo=socket=" +
        dir +
        "/munge/socket\n"
        "SlurmctldPort=6817\n"
        "SlurmdPort=6818\n"
        "StateSaveLocation=" +
        dir +
        "/state\n"
        "SlurmdSpoolDir=" +
        dir +
        "/spool/%n\n"
        "SlurmctldPidFile=" +
        dir +
        "/run/slurmctld.pid\n"
        "SlurmdPidFile=" +
        dir +
        "/run/slurmd-%n.pid\n"
        "SlurmctldLogFile=" +
        dir +
        "/log/slurmctld.log\n"
        "SlurmdLogFile=" +
        dir +
        "/log/slurmd-%n.log\n"
        // dir/etc is each node's own (make_host_namespaces): write_plugstack gives every
        // node the arguments with its own run directory.
        "PlugStackConfig=" +
        dir +
        "/etc/plugstack.conf\n"
        "ProctrackType=proctrack/linuxproc\n"
        "TaskPlugin=task/none\n"
        "JobAcctGatherType=jobacct_gather/none\n"
        "AccountingStorageType=accounting_storage/none\n"
        "JobCompType=jobcomp/none\n"
        "SwitchType=switch/none\n"
        "MpiDefault=none\n"
        "SelectType=select/cons_tres\n"
        "SelectTypeParameters=CR_CPU\n"
        "SlurmdParameters=config_overrides\n"
        "ReturnToService=2\n"
        // A down node is noticed within seconds, not the default five minutes.
        "SlurmdTimeout=10\n"
        "MessageTimeout=5\n"
        "KillWait=2\n";
    for (int n = 1; n <= SlurmCluster::kNodes; ++n)
        c += "NodeName=" + SlurmCluster::node_name(n) + " NodeAddr=" + SlurmCluster::node_address(n) +
             " CPUs=4 RealMemory=256 State=UNKNOWN\n";
    c += "PartitionName=pntest Nodes=node[1-" + std::to_string(SlurmCluster::kNodes) +
         "] Default=YES MaxTime=INFINITE State=UP\n";
    return c;
}

// This process's children: pid and state letter (R, S, Z, ...), from /proc/PID/stat.
std::vector<std::pair<pid_t, char>> children() {
    std::vector<std::pair<pid_t, char>> out;
    auto procs = sys::list_dir("/proc");
    if (!procs.ok()) return out;
    const pid_t self = ::getpid();
    for (const auto& p : procs.value()) {
        if (p[0] < '1' || p[0] > '9') continue;
        auto stat = sys::read_file("/proc/" + p + "/stat");
        if (!stat.ok()) continue;
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses, the last ')' ends it.
        const std::string& t = stat.value();
        const size_t end = t.rfind(')');
        if (end == std::string::npos || end + 4 >= t.size()) continue;
        const char state = t[end + 2];
        if (std::atoi(t.c_str() + end + 4) == self) out.emplace_back(std::stoi(p), state);
    }
    return out;
}

}  // namespace

SlurmCluster::SlurmCluster() {
    const auto t0 = std::chrono::steady_clock::now();
    try {
        start();
    } catch (...) {
        stop();
        throw;
    }
    up_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SlurmCluster::~SlurmCluster() {
    try {
        stop();
    } catch (...) {  // a destructor must not throw; stop() reports through the test's checks
    }
}

std::string SlurmCluster::munge_dir(size_t host) const {
    // The controller's is the path slurm.conf names: the clients, run in the machine's own
    // mount namespace, reach it there.
    return host == 0 ? dir_ + "/munge" : dir_ + "/hosts/" + host_name(host) + "/munge";
}

void SlurmCluster::make_files() {
    char tmpl[] = "/tmp/pnslurm-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp /tmp/pnslurm-XXXXXX");
    dir_ = tmpl;
    // The test users' srun reads slurm.conf and reaches the controller host's munged here.
    if (::chmod(dir_.c_str(), 0755) != 0) die("chmod " + dir_);
    for (const char* d : {"/munge", "/state", "/run", "/log", "/spool", "/hosts", "/etc"})
        must(sys::make_dirs(dir_ + d, 0755), "make " + dir_ + d);
    for (size_t h = 0; h <= kNodes; ++h) {
        must(sys::make_dirs(munge_dir(h), 0755), "make " + munge_dir(h));
        if (h > 0) {
            must(sys::make_dirs(dir_ + "/spool/" + host_name(h), 0755), "make the spool of " + host_name(h));
            must(sys::make_dirs(etc_dir(h), 0755), "make " + etc_dir(h));
        }
    }
    // Every host resolves the others' names, as a cluster's nodes do (DNS or /etc/hosts):
    // bound over /etc/hosts in each host's mount namespace.
    std::string hosts = "127.0.0.1\tlocalhost\n" + controller_address() + "\tctl\n";
    for (int n = 1; n <= kNodes; ++n) hosts += node_address(n) + "\t" + node_name(n) + "\n";
    write_file(dir_ + "/hosts.txt", hosts, 0644);
    // The key every host's munged shares, made here (munged checks it is the owner's only).
    std::string key(1024, '\0');
    std::random_device rd;
    for (auto& ch : key) ch = static_cast<char>(rd());
    write_file(dir_ + "/munge.key", key, 0400);
    write_file(conf(), slurm_conf(dir_), 0644);
}

std::string SlurmCluster::etc_dir(size_t host) const {
    return host == 0 ? dir_ + "/etc" : dir_ + "/hosts/" + host_name(host) + "/etc";
}

void SlurmCluster::write_plugstack(const std::string& text) {
    for (size_t h = 0; h <= kNodes; ++h) {
        std::string t = text;
        const std::string& rundir = hosts_.at(h)->rundir();
        for (size_t at; (at = t.find("{rundir}")) != std::string::npos;) t.replace(at, 8, rundir);
        // The Host's layer store (tests/integration/harness.cpp: next to its run directory).
        const std::string statedir = rundir.substr(0, rundir.rfind('/')) + "/state";
        for (size_t at; (at = t.find("{statedir}")) != std::string::npos;) t.replace(at, 10, statedir);
        write_file(etc_dir(h) + "/plugstack.conf", t, 0644);
    }
}

SlurmCluster::HostNs SlurmCluster::make_host_namespaces(const std::string& hostname,
                                                        const std::string& munge_dir,
                                                        const std::string& etc) {
    const std::string what = "make the UTS and mount namespaces of " + hostname;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) die(what + ": pipe");
    UniqueFd child_in(p[0]), parent_out(p[1]);
    // The bind's target: the one socket path slurm.conf names (the controller's directory).
    const std::string target = dir_ + "/munge";
    const bool bind = munge_dir != target;
    const std::string etc_target = dir_ + "/etc", hosts = dir_ + "/hosts.txt";
    sys::SpawnOptions o;
    o.what = what;
    o.fds = {{child_in.get(), 3}};
    o.death_signal = SIGKILL;
    // After the fork: async-signal-safe calls only, on strings made before it.
    o.steps = {
        {"unshare", [] { return ::unshare(CLONE_NEWUTS | CLONE_NEWNS) == 0 ? 0 : errno; }},
        {"set the hostname",
         [&hostname] { return ::sethostname(hostname.c_str(), hostname.size()) == 0 ? 0 : errno; }},
        // Nothing mounted in the host reaches the machine's own mount namespace.
        {"make / private",
         [] { return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 ? 0 : errno; }},
        {"bind its munged's directory",
         [&] {
             if (!bind) return 0;
             return ::mount(munge_dir.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0 ? 0 : errno;
         }},
        {"bind its configuration directory",
         [&] {
             if (etc == etc_target) return 0;
             return ::mount(etc.c_str(), etc_target.c_str(), nullptr, MS_BIND, nullptr) == 0 ? 0 : errno;
         }},
        {"bind the cluster's /etc/hosts",
         [&] { return ::mount(hosts.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) == 0 ? 0 : errno; }},
    };
    // Held until the parent has opened the namespaces: then its end of the pipe closes.
    o.body = [] {
        char c;
        (void)!::read(3, &c, 1);
        return 0;
    };
    auto pid = sys::spawn(o);
    if (!pid.ok()) die(pid.error().message());
    child_in.reset();
    HostNs ns;
    const std::string proc = "/proc/" + std::to_string(pid.value()) + "/ns/";
    ns.uts = UniqueFd(::open((proc + "uts").c_str(), O_RDONLY | O_CLOEXEC));
    ns.mnt = UniqueFd(::open((proc + "mnt").c_str(), O_RDONLY | O_CLOEXEC));
    parent_out.reset();
    (void)sys::wait_child(pid.value());
    if (!ns.uts.valid() || !ns.mnt.valid()) die(what + ": cannot open them");
    return ns;
}

SlurmCluster::Daemon& SlurmCluster::start_daemon(size_t host, const std::string& what,
                                                 const std::vector<std::string>& argv) {
    std::vector<Daemon>& list = argv[0] == "munged" ? munged_ : argv[0] == "slurmd" ? slurmd_ : slurmctld_;
    Daemon d;
    d.what = what;
    d.log = dir_ + "/log/" + argv[0] + "-" + host_name(host) + ".out";
    auto out = sys::open_fd(d.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (!out.ok()) die("start " + what + ": " + out.error().message());
    sys::SpawnOptions o;
    o.what = "start " + what;
    o.program = argv[0];
    o.search_path = true;
    o.argv = argv;
    o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SLURM_CONF=" + conf()};
    o.stdio = sys::SpawnOptions::Stdio::null;
    o.fds = {{out->get(), 1}, {out->get(), 2}, {host_ns_[host].uts.get(), 3}};
    // A test that dies does not leave the daemons behind (slurmstepd, a grandchild, is
    // found by its namespaces at the next stop(); see kill_leftovers).
    o.death_signal = SIGKILL;
    o.netns = hosts_[host]->ns();
    o.mntns = host_ns_[host].mnt.get();
    o.steps = {{"join the host's UTS namespace", [] {
                    const int err = ::setns(3, CLONE_NEWUTS) == 0 ? 0 : errno;
                    ::close(3);
                    return err;
                }}};
    auto pid = sys::spawn(o);
    if (!pid.ok()) die(pid.error().message());
    d.pid = pid.value();
    d.pidfd = sys::pidfd_of(d.pid);
    list.push_back(std::move(d));
    return list.back();
}

void SlurmCluster::wait_for_munge(size_t host, const Daemon& d) {
    const std::string socket = munge_dir(host) + "/socket";
    for (int i = 0; i < 500; ++i) {
        if (inode_of(socket) != 0) return;
        int st = 0;
        if (::waitpid(d.pid, &st, WNOHANG) == d.pid)
            die(d.what + " exited with " + std::to_string(sys::exit_code(st)) + ":\n" + tail_of(d.log));
        std::this_thread::sleep_for(10ms);
    }
    die(d.what + " did not create " + socket + " within 5 s:\n" + tail_of(d.log));
}

void SlurmCluster::start() {
    // Orphans of the cluster (slurmstepd, which slurmd starts detached, and a child srun
    // leaves) come to this process, which reaps them at stop(): this machine's init does
    // not reap them at once, and a zombie is a leftover like any other process.
    for (const auto& c : children()) foreign_children_.push_back(c.first);
    if (::prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_) != 0 || ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        die("become the cluster's subreaper");
    subreaper_ = true;
    make_files();
    hosts_.push_back(std::make_unique<Host>("ctl"));
    for (int n = 1; n <= kNodes; ++n) hosts_.push_back(std::make_unique<Host>(node_name(n)));
    auto lan = personalnet::space::new_netns();
    if (!lan.ok()) die("create the LAN: " + lan.error().message());
    lan_ns_ = std::move(lan).value();
    std::vector<pnsim::LanHost> wires;
    for (size_t h = 0; h <= kNodes; ++h)
        wires.push_back({hosts_[h]->ns(), "eth0",
                         (h == 0 ? controller_address() : node_address(static_cast<int>(h))) + "/24"});
    wired_ = true;
    must(pnsim::wire_lan(lan_ns_.get(), wires), "wire the cluster's LAN");
    for (size_t h = 0; h <= kNodes; ++h) {
        host_ns_.push_back(make_host_namespaces(host_name(h), munge_dir(h), etc_dir(h)));
        auto net = sys::inode_of_fd(hosts_[h]->ns());
        auto uts = sys::inode_of_fd(host_ns_[h].uts.get());
        if (!net.ok() || !uts.ok()) die("the namespaces of " + host_name(h));
        ns_inodes_.push_back(net.value());
        ns_inodes_.push_back(uts.value());
    }
    munged_.reserve(kNodes + 1);
    slurmd_.reserve(kNodes);
    slurmctld_.reserve(1);
    for (size_t h = 0; h <= kNodes; ++h) {
        const std::string m = munge_dir(h);
        const std::string address = h == 0 ? controller_address() : node_address(static_cast<int>(h));
        auto& d = start_daemon(h, "munged on " + host_name(h),
                               {"munged", "--foreground", "--force", "--key-file=" + dir_ + "/munge.key",
                                "--socket=" + m + "/socket", "--pid-file=" + m + "/munged.pid",
                                "--seed-file=" + m + "/munged.seed", "--origin=" + address});
        wait_for_munge(h, d);
    }
    start_daemon(0, "slurmctld on ctl", {"slurmctld", "-D", "-f", conf()});
    for (size_t h = 1; h <= kNodes; ++h)
        start_daemon(h, "slurmd on " + host_name(h), {"slurmd", "-D", "-f", conf()});
    write_plugstack("");
    wait_until_idle();
}

void SlurmCluster::wait_until_idle() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kUpTimeoutMs);
    for (;;) {
        for (auto* list : {&munged_, &slurmctld_, &slurmd_})
            for (auto& d : *list) {
                int st = 0;
                if (d.pid > 0 && ::waitpid(d.pid, &st, WNOHANG) == d.pid) {
                    d.pid = -1;
                    die(d.what + " exited with " + std::to_string(sys::exit_code(st)) + "\n" + diagnosis());
                }
            }
        auto r = run({"sinfo", "--noheader", "--Node", "--format=%N %T"}, nullptr, 10000);
        // The nodes not idle yet, with their state ("node2 down*"), or sinfo's error.
        std::string waiting;
        int idle = 0;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            if (line.size() > 5 && line.compare(line.size() - 5, 5, " idle") == 0)
                ++idle;
            else
                waiting += (waiting.empty() ? "" : ", ") + line;
        }
        if (idle == kNodes) return;
        if (std::chrono::steady_clock::now() > deadline)
            die("the Slurm cluster did not come up within " + std::to_string(kUpTimeoutMs / 1000) +
                " s: not idle: " + (waiting.empty() ? "sinfo: " + r.err : waiting) + "\n" + diagnosis());
        std::this_thread::sleep_for(100ms);
    }
}

std::string SlurmCluster::diagnosis() const {
    std::string s;
    for (const auto* list : {&munged_, &slurmctld_, &slurmd_})
        for (const auto& d : *list) {
            s += "== " + d.what + (d.pid > 0 ? "" : " (exited)") + ": " + d.log + "\n" + tail_of(d.log);
        }
    s += "== " + dir_ + "/log/slurmctld.log\n" + tail_of(dir_ + "/log/slurmctld.log");
    for (int n = 1; n <= kNodes; ++n) {
        const std::string log = dir_ + "/log/slurmd-" + node_name(n) + ".log";
        s += "== " + log + "\n" + tail_of(log);
    }
    return s;
}

std::string SlurmCluster::tool(const std::string& name) {
    if (tools_dir_.empty()) {
        char tmpl[] = "/var/tmp/pnslurm-tools-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) die("mkdtemp /var/tmp/pnslurm-tools-XXXXXX");
        tools_dir_ = tmpl;
        if (::chmod(tools_dir_.c_str(), 0755) != 0) die("chmod " + tools_dir_);
    }
    std::string path = tools_dir_ + "/" + name;
    if (inode_of(path) == 0) {
        auto bytes = sys::read_file(bin(name));
        if (!bytes.ok()) die("copy " + bin(name) + ": " + bytes.error().message());
        write_file(path, bytes.value(), 0755);
    }
    return path;
}

std::string SlurmCluster::running_daemons() {
    int charon = 0, keeper = 0;
    auto procs = sys::list_dir("/proc");
    if (procs.ok())
        for (const auto& p : procs.value()) {
            auto comm = sys::read_file("/proc/" + p + "/comm");
            auto stat = sys::read_file("/proc/" + p + "/stat");
            if (!comm.ok() || !stat.ok()) continue;
            const size_t end = stat->rfind(')');
            if (end == std::string::npos || end + 2 >= stat->size() || (*stat)[end + 2] == 'Z') continue;
            charon += comm.value() == "charon\n";
            keeper += comm.value() == "pnkeeper\n";
        }
    return "charon " + std::to_string(charon) + " pnkeeper " + std::to_string(keeper);
}

RunResult SlurmCluster::run_on_node(int n, const std::vector<std::string>& argv, int timeout_ms) const {
    const pid_t slurmd = slurmd_.at(static_cast<size_t>(n - 1)).pid;
    if (slurmd <= 0) return RunResult{127, "", "slurmd on " + node_name(n) + " is not running"};
    // The node's mount and UTS namespaces are its slurmd's; Host::run joins its network.
    std::vector<std::string> cmd = {"nsenter", "--target", std::to_string(slurmd), "--mount", "--uts", "--"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    return hosts_.at(static_cast<size_t>(n))->run(cmd, timeout_ms);
}

// The command line of a client run as user (root when null), with a plain environment.
std::vector<std::string> SlurmCluster::client(const std::vector<std::string>& argv, const char* user) const {
    std::vector<std::string> cmd;
    if (user != nullptr)
        cmd = {"setpriv", std::string("--reuid=") + user, std::string("--regid=") + user, "--init-groups"};
    cmd.insert(cmd.end(), {"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SLURM_CONF=" + conf()});
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    return cmd;
}

RunResult SlurmCluster::run(const std::vector<std::string>& argv, const char* user, int timeout_ms) const {
    return hosts_.at(0)->run(client(argv, user), timeout_ms);
}

Proc SlurmCluster::spawn(const std::vector<std::string>& argv, const char* user) const {
    return hosts_.at(0)->spawn(client(argv, user));
}

// SIGTERM (or sig), then SIGKILL after timeout_ms; reaps it.
void SlurmCluster::end(Daemon& d, int sig, int timeout_ms) {
    if (d.pid <= 0) return;
    if (d.pidfd.valid()) {
        (void)::kill(d.pid, sig);
        if (!sys::wait_exit(d.pidfd.get(), timeout_ms)) (void)::kill(d.pid, SIGKILL);
    } else {
        (void)::kill(d.pid, SIGKILL);
    }
    (void)sys::wait_child(d.pid);
    d.pid = -1;
    d.pidfd.reset();
}

// Whatever still runs in the cluster's namespaces once its daemons are gone: slurmstepd
// (slurmd's child, which outlives it by design) and the job's tasks.
void SlurmCluster::kill_leftovers() {
    for (int round = 0; round < 50; ++round) {
        int found = 0;
        auto procs = sys::list_dir("/proc");
        if (!procs.ok()) return;
        for (const auto& p : procs.value()) {
            if (p[0] < '1' || p[0] > '9') continue;
            for (const char* ns : {"net", "uts"}) {
                const unsigned long long ino = inode_of("/proc/" + p + "/ns/" + ns);
                bool ours = false;
                for (auto i : ns_inodes_) ours = ours || (ino != 0 && i == ino);
                if (!ours) continue;
                (void)::kill(std::stoi(p), SIGKILL);
                ++found;
                break;
            }
        }
        if (found == 0) return;
        std::this_thread::sleep_for(20ms);
    }
}

// Waits for (and reaps) every child adopted since start(): all are the cluster's and
// were killed by kill_leftovers if they still ran.
void SlurmCluster::reap_orphans() {
    if (!subreaper_) return;
    for (int round = 0; round < 100; ++round) {
        int left = 0;
        for (const auto& [pid, state] : children()) {
            if (std::find(foreign_children_.begin(), foreign_children_.end(), pid) != foreign_children_.end())
                continue;
            if (state == 'Z')
                (void)sys::wait_child(pid);
            else
                ++left;
        }
        if (left == 0) break;
        std::this_thread::sleep_for(20ms);
    }
    (void)::prctl(PR_SET_CHILD_SUBREAPER, was_subreaper_);
    subreaper_ = false;
}

double SlurmCluster::stop() {
    if (stopped_) return 0;
    stopped_ = true;
    const auto t0 = std::chrono::steady_clock::now();
    // The nodes first, so that none re-registers; slurmctld saves its state on SIGTERM.
    for (auto& d : slurmd_)
        if (d.pid > 0) (void)::kill(d.pid, SIGTERM);
    for (auto& d : slurmd_) end(d, SIGTERM, 5000);
    for (auto& d : slurmctld_) end(d, SIGTERM, 10000);
    for (auto& d : munged_)
        if (d.pid > 0) (void)::kill(d.pid, SIGTERM);
    for (auto& d : munged_) end(d, SIGTERM, 5000);
    kill_leftovers();
    reap_orphans();
    host_ns_.clear();
    if (wired_) {
        std::vector<pnsim::LanHost> wires;
        for (auto& h : hosts_) wires.push_back({h->ns(), "eth0", ""});
        (void)pnsim::unwire_lan(wires);
    }
    lan_ns_.reset();
    hosts_.clear();
    if (!dir_.empty()) (void)sys::remove_tree(dir_);
    if (!tools_dir_.empty()) (void)sys::remove_tree(tools_dir_);
    tools_dir_.clear();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace pntest
