// pnkeeper: the keeper of a space's charon (lib/space/overlay.hpp). Started by
// libpersonalnet as root, detached, already in the space's network namespace and the
// host's mount namespace, with stdio on /dev/null and a fixed environment:
//
//   pnkeeper DIR DEFINITION_FD REPORT_FD RUNDIR LABEL
//
// DIR is the daemon's root-only directory (RUNDIR/charon/LABEL: strongswan.conf, the VICI
// socket); DEFINITION_FD holds the overlay's connections and secrets (swanctl syntax,
// ike::render_settings). It runs charon, tells REPORT_FD how its first start went (the
// whole error, lib/core/spawn's encode_status) and closes it; the library brings the
// overlay up. When charon dies it is started again and the overlay brought up from the
// definition; SIGTERM stops charon and the keeper. Every argument is checked.
//
// While charon runs, the keeper keeps the parent's and ancestors' SPI maps in step with
// charon's SAs (space::sync_spis, issue 17): on every IKE/CHILD_SA up, down or rekey
// event (VICI), as soon as it reaches charon's socket, every 2 s as a safety net, and at
// once after a restart. It waits for
// charon's exit through a pidfd, in the same poll as the events. For a personal network
// it also settles duplicate IKE_SAs from a simultaneous initiation at the same moments
// (space::settle_duplicate_sas).
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/core/trusted_path.hpp"
#include "lib/ike/settings.hpp"
#include "lib/ike/vici_client.hpp"
#include "lib/netlink/xfrm_probe.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/overlay.hpp"
#include "lib/space/spis.hpp"
#include "tools/cli.hpp"
#include "tools/libexec_args.hpp"

namespace pn = personalnet;
namespace sys = personalnet::sys;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

constexpr const char* kCharon = "/usr/lib/ipsec/charon";
constexpr size_t kMaxDefinition = 1 << 20;

volatile sig_atomic_t g_stop = 0;
void stop(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
// How often the SPI maps are synced without an event: a safety net. SA events did not
// always reach us in the tests, so this period bounds how long a new SA's inbound ESP may
// go undispatched. (A 100 ms period once made an unnamed space's teardown leave it behind
// more often: the sync then ran on the main thread; see sync_off_the_main_thread.)
constexpr auto kSyncEvery = 2s;
// What changes a space's SPIs.
constexpr const char* kSaEvents[] = {"ike-updown", "ike-rekey", "child-updown", "child-rekey"};

// The SPI maps in step with charon's SAs. Failures are not fatal (nobody to tell; the
// next event or the safety net tries again): the record may not be saved yet at the
// first start, an ancestor may be going away.
void sync(const std::string& rundir, uint16_t label) {
    auto reg = pn::registry::Registry::open(rundir);
    if (!reg.ok()) return;
    auto rec = reg->load(label);
    if (!rec.ok()) return;
    // A personal network whose two sides initiated at once: the lower address keeps one.
    if (rec->network) {
        auto vici = pn::ike::ViciClient::connect(
            rundir + "/charon/" + pn::registry::label_hex(label) + "/charon.vici", 500ms);
        if (vici.ok()) (void)pn::space::settle_duplicate_sas(*vici);
    }
    (void)pn::space::sync_spis(*reg, *rec);
}

// sync() on a thread of its own. sync_spis enters the parent's and ancestors' network
// namespaces (setns, which moves only the calling thread): on the main thread, for those
// moments /proc/PID/ns/net named the parent's namespace, and a teardown that looked then
// (stop_overlay's is_space_process, which guards against a recycled pid) took the keeper
// for someone else's process and left it and charon running, holding the space's
// namespace and with it the reaper forever. The main thread, which /proc/PID/ns shows,
// never leaves the space's namespace.
void sync_off_the_main_thread(const std::string& rundir, uint16_t label) {
    try {
        std::thread t([&] { sync(rundir, label); });
        t.join();
    } catch (const std::system_error&) {  // no thread now: the next event or safety net tries again
    }
}

// Follows the SA events on charon's VICI socket; nullopt while charon does not answer.
std::optional<pn::ike::ViciClient> follow_events(const std::string& socket) {
    auto c = pn::ike::ViciClient::connect(socket, 500ms);
    if (!c.ok()) return std::nullopt;
    for (const char* e : kSaEvents)
        if (!c->follow(e, 1s).ok()) return std::nullopt;
    return std::move(c).value();
}

// Until charon exits (or the keeper is asked to stop): syncs at once, on events and
// every kSyncEvery. Returns with charon reaped.
void watch(pid_t charon, const std::string& dir, const std::string& rundir, uint16_t label) {
    pn::UniqueFd exited = sys::pidfd_of(charon);
    std::optional<pn::ike::ViciClient> vici;
    auto next_sync = Clock::now();
    while (g_stop == 0 && exited.valid()) {
        if (!vici || !vici->usable()) {
            vici = follow_events(dir + "/charon.vici");
            // Events before we followed them are lost (an SA that came up while charon's
            // socket was not ours yet): look at once rather than at the next safety net.
            if (vici) next_sync = Clock::now();
        }
        // Drained before every wait, not only when the socket is readable: events that
        // arrived with the last reply sit in the client, where poll cannot see them.
        if (vici) {
            for (;;) {
                auto e = vici->next_event(0ms);
                if (e.ok()) {
                    next_sync = Clock::now();  // an SA came, went or was rekeyed
                    continue;
                }
                if (e.error().code != ETIMEDOUT) vici.reset();  // reconnect on the next round
                break;
            }
        }
        if (Clock::now() >= next_sync) {
            sync_off_the_main_thread(rundir, label);
            next_sync = Clock::now() + kSyncEvery;
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_sync - Clock::now());
        // charon still starting: try again soon. Its first SA may come up before we follow
        // its events (a peer that answers at once), and until the sync that follows our
        // connection its inbound ESP is not dispatched: keep that window short.
        if (!vici) wait = std::min<std::chrono::milliseconds>(wait, 10ms);
        pollfd fds[2] = {{exited.get(), POLLIN, 0}, {vici ? vici->fd() : -1, POLLIN, 0}};
        int pr = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(wait.count(), 0)));
        if (pr < 0 && errno != EINTR) break;
        if (pr > 0 && fds[0].revents != 0) break;  // charon exited
    }
    if (g_stop != 0) ::kill(charon, SIGTERM);  // asked to stop
    int status = 0;
    while (::waitpid(charon, &status, 0) < 0) {
        if (errno != EINTR) break;
        if (g_stop != 0) ::kill(charon, SIGTERM);
    }
}

// charon in a mount namespace of its own: a private /run (its pid file path is compiled
// in) that still shows the daemon's directory. Never outlives its keeper.
struct CharonStart {
    std::string dir;
    std::vector<std::string> dirs_to_make;  // dir and its parents below /run, made again in the new /run
    int keep = -1;                          // the directory's mount, cloned in the child
    sys::SpawnOptions options;

    explicit CharonStart(const std::string& d) : dir(d) {
        if (dir.rfind("/run/", 0) == 0)
            for (size_t slash = 4; slash != std::string::npos;) {
                slash = dir.find('/', slash + 1);
                dirs_to_make.push_back(dir.substr(0, slash));
            }
        auto& o = options;
        o.what = "start charon";
        o.program = kCharon;
        o.argv = {"charon"};
        o.env = {"STRONGSWAN_CONF=" + dir + "/strongswan.conf", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                 "LC_ALL=C"};
        o.stdio = sys::SpawnOptions::Stdio::null;
        o.death_signal = SIGTERM;
        o.steps.push_back({"clone its directory's mount", [this] {
                               keep = static_cast<int>(
                                   ::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
                               return keep < 0 ? errno : 0;
                           }});
        o.steps.push_back(
            {"make a mount namespace of its own", [] { return ::unshare(CLONE_NEWNS) != 0 ? errno : 0; }});
        o.steps.push_back({"make / a slave", [] {
                               return ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ? errno
                                                                                                      : 0;
                           }});
        o.steps.push_back({"mount a private /run", [] {
                               return ::mount("personalnet-charon", "/run", "tmpfs", MS_NOSUID | MS_NODEV,
                                              "mode=0755") != 0
                                          ? errno
                                          : 0;
                           }});
        if (!dirs_to_make.empty()) {  // the directory was under the /run just covered
            o.steps.push_back({"make its directory in the private /run", [this] {
                                   for (const auto& d : dirs_to_make)
                                       if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return errno;
                                   return 0;
                               }});
            o.steps.push_back({"attach its directory", [this] {
                                   return ::move_mount(keep, "", AT_FDCWD, dir.c_str(),
                                                       MOVE_MOUNT_F_EMPTY_PATH) != 0
                                              ? errno
                                              : 0;
                               }});
        }
        o.steps.push_back({"chdir /", [] { return ::chdir("/") != 0 ? errno : 0; }});
    }
};

int keep(int argc, char** argv) {
    if (argc != 6) return kExitUsage;
    if (::geteuid() != 0) return kExitFailure;
    const std::string dir = argv[1];
    auto definition = pn::cli::open_fd_arg(argv[2]);
    auto report = pn::cli::open_fd_arg(argv[3]);
    const std::string rundir = argv[4];
    auto label = pn::cli::label_arg(argv[5]);
    if (!pn::cli::plain_absolute_path(dir) || !definition || !report || *definition == *report ||
        !pn::cli::plain_absolute_path(rundir) || !label || dir != rundir + "/charon/" + argv[5])
        return kExitUsage;
    // Root's alone, like everything charon reads from it.
    if (!sys::check_trusted_path(dir).ok()) return kExitUsage;
    std::string text = sys::read_to_eof(*definition, kMaxDefinition + 1);
    ::close(*definition);
    if (text.size() > kMaxDefinition) return kExitUsage;
    auto swanctl = pn::ike::parse_settings(text, "the overlay's definition");
    if (!swanctl.ok()) return kExitUsage;

    struct sigaction sa = {};
    sa.sa_handler = stop;
    ::sigaction(SIGTERM, &sa, nullptr);
    CharonStart start(dir);
    for (bool first = true; g_stop == 0; first = false) {
        // With the kernel datapath the SAs and policies of a daemon that died (SIGKILL, a
        // crash) stay in the space's XFRM database, which is its charon's alone: the old
        // inbound SAs would go on accepting the dead IKE_SA's keys until they expire.
        // A restarted charon starts from an empty one. A failed flush is not fatal here
        // (nobody to tell; the new charon replaces the policies): the daemon comes back.
        if (!first) (void)pn::netlink::flush_xfrm();
        auto charon = sys::spawn(start.options);
        if (first) {
            // The creator brings the overlay up itself (it can report failures).
            std::string status = sys::encode_status(charon.ok() ? pn::Status{} : pn::Status{charon.error()});
            (void)!::write(*report, status.data(), status.size());
            ::close(*report);
            if (!charon.ok()) return kExitFailure;
        } else if (charon.ok()) {
            // In the background: charon goes on trying, and a peer that comes back initiates.
            (void)pn::space::bring_up_overlay(dir + "/charon.vici", swanctl.value(),
                                              pn::space::Initiation::background);
        }
        if (charon.ok()) watch(charon.value(), dir, rundir, *label);
        if (g_stop == 0) ::sleep(1);  // a daemon that dies at once is not restarted in a loop
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnkeeper", [&] { return keep(argc, argv); });
}
