// pnassemble: assembles a file space's union (lib/space/filespace.cpp, build_file_space)
// in a mount namespace of its own, which the creator then takes. Started by
// libpersonalnet as root with a fixed environment, in the creator's mount namespace:
//
//   pnassemble LAYERS_FD REPORT_FD HOLD_FD TRUSTED_MNTNS_FD|-
//
// LAYERS_FD holds the union's layers (lib/fs/root_layers_wire); TRUSTED_MNTNS_FD is the
// host's mount namespace when the creator runs in a file space (fs::RootLayers::
// trusted_mntns). It enters the union (fs::enter_overlay_root), tells REPORT_FD how that
// went (the whole Status, lib/core/spawn's encode_status) and closes it, then waits until
// HOLD_FD reaches end of file: the creator has opened its namespace by then. Every
// argument is checked.
#include <unistd.h>

#include <cerrno>
#include <string>

#include "lib/core/spawn.hpp"
#include "lib/core/sys.hpp"
#include "lib/fs/overlay_root.hpp"
#include "lib/fs/root_layers_wire.hpp"
#include "tools/cli.hpp"
#include "tools/libexec_args.hpp"

namespace pn = personalnet;
using pn::cli::kExitFailure;
using pn::cli::kExitUsage;

namespace {

constexpr size_t kMaxLayers = 1 << 20;

int assemble(int argc, char** argv) {
    if (argc != 5) return kExitUsage;
    if (::geteuid() != 0) return kExitFailure;
    auto spec = pn::cli::open_fd_arg(argv[1]);
    auto report = pn::cli::open_fd_arg(argv[2]);
    auto hold = pn::cli::open_fd_arg(argv[3]);
    if (!spec || !report || !hold || *spec == *report || *spec == *hold || *report == *hold)
        return kExitUsage;
    auto trusted_arg = pn::cli::namespace_fd_arg(argv[4]);
    if (!trusted_arg) return kExitUsage;
    const int trusted = *trusted_arg;
    std::string text = pn::sys::read_to_eof(*spec, kMaxLayers + 1);
    ::close(*spec);
    if (text.size() > kMaxLayers) return kExitUsage;
    auto layers = pn::fs::decode_root_layers(text);
    if (!layers.ok()) return kExitUsage;
    layers->trusted_mntns = trusted;

    std::string status = pn::sys::encode_status(pn::fs::enter_overlay_root(layers.value()));
    (void)!::write(*report, status.data(), status.size());
    ::close(*report);
    char c;
    while (::read(*hold, &c, 1) < 0 && errno == EINTR) {
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return pn::cli::guarded_main("pnassemble", [&] { return assemble(argc, argv); });
}
