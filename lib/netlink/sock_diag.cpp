// Socket diagnostics through libmnl: one dump per address family, the kernel filtering by
// state (TCP listeners, unconnected UDP sockets), the port compared here.
#include "lib/netlink/sock_diag.hpp"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lib/core/byte_buffer.hpp"

namespace personalnet::netlink {

namespace {

struct SocketCloser {
    void operator()(mnl_socket* s) const { (void)mnl_socket_close(s); }
};
using DiagSocket = std::unique_ptr<mnl_socket, SocketCloser>;

struct Collect {
    int family;
    uint16_t port;
    std::vector<PortHolder>* out;
};

int on_socket(const nlmsghdr* nlh, void* data) {
    auto* c = static_cast<Collect*>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(inet_diag_msg)) return MNL_CB_ERROR;
    const auto* m = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(nlh));
    if (ntohs(m->id.idiag_sport) != c->port) return MNL_CB_OK;
    PortHolder h;
    h.addr.family = c->family;
    std::memcpy(h.addr.bytes.data(), m->id.idiag_src, h.addr.size());
    h.port = c->port;
    h.uid = m->idiag_uid;
    c->out->push_back(h);
    return MNL_CB_OK;
}

// One family's dump (NLM_F_DUMP) of proto's sockets in `states`.
Status dump(mnl_socket* nl, int family, uint8_t proto, uint32_t states, uint16_t port,
            std::vector<PortHolder>& out, const std::string& what) {
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = static_cast<uint32_t>(family);
    auto* req = static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
    req->sdiag_family = static_cast<uint8_t>(family);
    req->sdiag_protocol = proto;
    req->idiag_states = states;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return errno_error(what);
    const unsigned portid = mnl_socket_get_portid(nl);
    Collect c{family, port, &out};
    for (;;) {
        // The kernel answers a dump at once; a long silence is a lost reply.
        pollfd pfd{mnl_socket_get_fd(nl), POLLIN, 0};
        int pr = ::poll(&pfd, 1, 5000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return errno_error(what);
        if (pr == 0) return make_error(ETIMEDOUT, what);
        ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(what);
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid, on_socket, &c);
        if (rc == MNL_CB_STOP) return {};
        if (rc < 0) return errno_error(what);
    }
}

}  // namespace

Result<std::vector<PortHolder>> port_holders(uint8_t proto, uint16_t port) {
    const std::string what = std::string("list the ") + (proto == IPPROTO_UDP ? "udp" : "tcp") +
                             " sockets on port " + std::to_string(port);
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return make_error(EINVAL, what + ": not tcp or udp");
    DiagSocket nl(mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC));
    if (!nl) return errno_error(what + ": open sock_diag socket");
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error(what + ": bind sock_diag socket");
    // A TCP listener is in state LISTEN; an unconnected UDP socket reports TCP's CLOSE.
    const uint32_t states = proto == IPPROTO_TCP ? 1U << TCP_LISTEN : 1U << TCP_CLOSE;
    std::vector<PortHolder> out;
    for (int family : {AF_INET, AF_INET6}) PN_TRY(dump(nl.get(), family, proto, states, port, out, what), "");
    return out;
}

}  // namespace personalnet::netlink
