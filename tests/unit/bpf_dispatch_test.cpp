// The eBPF SPI dispatcher's life in one namespace (lib/bpf, kmod/dispatch.bpf.c): the
// kernel's verifier accepts the program, the instance is found again through lo,
// labels are mapped once, and removing it leaves no program attached or loaded.
// Delivery itself is tested end to end in tests/integration/dispatch_test.cpp.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "lib/bpf/dispatch.hpp"
#include "lib/core/fd.hpp"
#include "tests/unit/kernel_helpers.hpp"

namespace {

using namespace pn_unit;
namespace bpf = personalnet::bpf;

// Our program's attachments on a device's tcx ingress.
int attached(const char* dev) {
    uint32_t ids[8], n = 8;
    int ifindex = static_cast<int>(if_nametoindex(dev));
    if (ifindex == 0 || bpf_prog_query(ifindex, static_cast<bpf_attach_type>(46), 0, nullptr, ids, &n) != 0)
        return -1;
    int ours = 0;
    for (uint32_t i = 0; i < n; ++i) {
        personalnet::UniqueFd fd(bpf_prog_get_fd_by_id(ids[i]));
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::string(info.name) == bpf::kProgram)
            ++ours;
    }
    return ours;
}

// The ifindexes of the sources the instance on lo allows, each once per address.
std::vector<uint32_t> source_ifindexes() {
    std::vector<uint32_t> out;
    uint32_t ids[8], n = 8;
    if (bpf_prog_query(1, static_cast<bpf_attach_type>(46), 0, nullptr, ids, &n) != 0 || n == 0) return out;
    personalnet::UniqueFd prog(bpf_prog_get_fd_by_id(ids[0]));
    std::array<uint32_t, 16> maps{};
    bpf_prog_info info{};
    info.nr_map_ids = maps.size();
    info.map_ids = reinterpret_cast<uint64_t>(maps.data());
    uint32_t len = sizeof(info);
    if (!prog.valid() || bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) return out;
    for (uint32_t i = 0; i < info.nr_map_ids && i < maps.size(); ++i) {
        personalnet::UniqueFd map(bpf_map_get_fd_by_id(maps[i]));
        bpf_map_info mi{};
        uint32_t mlen = sizeof(mi);
        if (!map.valid() || bpf_obj_get_info_by_fd(map.get(), &mi, &mlen) != 0 ||
            std::string(mi.name) != "sources")
            continue;
        std::vector<uint8_t> key(mi.key_size), next(mi.key_size);
        for (const void* prev = nullptr; bpf_map_get_next_key(map.get(), prev, next.data()) == 0;
             prev = key.data()) {
            key = next;
            uint32_t ifindex = 0;
            std::memcpy(&ifindex, key.data(), sizeof ifindex);  // the key starts with it
            out.push_back(ifindex);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

class BpfDispatchTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, BPF)";
        std::string why = bpf::unsupported_reason();
        if (!why.empty()) GTEST_SKIP() << why;
    }
};

TEST_F(BpfDispatchTest, LoadsOnceMapsLabelsAndLeavesNothingWhenRemoved) {
    EXPECT_EQ(
        in_netns([] {
            CHECK_RUN(kIp, "link", "set", "lo", "up");
            CHECK_RUN(kIp, "link", "add", "uplink", "type", "veth", "peer", "name", "far");
            CHECK_RUN(kIp, "link", "add", "pn0abch", "type", "veth", "peer", "name", "kidpeer");
            int up = static_cast<int>(if_nametoindex("uplink"));
            int kid = static_cast<int>(if_nametoindex("pn0abch"));
            bpf::Devices devs{{up, static_cast<int>(if_nametoindex("far"))}};
            auto a4 = personalnet::IpAddr::parse("10.9.0.1");
            CHECK_THAT(a4.has_value(), "address");
            int listed = 0;
            auto list = [&devs, &listed]() -> personalnet::Result<bpf::Devices> {
                ++listed;
                return devs;
            };
            CHECK_OK(bpf::attach_child(kid, 0x0abc, {*a4}));
            CHECK_THAT(attached("lo") == 1 && attached("uplink") == 0 && attached("pn0abch") == 0,
                       "a child without SAs: anchored on lo only (each tcx attachment waits for RCU)");
            CHECK_OK(bpf::sync_esp(list, 0x0abc, kid, {}));
            CHECK_THAT(attached("uplink") == 0 && listed == 0, "no SPI: still not attached");
            CHECK_OK(bpf::sync_esp(list, 0x0abc, kid, {0xc0de0001}));
            CHECK_THAT(attached("lo") == 1 && attached("uplink") == 1 && attached("far") == 1 &&
                           attached("pn0abch") == 1 && listed == 1,
                       "its first SA: attached to the uplinks and the child's veth once each");
            CHECK_OK(bpf::sync_esp(list, 0x0abc, kid, {0xc0de0001, 0xc0de0002}));
            CHECK_THAT(listed == 1, "a rekey finds the veth attached without listing devices");
            // A second child and a label further down join the same instance.
            CHECK_RUN(kIp, "link", "add", "pn0abdh", "type", "veth", "peer", "name", "kid2peer");
            int kid2 = static_cast<int>(if_nametoindex("pn0abdh"));
            CHECK_OK(bpf::attach_child(kid2, 0x0abd, {*a4}));
            CHECK_OK(bpf::add_label(0x1234, kid2));
            CHECK_THAT(attached("lo") == 1 && attached("uplink") == 1 && attached("pn0abdh") == 0,
                       "still one program per device, none yet on the second child's veth");
            CHECK_OK(bpf::sync_esp(list, 0x1234, kid2, {0xc0de0003}));
            CHECK_THAT(attached("uplink") == 1 && attached("pn0abdh") == 1,
                       "the label further down's SA: its child on the way attached, the uplinks once");
            // A veth that is no child of this instance never gets the program: it
            // would take that veth for an uplink.
            CHECK_OK(bpf::sync_esp(list, 0x0abe, static_cast<int>(if_nametoindex("kidpeer")), {0xc0de0004}));
            CHECK_THAT(attached("kidpeer") == 0, "an unmapped veth is not attached");
            CHECK_OK(bpf::forget_esp(0x0abe));
            auto again = bpf::attach_child(kid2, 0x0abd, {*a4});
            CHECK_THAT(!again.ok() && again.error().code == EEXIST, "a mapped label is EEXIST");
            auto c = bpf::counters(0x0abc);
            CHECK_THAT(c.ok() && c->in == 0 && c->out == 0, "counters start at zero");
            CHECK_OK(bpf::remove_label(0x1234));
            CHECK_THAT(!bpf::counters(0x1234).ok(), "label gone");
            CHECK_OK(bpf::forget_child(0x0abc));
            CHECK_THAT(!bpf::counters(0x0abc).ok(), "child's label gone");
            CHECK_OK(bpf::forget_child(0x0abc));  // idempotent
            std::vector<int> all;
            for (const char* d : {"lo", "uplink", "far", "pn0abch", "kidpeer", "pn0abdh", "kid2peer"})
                all.push_back(static_cast<int>(if_nametoindex(d)));
            CHECK_OK(bpf::remove_instance(all));
            for (const char* d : {"lo", "uplink", "far", "pn0abch", "pn0abdh", "kidpeer"})
                CHECK_THAT(attached(d) == 0, std::string("nothing left on ") + d);
            CHECK_THAT(!bpf::counters(0x0abd).ok(), "no instance any more");
            CHECK_OK(bpf::forget_child(0x0abd));  // nothing to do without an instance
            return std::string();
        }),
        "");
}

// A child's release and a change of its sources read the whole sources map (a few
// entries per child) a batch at a time: with more entries than a batch (512), exactly the
// child's own go.
TEST_F(BpfDispatchTest, SourcesOfOneChildAmongHundredsGoWithIt) {
    EXPECT_EQ(in_netns([] {
                  CHECK_RUN(kIp, "link", "set", "lo", "up");
                  auto a4 = personalnet::IpAddr::parse("10.9.0.1");
                  auto a6 = personalnet::IpAddr::parse("fd00:9::1");
                  CHECK_THAT(a4 && a6, "addresses");
                  // Children by label and a made-up ifindex: the maps do not check devices.
                  constexpr int kChildren = 400;
                  for (int i = 1; i <= kChildren; ++i)
                      CHECK_OK(bpf::attach_child(1000 + i, static_cast<uint16_t>(0x1000 + i), {*a4, *a6}));
                  CHECK_THAT(source_ifindexes().size() == 2 * kChildren, "two sources a child");
                  CHECK_OK(bpf::sync_sources(1000 + 7, {*a4}));
                  CHECK_OK(bpf::forget_child(0x1000 + 300));
                  auto left = source_ifindexes();
                  CHECK_THAT(left.size() == 2 * kChildren - 3, std::to_string(left.size()) + " sources left");
                  CHECK_THAT(std::count(left.begin(), left.end(), 1007u) == 1, "the synced child keeps one");
                  CHECK_THAT(std::count(left.begin(), left.end(), 1300u) == 0,
                             "the forgotten child keeps none");
                  CHECK_THAT(std::count(left.begin(), left.end(), 1299u) == 2, "its neighbour keeps both");
                  CHECK_OK(bpf::remove_instance({1}));
                  return std::string();
              }),
              "");
}

}  // namespace
