// The administrator's policy for unprivileged users: /etc/personalnet/personalnet.conf,
// read by the set-uid helper before it creates a space for anyone but root. Same syntax
// as the overlay definitions (strongSwan settings, see lib/ike/settings.hpp):
//
//   create {
//       users = alice, bob            # user names that may create spaces
//       groups = personalnet          # members of these groups may too
//       publish = 8000-8999, udp/5353 # ports users may publish on the host's addresses
//       share_pids = yes              # may users ask for --share-pids (no PID namespace)
//   }
//   limits {
//       max_spaces_per_user = 16      # 0-65535: spaces one user owns at a time
//       max_spaces = 1024             # 0-65535: spaces on the host, all users
//       max_depth = 8                 # 1-32: deepest nesting (1 = child of the host)
//       max_layer_size = 4G           # 1M-1024T or unlimited: what one user's layers may
//                                     # hold, all spaces together (their image's size)
//   }
//   overlays {
//       corp = corpusers, admins      # groups whose members may bind overlay corp
//       home = *                      # anyone who may create spaces may bind home
//   }
//   share {
//       paths = /home, /srv/projects  # directories (and below) users may --share
//   }
//   resources {                       # a user's spaces' limits (issue 22); root's are free
//       max_cpu = 2                   # most of each a user may ask for (--cpu, --memory,
//       max_memory = 4G               #   --pids); a space asking none gets the maximum
//       max_pids = 1024
//       cpu = 1                       # what a space gets when its user asks none
//       memory = 1G
//       pids = 512
//       io_weight = 100
//       max_bandwidth = 100M/10M      # --bandwidth IN/OUT, likewise
//       bandwidth = 10M
//   }
//   networks { ... }                  # users' own networks (lib/policy/networks.hpp)
//   admin = no                        # yes/no/true/false/1/0: may users ask for --admin
//   rundir = /run/personalnet
//   statedir = /var/lib/personalnet
//   overlaydir = /etc/personalnet/overlays.d
//   cgroupdir = /sys/fs/cgroup/personalnet   # the spaces' cgroups (default: under the
//                                            # cgroup2 mount, see Context::cgroupdir)
//
// Every setting is optional and a missing one keeps its default (the initialisers of
// Policy); a missing file means all defaults: only root and members of the group
// "personalnet" may create spaces, no overlay may be bound, nothing may be shared or
// published, no --admin space made and no user may have networks of their own. An empty value is an
// empty list ("groups =" drops the default group). Anything unknown, repeated or malformed
// is refused rather than ignored: a typo in a security policy must not silently widen or
// narrow it.
//
// Root (uid 0) passes every decision and every limit: the policy restrains the helper's
// callers, not the administrator.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lib/policy/networks.hpp"
#include "personalnet/error.hpp"
#include "personalnet/space.hpp"

namespace personalnet::policy {

inline constexpr const char* kDefaultPolicyPath = "/etc/personalnet/personalnet.conf";

// Ports users may publish (create.publish): PORT or LOW-HIGH, for tcp and udp alike, or
// with "tcp/" or "udp/" in front for that protocol only.
struct PortRange {
    uint8_t proto = 0;  // IPPROTO_TCP, IPPROTO_UDP, or 0 for both
    uint16_t low = 0, high = 0;
    bool operator==(const PortRange&) const = default;
    std::string str() const;  // as written in the policy: "8000-8999", "udp/5353"
};

// Users never publish ports below this one, whatever create.publish says: they are the
// host's (privileged services, and UDP 500 of IKE).
inline constexpr uint16_t kFirstUserPort = 1024;

struct Policy {
    std::vector<std::string> users;                  // user names allowed to create spaces
    std::vector<std::string> groups{"personalnet"};  // group names whose members may create spaces
    std::vector<PortRange> publish;                  // ports users may publish (none by default)
    int max_spaces_per_user = 16;                    // spaces one user may own at a time (named + unnamed)
    int max_spaces = 1024;                           // spaces on the host at a time, all users
    int max_depth = 8;  // deepest nesting a user may create (1 = child of the host)
    // Bytes one user's layers may hold in the layer store, all their spaces together (the
    // size of the user's own image of the store, see lib/fs/store.hpp); 0 = unlimited,
    // i.e. as large as root's (64 GiB). Not root's.
    uint64_t max_layer_size = uint64_t{4} << 30;
    // overlay name -> group names allowed to bind it; a user may bind an overlay only if listed here
    // and in one of its groups ("*" = every user allowed to create spaces).
    std::vector<std::pair<std::string, std::vector<std::string>>> overlays;
    std::vector<std::string> share_paths;  // absolute directory prefixes users may --share (and below)
    bool admin = false;                    // whether users may ask for --admin spaces
    bool share_pids = true;                // whether users may ask for --share-pids (create.share_pids)
    std::string rundir = "/run/personalnet";
    std::string statedir = "/var/lib/personalnet";
    std::string overlaydir = "/etc/personalnet/overlays.d";
    std::string cgroupdir;  // "": the library's default (Context::cgroupdir)
    Networks networks;      // users' own networks (lib/policy/networks.hpp): none by default
    // resources: the most a user's space may have (0: no maximum; io_weight has none) and
    // what it gets when its user asks nothing (0: no limit).
    ResourceLimits max_resources;
    ResourceLimits default_resources;
};

// Who asks (filled by the helper from the kernel's credentials and the user database).
struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;                      // user name of uid ("" if unknown)
    std::vector<std::string> group_names;  // primary and supplementary group names
};

// Parses text (strongSwan settings syntax); `where` names the source in errors. EINVAL
// for: syntax errors ("WHERE:LINE: what", from the settings parser); unknown, repeated or
// misplaced keys and sections ("WHERE: unknown setting 'limits.max_space'"); bad values
// ("WHERE: limits.max_depth: '12abc' is not a decimal number from 1 to 32"). Numbers are
// plain decimal digits without sign or leading zero, within the range above. Paths are
// absolute without ".", ".." or empty components or control characters (rundir, statedir,
// overlaydir not "/"). Sizes (max_layer_size) are such a number with an optional suffix K,
// M, G or T (powers of 1024), from 1M to 1024T, or "unlimited".
// User, group and overlay names are 1-32 of A-Z a-z 0-9 _ . -, not starting with '-' and
// not "." or ".."; overlay names (file names in overlaydir) not starting with '.' either.
// An overlay's list is group names or "*" alone. create.publish is a list of PORT or
// LOW-HIGH (1-65535, LOW <= HIGH), each optionally after "tcp/" or "udp/".
Result<Policy> parse_policy(const std::string& text, const std::string& where);

// Loads path (absolute). A missing file gives the defaults, provided the nearest existing
// directory above it passes sys::check_trusted_path (so nobody but root can have removed
// it or create it later); a missing /etc/personalnet counts as a missing file. An
// existing file and every directory above it must pass sys::check_trusted_path(path, true)
// (root-owned, not group/other-writable, no symlinks: EPERM, ELOOP), and it must be a
// regular file (EINVAL) of at most 1 MiB (EFBIG). Errors start "policy: " and name the path.
Result<Policy> load_policy(const std::string& path = kDefaultPolicyPath);

// Decisions: each returns {} when allowed, else EPERM with a one-line message that names
// the caller (user name, or uid when unknown) and the setting that refused it, e.g.
// "user 'bob' may not create spaces (personalnet.conf: users, groups)". may_bind_overlay,
// may_share and may_admin first require may_create, so each decision is safe on its own.
Status may_create(const Policy& p, const Caller& c);  // root (uid 0) always may
Status may_bind_overlay(const Policy& p, const Caller& c, const std::string& overlay);
// path must be the resolved path the helper will actually bind (realpath, no symlinks left):
// the check is lexical. One trailing '/' is ignored; ".", ".." or empty components are
// refused. Prefixes match whole components: /home/al does not cover /home/alice.
Status may_share(const Policy& p, const Caller& c, const std::string& path);
Status may_admin(const Policy& p, const Caller& c);
// A space without a PID namespace of its own (--share-pids): create.share_pids.
Status may_share_pids(const Policy& p, const Caller& c);
// A port published on the parent's addresses: for a user, port.port must be at least
// kFirstUserPort and inside a range of create.publish for its protocol. The inner port
// is the space's own business (it listens there).
Status may_publish(const Policy& p, const Caller& c, const PublishedPort& port);

// The limits a user's space gets (resources): what the caller asked, each one not asked
// taken from the default, else the maximum; EPERM naming the value and the setting when
// one is above its maximum ("user 'bob' may not ask for --memory 8G (personalnet.conf:
// resources.max_memory = 4G)"). from[i] (cpu, memory, pids, io_weight) names where each
// came from: the option ("--memory") or the setting ("resources.memory"), for a host that
// cannot hold it. Root gets what it asked.
struct ResourceSources {
    const char* from[4] = {"--cpu", "--memory", "--pids", "--io-weight"};
};
Result<ResourceLimits> resources_for(const Policy& p, const Caller& c, const ResourceLimits& asked,
                                     ResourceSources* sources = nullptr);

// Limits for creating one more space at new_depth, given how many the caller and the host
// own now. EUSERS when a count limit is reached ("user 'bob' owns 16 spaces
// (personalnet.conf: max_spaces_per_user = 16)", likewise max_spaces); ELOOP when
// new_depth > max_depth ("... nesting deeper than 8 (personalnet.conf: max_depth)");
// EINVAL for negative counts or new_depth < 1 (a caller bug). Root always passes.
Status within_limits(const Policy& p, const Caller& c, int spaces_of_user, int spaces_total, int new_depth);

}  // namespace personalnet::policy
