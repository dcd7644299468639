// list_networks (personalnet/space.hpp): what `pnet networks` shows.
#include <algorithm>

#include "lib/ike/overlay_config.hpp"
#include "lib/space/remote.hpp"
#include "lib/space/user_network.hpp"
#include "personalnet/space.hpp"

namespace personalnet {

Result<std::vector<NetworkInfo>> list_networks(const Context& ctx) {
    auto spaces = list_spaces(ctx);
    if (!spaces.ok()) return spaces.error();
    std::vector<NetworkInfo> out;
    auto add_live = [&](NetworkInfo& n) {
        for (const auto& s : spaces.value())
            if (s.overlay == n.name && s.user_network == n.user) n.live.push_back(s.name);
    };
    std::vector<std::string> own = ike::definition_names(ctx.user_networkdir);
    for (const auto& name : own) {
        NetworkInfo n;
        n.name = name;
        n.user = true;
        n.source = ctx.user_networkdir + "/" + name + ".conf";
        SpaceSpec spec;
        spec.overlay = name;
        auto read = space::read_user_network(spec, ctx);
        if (read.ok()) {
            auto host = space::host_facts_here();
            auto def = host.ok() ? ike::parse_user_definition(name, read->text, read->path, host.value())
                                 : Result<ike::UserDefinition>(host.error());
            if (def.ok())
                n.label = def->overlay.label;
            else
                n.problem = def.error().message();
        } else {
            n.problem = read.error().message();
        }
        add_live(n);
        out.push_back(std::move(n));
    }
    // The administrator's: for a user, those the policy lets them bind, as the helper (which
    // alone reads the policy and the definitions) tells; for root, all of them.
    std::vector<NetworkInfo> admins;
    if (space::needs_helper()) {
        auto listed = space::remote_networks(ctx);
        if (!listed.ok()) return listed.error();
        admins = std::move(listed).value();
    } else {
        const auto labels = ike::network_labels(ctx.overlaydir);
        for (const auto& name : ike::definition_names(ctx.overlaydir)) {
            NetworkInfo n;
            n.name = name;
            n.source = ctx.overlaydir + "/" + name + ".conf";
            for (const auto& [label, holder] : labels)
                if (holder == name) n.label = label;
            admins.push_back(std::move(n));
        }
    }
    for (auto& n : admins) {
        n.user = false;
        n.shadowed = std::find(own.begin(), own.end(), n.name) != own.end();
        add_live(n);
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace personalnet
