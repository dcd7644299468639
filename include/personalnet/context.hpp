// libpersonalnet: where personalnet keeps its state and on whose behalf it acts.
//
// Every public call takes a Context. The library reads no environment variable and keeps
// no process-wide setting: what a call needs comes in here, so calls for different users
// (a PAM module serving several logins, a helper serving several requests) can run side
// by side. A default-constructed Context is the installed layout, acting for the real
// user; tools build theirs with from_environment() (the PERSONALNET_* variables).
#pragma once

#include <sys/types.h>

#include <string>

namespace personalnet {

struct Context {
    // The installed layout (the paths personalnet was built with), acting for getuid().
    Context();

    std::string rundir;      // the registry: records, labels, locks, pins
    std::string statedir;    // stored file-space layers
    std::string overlaydir;  // the administrator's overlay definitions (NAME.conf)
    // The CA certificates users' network definitions may name (personalnet.conf's
    // networks.trustdir); the helper sets it from the policy.
    std::string trustdir;
    // The caller's own network definitions (NAME.conf), read as the caller by the process
    // that creates a space (never by the helper): "" for none. from_environment() sets it
    // to $XDG_CONFIG_HOME/personalnet/networks, else $HOME/.config/personalnet/networks.
    std::string user_networkdir;
    // The cgroup v2 directory under which each space has its cgroup (issue 22): "" is
    // <the cgroup2 mount>/personalnet for the installed rundir and, for a registry
    // elsewhere (a simulated host's), personalnet followed by its rundir with '-' for '/'
    // ("personalnet-tmp-x-run"), so that two registries' spaces never share a cgroup.
    // Root's own choice only.
    std::string cgroupdir;
    std::string helper;  // the set-uid helper an unprivileged caller asks
    // Where the programs the library runs as root live (pnreaper, pnkeeper): LIBEXECDIR.
    // The helper names its own directory; tests and benches the build's.
    std::string libexecdir;
    // The broker a process started by the helper asks instead (it has no_new_privs, so
    // the set-uid helper would gain it nothing): "@personalnet-<pid>", or "".
    std::string broker;
    // On whose behalf the library acts: the owner of what it creates, the one whose
    // ownership is checked. The helper and the PAM module (root) name their user here.
    uid_t caller;
    // The caller's mount namespace when it is not this process's own (a descriptor the
    // helper holds: it serves a process inside a file space from outside it, and looks
    // the caller's file space up by this); -1: the process's own.
    int caller_mntns = -1;

    // The defaults, with what the PERSONALNET_* variables of envp (a NULL-terminated
    // "KEY=VALUE" array, e.g. environ) override: PERSONALNET_RUNDIR, _STATEDIR and
    // _OVERLAYDIR and _LIBEXECDIR for root only and when absolute, PERSONALNET_HELPER when absolute,
    // PERSONALNET_TRUSTDIR and _CGROUPDIR for root only and when absolute, PERSONALNET_BROKER as given;
    // user_networkdir from XDG_CONFIG_HOME or HOME (absolute
    // only). For programs that behave like the tools.
    static Context from_environment(const char* const* envp);
};

}  // namespace personalnet
