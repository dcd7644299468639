// A user's own network (issue 18): read by the creating process with its own rights,
// checked and completed by the root side (the helper, or root creating directly).
//
// The definition's files travel as bytes, never as paths: certificates named by
// connections.C.localX.certs and keys named by personalnet.keys are read by the caller;
// CA certificates named by remoteX.cacerts come from the administrator's trust
// directory. In the definition handed to the space's keeper and charon, each certificate
// item becomes "b64:DATA" and the keys a top-level section `credentials { keys = ... }`
// (ike::load_credentials loads them over VICI); nothing of them is written to a file.
#pragma once

#include "lib/ike/user_definition.hpp"
#include "personalnet/context.hpp"
#include "personalnet/space.hpp"

namespace personalnet::space {

// What a file a definition names may hold (it travels base64-encoded in one request
// value of at most 64 KiB).
inline constexpr size_t kMaxCredentialFile = size_t{48} * 1024;

// The user network spec names, read as the calling process: spec.network_file, else
// ctx.user_networkdir/OVERLAY.conf when spec.overlay is set and that file exists; an
// empty UserNetwork when neither applies (an administrator's overlay, or none). Errors
// name the file: unreadable, not a regular file, over 64 KiB, a bad definition, a named
// file missing or too large, a key file that group or others may read.
Result<UserNetwork> read_user_network(const SpaceSpec& spec, const Context& ctx);

// The host facts a user definition is checked against: the calling thread's network
// namespace's own addresses (the parent of the space about to be made).
Result<ike::HostFacts> host_facts_here();

// Root's check of a user network n: the allow-list (ike::parse_user_definition against
// host), and every certificate and key it names present in n.files (and nothing else).
Result<ike::UserDefinition> check_user_network(const UserNetwork& n, const ike::HostFacts& host);

// def (check_user_network's) with its credentials in place, as the keeper and charon
// take them: certificates and keys from n.files, CA certificates read from trustdir
// (trusted files, by plain name). EINVAL/ENOENT naming the file or certificate.
Result<ike::OverlayDefinition> with_credentials(ike::UserDefinition def, const UserNetwork& n,
                                                const std::string& trustdir);

}  // namespace personalnet::space
