// The choices a space is made with and the states it goes through, and the one word for
// each value: the command line, the helper's messages, the registry's records and
// `pnet show` all use these words, so each enum has exactly one table of them
// (lib/core/space_enums.cpp, which every module may use).
#pragma once

#include <optional>
#include <string>

namespace personalnet {

// How a space's parents hand it the IKE and ESP that carry its label: the eBPF
// dispatcher (tc programs that deliver straight into the space, with the nftables
// dispatcher beside it for what they pass on), or nftables alone; automatic picks BPF
// when the kernel supports it. A space that exists is dispatched by nft or bpf.
enum class Dispatch { automatic, nft, bpf };

// How a file space's union is made: kernel overlayfs, or the fuse-overlayfs daemon;
// automatic picks the kernel when the caller is privileged. A file space that exists is
// made by kernel or fuse.
enum class FsBackend { automatic, kernel, fuse };

// Where a space's overlay ESP is processed: the kernel's XFRM, or charon's
// kernel-libipsec in user space (a kernel without ESP).
enum class Datapath { kernel, libipsec };

// Where a space is in its life: its record is written at the start of creation
// (creating), complete once everything is up (ready); an unnamed space whose supervisor
// died while it still has processes is shown as unsupervised (never recorded: worked
// out when the space is looked at).
enum class SpaceState { creating, ready, unsupervised };

// The words, both ways ("auto", "nft", "bpf"; "auto", "kernel", "fuse"; "kernel",
// "libipsec"; "creating", "ready", "unsupervised"); nullopt for any other word.
std::optional<Dispatch> parse_dispatch(const std::string& word);
const char* dispatch_word(Dispatch d);
std::optional<FsBackend> parse_fs_backend(const std::string& word);
const char* fs_backend_word(FsBackend b);
std::optional<Datapath> parse_datapath(const std::string& word);
const char* datapath_word(Datapath d);
std::optional<SpaceState> parse_space_state(const std::string& word);
const char* space_state_word(SpaceState s);

}  // namespace personalnet
