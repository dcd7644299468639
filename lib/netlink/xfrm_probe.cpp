#include "lib/netlink/xfrm_probe.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "lib/core/nlack.hpp"

namespace personalnet::netlink {

namespace {

Result<bool> probe_once();

// An algorithm attribute (struct xfrm_algo followed by its key).
void put_algo(nlmsghdr* nlh, uint16_t type, const char* name, size_t key_bytes) {
    std::vector<char> buf(sizeof(xfrm_algo) + key_bytes, 0);
    auto* algo = reinterpret_cast<xfrm_algo*>(buf.data());
    std::strncpy(algo->alg_name, name, sizeof algo->alg_name - 1);
    algo->alg_key_len = static_cast<unsigned>(key_bytes * 8);
    mnl_attr_put(nlh, type, buf.size(), buf.data());
}

// In the calling thread, which must already be in a network namespace of its own.
Result<bool> probe_here() {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> sock(mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC),
                                                           mnl_socket_close);
    if (!sock) return errno_error("open an XFRM netlink socket");
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error("bind XFRM netlink socket");
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = XFRM_MSG_NEWSA;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    nlh->nlmsg_seq = 1;
    auto* sa = static_cast<xfrm_usersa_info*>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
    sa->family = AF_INET;
    sa->mode = XFRM_MODE_TUNNEL;
    sa->id.proto = IPPROTO_ESP;
    sa->id.spi = htonl(0x1000);
    sa->id.daddr.a4 = htonl(0xc0000202);  // 192.0.2.2 and .1 (TEST-NET-1), never routed
    sa->saddr.a4 = htonl(0xc0000201);
    sa->lft.soft_byte_limit = sa->lft.hard_byte_limit = XFRM_INF;
    sa->lft.soft_packet_limit = sa->lft.hard_packet_limit = XFRM_INF;
    put_algo(nlh, XFRMA_ALG_CRYPT, "cbc(aes)", 16);
    put_algo(nlh, XFRMA_ALG_AUTH, "hmac(sha256)", 32);
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errno_error("send an XFRM probe");
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) return errno_error("read the XFRM probe's answer");
    auto* reply = reinterpret_cast<nlmsghdr*>(buf.data());
    if (!mnl_nlmsg_ok(reply, static_cast<int>(n)) || reply->nlmsg_type != NLMSG_ERROR)
        return make_error(EPROTO, "XFRM probe: unexpected answer");
    int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply))->error;
    if (err == 0) return true;
    if (err == EPROTONOSUPPORT) return false;  // no ESP in this kernel
    return nlack::error_of(reply, "XFRM probe: add an ESP state");
}

// One request without answer data, acknowledged.
Status xfrm_request(uint16_t type, const void* body, size_t len, const char* what) {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> sock(mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC),
                                                           mnl_socket_close);
    if (!sock) return errno_error(std::string(what) + ": open an XFRM netlink socket");
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error(std::string(what) + ": bind XFRM netlink socket");
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    if (len > 0) std::memcpy(mnl_nlmsg_put_extra_header(nlh, len), body, len);
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errno_error(what);
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) return errno_error(what);
    auto* reply = reinterpret_cast<nlmsghdr*>(buf.data());
    if (!mnl_nlmsg_ok(reply, static_cast<int>(n)) || reply->nlmsg_type != NLMSG_ERROR)
        return make_error(EPROTO, std::string(what) + ": unexpected answer");
    if (static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply))->error == 0) return {};
    return nlack::error_of(reply, what);
}

}  // namespace

Status flush_xfrm() {
    xfrm_usersa_flush all{};
    all.proto = IPSEC_PROTO_ANY;
    PN_TRY(xfrm_request(XFRM_MSG_FLUSHSA, &all, sizeof all, "flush XFRM states"), "");
    return xfrm_request(XFRM_MSG_FLUSHPOLICY, nullptr, 0, "flush XFRM policies");
}

Result<bool> kernel_has_esp() {
    // The kernel does not grow or lose ESP while we run: probe once per process.
    static const Result<bool> cached = probe_once();
    return cached;
}

namespace {

Result<bool> probe_once() {
    Result<bool> out = make_error(EIO, "XFRM probe did not run");
    // unshare() in a thread of our own: only that thread changes namespace, and the
    // namespace dies with it.
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            out = errno_error("XFRM probe: make a network namespace");
            return;
        }
        out = probe_here();
    }).join();
    return out;
}

}  // namespace

}  // namespace personalnet::netlink
