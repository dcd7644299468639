#include "tests/integration/harness.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/sys.hpp"
#include "lib/netlink/netlink.hpp"
#include "lib/space/cgroup.hpp"
#include "lib/space/netns.hpp"
#include "tests/sim/simhosts.hpp"

namespace pntest {

namespace nl = personalnet::netlink;
using personalnet::IpAddr;
using personalnet::IpPrefix;
using personalnet::UniqueFd;

std::string build_dir() {
    const char* b = std::getenv("BUILD");
    std::string dir = b != nullptr && *b ? b : "build";
    if (dir[0] != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd) != nullptr) dir = std::string(cwd) + "/" + dir;
    }
    return dir;
}

[[noreturn]] void exec_argv(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    ::_exit(127);
}

std::string bin(const std::string& name) { return build_dir() + "/bin/" + name; }

std::string run_in_host(const Host& host, const std::function<std::string()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return "!pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        std::string r = ::setns(host.ns(), CLONE_NEWNET) == 0 ? body() : "!setns into the host failed";
        (void)!::write(p[1], r.data(), r.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string r;
    char buf[4096];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) r.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status)) return "!test child died: " + r;
    return r;
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

namespace {

[[noreturn]] void die(const std::string& what) { throw std::runtime_error(what); }

template <typename T>
T must(personalnet::Result<T> r, const std::string& what) {
    if (!r.ok()) die(what + ": " + r.error().message());
    return std::move(r).value();
}

void must(const personalnet::Status& s, const std::string& what) {
    if (!s.ok()) die(what + ": " + s.error().message());
}

// In the forked child: enter the host, set up stdio, exec.
[[noreturn]] void exec_in(int ns, const std::string& rundir, const std::vector<std::string>& argv, int in,
                          int out, int err) {
    if (::setns(ns, CLONE_NEWNET) != 0) ::_exit(126);
    ::setpgid(0, 0);  // so that kill() reaches the whole tree the test started
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    personalnet::sys::close_fds_from(3, -1);
    ::setenv("PERSONALNET_RUNDIR", rundir.c_str(), 1);
    if (const std::string cg = host_cgroupdir(rundir); !cg.empty())
        ::setenv("PERSONALNET_CGROUPDIR", cg.c_str(), 1);
    ::setenv("PERSONALNET_STATEDIR", (rundir.substr(0, rundir.rfind('/')) + "/state").c_str(), 1);
    exec_argv(argv);
}

int decode(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

}  // namespace

Proc::Proc(Proc&& o) noexcept
    : pid_(o.pid_), out_(std::move(o.out_)), in_(std::move(o.in_)), buf_(std::move(o.buf_)) {
    o.pid_ = -1;
}
Proc& Proc::operator=(Proc&& o) noexcept {
    if (this != &o) {
        kill(9);
        pid_ = o.pid_;
        o.pid_ = -1;
        out_ = std::move(o.out_);
        in_ = std::move(o.in_);
        buf_ = std::move(o.buf_);
    }
    return *this;
}
Proc::~Proc() { kill(9); }

std::string Proc::read_line(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto nl = buf_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0 || !out_.valid()) return "";
        pollfd p{out_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
        char b[4096];
        ssize_t n = ::read(out_.get(), b, sizeof b);
        if (n <= 0) {
            out_.reset();
            return "";
        }
        buf_.append(b, static_cast<size_t>(n));
    }
}

int Proc::wait() {
    if (pid_ <= 0) return -1;
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return decode(st);
}

void Proc::kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(-pid_, sig);
    if (sig == 9) wait();
}

std::string host_cgroupdir(const std::string& rundir) {
    personalnet::Context ctx;
    ctx.rundir = rundir;  // the library's own choice for this registry (a Slurm node's too)
    return personalnet::space::cgroup_host(ctx).subtree;
}

Host::Host(const std::string& name) : name_(name) {
    char tmpl[] = "/tmp/pntest-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    rundir_ = tmpl;
    rundir_ += "/run";
    (void)cgroupdir();  // read the mount once now, not in a forked child
    ns_ = must(personalnet::space::new_netns(), "create host " + name);
    auto sw = must(personalnet::space::NetnsSwitch::enter(ns_.get()), "enter host");
    auto s = must(nl::Socket::open(), "netlink");
    must(nl::set_link_up(s, 1), "lo up");
}

Host::~Host() {
    // Tests must leave nothing mounted; detach defensively so a failing test does not
    // poison the next one, then remove the directory tree.
    std::string top = rundir_.substr(0, rundir_.rfind('/'));
    auto mi = personalnet::sys::read_file("/proc/self/mountinfo");
    if (mi.ok()) {
        size_t pos = 0;
        while ((pos = mi->find(" " + top + "/", pos)) != std::string::npos) {
            size_t end = mi->find(' ', pos + 1);
            (void)::umount2(mi->substr(pos + 1, end - pos - 1).c_str(), MNT_DETACH);
            pos = end;
        }
    }
    // Its cgroups, deepest first (rmdir removes a cgroup with its control files).
    if (const std::string cg = cgroupdir(); !cg.empty())
        ::nftw(
            cg.c_str(),
            [](const char* p, const struct stat* st, int, struct FTW*) {
                if (S_ISDIR(st->st_mode)) (void)::rmdir(p);
                return 0;
            },
            16, FTW_DEPTH | FTW_PHYS);
    ::nftw(
        top.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
}

RunResult Host::run(const std::vector<std::string>& argv, int timeout_ms) const {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) die("pipe");
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid == 0) exec_in(ns_.get(), rundir_, argv, devnull, out[1], err[1]);
    ::close(out[1]);
    ::close(err[1]);
    ::close(devnull);
    RunResult r;
    UniqueFd o(out[0]), e(err[0]);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (o.valid() || e.valid()) {
        pollfd p[2] = {{o.get(), POLLIN, 0}, {e.get(), POLLIN, 0}};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(-pid, SIGKILL);
            r.err += "[timed out]";
            break;
        }
        if (::poll(p, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            UniqueFd& fd = i == 0 ? o : e;
            if (!fd.valid() || !(p[i].revents & (POLLIN | POLLHUP))) continue;
            char b[4096];
            ssize_t n = ::read(fd.get(), b, sizeof b);
            if (n <= 0)
                fd.reset();
            else
                (i == 0 ? r.out : r.err).append(b, static_cast<size_t>(n));
        }
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    r.rc = decode(st);
    return r;
}

Proc Host::spawn(const std::vector<std::string>& argv) const {
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) die("pipe");
    pid_t pid = ::fork();
    if (pid == 0) exec_in(ns_.get(), rundir_, argv, in[0], out[1], 2);
    ::close(out[1]);
    ::close(in[0]);
    return Proc(pid, out[0], in[1]);
}

Proc Host::serve(const std::string& proto, const std::string& addr, int port,
                 const std::string& reply) const {
    Proc p = spawn({bin("pnprobe"), "serve", proto, addr, std::to_string(port), "--reply", reply});
    if (p.read_line() != "listening") die("pnprobe serve did not start in host " + name_);
    return p;
}

// A link's carrier and operational state: the wire to the other host comes up on its own
// time (seen: NO-CARRIER when a test started on a loaded machine, UP at its end). Nothing
// personalnet does changes them, so they are left out of the comparison.
static std::string without_carrier(std::string text) {
    for (const char* word :
         {"NO-CARRIER,", "state DOWN ", "state UP ", "state UNKNOWN ", "state LOWERLAYERDOWN "}) {
        for (size_t pos; (pos = text.find(word)) != std::string::npos;) text.erase(pos, std::strlen(word));
    }
    return text;
}

std::string Host::snapshot() const {
    std::string s;
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"ip", "-o", "link", "show"},
             {"ip", "-o", "addr", "show"},
             {"ip", "rule"},
             {"ip", "-6", "rule"},
             {"ip", "route", "show", "table", "all"},
             {"ip", "-6", "route", "show", "table", "all"},
             {"nft", "list", "ruleset"},
             {"sysctl", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.ip_early_demux"}}) {
        auto r = run(cmd);
        if (cmd[2] == "link") r.out = without_carrier(r.out);
        s += "## " + cmd[0] + " " + cmd[1] + "\n" + r.out;
    }
    auto mi = personalnet::sys::read_file("/proc/self/mountinfo");
    std::string top = rundir_.substr(0, rundir_.rfind('/'));
    if (mi.ok()) {
        size_t pos = 0;
        while ((pos = mi->find(" " + top + "/", pos)) != std::string::npos) {
            size_t end = mi->find(' ', pos + 1);
            s += "mount " + mi->substr(pos + 1, end - pos - 1) + "\n";
            pos = end;
        }
    }
    // Processes started for this host's spaces that name its directories (fuse-overlayfs,
    // pnwatch).
    auto procs = personalnet::sys::list_dir("/proc");
    if (procs.ok()) {
        for (const auto& pid : procs.value()) {
            if (pid[0] < '1' || pid[0] > '9') continue;
            auto cmd = personalnet::sys::read_file("/proc/" + pid + "/cmdline");
            if (cmd.ok() && cmd->find(top + "/") != std::string::npos && cmd->find("fuse-overlayfs") == 0)
                s += "process fuse-overlayfs\n";
            // A parent's watcher (pnwatch RUNDIR ...) outliving the parent's last child.
            if (cmd.ok() && cmd->find(rundir_ + std::string(1, '\0')) != std::string::npos &&
                cmd->find("pnwatch") == 0)
                s += "process pnwatch\n";
        }
    }
    // Everything in the registry except its fixed skeleton, one level into parents/.
    for (const char* d : {"spaces", "names", "netns", "mntns", "locks", "ns", "parents", "fs", "base"}) {
        auto l = personalnet::sys::list_dir(rundir_ + "/" + d);
        if (!l.ok()) continue;
        for (const auto& n : l.value()) {
            s += std::string("registry ") + d + "/" + n + "\n";
            if (std::string(d) != "parents") continue;
            auto inner = personalnet::sys::list_dir(rundir_ + "/parents/" + n);
            if (inner.ok())
                for (const auto& i : inner.value()) s += "registry parents/" + n + "/" + i + "\n";
        }
    }
    // The cgroups of its spaces (the subtree itself, and root's leaf for its daemons in
    // it, stay once made).
    if (const std::string cg = cgroupdir(); !cg.empty()) {
        std::vector<std::string> dirs{""};
        for (size_t i = 0; i < dirs.size(); ++i) {
            auto l = personalnet::sys::list_dir(cg + dirs[i]);
            if (!l.ok()) continue;
            for (const auto& n : l.value()) {
                struct stat st {};
                if (::lstat((cg + dirs[i] + "/" + n).c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
                    (i == 0 && n == personalnet::space::kHelpersLeaf))
                    continue;
                dirs.push_back(dirs[i] + "/" + n);
                s += "cgroup " + dirs.back() + "\n";
            }
        }
    }
    return s + bpf_state();
}

// The SPI dispatcher's programs: attached to this host's devices, and loaded anywhere
// (programs are not per namespace: one left by a dead space shows up here).
std::string Host::bpf_state() const {
    std::string s;
    {
        auto sw = personalnet::space::NetnsSwitch::enter(ns_.get());
        if (!sw.ok()) return "bpf: cannot enter host " + name_ + "\n";
        auto nl = personalnet::netlink::Socket::open();
        auto links = nl.ok() ? personalnet::netlink::list_links(*nl)
                             : personalnet::Result<std::vector<personalnet::netlink::Link>>(nl.error());
        if (!links.ok()) return "bpf: cannot list links\n";
        for (const auto& l : links.value()) {
            uint32_t ids[16], n = 16;
            if (bpf_prog_query(l.index, static_cast<bpf_attach_type>(46), 0, nullptr, ids, &n) == 0 && n > 0)
                s += "bpf tcx " + l.name + ": " + std::to_string(n) + " programs\n";
        }
    }
    int programs = 0;
    for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
        personalnet::UniqueFd fd(bpf_prog_get_fd_by_id(id));
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::string(info.name) == personalnet::bpf::kProgram)
            ++programs;
    }
    return s + "bpf programs " + personalnet::bpf::kProgram + ": " + std::to_string(programs) + "\n";
}

// The wire comes up on its own time (carrier, then IPv6 link-local addresses after DAD):
// a test's baseline is taken only once both ends are settled, or it would differ from
// the state at its end (seen on a loaded machine: NO-CARRIER, linkdown routes, no fe80::).
static void wait_for_wire(const Host& h) {
    for (int i = 0; i < 100; ++i) {
        auto link = h.run({"ip", "-o", "link", "show", "dev", "eth0"});
        auto ll = h.run({"ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"});
        if (!contains(link.out, "NO-CARRIER") && contains(ll.out, "fe80::") && !contains(ll.out, "tentative"))
            return;
        ::usleep(50 * 1000);
    }
}

Topology::Topology() {
    must(pnsim::wire_hosts(a.ns(), b.ns()), "wire hosts");
    wait_for_wire(a);
    wait_for_wire(b);
}

}  // namespace pntest
