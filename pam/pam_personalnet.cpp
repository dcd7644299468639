// pam_personalnet: a PAM session module that puts a login session into a personal
// network (see pam_personalnet(8) and lib/pam/pam_config.hpp). open_session runs as root
// in the login service's process (sshd, login), which afterwards starts the user's
// session: moving that process into the space's network and mount namespaces puts
// everything the session starts inside.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/cgroup_self.hpp"
#include "lib/core/seccomp.hpp"
#include "lib/core/sys.hpp"
#include "lib/pam/pam_config.hpp"
#include "lib/registry/holders.hpp"
#include "personalnet/space.hpp"

// Exported by the version script pam/pam_personalnet.map, which hides everything else.
#define PN_EXPORT extern "C"

namespace {

namespace pam = personalnet::pam;
namespace holders = personalnet::holders;
namespace sys = personalnet::sys;
using personalnet::Space;

constexpr const char* kOriginKey = "personalnet-origin";
// Login sessions are the holders of kind "pam" (RUNDIR/pam/NAME/PID).
constexpr const char* kSessions = "pam";

struct Options {
    bool debug = false;
    std::string config = pam::kDefaultConfigPath;
};

// Unknown options are refused rather than ignored: a misspelt config= would otherwise
// silently read another file.
bool parse_options(pam_handle_t* pamh, int argc, const char** argv, Options& o) {
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "debug") {
            o.debug = true;
        } else if (arg.rfind("config=", 0) == 0 && arg.size() > 7) {
            o.config = arg.substr(7);
        } else {
            pam_syslog(pamh, LOG_ERR, "unknown option '%s' (want debug, config=PATH)", argv[i]);
            return false;
        }
    }
    return true;
}

// The session's user, the rule that matched them and the space it names.
struct Target {
    std::string user;
    uid_t uid = 0;
    pam::Config conf;
    pam::Rule rule;
    std::string name;
};

std::vector<std::string> group_names(const passwd& pw) {
    std::vector<gid_t> gids(64);
    int n = static_cast<int>(gids.size());
    if (::getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) {
        gids.resize(static_cast<size_t>(n));
        if (::getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) n = 0;
    }
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
        if (const group* g = ::getgrgid(gids[static_cast<size_t>(i)]); g != nullptr)
            out.emplace_back(g->gr_name);
    return out;
}

// PAM_SUCCESS with t filled when a rule matches, else the code the session should get.
int resolve(pam_handle_t* pamh, int argc, const char** argv, Options& o, Target& t) {
    if (!parse_options(pamh, argc, argv, o)) return PAM_SERVICE_ERR;
    const char* user = nullptr;
    if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || user == nullptr || *user == '\0') {
        pam_syslog(pamh, LOG_ERR, "no user name");
        return PAM_USER_UNKNOWN;
    }
    t.user = user;
    const passwd* pw = ::getpwnam(user);
    if (pw == nullptr) {
        pam_syslog(pamh, LOG_ERR, "unknown user '%s'", user);
        return PAM_USER_UNKNOWN;
    }
    t.uid = pw->pw_uid;
    std::vector<std::string> groups = group_names(*pw);
    auto conf = pam::load_pam_config(o.config);
    if (!conf.ok()) {
        pam_syslog(pamh, LOG_ERR, "%s", conf.error().message().c_str());
        return PAM_SERVICE_ERR;
    }
    t.conf = std::move(conf).value();
    auto rule = pam::match_rule(t.conf, t.user, groups);
    if (!rule) {
        if (o.debug) pam_syslog(pamh, LOG_DEBUG, "user '%s' matches no rule", user);
        return PAM_IGNORE;
    }
    t.rule = std::move(*rule);
    auto name = pam::space_name(t.rule, t.user);
    if (!name.ok()) {
        pam_syslog(pamh, LOG_ERR, "%s", name.error().message().c_str());
        return PAM_SESSION_ERR;
    }
    t.name = std::move(name).value();
    return PAM_SUCCESS;
}

// What the library acts in for a session: the configuration's directories, for the
// session's user (the owner of what it creates, whose ownership of what it opens is
// checked). Nothing of the login process (its environment) is touched.
personalnet::Context context_for(const Target& t) {
    personalnet::Context ctx;
    ctx.rundir = t.conf.rundir;
    ctx.statedir = t.conf.statedir;
    ctx.overlaydir = t.conf.overlaydir;
    if (!t.conf.libexecdir.empty()) ctx.libexecdir = t.conf.libexecdir;
    ctx.caller = t.uid;
    return ctx;
}

// The namespaces (and cgroup) the process was in before it joined: close_session returns there first,
// so that the process does not keep the space alive, sees the host's /proc again (the
// space's does not show a process outside its PID namespace: the sessions of other
// processes would look dead) and forks outside the space's PID namespace.
struct Origin {
    int netns = -1;
    int mntns = -1;
    int pidns = -1;   // the PID namespace of its children
    int cgroup = -1;  // its cgroup v2 (the login's, e.g. its logind scope)
};

void free_origin(pam_handle_t* /*pamh*/, void* data, int /*status*/) {
    auto* o = static_cast<Origin*>(data);
    if (o->netns >= 0) ::close(o->netns);
    if (o->mntns >= 0) ::close(o->mntns);
    if (o->pidns >= 0) ::close(o->pidns);
    if (o->cgroup >= 0) ::close(o->cgroup);
    delete o;
}

void remember_origin(pam_handle_t* pamh) {
    auto* o = new Origin;
    o->netns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    o->mntns = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    o->pidns = ::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    o->cgroup = personalnet::sys::open_own_cgroup().release();
    if (pam_set_data(pamh, kOriginKey, o, free_origin) != PAM_SUCCESS) free_origin(pamh, o, 0);
}

void return_to_origin(pam_handle_t* pamh) {
    const void* data = nullptr;
    if (pam_get_data(pamh, kOriginKey, &data) != PAM_SUCCESS || data == nullptr) return;
    const auto* o = static_cast<const Origin*>(data);
    if (o->netns >= 0) (void)::setns(o->netns, CLONE_NEWNET);
    if (o->mntns >= 0) (void)::setns(o->mntns, CLONE_NEWNS);
    if (o->pidns >= 0) (void)::setns(o->pidns, CLONE_NEWPID);
    // Out of the space's cgroup, which its destruction removes (ending what is left in it).
    (void)personalnet::sys::enter_cgroup(o->cgroup);
}

int session_error(pam_handle_t* pamh, const char* what, const Target& t, const personalnet::Error& e) {
    pam_syslog(pamh, LOG_ERR, "%s of '%s' in space '%s': %s", what, t.user.c_str(), t.name.c_str(),
               e.message().c_str());
    return PAM_SESSION_ERR;
}

// The space named by the rule: opened if it exists (another login of the same user, or
// one made by hand), else created with the rule's options and the user as owner.
personalnet::Result<Space> open_or_create(const Target& t) {
    const personalnet::Context ctx = context_for(t);
    auto opened = Space::open(t.name, ctx);
    if (opened.ok() || opened.error().code != ENOENT) return opened;
    personalnet::SpaceSpec spec;
    spec.name = t.name;
    spec.inherit_routes = t.rule.inherit_routes;
    spec.inherit_services = t.rule.inherit_services;
    spec.file_space = t.rule.file_space;
    spec.overlay = t.rule.overlay;
    auto created = Space::create(spec, ctx);
    if (created.ok() || created.error().code != EEXIST) return created;
    return Space::open(t.name, ctx);  // someone else created it meanwhile
}

int open_session(pam_handle_t* pamh, int argc, const char** argv) {
    Options o;
    Target t;
    int rc = resolve(pamh, argc, argv, o, t);
    if (rc != PAM_SUCCESS) return rc;
    auto fail = [&](const personalnet::Error& e) { return session_error(pamh, "session", t, e); };
    auto lock = holders::lock(t.conf.rundir, kSessions);
    if (!lock.ok()) return fail(lock.error());
    auto space = open_or_create(t);
    if (!space.ok()) return fail(space.error());
    if (auto added = holders::add(t.conf.rundir, kSessions, t.name, ::getpid()); !added.ok())
        return fail(added.error());
    remember_origin(pamh);
    if (auto joined = space->join(); !joined.ok()) {
        return_to_origin(pamh);
        (void)holders::remove(t.conf.rundir, kSessions, t.name, ::getpid());
        return fail(joined.error());
    }
    // Like every command run in a space (Space::run): the session may not type into the
    // terminal it came from (TIOCSTI), which the login service (and what runs after the
    // session, e.g. a shell that ran `su -l`) reads. The filter stays on this process and
    // is inherited by everything the session starts; root's CAP_SYS_ADMIN installs it
    // without no_new_privs, so set-uid programs keep working in the session.
    if (int err = personalnet::seccomp::TtyFilter().install(); err != 0) {
        return_to_origin(pamh);
        (void)holders::remove(t.conf.rundir, kSessions, t.name, ::getpid());
        return fail(personalnet::make_error(err, "install the TIOCSTI filter (seccomp)"));
    }
    const std::string var = "PERSONALNET_SPACE=" + t.name;
    if (pam_putenv(pamh, var.c_str()) != PAM_SUCCESS) {
        // The session fails: it must not stay counted, nor this process inside.
        return_to_origin(pamh);
        (void)holders::remove(t.conf.rundir, kSessions, t.name, ::getpid());
        pam_syslog(pamh, LOG_ERR, "pam_putenv %s failed", var.c_str());
        return PAM_SESSION_ERR;
    }
    if (o.debug)
        pam_syslog(pamh, LOG_DEBUG, "user '%s' joined space '%s' (rule %s)", t.user.c_str(), t.name.c_str(),
                   t.rule.label.c_str());
    return PAM_SUCCESS;
}

// A close without a matching open (no session file for this process) does nothing and
// succeeds: the login service closes what it believes it opened, and failing would only
// turn a harmless double close into an error in its log.
int close_session(pam_handle_t* pamh, int argc, const char** argv) {
    Options o;
    Target t;
    int rc = resolve(pamh, argc, argv, o, t);
    if (rc != PAM_SUCCESS) return rc;
    auto fail = [&](const personalnet::Error& e) { return session_error(pamh, "close session", t, e); };
    return_to_origin(pamh);
    auto lock = holders::lock(t.conf.rundir, kSessions);
    if (!lock.ok()) return fail(lock.error());
    auto removed = holders::remove(t.conf.rundir, kSessions, t.name, ::getpid());
    if (!removed.ok()) return fail(removed.error());
    if (!removed.value()) {
        if (o.debug) pam_syslog(pamh, LOG_DEBUG, "no open session of space '%s' here", t.name.c_str());
        return PAM_SUCCESS;
    }
    auto live = holders::live(t.conf.rundir, kSessions, t.name);
    if (!live.ok()) return fail(live.error());
    if (t.rule.destroy_on_last_close && live.value() == 0) {
        auto destroyed = personalnet::destroy_space(t.name, context_for(t));
        if (!destroyed.ok() && destroyed.error().code != ENOENT) return fail(destroyed.error());
        if (o.debug) pam_syslog(pamh, LOG_DEBUG, "destroyed space '%s'", t.name.c_str());
    }
    return PAM_SUCCESS;
}

// The module's boundary: nothing may unwind into the login service (a C program), so an
// exception (std::bad_alloc, say) fails the session with one line in its log.
template <typename F>
int guarded(pam_handle_t* pamh, const char* what, F&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        pam_syslog(pamh, LOG_ERR, "%s: %s", what, e.what());
    } catch (...) {
        pam_syslog(pamh, LOG_ERR, "%s: unexpected exception", what);
    }
    return PAM_SESSION_ERR;
}

}  // namespace

PN_EXPORT int pam_sm_open_session(pam_handle_t* pamh, int /*flags*/, int argc, const char** argv) {
    return guarded(pamh, "open session", [&] { return open_session(pamh, argc, argv); });
}

PN_EXPORT int pam_sm_close_session(pam_handle_t* pamh, int /*flags*/, int argc, const char** argv) {
    return guarded(pamh, "close session", [&] { return close_session(pamh, argc, argv); });
}
