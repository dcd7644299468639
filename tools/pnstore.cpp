// pnstore: mounts an owner's layer store for root's own call from inside a file space
// (lib/space/filespace.cpp, ensure_store_via_host; docs/SECURITY.md, rule 2). Started by
// libpersonalnet as root, already in the host's mount namespace (where STATEDIR is not
// hidden), with a fixed environment, and waited for:
//
//   pnstore RUNDIR STATEDIR OWNER SIZE SOCKET_FD
//
// RUNDIR and STATEDIR are the caller's Context; OWNER is the store's uid, SIZE the size of
// a new image in bytes (0: take the image as it is, make none). It mounts the store on
// RUNDIR/fs/OWNER and answers on SOCKET_FD (a SOCK_SEQPACKET socket) with one message: the
// whole Status (lib/core/spawn's encode_status) and, when it is OK, a clone of the store's
// mount (SCM_RIGHTS), which the caller attaches in its own namespace. Every argument is
// checked; the exit status is 0 only when the mount was sent.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string>

#include "lib/core/fd_passing.hpp"
#include "lib/core/spawn.hpp"
#include "lib/registry/registry.hpp"
#include "lib/space/filespace.hpp"
#include "lib/space/run_mounts.hpp"
#include "tools/cli.hpp"
#include "tools/libexec_args.hpp"

namespace pn = personalnet;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

template <typename T>
bool number_arg(const std::string& arg, T& out) {
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), out);
    return !arg.empty() && ec == std::errc{} && end == arg.data() + arg.size();
}

// One message: the Status, with tree (when valid) as its ancillary descriptor.
bool answer(int sock, const pn::Status& st, int tree) {
    std::string text = pn::sys::encode_status(st);
    return pn::sys::send_with_fd(sock, text.data(), text.size(), tree) == static_cast<ssize_t>(text.size());
}

int store(int argc, char** argv) {
    if (argc != 6) return kExitUsage;
    if (::geteuid() != 0) return kExitFailure;
    pn::Context ctx;
    ctx.rundir = argv[1];
    ctx.statedir = argv[2];
    uid_t owner = 0;
    uint64_t size = 0;
    auto sock = pn::cli::open_fd_arg(argv[5]);
    struct stat st {};
    if (!pn::cli::plain_absolute_path(ctx.rundir) || !pn::cli::plain_absolute_path(ctx.statedir) ||
        !number_arg(argv[3], owner) || !number_arg(argv[4], size) || !sock || ::fstat(*sock, &st) != 0 ||
        !S_ISSOCK(st.st_mode))
        return kExitUsage;
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(*sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
        return kExitUsage;
    auto failed = [&](const pn::Error& e) {
        (void)answer(*sock, e, -1);
        return kExitFailure;
    };
    auto reg = pn::registry::Registry::open(ctx);
    if (!reg.ok()) return failed(reg.error());
    // Started in the host's namespace: in a file space it would only start itself again.
    if (pn::space::inside_file_space(reg.value()))
        return failed(pn::make_error(EINVAL, "pnstore: not in the host's mount namespace"));
    auto tree = pn::space::clone_owner_store(reg.value(), owner, size);
    if (!tree.ok()) return failed(tree.error());
    return answer(*sock, {}, tree->get()) ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnstore", [&] { return store(argc, argv); });
}
