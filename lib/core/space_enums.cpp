// The word tables of the enums in personalnet/space_enums.hpp. They live in core, not in
// lib/space, because the registry (which must not depend on lib/space) writes and reads
// them too.
#include "personalnet/space_enums.hpp"

#include <utility>

namespace personalnet {

namespace {

template <typename E, size_t N>
std::optional<E> from_word(const std::string& word, const std::pair<E, const char*> (&words)[N]) {
    for (const auto& [value, w] : words)
        if (word == w) return value;
    return std::nullopt;
}

template <typename E, size_t N>
const char* to_word(E value, const std::pair<E, const char*> (&words)[N]) {
    for (const auto& [v, w] : words)
        if (v == value) return w;
    return "?";
}

constexpr std::pair<Dispatch, const char*> kDispatches[] = {
    {Dispatch::automatic, "auto"}, {Dispatch::nft, "nft"}, {Dispatch::bpf, "bpf"}};
constexpr std::pair<FsBackend, const char*> kFsBackends[] = {
    {FsBackend::automatic, "auto"}, {FsBackend::kernel, "kernel"}, {FsBackend::fuse, "fuse"}};
constexpr std::pair<Datapath, const char*> kDatapaths[] = {{Datapath::kernel, "kernel"},
                                                           {Datapath::libipsec, "libipsec"}};
constexpr std::pair<SpaceState, const char*> kSpaceStates[] = {{SpaceState::creating, "creating"},
                                                               {SpaceState::ready, "ready"},
                                                               {SpaceState::unsupervised, "unsupervised"}};

}  // namespace

std::optional<Dispatch> parse_dispatch(const std::string& word) { return from_word(word, kDispatches); }
const char* dispatch_word(Dispatch d) { return to_word(d, kDispatches); }
std::optional<FsBackend> parse_fs_backend(const std::string& word) { return from_word(word, kFsBackends); }
const char* fs_backend_word(FsBackend b) { return to_word(b, kFsBackends); }
std::optional<Datapath> parse_datapath(const std::string& word) { return from_word(word, kDatapaths); }
const char* datapath_word(Datapath d) { return to_word(d, kDatapaths); }
std::optional<SpaceState> parse_space_state(const std::string& word) { return from_word(word, kSpaceStates); }
const char* space_state_word(SpaceState s) { return to_word(s, kSpaceStates); }

}  // namespace personalnet
