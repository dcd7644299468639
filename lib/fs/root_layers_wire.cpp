#include "lib/fs/root_layers_wire.hpp"

#include <cerrno>
#include <charconv>

namespace personalnet::fs {

namespace {

void put(std::string& out, const std::string& field) {
    out += field;
    out += '\0';
}

void put_list(std::string& out, const std::vector<std::string>& list) {
    put(out, std::to_string(list.size()));
    for (const auto& s : list) put(out, s);
}

struct Reader {
    const std::string& text;
    size_t at = 0;
    bool ok = true;

    std::string field() {
        size_t end = ok ? text.find('\0', at) : std::string::npos;
        if (end == std::string::npos) {
            ok = false;
            return {};
        }
        std::string s = text.substr(at, end - at);
        at = end + 1;
        return s;
    }
    template <typename T>
    T number() {
        std::string s = field();
        T v{};
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) ok = false;
        return v;
    }
    // A length beyond the text's size is refused before anything is read: each entry
    // takes at least its NUL.
    std::vector<std::string> list() {
        auto n = number<size_t>();
        std::vector<std::string> out;
        if (n > text.size()) ok = false;
        for (size_t i = 0; ok && i < n; ++i) out.push_back(field());
        return out;
    }
};

}  // namespace

std::string encode_root_layers(const RootLayers& layers) {
    std::string out;
    put(out, layers.layer);
    put_list(out, layers.parents);
    put(out, layers.backend == Backend::fuse ? "fuse" : "kernel");
    put_list(out, layers.shared);
    put(out, layers.tmp_dir);
    put(out, layers.rundir);
    put_list(out, layers.hidden);
    put(out, layers.throwaway ? "1" : "0");
    put(out, std::to_string(layers.owner));
    put(out, std::to_string(layers.owner_gid));
    put(out, std::to_string(layers.owner_groups.size()));
    for (gid_t g : layers.owner_groups) put(out, std::to_string(g));
    return out;
}

Result<RootLayers> decode_root_layers(const std::string& text) {
    Reader r{text};
    RootLayers l;
    l.layer = r.field();
    l.parents = r.list();
    std::string backend = r.field();
    if (backend != "fuse" && backend != "kernel") r.ok = false;
    l.backend = backend == "fuse" ? Backend::fuse : Backend::kernel;
    l.shared = r.list();
    l.tmp_dir = r.field();
    l.rundir = r.field();
    l.hidden = r.list();
    std::string throwaway = r.field();
    if (throwaway != "0" && throwaway != "1") r.ok = false;
    l.throwaway = throwaway == "1";
    l.owner = r.number<uid_t>();
    l.owner_gid = r.number<gid_t>();
    auto groups = r.number<size_t>();
    if (groups > text.size()) r.ok = false;
    for (size_t i = 0; r.ok && i < groups; ++i) l.owner_groups.push_back(r.number<gid_t>());
    if (!r.ok || r.at != text.size())
        return make_error(EINVAL, "the union's layers: a malformed description");
    return l;
}

}  // namespace personalnet::fs
