// An unprivileged caller's spaces: every call goes to the set-uid helper
// (lib/helper/client), which checks the administrator's policy and does the privileged
// steps. The public API is the same as root's; enter() is refused.
#pragma once

#include <optional>

#include "lib/helper/client.hpp"
#include "personalnet/space.hpp"

namespace personalnet {

struct Space::Remote {
    helper::Session session;
    SpaceInfo info;
};

namespace space {

// Whether this process must ask the helper (it is not root).
bool needs_helper();

// The seed files' contents were read by the caller, with its own rights: the helper
// never opens a path a user names.
Result<std::unique_ptr<Space::Remote>> remote_create(const Context& ctx, const SpaceSpec& spec,
                                                     std::string resolv_conf, std::string hosts);
Result<std::unique_ptr<Space::Remote>> remote_open(const Context& ctx, const std::string& name);
Result<int> remote_run(Space::Remote& r, const std::vector<std::string>& argv,
                       const std::vector<std::string>* env);
Result<std::vector<SpaceInfo>> remote_list(const Context& ctx);
// The administrator's overlays the caller may bind (the helper reads the policy's directory).
Result<std::vector<NetworkInfo>> remote_networks(const Context& ctx);
Result<SpaceInfo> remote_show(const Context& ctx, const std::string& name);
Status remote_destroy(const Context& ctx, const std::string& name, Keep keep);
Status remote_gc(const Context& ctx, bool full);
Result<std::vector<FileChange>> remote_diff(const Context& ctx, const std::string& name);

}  // namespace space
}  // namespace personalnet
