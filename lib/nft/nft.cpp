// nftables through libnftnl. Every change is one nfnetlink batch: the kernel applies
// all of it or none of it, so a half-built table can never be left behind.
#include "lib/nft/nft.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <utility>

#include "lib/core/byte_buffer.hpp"
#include "lib/core/nlack.hpp"
#include "lib/core/sys.hpp"

namespace personalnet::nft {
namespace {

// ---------------------------------------------------------------------------------------
// Ownership of libnftnl objects.

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};
using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set_free>>;
using ElemPtr = std::unique_ptr<nftnl_set_elem, Deleter<nftnl_set_elem_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, Deleter<nftnl_expr_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, Deleter<nftnl_udata_buf_free>>;
using SocketPtr = std::unique_ptr<mnl_socket, Deleter<mnl_socket_close>>;

// libnftnl only fails to allocate when memory is exhausted; like operator new in a
// library without exceptions, that is fatal rather than an Error to propagate.
template <typename T>
T* must(T* p) {
    if (p == nullptr) std::abort();
    return p;
}

// ---------------------------------------------------------------------------------------
// nftables' own vocabulary, which the kernel stores but does not interpret: `nft list`
// uses these datatype ids and byte orders to print keys as names instead of hex.

enum : uint32_t {
    kTypeInteger = 4,
    kTypeIpAddr = 7,
    kTypeIp6Addr = 8,
    kTypeInetProto = 12,
    kTypeInetService = 13,
    kTypeMark = 19,
    kTypeIfname = 41,
};
constexpr uint32_t concat_type(uint32_t a, uint32_t b) { return (a << 6) | b; }  // nft's TYPE_BITS
enum : uint32_t { kHostEndian = 1, kBigEndian = 2 };

constexpr int32_t kPrioRaw = -300;
constexpr int32_t kPrioIpsec = kPrioRaw - 10;  // before the zone rule and conntrack
constexpr int32_t kPrioMangle = -150;
constexpr int32_t kPrioGuard = kPrioMangle - 10;  // after conntrack (-200), before the mark and DNAT
constexpr int32_t kPrioDstnat = -100;
constexpr int32_t kPrioSrcnat = 100;

// Interface names are matched as fixed-size, zero-padded strings.
using IfnameKey = std::array<char, IFNAMSIZ>;
std::optional<IfnameKey> ifname_key(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) return std::nullopt;
    IfnameKey k{};
    std::copy(name.begin(), name.end(), k.begin());
    return k;
}

std::span<const uint8_t> bytes_of(const IpAddr& a) { return {a.bytes.data(), a.size()}; }
template <typename T>
std::span<const uint8_t> bytes_of(const T& v) {
    return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}

// ---------------------------------------------------------------------------------------
// Talking to the kernel.

thread_local SocketKeeper* t_keeper = nullptr;

// A new netfilter socket, bound; nullptr with errno set.
mnl_socket* open_bound() {
    SocketPtr sock(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return nullptr;
    return sock.release();
}

}  // namespace

// One request's netfilter socket: a new one, closed when the request is done, or the
// thread's kept one for this namespace (SocketKeeper), given back for the next request
// unless the request failed midway (then it is only kept, never reused).
class SocketLease {
public:
    static Result<SocketLease> take(const std::string& what) {
        SocketLease l;
        if (t_keeper != nullptr) {
            auto ns = sys::current_netns_inode();
            if (!ns.ok()) return ns.error().wrap(what);
            for (size_t i = 0; i < t_keeper->kept_.size(); ++i) {
                const auto& k = t_keeper->kept_[i];
                if (k.netns == ns.value() && k.reusable) {
                    l.sock_ = static_cast<mnl_socket*>(k.socket);
                    l.index_ = i;
                    return l;
                }
            }
            l.sock_ = open_bound();
            if (l.sock_ == nullptr) return errno_error(what + ": open a netfilter netlink socket");
            t_keeper->kept_.push_back({ns.value(), true, l.sock_});
            l.index_ = t_keeper->kept_.size() - 1;
            return l;
        }
        l.own_.reset(open_bound());
        if (!l.own_) return errno_error(what + ": open a netfilter netlink socket");
        l.sock_ = l.own_.get();
        return l;
    }
    SocketLease(SocketLease&& o) noexcept
        : own_(std::move(o.own_)), sock_(std::exchange(o.sock_, nullptr)), index_(o.index_), done_(o.done_) {}
    SocketLease& operator=(SocketLease&&) = delete;
    ~SocketLease() {
        if (sock_ != nullptr && !done_ && own_ == nullptr && t_keeper != nullptr &&
            index_ < t_keeper->kept_.size())
            t_keeper->kept_[index_].reusable = false;
    }
    mnl_socket* get() const { return sock_; }
    // Every reply read: the socket may serve the next request.
    void done() { done_ = true; }

private:
    SocketLease() = default;
    SocketPtr own_;
    mnl_socket* sock_ = nullptr;
    size_t index_ = 0;
    bool done_ = false;
};

SocketKeeper::SocketKeeper() {
    if (t_keeper != nullptr) return;
    t_keeper = this;
    active_ = true;
}

SocketKeeper::~SocketKeeper() {
    if (!active_) return;
    t_keeper = nullptr;
    for (const auto& k : kept_) (void)mnl_socket_close(static_cast<mnl_socket*>(k.socket));
}

std::vector<int> SocketKeeper::fds(uint64_t except) const {
    std::vector<int> out;
    for (const auto& k : kept_)
        if (k.netns != except || except == 0)
            out.push_back(mnl_socket_get_fd(static_cast<mnl_socket*>(k.socket)));
    return out;
}

namespace {

// Sends `len` bytes holding the messages numbered first_seq.. (one per entry of `what`,
// each carrying NLM_F_ACK) and collects their ACKs. The first failing message, in batch
// order, becomes the Error, named by its entry in `what`.
Status exchange(const void* msg, size_t len, uint32_t first_seq, const std::vector<std::string>& what) {
    auto taken = SocketLease::take("send an nftables batch");
    if (!taken.ok()) return taken.error();
    SocketLease sock = std::move(taken).value();
    int one = 1;
    // Both are optional niceties (short ACKs, kernel error text); old kernels lack them.
    (void)mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof one);
    (void)mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof one);
    // The kernel queues all ACKs before we read any, so a large batch needs room for
    // them; never shrink below the usual default either.
    int rcvbuf = static_cast<int>(std::max<size_t>(what.size() * 2048, size_t{256} << 10));
    if (::setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        (void)::setsockopt(mnl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (mnl_socket_sendto(sock.get(), msg, len) < 0) return errno_error("send nftables request");

    std::optional<Error> first;
    uint32_t first_failed = 0;
    size_t pending = what.size();
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    while (pending > 0) {
        // nfnetlink handles a batch synchronously inside sendmsg, so every reply is
        // already queued: a long silence means a reply went missing, not a slow kernel.
        pollfd pfd{mnl_socket_get_fd(sock.get()), POLLIN, 0};
        int pr = ::poll(&pfd, 1, 5000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return errno_error("wait for nftables replies");
        if (pr == 0) return make_error(ETIMEDOUT, "wait for nftables replies");
        ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("receive nftables replies");
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;  // e.g. the table a GET returns
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            uint32_t seq = nlh->nlmsg_seq;
            if (seq < first_seq || seq - first_seq >= what.size()) {
                // Not one of ours: the kernel rejected the batch as a whole.
                if (err->error == 0) continue;
                return Error{-err->error, "nftables batch", nlack::extack_of(nlh)};
            }
            --pending;
            if (err->error != 0 && (!first || seq < first_failed)) {
                first = Error{-err->error, what[seq - first_seq], nlack::extack_of(nlh)};
                first_failed = seq;
            }
        }
    }
    sock.done();
    if (first) return *first;
    return {};
}

Status tolerate(Status st, int code) {
    if (!st.ok() && st.error().code == code) return {};
    return st;
}

// ---------------------------------------------------------------------------------------
// Building requests.

// A set as rules and elements refer to it: by name, and by the transaction-local id
// while it is being created in the same batch (anonymous sets only have the id).
struct SetRef {
    std::string name;
    uint32_t id = 0;
};

// nft describes a map whose value has no datatype of its own by the expression that
// produced it ("typeof iifname : ct zone"), stored in the set's user data. The numbers
// are nft's own (expression kinds of nftables 1.0.x, Debian 12); nft falls back to
// printing the bare type if it does not understand them, so they only affect listings.
struct Typeof {
    uint32_t key_meta;  // the key is `meta KEY`
    uint32_t data_ct;   // the value is `ct KEY` (any direction)
};
constexpr uint32_t kNftExprMeta = 9;
constexpr uint32_t kNftExprCt = 12;
constexpr uint8_t kUdataMetaKey = 0;
constexpr uint8_t kUdataCtKey = 0;
constexpr uint8_t kUdataCtDir = 1;

struct SetSpec {
    const char* name;
    uint32_t flags = 0;
    uint32_t key_type = 0, key_len = 0, key_order = 0;
    uint32_t data_type = 0, data_len = 0, data_order = 0;
};

ExprPtr expr(const char* name, std::initializer_list<std::pair<uint16_t, uint32_t>> attrs) {
    ExprPtr e(must(nftnl_expr_alloc(name)));
    for (auto [type, value] : attrs) nftnl_expr_set_u32(e.get(), type, value);
    return e;
}

// One rule as a chain of expressions over register 1 (nft's own register choice), plus
// its nft spelling, which names the rule in errors.
class Rule {
public:
    Rule(const char* table, const char* chain, std::string text)
        : r_(must(nftnl_rule_alloc())), text_(std::move(text)) {
        nftnl_rule_set_str(r_.get(), NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r_.get(), NFTNL_RULE_CHAIN, chain);
        nftnl_rule_set_u32(r_.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    }

    Rule& meta(uint32_t key) {
        return add(expr("meta", {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_DREG, NFT_REG_1}}));
    }
    Rule& meta_to(uint32_t key, uint32_t dreg) {
        return add(expr("meta", {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_DREG, dreg}}));
    }
    Rule& meta_set(uint32_t key) {
        return add(expr("meta", {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_SREG, NFT_REG_1}}));
    }
    Rule& ct(uint32_t key) {
        return add(expr("ct", {{NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_DREG, NFT_REG_1}}));
    }
    Rule& ct_set(uint32_t key) {
        return add(expr("ct", {{NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_SREG, NFT_REG_1}}));
    }
    // `ct original KEY set`: only the original direction of the flow gets the value.
    Rule& ct_set_original(uint32_t key) {
        ExprPtr e = expr("ct", {{NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_SREG, NFT_REG_1}});
        nftnl_expr_set_u8(e.get(), NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
        return add(std::move(e));
    }
    // reg1 = 1 if the packet's route is an XFRM bundle (it will be IPsec-transformed).
    Rule& rt_xfrm() {
        return add(expr("rt", {{NFTNL_EXPR_RT_KEY, NFT_RT_XFRM}, {NFTNL_EXPR_RT_DREG, NFT_REG_1}}));
    }
    Rule& socket(uint32_t key) {
        return add(expr("socket", {{NFTNL_EXPR_SOCKET_KEY, key}, {NFTNL_EXPR_SOCKET_DREG, NFT_REG_1}}));
    }
    Rule& payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg = NFT_REG_1) {
        return add(expr("payload", {{NFTNL_EXPR_PAYLOAD_BASE, base},
                                    {NFTNL_EXPR_PAYLOAD_OFFSET, offset},
                                    {NFTNL_EXPR_PAYLOAD_LEN, len},
                                    {NFTNL_EXPR_PAYLOAD_DREG, dreg}}));
    }
    Rule& cmp(uint32_t op, std::span<const uint8_t> value) {
        ExprPtr e = expr("cmp", {{NFTNL_EXPR_CMP_SREG, NFT_REG_1}, {NFTNL_EXPR_CMP_OP, op}});
        nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, value.data(), static_cast<uint32_t>(value.size()));
        return add(std::move(e));
    }
    template <typename T>
    Rule& eq(const T& value) {
        return cmp(NFT_CMP_EQ, bytes_of(value));
    }
    // reg1 &= mask, on a value of mask's width
    template <typename T>
    Rule& mask(T mask) {
        const T zero = 0;
        ExprPtr e = expr("bitwise", {{NFTNL_EXPR_BITWISE_SREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_DREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_LEN, sizeof mask}});
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
        return add(std::move(e));
    }
    // reg1 = (reg1 & mask) ^ xor_with, on a 32-bit value
    Rule& bits(uint32_t mask, uint32_t xor_with) {
        ExprPtr e = expr("bitwise", {{NFTNL_EXPR_BITWISE_SREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_DREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_LEN, sizeof mask}});
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, &xor_with, sizeof xor_with);
        return add(std::move(e));
    }
    // Membership test of reg1; with map_to_reg1 the map's value replaces it.
    Rule& lookup(const SetRef& set, bool map_to_reg1 = false) {
        ExprPtr e = expr("lookup", {{NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1}});
        if (map_to_reg1) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set.name.c_str());
        if (set.id != 0) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set.id);
        return add(std::move(e));
    }
    // A map lookup from and to the given registers (reg1 stays untouched).
    Rule& lookup_in(const SetRef& set, uint32_t sreg, uint32_t dreg) {
        ExprPtr e = expr("lookup", {{NFTNL_EXPR_LOOKUP_SREG, sreg}, {NFTNL_EXPR_LOOKUP_DREG, dreg}});
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set.name.c_str());
        if (set.id != 0) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set.id);
        return add(std::move(e));
    }
    // `update @set { <key in sreg_key> : <data in sreg_data> } timeout`: adds the element or
    // refreshes its timeout (an element added without one keeps none).
    Rule& update(const SetRef& set, uint32_t sreg_key, uint32_t sreg_data, uint64_t timeout_ms) {
        ExprPtr e = expr("dynset", {{NFTNL_EXPR_DYNSET_SREG_KEY, sreg_key},
                                    {NFTNL_EXPR_DYNSET_SREG_DATA, sreg_data},
                                    {NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE}});
        nftnl_expr_set_u64(e.get(), NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_DYNSET_SET_NAME, set.name.c_str());
        if (set.id != 0) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_DYNSET_SET_ID, set.id);
        return add(std::move(e));
    }
    Rule& immediate(std::span<const uint8_t> value) {
        ExprPtr e = expr("immediate", {{NFTNL_EXPR_IMM_DREG, NFT_REG_1}});
        nftnl_expr_set(e.get(), NFTNL_EXPR_IMM_DATA, value.data(), static_cast<uint32_t>(value.size()));
        return add(std::move(e));
    }
    Rule& verdict(uint32_t code) {
        return add(
            expr("immediate", {{NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT}, {NFTNL_EXPR_IMM_VERDICT, code}}));
    }
    // DNAT to the address in reg1. The family is needed because the table is inet.
    Rule& dnat(uint32_t nfproto) {
        return add(expr("nat", {{NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT},
                                {NFTNL_EXPR_NAT_FAMILY, nfproto},
                                {NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1},
                                {NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_1},
                                {NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS}}));
    }
    // DNAT to the address in addr_reg and the port in proto_reg (both min and max).
    Rule& dnat_port(uint32_t nfproto, uint32_t addr_reg, uint32_t proto_reg) {
        return add(
            expr("nat", {{NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT},
                         {NFTNL_EXPR_NAT_FAMILY, nfproto},
                         {NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg},
                         {NFTNL_EXPR_NAT_REG_ADDR_MAX, addr_reg},
                         {NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg},
                         {NFTNL_EXPR_NAT_REG_PROTO_MAX, proto_reg},
                         {NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED}}));
    }
    Rule& notrack() { return add(ExprPtr(must(nftnl_expr_alloc("notrack")))); }
    // reg1 = the type of the packet's source address in this namespace (RTN_LOCAL, ...).
    Rule& fib_saddr_type() {
        return add(expr("fib", {{NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR},
                                {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE},
                                {NFTNL_EXPR_FIB_DREG, NFT_REG_1}}));
    }
    // ... and of its destination address (before any DNAT when used in prerouting).
    Rule& fib_daddr_type() {
        return add(expr("fib", {{NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR},
                                {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE},
                                {NFTNL_EXPR_FIB_DREG, NFT_REG_1}}));
    }
    // reg1 &= mask, on a value of the mask's width given as bytes (an address prefix)
    Rule& mask_bytes(std::span<const uint8_t> mask) {
        const std::array<uint8_t, 16> zero{};
        ExprPtr e = expr("bitwise", {{NFTNL_EXPR_BITWISE_SREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_DREG, NFT_REG_1},
                                     {NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size())}});
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<uint32_t>(mask.size()));
        nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), static_cast<uint32_t>(mask.size()));
        return add(std::move(e));
    }
    // The verdict of a verdict map looked up with the key in reg1 (no match: next rule).
    Rule& vmap(const SetRef& set) {
        ExprPtr e =
            expr("lookup", {{NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1}, {NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT}});
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set.name.c_str());
        if (set.id != 0) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set.id);
        return add(std::move(e));
    }
    Rule& jump(const std::string& chain) {
        ExprPtr e =
            expr("immediate", {{NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT}, {NFTNL_EXPR_IMM_VERDICT, NFT_JUMP}});
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain.c_str());
        return add(std::move(e));
    }

    nftnl_rule* get() const { return r_.get(); }
    const std::string& text() const { return text_; }
    const char* chain() const { return nftnl_rule_get_str(r_.get(), NFTNL_RULE_CHAIN); }

private:
    Rule& add(ExprPtr e) {
        nftnl_rule_add_expr(r_.get(), e.release());  // the rule owns it from here
        return *this;
    }
    RulePtr r_;
    std::string text_;
};

// An inet chain object naming table and chain: what adding, deleting and asking about a
// regular chain start from.
ChainPtr chain_named(const char* table, const std::string& name) {
    ChainPtr c(must(nftnl_chain_alloc()));
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    return c;
}

// A set as a request names it (by the transaction-local id too while it is being
// created in the same batch).
SetPtr set_object(const char* table, const SetRef& ref) {
    SetPtr s(must(nftnl_set_alloc()));
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, ref.name.c_str());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
    if (ref.id != 0) nftnl_set_set_u32(s.get(), NFTNL_SET_ID, ref.id);
    return s;
}

// One nfnetlink batch for the inet family. Every message asks for an ACK so that the
// error can be pinned on the message that caused it.
class Batch {
public:
    Batch() : buf_(2 * kLimit), b_(must(mnl_nlmsg_batch_start(buf_.data(), kLimit))) {
        nftnl_batch_begin(current(), seq_++);
        next();
    }

    void table(const char* name, uint16_t type, uint16_t flags, std::string what) {
        TablePtr t(must(nftnl_table_alloc()));
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name);
        nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
        add(type, flags, std::move(what),
            [&](nlmsghdr* nlh) { nftnl_table_nlmsg_build_payload(nlh, t.get()); });
    }

    void chain(const char* table, const char* name, const char* type, uint32_t hook, int32_t prio) {
        ChainPtr c(must(nftnl_chain_alloc()));
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, type);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, prio);
        add(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, std::string("add chain ") + name,
            [&](nlmsghdr* nlh) { nftnl_chain_nlmsg_build_payload(nlh, c.get()); });
    }

    // A regular chain (no hook): entered only by a jump.
    void chain(const char* table, const std::string& name) {
        ChainPtr c = chain_named(table, name);
        add(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, "add chain " + name,
            [&](nlmsghdr* nlh) { nftnl_chain_nlmsg_build_payload(nlh, c.get()); });
    }
    // Deletes a chain with its rules (nothing may refer to it any more).
    void delete_chain(const char* table, const std::string& name) {
        ChainPtr c = chain_named(table, name);
        add(NFT_MSG_DELCHAIN, 0, "delete chain " + name,
            [&](nlmsghdr* nlh) { nftnl_chain_nlmsg_build_payload(nlh, c.get()); });
    }

    SetRef set(const char* table, const SetSpec& spec, uint32_t size_hint = 0,
               std::optional<Typeof> typeof_expr = std::nullopt) {
        SetRef ref{spec.name, ++set_ids_};
        SetPtr s = set_object(table, ref);
        nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, spec.flags);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, spec.key_type);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, spec.key_len);
        UdataPtr ud(must(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, spec.key_order);
        if (spec.flags & NFT_SET_MAP) {
            nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, spec.data_type);
            nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, spec.data_len);
            nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATABYTEORDER, spec.data_order);
        }
        if (typeof_expr) {
            put_typeof(ud.get(), NFTNL_UDATA_SET_KEY_TYPEOF, kNftExprMeta,
                       {{kUdataMetaKey, typeof_expr->key_meta}});
            put_typeof(ud.get(), NFTNL_UDATA_SET_DATA_TYPEOF, kNftExprCt,
                       {{kUdataCtKey, typeof_expr->data_ct}, {kUdataCtDir, 0xffffffff}});
        }
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                           nftnl_udata_buf_len(ud.get()));
        if (size_hint != 0) nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, size_hint);
        std::string what = (spec.flags & NFT_SET_ANONYMOUS) ? "add anonymous set"
                           : (spec.flags & NFT_SET_MAP)     ? "add map " + ref.name
                                                            : "add set " + ref.name;
        add(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, std::move(what),
            [&](nlmsghdr* nlh) { nftnl_set_nlmsg_build_payload(nlh, s.get()); });
        return ref;
    }

    static void put_typeof(nftnl_udata_buf* ud, uint8_t which, uint32_t expr_kind,
                           std::initializer_list<std::pair<uint8_t, uint32_t>> attrs) {
        nftnl_udata* outer = nftnl_udata_nest_start(ud, which);
        nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, expr_kind);
        nftnl_udata* inner = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
        for (auto [type, value] : attrs) nftnl_udata_put_u32(ud, type, value);
        nftnl_udata_nest_end(ud, inner);
        nftnl_udata_nest_end(ud, outer);
    }

    // Adds (or with type NFT_MSG_DELSETELEM deletes) one element; `data` only for maps,
    // `jump_to` only for verdict maps (the element's verdict: jump to that chain).
    void element(uint16_t type, const char* table, const SetRef& set, std::span<const uint8_t> key,
                 std::optional<std::span<const uint8_t>> data, std::string what,
                 const std::string& jump_to = {}, const std::string& comment = {}) {
        SetPtr s = set_object(table, set);
        ElemPtr e(must(nftnl_set_elem_alloc()));
        if (!comment.empty()) {
            UdataPtr ud(must(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
            nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_ELEM_COMMENT, comment.c_str());
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()),
                               nftnl_udata_buf_len(ud.get()));
        }
        nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
        if (data)
            nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_DATA, data->data(),
                               static_cast<uint32_t>(data->size()));
        if (!jump_to.empty()) {
            nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(NFT_JUMP));
            nftnl_set_elem_set_str(e.get(), NFTNL_SET_ELEM_CHAIN, jump_to.c_str());
        }
        nftnl_set_elem_add(s.get(), e.release());  // the set owns it from here
        uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0;
        add(type, flags, std::move(what),
            [&](nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); });
    }

    // Deletes every element of an existing set (a DELSETELEM without elements).
    void flush_set(const char* table, const SetRef& set) {
        SetPtr s = set_object(table, set);
        add(NFT_MSG_DELSETELEM, 0, "flush set " + set.name,
            [&](nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); });
    }

    void rule(const Rule& r) {
        add(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "add rule '" + r.text() + "' to chain " + r.chain(),
            [&](nlmsghdr* nlh) { nftnl_rule_nlmsg_build_payload(nlh, r.get()); });
    }

    bool empty() const { return what_.empty(); }

    // One commit. Its cost is the kernel's: a batch that fails is aborted, and the abort
    // waits out an RCU grace period (8 to 16 ms here), so callers that may find an object
    // gone ask first (table_exists, chain_exists, element_exists), which commits nothing.
    Status commit() {
        nftnl_batch_end(current(), seq_++);
        next();
        if (overflow_)
            return make_error(EMSGSIZE, "nftables batch larger than " + std::to_string(kLimit) + " bytes");
        return exchange(mnl_nlmsg_batch_head(b_.get()), mnl_nlmsg_batch_size(b_.get()), kFirstSeq, what_);
    }

private:
    // Far more than the largest batch we build (a few hundred elements), and below the
    // default netlink send buffer so no SO_SNDBUF tuning is needed.
    static constexpr size_t kLimit = size_t{64} << 10;
    static constexpr uint32_t kFirstSeq = 1;  // of the first message after the header
    using MnlBatchPtr = std::unique_ptr<mnl_nlmsg_batch, Deleter<mnl_nlmsg_batch_stop>>;

    template <typename Build>
    void add(uint16_t type, uint16_t flags, std::string what, Build&& build) {
        if (overflow_) return;
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(current(), type, NFPROTO_INET, flags | NLM_F_ACK, seq_++);
        build(nlh);
        what_.push_back(std::move(what));
        next();
    }
    char* current() { return static_cast<char*>(mnl_nlmsg_batch_current(b_.get())); }
    // The buffer is twice the limit, so a message that overflows still fit in memory;
    // we then stop adding and fail the whole batch in commit().
    void next() {
        if (!mnl_nlmsg_batch_next(b_.get())) overflow_ = true;
    }

    ByteBuffer buf_;
    MnlBatchPtr b_;
    uint32_t seq_ = kFirstSeq - 1;
    uint32_t set_ids_ = 0;
    bool overflow_ = false;
    std::vector<std::string> what_;  // per message after the batch header
};

// A lookup's answer: there (true), absent (ENOENT: false), or the error.
Result<bool> found(const Status& st) {
    if (st.ok()) return true;
    if (st.error().code == ENOENT) return false;
    return st.error();
}

Result<bool> table_exists(const char* name) {
    TablePtr t(must(nftnl_table_alloc()));
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name);
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t seq = 1;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    return found(exchange(nlh, nlh->nlmsg_len, seq, {std::string("get table ") + name}));
}

Result<bool> chain_exists(const char* table, const std::string& name) {
    ChainPtr c = chain_named(table, name);
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t seq = 1;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_ACK, seq);
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    return found(exchange(nlh, nlh->nlmsg_len, seq, {"get chain " + name}));
}

// Whether set (of the parent or a child table) holds key: a lookup, which commits
// nothing. A missing table or set answers false as well.
Result<bool> element_exists(const char* table, const SetRef& set, std::span<const uint8_t> key) {
    SetPtr s = set_object(table, set);
    ElemPtr e(must(nftnl_set_elem_alloc()));
    nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
    nftnl_set_elem_add(s.get(), e.release());
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t seq = 1;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    return found(exchange(nlh, nlh->nlmsg_len, seq, {"get an element of set " + set.name}));
}

// One element of a map as the kernel lists it.
struct Listed {
    std::vector<uint8_t> key;
    uint32_t data = 0;           // the value of a map of marks
    std::vector<uint8_t> value;  // the value's bytes, whatever its type
    bool expires = false;        // it has a timeout: learned on the packet path
    std::string comment;         // the owner a synced element names ("" for a learned one)
};

int comment_of(const nftnl_udata* attr, void* out) {
    if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT) {
        const auto* text = static_cast<const char*>(nftnl_udata_get(attr));
        static_cast<std::string*>(out)->assign(text, strnlen(text, nftnl_udata_len(attr)));
    }
    return 0;
}

int collect_element(nftnl_set_elem* e, void* out) {
    Listed l;
    uint32_t len = 0;
    if (const auto* k = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len)))
        l.key.assign(k, k + len);
    if (const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len); d != nullptr) {
        const auto* bytes = static_cast<const uint8_t*>(d);
        l.value.assign(bytes, bytes + len);
        if (len == sizeof l.data) std::memcpy(&l.data, d, sizeof l.data);
    }
    l.expires = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT);
    if (const void* u = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len); u != nullptr)
        (void)nftnl_udata_parse(u, len, comment_of, &l.comment);
    static_cast<std::vector<Listed>*>(out)->push_back(std::move(l));
    return 0;
}

int collect_elements(const nlmsghdr* nlh, void* out) {
    SetPtr s(must(nftnl_set_alloc()));
    if (nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0) return MNL_CB_ERROR;
    nftnl_set_elem_foreach(s.get(), collect_element, out);
    return MNL_CB_OK;
}

// Every element of a set of the table (a dump: commits nothing); none when the table or
// the set does not exist.
Result<std::vector<Listed>> list_elements(const char* table, const std::string& set) {
    const std::string what = "list map " + set;
    auto taken = SocketLease::take(what);
    if (!taken.ok()) return taken.error();
    SocketLease sock = std::move(taken).value();
    ByteBuffer buf(MNL_SOCKET_BUFFER_SIZE);
    const uint32_t seq = 1;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, seq);
    SetPtr s(must(nftnl_set_alloc()));
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errno_error(what);
    std::vector<Listed> out;
    const unsigned portid = mnl_socket_get_portid(sock.get());
    for (;;) {
        pollfd pfd{mnl_socket_get_fd(sock.get()), POLLIN, 0};
        int pr = ::poll(&pfd, 1, 5000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return errno_error(what);
        if (pr == 0) return make_error(ETIMEDOUT, what);
        ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(what);
        int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, collect_elements, &out);
        if (rc == MNL_CB_STOP) {
            sock.done();
            return out;
        }
        if (rc < 0) {
            if (errno == ENOENT) {
                sock.done();  // the dump's one answer: an error
                return std::vector<Listed>{};
            }
            return errno_error(what);
        }
    }
}

Status remove_table(const char* name) {
    // Asked first: a failed batch's abort waits out an RCU grace period (Batch::commit).
    auto there = table_exists(name);
    if (!there.ok()) return there.error().wrap(std::string("delete table ") + name);
    if (!there.value()) return {};
    Batch b;
    b.table(name, NFT_MSG_DELTABLE, 0, std::string("delete table ") + name);
    return tolerate(b.commit(), ENOENT);
}

// ---------------------------------------------------------------------------------------
// The parent table.

const SetRef kKids{"kids", 0};
const SetRef kZones{"zones", 0};
const SetRef kLabels{"labels", 0};
const SetRef kServices{"services", 0};
const SetRef kPeers{"peers", 0};
const SetRef kNetlabels{"netlabels", 0};
const SetRef kIkeSpis{"ikespis", 0};
const SetRef kEspSpis{"espspis", 0};
const SetRef kPublished{"published", 0};
const SetRef kPortmap{"portmap", 0};

struct ParentSets {
    SetRef kids, zones, labels, services, peers;
    SetRef netlabels, ikespis, espspis;
    SetRef published, portmap;
};
const ParentSets kParentSets{kKids,      kZones,   kLabels,  kServices,  kPeers,
                             kNetlabels, kIkeSpis, kEspSpis, kPublished, kPortmap};

// How long an IKE SPI learned from a child's own message dispatches the replies to it,
// refreshed by every message the child sends. The SPIs of established IKE SAs are synced
// from the child's charon without a timeout (space::sync_spis); this covers the exchanges
// before that (IKE_SA_INIT, IKE_AUTH) and their retransmissions (charon gives up after
// ~165 s).
constexpr uint64_t kLearnedTimeoutMs = 300'000;

// A child's own chains in the parent table: "svc_LLLL" (the services it may not reach)
// and "peers_LLLL" (the foreign sources it may hand to this namespace's listeners).
std::string kid_chain(const char* what, uint16_t label) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s_%04x", what, static_cast<unsigned>(label));
    return buf;
}

std::string proto_name(uint8_t proto) {
    return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : std::to_string(proto);
}

// `meta l4proto . th dport` as a set key: each field takes a whole 32-bit register.
std::array<uint8_t, 8> service_key(const HiddenService& h) {
    std::array<uint8_t, 8> key{};
    key[0] = h.proto;
    uint16_t port = htons(h.port);
    std::memcpy(&key[4], &port, sizeof port);
    return key;
}

// `{ tcp, udp }`: an anonymous set in table, bound to (and freed with) the one rule of
// the batch that uses it next.
SetRef tcp_and_udp(Batch& b, const char* table) {
    SetRef l4 = b.set(table,
                      SetSpec{.name = "__set%d",
                              .flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
                              .key_type = kTypeInetProto,
                              .key_len = 1,
                              .key_order = kHostEndian},
                      2);
    for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}})
        b.element(NFT_MSG_NEWSETELEM, table, l4, bytes_of(proto), std::nullopt,
                  "add element " + proto_name(proto) + " to anonymous set");
    return l4;
}

std::array<uint8_t, 8> service_key(uint8_t proto, uint16_t port) { return service_key({proto, port}); }

std::string published_name(uint8_t proto, uint16_t port) {
    return proto_name(proto) + " . " + std::to_string(port);
}

// The mark lib/space gives a child (0x5000LLLL, see the maps above), and the top byte
// that tells a child's flows (0x50) and flows published for a child (0x51) apart.
constexpr uint32_t mark_of_label(uint16_t label) { return 0x50000000u | label; }
constexpr uint32_t kMarkTagMask = 0xff000000u;
constexpr uint32_t kChildMarkTag = 0x50000000u;
constexpr uint32_t kPublishMarkTag = 0x51000000u;
static_assert(publish_mark_of(0x1234) == (kPublishMarkTag | 0x1234));

std::array<uint8_t, 2> label_key(uint16_t label) {
    return {static_cast<uint8_t>(label >> 8), static_cast<uint8_t>(label & 0xff)};
}

void add_label(Batch& b, const SetRef& labels, uint16_t label, uint32_t mark) {
    b.element(NFT_MSG_NEWSETELEM, kParentTable, labels, label_key(label), bytes_of(mark),
              "add element " + std::to_string(label) + " to map labels");
}

void add_netlabel(Batch& b, const SetRef& netlabels, uint16_t label, uint32_t mark) {
    b.element(NFT_MSG_NEWSETELEM, kParentTable, netlabels, label_key(label), bytes_of(mark),
              "add element " + std::to_string(label) + " to map netlabels");
}

// Deletes, in the batch, what the maps hold for label (a network's label, ENOENT-safe:
// only what is there) and, with mark != 0, every SPI dispatched with that mark (learned
// or synced): a child leaving takes everything that leads into it along.
Status drop_owned(Batch& b, uint16_t label, uint32_t mark) {
    auto nets = list_elements(kParentTable, kNetlabels.name);
    if (!nets.ok()) return nets.error();
    const auto key = label_key(label);
    for (const Listed& l : nets.value())
        if (l.key.size() == key.size() && std::equal(key.begin(), key.end(), l.key.begin()))
            b.element(NFT_MSG_DELSETELEM, kParentTable, kNetlabels, key, std::nullopt,
                      "delete element " + std::to_string(label) + " from map netlabels");
    if (mark == 0) return {};
    for (const SetRef* map : {&kIkeSpis, &kEspSpis}) {
        auto spis = list_elements(kParentTable, map->name);
        if (!spis.ok()) return spis.error();
        for (const Listed& l : spis.value())
            if (l.data == mark)
                b.element(NFT_MSG_DELSETELEM, kParentTable, *map, l.key, std::nullopt,
                          "delete an SPI from map " + map->name);
    }
    return {};
}

// Deletes, in the batch, the ports published for the child with this label: its elements
// of map published (found by its mark) and theirs in portmap. None without the maps.
Status drop_published(Batch& b, uint16_t label) {
    auto published = list_elements(kParentTable, kPublished.name);
    if (!published.ok()) return published.error();
    auto portmap = list_elements(kParentTable, kPortmap.name);
    if (!portmap.ok()) return portmap.error();
    for (const Listed& l : published.value()) {
        if (l.data != publish_mark_of(label)) continue;
        b.element(NFT_MSG_DELSETELEM, kParentTable, kPublished, l.key, std::nullopt,
                  "delete a port from map published");
        for (const Listed& m : portmap.value())
            if (m.key == l.key)
                b.element(NFT_MSG_DELSETELEM, kParentTable, kPortmap, m.key, std::nullopt,
                          "delete a port from map portmap");
    }
    return {};
}

// "ip saddr PREFIX" (or ip6): the source address under the prefix's mask.
Rule& saddr_in(Rule& r, const IpPrefix& p) {
    bool v4 = p.addr.family == AF_INET;
    uint32_t len = v4 ? 4 : 16;
    std::array<uint8_t, 16> mask{}, net{};
    for (uint32_t i = 0; i < len; ++i) {
        int bits = std::clamp(p.len - static_cast<int>(i) * 8, 0, 8);
        mask[i] = static_cast<uint8_t>(0xff00 >> bits);
        net[i] = p.addr.bytes[i] & mask[i];
    }
    r.meta(NFT_META_NFPROTO).eq(static_cast<uint8_t>(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6));
    r.payload(NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, len);
    if (p.len < static_cast<int>(len * 8)) r.mask_bytes({mask.data(), len});
    return r.cmp(NFT_CMP_EQ, {net.data(), len});
}

// The child's own chains and their elements in the verdict maps (see nft.hpp): made
// only when there is something to enforce, so most children add nothing here.
void add_guard(Batch& b, const ParentSets& sets, const std::string& ifname, const IfnameKey& key,
               uint16_t label, const ChildGuard& g) {
    if (!g.services || !g.hidden.empty()) {
        std::string chain = kid_chain("svc", label);
        b.chain(kParentTable, chain);
        // Replies of this namespace's own flows into the child are not services of ours.
        Rule reply(kParentTable, chain.c_str(), "ct direction reply return");
        reply.ct(NFT_CT_DIRECTION).eq(uint8_t{IP_CT_DIR_REPLY}).verdict(NFT_RETURN);
        b.rule(reply);
        // Only what the child would have us forward is none of this chain's business:
        // local, broadcast, multicast and anycast destinations all reach our sockets.
        Rule other(kParentTable, chain.c_str(), "fib daddr type unicast return");
        other.fib_daddr_type().eq(uint32_t{RTN_UNICAST}).verdict(NFT_RETURN);
        b.rule(other);
        if (!g.services) {
            // Nothing of ours, by any address; ICMP (ping, errors) is not a service.
            for (auto [proto, name] : {std::pair{uint8_t{IPPROTO_ICMP}, "icmp"},
                                       std::pair{uint8_t{IPPROTO_ICMPV6}, "ipv6-icmp"}}) {
                Rule icmp(kParentTable, chain.c_str(), std::string("meta l4proto ") + name + " return");
                icmp.meta(NFT_META_L4PROTO).eq(proto).verdict(NFT_RETURN);
                b.rule(icmp);
            }
            Rule drop(kParentTable, chain.c_str(), "drop");
            drop.verdict(NF_DROP);
            b.rule(drop);
        } else {
            SetRef hidden = b.set(kParentTable,
                                  SetSpec{.name = "__set%d",
                                          .flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
                                          .key_type = concat_type(kTypeInetProto, kTypeInetService),
                                          .key_len = 8},
                                  static_cast<uint32_t>(g.hidden.size()));
            std::string text;
            for (const HiddenService& h : g.hidden) {
                std::string name = proto_name(h.proto) + " . " + std::to_string(h.port);
                text += (text.empty() ? "" : ", ") + name;
                b.element(NFT_MSG_NEWSETELEM, kParentTable, hidden, service_key(h), std::nullopt,
                          "add element " + name + " to anonymous set");
            }
            Rule drop(kParentTable, chain.c_str(), "meta l4proto . th dport { " + text + " } drop");
            drop.meta(NFT_META_L4PROTO)
                .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01)
                .lookup(hidden)
                .verdict(NF_DROP);
            b.rule(drop);
        }
        b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.services, bytes_of(key), std::nullopt,
                  "add element '" + ifname + "' to map services", chain);
    }
    if (!g.peers.empty()) {
        std::string chain = kid_chain("peers", label);
        b.chain(kParentTable, chain);
        for (const IpPrefix& p : g.peers) {
            if (p.addr.family != AF_INET && p.addr.family != AF_INET6) continue;
            Rule peer(kParentTable, chain.c_str(),
                      std::string(p.addr.family == AF_INET ? "ip" : "ip6") + " saddr " + p.str() + " accept");
            saddr_in(peer, p).verdict(NF_ACCEPT);
            b.rule(peer);
        }
        b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.peers, bytes_of(key), std::nullopt,
                  "add element '" + ifname + "' to map peers", chain);
    }
}

// The ports a child publishes: map published leads each to the child's published-flow
// mark, portmap to its number in the child where that differs.
void add_published(Batch& b, const ParentSets& sets, uint16_t label,
                   const std::vector<PublishedPort>& published) {
    const uint32_t mark = publish_mark_of(label);
    for (const PublishedPort& p : published) {
        const std::string name = published_name(p.proto, p.port);
        b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.published, service_key(p.proto, p.port),
                  bytes_of(mark), "add element " + name + " to map published");
        if (!p.mapped()) continue;
        const uint16_t inner = htons(p.inner);
        b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.portmap, service_key(p.proto, p.port),
                  bytes_of(inner), "add element " + name + " to map portmap");
    }
}

void add_kid(Batch& b, const ParentSets& sets, const std::string& ifname, const IfnameKey& key, uint32_t mark,
             uint16_t label, const ChildGuard& guard, const std::vector<PublishedPort>& published) {
    if (guard.network) add_netlabel(b, sets.netlabels, label, mark);
    b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.kids, bytes_of(key), bytes_of(mark),
              "add element '" + ifname + "' to map kids");
    b.element(NFT_MSG_NEWSETELEM, kParentTable, sets.zones, bytes_of(key), bytes_of(label),
              "add element '" + ifname + "' to map zones");
    add_label(b, sets.labels, label, mark);
    add_guard(b, sets, ifname, key, label, guard);
    add_published(b, sets, label, published);
}

// SPI dispatch (see nft.hpp): IKE and ESP are never tracked; what a child sends teaches
// this namespace its IKE SPIs, and what arrives from outside gets the mark of the child
// that owns the receiver's SPI. Offsets are from the transport header: UDP is 8 bytes;
// in UDP 4500 a zero 4-byte marker precedes IKE (else the first 4 bytes are an ESP SPI).
// The IKE header: initiator SPI (8 bytes), responder SPI (8), next payload, version,
// exchange type (byte 18), flags (byte 19; 0x08: the sender is the original initiator,
// so the SPI the receiver chose is the responder's).
void add_dispatch_rules(Batch& b, const ParentSets& sets) {
    constexpr uint32_t kTh = NFT_PAYLOAD_TRANSPORT_HEADER;
    constexpr uint8_t kIkeInitiator = 0x08;
    for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
        for (auto [off, dir] : {std::pair{2u, "dport"}, std::pair{0u, "sport"}}) {
            Rule r(kParentTable, "ipsec",
                   std::string("udp ") + dir + " " + std::to_string(port) + " notrack");
            r.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP}).payload(kTh, off, 2).eq(htons(port)).notrack();
            b.rule(r);
        }
    }
    Rule esp(kParentTable, "ipsec", "meta l4proto esp notrack");
    esp.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_ESP}).notrack();
    b.rule(esp);

    const uint32_t zero = 0;
    // IKE from a child (from its port 500, or 4500 after the zero marker): its own SPI
    // (the initiator SPI when it sets the I flag, else the responder SPI) is learned with
    // the child's mark. A space further down is learned here with the mark of the child
    // on the way, since that is the uplink its messages arrive on.
    for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
        const uint32_t ike = port == 500 ? 8 : 12;
        for (bool initiator : {true, false}) {
            const uint32_t spi = ike + (initiator ? 0 : 8);
            // The child's mark goes through the packet's own mark: nft 1.0.6 cannot list a
            // map lookup's result as a dynset's data (it asserts), but `meta mark` it can. A
            // packet arriving from another namespace carries mark 0 (the veth scrubs it),
            // and the rule below sets it back to 0 before the packet goes on.
            std::string text = "udp sport " + std::to_string(port) + (port == 500 ? "" : " @th,64,32 == 0") +
                               " @th," + std::to_string((ike + 19) * 8) +
                               ",8 & 0x08 == " + (initiator ? "0x08" : "0") +
                               " meta mark set iifname map @kids update @ikespis { @th," +
                               std::to_string(spi * 8) + ",64 timeout 300s : meta mark }";
            Rule r(kParentTable, "ipsec", text);
            r.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP}).payload(kTh, 0, 2).eq(htons(port));
            if (port == 4500) r.payload(kTh, 8, 4).eq(zero);
            r.payload(kTh, ike + 19, 1).mask(kIkeInitiator).eq(initiator ? kIkeInitiator : uint8_t{0});
            r.meta(NFT_META_IIFNAME).lookup(sets.kids, true).meta_set(NFT_META_MARK);
            r.meta_to(NFT_META_MARK, NFT_REG_2);
            r.payload(kTh, spi, 8).update(sets.ikespis, NFT_REG_1, NFT_REG_2, kLearnedTimeoutMs);
            b.rule(r);
        }
    }

    // Only what arrives from outside is dispatched: a child's uplink returns here. The
    // lookup in map @kids carries a destination register although its value is unused:
    // Linux 6.1 (Debian 12) refuses a plain or inverted membership test of a map (EINVAL).
    Rule from_kid(kParentTable, "ipsec", "iifname map @kids meta mark set 0 return");
    from_kid.meta(NFT_META_IIFNAME).lookup(sets.kids, true).immediate(bytes_of(zero)).meta_set(NFT_META_MARK);
    from_kid.verdict(NFT_RETURN);
    b.rule(from_kid);
    // Each mark rule: the protocol test, then `len` bytes at `offset` looked up in a map.
    auto mark_rule = [&](const std::string& text, auto&& match, uint32_t offset, uint32_t len,
                         const SetRef& map) {
        Rule r(kParentTable, "ipsec",
               text + " meta mark set @th," + std::to_string(offset * 8) + "," + std::to_string(len * 8) +
                   " map @" + map.name);
        match(r);
        r.payload(kTh, offset, len).lookup(map, true).meta_set(NFT_META_MARK);
        b.rule(r);
    };
    auto udp_dport = [](Rule& r, uint16_t port) {
        r.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP}).payload(kTh, 2, 2).eq(htons(port));
    };
    for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
        const uint32_t ike = port == 500 ? 8 : 12;
        const std::string head = "udp dport " + std::to_string(port) + (port == 500 ? "" : " @th,64,32 == 0");
        auto ike_dport = [&](Rule& r) {
            udp_dport(r, port);
            if (port == 4500) r.payload(kTh, 8, 4).eq(zero);
        };
        // An IKE_SA_INIT request (exchange 34, I flag, responder SPI still zero): to the space bound to
        // the personal network whose label the initiator SPI carries, if any.
        const uint64_t none = 0;
        mark_rule(
            head + " @th," + std::to_string((ike + 18) * 8) + ",16 & 0xff08 == 0x2208 @th," +
                std::to_string((ike + 8) * 8) + ",64 == 0",
            [&](Rule& r) {
                ike_dport(r);
                r.payload(kTh, ike + 18, 2).mask(htons(0xff08)).eq(htons(0x2208));
                r.payload(kTh, ike + 8, 8).eq(none);
            },
            ike, 2, sets.netlabels);
        // Any other IKE message: the receiver's SPI, exactly.
        for (bool initiator : {true, false}) {
            mark_rule(
                head + " @th," + std::to_string((ike + 19) * 8) +
                    ",8 & 0x08 == " + (initiator ? "0x08" : "0"),
                [&](Rule& r) {
                    ike_dport(r);
                    r.payload(kTh, ike + 19, 1)
                        .mask(kIkeInitiator)
                        .eq(initiator ? kIkeInitiator : uint8_t{0});
                },
                ike + (initiator ? 8 : 0), 8, sets.ikespis);
        }
    }
    // ESP in UDP 4500 and raw ESP: the SPI, exactly.
    mark_rule(
        "udp dport 4500 @th,64,32 != 0",
        [&](Rule& r) {
            udp_dport(r, 4500);
            r.payload(kTh, 8, 4).cmp(NFT_CMP_NEQ, bytes_of(zero));
        },
        8, 4, sets.espspis);
    mark_rule(
        "meta l4proto esp", [&](Rule& r) { r.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_ESP}); }, 0, 4,
        sets.espspis);
}

// Ports published for children (see nft.hpp): their maps, and the chains that hand a new
// connection from outside to the child and keep steering its packets there.
void add_publish_chains(Batch& b, ParentSets& sets) {
    const uint32_t key_type = concat_type(kTypeInetProto, kTypeInetService);
    sets.published = b.set(kParentTable, SetSpec{.name = kPublished.name.c_str(),
                                                 .flags = NFT_SET_MAP,
                                                 .key_type = key_type,
                                                 .key_len = 8,
                                                 .data_type = kTypeMark,
                                                 .data_len = sizeof(uint32_t),
                                                 .data_order = kHostEndian});
    sets.portmap = b.set(kParentTable, SetSpec{.name = kPortmap.name.c_str(),
                                               .flags = NFT_SET_MAP,
                                               .key_type = key_type,
                                               .key_len = 8,
                                               .data_type = kTypeInetService,
                                               .data_len = sizeof(uint16_t),
                                               .data_order = kBigEndian});
    b.chain(kParentTable, "publish", "filter", NF_INET_PRE_ROUTING, kPrioMangle + 5);
    b.chain(kParentTable, "publish_nat", "nat", NF_INET_PRE_ROUTING, kPrioDstnat);

    constexpr uint32_t kTh = NFT_PAYLOAD_TRANSPORT_HEADER;
    const IfnameKey lo = *ifname_key("lo");
    // A new flow from outside to one of our own addresses: neither our own (lo) nor a
    // child's (the pre chain, which runs just before, gave it the child's mark).
    auto new_from_outside = [&](const std::string& rest) {
        Rule r(kParentTable, "publish",
               "ct state new iifname != \"lo\" ct mark != 0x50000000/8 fib daddr type local " + rest);
        r.ct(NFT_CT_STATE).mask(NF_CT_STATE_BIT(IP_CT_NEW)).cmp(NFT_CMP_NEQ, bytes_of(uint32_t{0}));
        r.meta(NFT_META_IIFNAME).cmp(NFT_CMP_NEQ, bytes_of(lo));
        r.ct(NFT_CT_MARK).mask(kMarkTagMask).cmp(NFT_CMP_NEQ, bytes_of(kChildMarkTag));
        r.fib_daddr_type().eq(uint32_t{RTN_LOCAL});
        return r;
    };
    // TCP only from a plain SYN (fin, syn, rst, ack: syn alone).
    Rule tcp = new_from_outside(
        "tcp flags syn / fin,syn,rst,ack ct mark set meta l4proto . tcp dport map @published");
    tcp.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_TCP});
    tcp.payload(kTh, 13, 1).mask(uint8_t{0x17}).eq(uint8_t{0x02});
    tcp.meta(NFT_META_L4PROTO)
        .payload(kTh, 2, 2, NFT_REG32_01)
        .lookup(sets.published, true)
        .ct_set(NFT_CT_MARK);
    b.rule(tcp);
    Rule udp = new_from_outside("ct mark set meta l4proto . udp dport map @published");
    udp.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP});
    udp.meta(NFT_META_L4PROTO)
        .payload(kTh, 2, 2, NFT_REG32_01)
        .lookup(sets.published, true)
        .ct_set(NFT_CT_MARK);
    b.rule(udp);
    // Every packet of such a flow towards the child: the child's routing mark.
    Rule steer(kParentTable, "publish",
               "ct direction original ct mark 0x51000000/8 meta mark set ct mark & 0xffff | 0x50000000");
    steer.ct(NFT_CT_DIRECTION).eq(uint8_t{IP_CT_DIR_ORIGINAL});
    steer.ct(NFT_CT_MARK).mask(kMarkTagMask).eq(kPublishMarkTag);
    steer.ct(NFT_CT_MARK).bits(0x0000ffffu, kChildMarkTag).meta_set(NFT_META_MARK);
    b.rule(steer);

    // The port in the child, where it differs: the address stays (to ip daddr), so only
    // the port changes, and conntrack changes it back in the replies.
    for (auto [ip, nfproto, offset, len] : {std::tuple{"ip", uint8_t{NFPROTO_IPV4}, 16u, 4u},
                                            std::tuple{"ip6", uint8_t{NFPROTO_IPV6}, 24u, 16u}}) {
        SetRef l4 = tcp_and_udp(b, kParentTable);
        Rule nat(kParentTable, "publish_nat",
                 std::string("ct mark 0x51000000/8 meta l4proto { tcp, udp } dnat ") + ip + " to " + ip +
                     " daddr:meta l4proto . th dport map @portmap");
        nat.ct(NFT_CT_MARK).mask(kMarkTagMask).eq(kPublishMarkTag);
        nat.meta(NFT_META_L4PROTO).lookup(l4);
        nat.meta(NFT_META_NFPROTO).eq(nfproto);
        nat.payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len);
        nat.meta_to(NFT_META_L4PROTO, NFT_REG_2).payload(kTh, 2, 2, NFT_REG32_05);
        nat.lookup_in(sets.portmap, NFT_REG_2, NFT_REG_2).dnat_port(nfproto, NFT_REG_1, NFT_REG_2);
        b.rule(nat);
    }
}

// The reply-direction rule shared by pre and out: replies to a child's flows carry the
// child's mark, which selects the routing table leading back to that child.
Rule reply_mark_rule(const char* chain) {
    Rule r(kParentTable, chain,
           "ct direction reply ct mark and 0xff000000 == 0x50000000 meta mark set ct mark");
    r.ct(NFT_CT_DIRECTION).eq(uint8_t{IP_CT_DIR_REPLY});
    r.ct(NFT_CT_MARK).mask(0xff000000).eq(uint32_t{0x50000000});
    r.ct(NFT_CT_MARK).meta_set(NFT_META_MARK);
    return r;
}

// Table, maps and chains; the caller adds the first element in the same batch.
ParentSets add_parent_table(Batch& b, const ChildGuard& first) {
    b.table(kParentTable, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
            std::string("add table ") + kParentTable);
    SetRef kids = b.set(kParentTable, SetSpec{.name = kKids.name.c_str(),
                                              .flags = NFT_SET_MAP,
                                              .key_type = kTypeIfname,
                                              .key_len = IFNAMSIZ,
                                              .key_order = kHostEndian,
                                              .data_type = kTypeMark,
                                              .data_len = sizeof(uint32_t),
                                              .data_order = kHostEndian});
    // ct zone is 16 bits in host order; nft has no type of its own for it.
    SetRef zones = b.set(kParentTable,
                         SetSpec{.name = kZones.name.c_str(),
                                 .flags = NFT_SET_MAP,
                                 .key_type = kTypeIfname,
                                 .key_len = IFNAMSIZ,
                                 .key_order = kHostEndian,
                                 .data_type = kTypeInteger,
                                 .data_len = sizeof(uint16_t),
                                 .data_order = kHostEndian},
                         0, Typeof{NFT_META_IIFNAME, NFT_CT_ZONE});
    // SPI label (the top 16 bits of an SPI, as on the wire) -> mark.
    auto label_map = [](const std::string& name) {
        return SetSpec{.name = name.c_str(),
                       .flags = NFT_SET_MAP,
                       .key_type = kTypeInteger,
                       .key_len = sizeof(uint16_t),
                       .key_order = kBigEndian,
                       .data_type = kTypeMark,
                       .data_len = sizeof(uint32_t),
                       .data_order = kHostEndian};
    };
    SetRef labels = b.set(kParentTable, label_map(kLabels.name));
    // Personal networks' labels -> mark, for IKE_SA_INIT requests (only network-bound
    // spaces, here and further down).
    SetRef netlabels = b.set(kParentTable, label_map(kNetlabels.name));
    // The exact SPIs of the spaces here and further down (as on the wire) -> mark: IKE
    // SPIs learned from what children send (with a timeout) or synced from their charon,
    // inbound ESP SPIs synced from their charon.
    auto spi_map = [&](const SetRef& name, uint32_t len) {
        return b.set(kParentTable, SetSpec{.name = name.name.c_str(),
                                           .flags = NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL,
                                           .key_type = kTypeInteger,
                                           .key_len = len,
                                           .key_order = kBigEndian,
                                           .data_type = kTypeMark,
                                           .data_len = sizeof(uint32_t),
                                           .data_order = kHostEndian});
    };
    SetRef ikespis = spi_map(kIkeSpis, sizeof(uint64_t));
    SetRef espspis = spi_map(kEspSpis, sizeof(uint32_t));
    b.chain(kParentTable, "ipsec", "filter", NF_INET_PRE_ROUTING, kPrioIpsec);
    b.chain(kParentTable, "raw", "filter", NF_INET_PRE_ROUTING, kPrioRaw);
    b.chain(kParentTable, "pre", "filter", NF_INET_PRE_ROUTING, kPrioMangle);
    b.chain(kParentTable, "out", "route", NF_INET_LOCAL_OUT, kPrioMangle);
    b.chain(kParentTable, "post", "nat", NF_INET_POST_ROUTING, kPrioSrcnat);
    b.chain(kParentTable, "spoof", "filter", NF_INET_FORWARD, 0);
    // Child -> verdict (jump to the child's own chain); a verdict's data has no length.
    auto verdict_map = [&](const SetRef& name) {
        return b.set(kParentTable, SetSpec{.name = name.name.c_str(),
                                           .flags = NFT_SET_MAP,
                                           .key_type = kTypeIfname,
                                           .key_len = IFNAMSIZ,
                                           .key_order = kHostEndian,
                                           .data_type = NFT_DATA_VERDICT});
    };
    SetRef services = verdict_map(kServices);
    SetRef peers = verdict_map(kPeers);
    b.chain(kParentTable, "guard", "filter", NF_INET_PRE_ROUTING, kPrioGuard);
    b.chain(kParentTable, "foreign");

    // Each child's flows get a conntrack zone of their own in the original direction
    // only: a child's flow never matches the parent's (or a sibling's) flow with the
    // same tuple, while the replies, all in zone 0, still find every flow, so the null
    // NAT binding sees the clash and remaps the source port.
    // Untracked packets (IKE, ESP) stay so: setting a zone would attach a template and
    // track them after all (nf_ct_get() is NULL for an untracked packet).
    Rule zone(kParentTable, "raw", "ct state != untracked ct original zone set iifname map @zones");
    zone.ct(NFT_CT_STATE).cmp(NFT_CMP_NEQ, bytes_of(uint32_t{NF_CT_STATE_UNTRACKED_BIT}));
    zone.meta(NFT_META_IIFNAME).lookup(zones, true).ct_set_original(NFT_CT_ZONE);
    b.rule(zone);

    Rule tag(kParentTable, "pre", "ct state new ct mark set iifname map @kids");
    tag.ct(NFT_CT_STATE).mask(NF_CT_STATE_BIT(IP_CT_NEW)).cmp(NFT_CMP_NEQ, bytes_of(uint32_t{0}));
    tag.meta(NFT_META_IIFNAME).lookup(kids, true).ct_set(NFT_CT_MARK);
    b.rule(tag);
    b.rule(reply_mark_rule("pre"));
    b.rule(reply_mark_rule("out"));
    // A child sends from addresses it carries, which are this namespace's own; anything
    // else it would have us forward is spoofed (an --admin space can add any address).
    // (A map lookup with a register: Linux 6.1 refuses a plain membership test of a map.)
    Rule spoof(kParentTable, "spoof", "iifname map @kids fib saddr type != local drop");
    spoof.meta(NFT_META_IIFNAME)
        .lookup(kids, true)
        .fib_saddr_type()
        .cmp(NFT_CMP_NEQ, bytes_of(uint32_t{RTN_LOCAL}));
    spoof.verdict(NF_DROP);
    b.rule(spoof);

    // The guard (see nft.hpp): a child's services first, then where it sends from. It
    // sees the destination before any DNAT of ours, so what a grandchild hands over
    // through this namespace's service address counts as sent to it.
    Rule svc(kParentTable, "guard", "iifname vmap @services");
    svc.meta(NFT_META_IIFNAME).vmap(services);
    b.rule(svc);
    Rule src(kParentTable, "guard", "iifname map @kids fib saddr type != local jump foreign");
    src.meta(NFT_META_IIFNAME)
        .lookup(kids, true)
        .fib_saddr_type()
        .cmp(NFT_CMP_NEQ, bytes_of(uint32_t{RTN_LOCAL}))
        .jump("foreign");
    b.rule(src);
    Rule fwd(kParentTable, "foreign", "fib daddr type != local drop");
    fwd.fib_daddr_type().cmp(NFT_CMP_NEQ, bytes_of(uint32_t{RTN_LOCAL})).verdict(NF_DROP);
    b.rule(fwd);
    for (const IpAddr& link : {first.link4, first.link6}) {
        if (link.family != AF_INET && link.family != AF_INET6) continue;
        IpPrefix host{link, static_cast<int>(link.size() * 8)};
        Rule up(kParentTable, "foreign",
                std::string(link.family == AF_INET ? "ip" : "ip6") + " saddr " + link.str() + " accept");
        saddr_in(up, host).verdict(NF_ACCEPT);
        b.rule(up);
    }
    Rule peer(kParentTable, "foreign", "iifname vmap @peers");
    peer.meta(NFT_META_IIFNAME).vmap(peers);
    b.rule(peer);
    Rule drop(kParentTable, "foreign", "drop");
    drop.verdict(NF_DROP);
    b.rule(drop);

    ParentSets sets{kids, zones, labels, services, peers, netlabels, ikespis, espspis, {}, {}};
    add_dispatch_rules(b, sets);
    add_publish_chains(b, sets);
    return sets;
}

// ---------------------------------------------------------------------------------------
// The child table.

struct Family {
    const char* ip;  // "ip" or "ip6", for rule texts
    uint8_t nfproto;
    uint32_t daddr_offset;
    uint32_t addr_len;
    uint32_t saddr_offset;
    SetRef local;
    const IpAddr& parent;
    const IpAddr& down;
};

// "<ip> daddr @<local>": the prefix every child rule starts with.
Rule to_local(const Family& f, const char* chain, const std::string& rest) {
    Rule r(kSpaceTable, chain, std::string(f.ip) + " daddr @" + f.local.name + " " + rest);
    r.meta(NFT_META_NFPROTO).eq(f.nfproto);
    r.payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr_offset, f.addr_len).lookup(f.local);
    return r;
}

void add_family_rules(Batch& b, const Family& f, const SetRef& hidden) {
    if (f.down.family == AF_UNSPEC) {
        b.rule(to_local(f, "raw_out", "notrack").notrack());
    } else {
        b.rule(to_local(f, "raw_out", std::string(f.ip) + " saddr != " + f.down.str() + " notrack")
                   .payload(NFT_PAYLOAD_NETWORK_HEADER, f.saddr_offset, f.addr_len)
                   .cmp(NFT_CMP_NEQ, bytes_of(f.down))
                   .notrack());
    }

    IfnameKey lo = *ifname_key("lo");
    Rule zone(kSpaceTable, "raw_pre",
              std::string("iifname \"lo\" ") + f.ip + " daddr @" + f.local.name + " ct zone set 0");
    zone.meta(NFT_META_IIFNAME).eq(lo);
    zone.meta(NFT_META_NFPROTO).eq(f.nfproto);
    zone.payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr_offset, f.addr_len).lookup(f.local);
    zone.immediate(bytes_of(uint16_t{0})).ct_set(NFT_CT_ZONE);
    b.rule(zone);

    for (uint8_t transparent : {0, 1}) {
        b.rule(to_local(f, "svc", "socket transparent " + std::to_string(transparent) + " return")
                   .socket(NFT_SOCKET_TRANSPARENT)
                   .eq(transparent)
                   .verdict(NFT_RETURN));
    }
    // The concatenation fills reg1 (protocol, padded to 32 bits) then its second word.
    b.rule(to_local(f, "svc", "meta l4proto . th dport @hidden return")
               .meta(NFT_META_L4PROTO)
               .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01)
               .lookup(hidden)
               .verdict(NFT_RETURN));

    if (f.parent.family == AF_UNSPEC) return;  // no uplink of this family to hand over to
    SetRef l4 = tcp_and_udp(b, kSpaceTable);
    std::string dnat = std::string("meta l4proto { tcp, udp } dnat ") + f.ip + " to " + f.parent.str();
    b.rule(to_local(f, "svc", dnat)
               .meta(NFT_META_L4PROTO)
               .lookup(l4)
               .immediate(bytes_of(f.parent))
               .dnat(f.nfproto));
}

}  // namespace

// ---------------------------------------------------------------------------------------

Status parent_add_child(const std::string& ifname, uint32_t mark, uint16_t label, const ChildGuard& guard,
                        const std::vector<PublishedPort>& published) {
    std::string what = "add element '" + ifname + "' to map kids";
    auto key = ifname_key(ifname);
    if (!key) return make_error(EINVAL, what + ": invalid interface name");
    auto exists = table_exists(kParentTable);
    if (!exists.ok()) return exists.error().wrap(what);
    if (!exists.value()) {
        Batch b;
        ParentSets sets = add_parent_table(b, guard);
        add_kid(b, sets, ifname, *key, mark, label, guard, published);
        auto st = b.commit();
        // EEXIST here means another process created the table since we looked (the
        // fresh map cannot hold the element yet): fall through and just add the element.
        if (st.ok() || st.error().code != EEXIST) return st;
    }
    Batch b;
    add_kid(b, kParentSets, ifname, *key, mark, label, guard, published);
    return b.commit();
}

Status parent_add_label(uint16_t label, uint32_t mark, bool network) {
    Batch b;
    add_label(b, kLabels, label, mark);
    if (network) add_netlabel(b, kNetlabels, label, mark);
    return b.commit();
}

Status parent_remove_label(uint16_t label) {
    const std::string what = "delete element " + std::to_string(label) + " from map labels";
    auto there = element_exists(kParentTable, kLabels, label_key(label));
    if (!there.ok()) return there.error().wrap(what);
    Batch b;
    if (there.value())
        b.element(NFT_MSG_DELSETELEM, kParentTable, kLabels, label_key(label), std::nullopt, what);
    PN_TRY(drop_owned(b, label, 0), "delete element " + std::to_string(label) + " from map netlabels");
    if (b.empty()) return {};
    return tolerate(b.commit(), ENOENT);
}

Status parent_remove_child(const std::string& ifname, uint16_t label) {
    std::string what = "delete element '" + ifname + "' from map kids";
    auto key = ifname_key(ifname);
    if (!key) return make_error(EINVAL, what + ": invalid interface name");
    // One batch, and so one commit (each waits out the kernel's RCU grace period, ~8-16 ms
    // here): the child's own guard chains go with it where they exist (most children have
    // neither; a batch with a missing object would fail as a whole). Asked first, by a
    // lookup that commits nothing.
    std::vector<std::pair<const SetRef*, std::string>> own;
    for (auto [map, kind] : {std::pair{&kServices, "svc"}, std::pair{&kPeers, "peers"}}) {
        auto there = chain_exists(kParentTable, kid_chain(kind, label));
        if (!there.ok()) return there.error().wrap(what);
        if (there.value()) own.emplace_back(map, kid_chain(kind, label));
    }
    // Only the elements that are there, asked likewise: a failed batch's abort waits out
    // a grace period too, and the reaper's release repeats destroy's, which left it
    // nothing (four aborts, 30 to 40 ms with the registry locked, before).
    const std::array<std::tuple<const SetRef*, std::span<const uint8_t>, std::string>, 3> kid_elements{{
        {&kKids, bytes_of(*key), what},
        {&kZones, bytes_of(*key), "delete element '" + ifname + "' from map zones"},
        {&kLabels, label_key(label), "delete element " + std::to_string(label) + " from map labels"},
    }};
    std::vector<bool> present;
    for (const auto& [set, k, text] : kid_elements) {
        auto there = element_exists(kParentTable, *set, k);
        if (!there.ok()) return there.error().wrap(what);
        present.push_back(there.value());
    }
    auto drop_kid = [&](Batch& batch, bool all) {
        for (size_t i = 0; i < kid_elements.size(); ++i)
            if (all || present[i])
                batch.element(NFT_MSG_DELSETELEM, kParentTable, *std::get<0>(kid_elements[i]),
                              std::get<1>(kid_elements[i]), std::nullopt, std::get<2>(kid_elements[i]));
    };
    Batch b;
    drop_kid(b, false);
    PN_TRY(drop_owned(b, label, mark_of_label(label)), what);
    PN_TRY(drop_published(b, label), what);
    for (const auto& [map, chain] : own) {
        b.element(NFT_MSG_DELSETELEM, kParentTable, *map, bytes_of(*key), std::nullopt,
                  "delete element '" + ifname + "' from map " + map->name);
        b.delete_chain(kParentTable, chain);
    }
    if (b.empty() || b.commit().ok()) return {};
    // Something went meanwhile (another release at the same time): one object a batch.
    Batch k;
    drop_kid(k, true);
    if (auto st = tolerate(k.commit(), ENOENT); !st.ok()) return st;
    Batch o;
    PN_TRY(drop_owned(o, label, mark_of_label(label)), what);
    if (auto st = tolerate(o.commit(), ENOENT); !st.ok()) return st;
    Batch p;
    PN_TRY(drop_published(p, label), what);
    if (auto st = tolerate(p.commit(), ENOENT); !st.ok()) return st;
    for (auto [map, kind] : {std::pair{&kServices, "svc"}, std::pair{&kPeers, "peers"}}) {
        Batch g;
        g.element(NFT_MSG_DELSETELEM, kParentTable, *map, bytes_of(*key), std::nullopt,
                  "delete element '" + ifname + "' from map " + map->name);
        g.delete_chain(kParentTable, kid_chain(kind, label));
        auto st = tolerate(g.commit(), ENOENT);
        if (!st.ok()) return st;
    }
    return {};
}

Status parent_remove_table() { return remove_table(kParentTable); }

Result<std::vector<std::pair<PublishedPort, uint16_t>>> parent_list_published() {
    auto published = list_elements(kParentTable, kPublished.name);
    if (!published.ok()) return published.error().wrap("list the published ports");
    auto portmap = list_elements(kParentTable, kPortmap.name);
    if (!portmap.ok()) return portmap.error().wrap("list the published ports");
    std::vector<std::pair<PublishedPort, uint16_t>> out;
    for (const Listed& l : published.value()) {
        // The key as service_key() writes it: protocol, padding, port in network order.
        if (l.key.size() != 8 || (l.data & kMarkTagMask) != kPublishMarkTag) continue;
        PublishedPort p;
        p.proto = l.key[0];
        p.port = static_cast<uint16_t>((l.key[4] << 8) | l.key[5]);
        p.inner = p.port;
        for (const Listed& m : portmap.value())
            if (m.key == l.key && m.value.size() == 2)
                p.inner = static_cast<uint16_t>((m.value[0] << 8) | m.value[1]);
        out.emplace_back(p, static_cast<uint16_t>(l.data & 0xffff));
    }
    return out;
}

namespace {

const SetRef& map_of(SpiMap m) { return m == SpiMap::ike ? kIkeSpis : kEspSpis; }
size_t key_len(SpiMap m) { return m == SpiMap::ike ? 8 : 4; }

std::vector<uint8_t> spi_key(SpiMap m, uint64_t spi) {
    std::vector<uint8_t> k(key_len(m));
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(spi >> (8 * (k.size() - 1 - i)));
    return k;
}

uint64_t spi_of(const std::vector<uint8_t>& key) {
    uint64_t v = 0;
    for (uint8_t b : key) v = (v << 8) | b;
    return v;
}

// The comment a synced element carries: the space it leads to, wherever it is.
std::string owner_comment(uint16_t owner) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "pn %04x", static_cast<unsigned>(owner));
    return buf;
}

std::string spi_text(SpiMap m, uint64_t spi) {
    char buf[32];
    std::snprintf(buf, sizeof buf, m == SpiMap::ike ? "%016llx" : "%08llx",
                  static_cast<unsigned long long>(spi));
    return buf;
}

}  // namespace

Result<std::vector<SpiEntry>> parent_list_spis(SpiMap m) {
    auto listed = list_elements(kParentTable, map_of(m).name);
    if (!listed.ok()) return listed.error();
    std::vector<SpiEntry> out;
    for (const Listed& l : listed.value()) {
        if (l.key.size() != key_len(m)) continue;
        SpiEntry e{spi_of(l.key), l.data, 0, l.expires};
        if (l.comment.size() == 7 && l.comment.rfind("pn ", 0) == 0)
            e.owner = static_cast<uint16_t>(std::strtoul(l.comment.c_str() + 3, nullptr, 16));
        out.push_back(e);
    }
    return out;
}

Status parent_sync_spis(SpiMap m, uint16_t owner, uint32_t mark, const std::vector<uint64_t>& wanted) {
    const SetRef& map = map_of(m);
    const std::string what = "sync map " + map.name + " for " + owner_comment(owner);
    // Twice at most: an SPI learned on the packet path between the listing and the batch
    // makes the batch fail with EEXIST; the second listing sees it.
    for (int attempt = 0;; ++attempt) {
        auto now = parent_list_spis(m);
        if (!now.ok()) return now.error().wrap(what);
        Batch b;
        size_t changes = 0;
        auto drop = [&](uint64_t spi) {
            b.element(NFT_MSG_DELSETELEM, kParentTable, map, spi_key(m, spi), std::nullopt,
                      "delete element " + spi_text(m, spi) + " from map " + map.name);
            ++changes;
        };
        for (const SpiEntry& e : now.value())
            if (e.owner == owner && std::find(wanted.begin(), wanted.end(), e.spi) == wanted.end())
                drop(e.spi);
        for (uint64_t spi : wanted) {
            // Ours already, whatever else the listing has for it: the kernel has been seen
            // to list an SPI twice, synced and learned at once (the packet path learning it
            // while a sync replaced its learned element), both leading to the same mark.
            // Replacing it again would fail with EEXIST on every sync from then on.
            auto same = [&](const SpiEntry& e) { return e.spi == spi; };
            if (std::any_of(now->begin(), now->end(), [&](const SpiEntry& e) {
                    return same(e) && e.owner == owner && e.mark == mark && !e.learned;
                }))
                continue;
            if (std::any_of(now->begin(), now->end(), same))
                drop(spi);  // learned (it would time out) or stale: replaced by ours
            b.element(NFT_MSG_NEWSETELEM, kParentTable, map, spi_key(m, spi), bytes_of(mark),
                      "add element " + spi_text(m, spi) + " to map " + map.name, {}, owner_comment(owner));
            ++changes;
        }
        if (changes == 0) return {};
        auto st = b.commit();
        if (st.ok() || attempt == 1 || (st.error().code != EEXIST && st.error().code != ENOENT))
            return st.ok() ? st : st.error().wrap(what);
    }
}

Status parent_forget_spis(uint16_t owner, uint32_t mark,
                          const std::vector<std::pair<SpiMap, uint64_t>>& also) {
    Batch b;
    size_t changes = 0;
    for (SpiMap m : {SpiMap::ike, SpiMap::esp}) {
        auto now = parent_list_spis(m);
        if (!now.ok()) return now.error().wrap("forget the SPIs of " + owner_comment(owner));
        for (const SpiEntry& e : now.value()) {
            bool listed = std::find(also.begin(), also.end(), std::pair{m, e.spi}) != also.end();
            if (e.owner != owner && !(listed && e.mark == mark)) continue;
            b.element(NFT_MSG_DELSETELEM, kParentTable, map_of(m), spi_key(m, e.spi), std::nullopt,
                      "delete element " + spi_text(m, e.spi) + " from map " + map_of(m).name);
            ++changes;
        }
    }
    if (changes == 0) return {};
    return tolerate(b.commit(), ENOENT);
}

bool parent_table_exists() {
    auto r = table_exists(kParentTable);
    return r.ok() && r.value();
}

Status child_install(const ChildServices& spec) {
    if (spec.parent4.family != AF_UNSPEC && spec.parent4.family != AF_INET)
        return make_error(EINVAL, "install child table: parent4 is not an IPv4 address");
    if (spec.parent6.family != AF_UNSPEC && spec.parent6.family != AF_INET6)
        return make_error(EINVAL, "install child table: parent6 is not an IPv6 address");
    if (spec.down4.family != AF_UNSPEC && spec.down4.family != AF_INET)
        return make_error(EINVAL, "install child table: down4 is not an IPv4 address");
    if (spec.down6.family != AF_UNSPEC && spec.down6.family != AF_INET6)
        return make_error(EINVAL, "install child table: down6 is not an IPv6 address");

    Batch b;
    b.table(kSpaceTable, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
            std::string("add table ") + kSpaceTable);
    SetRef local4 =
        b.set(kSpaceTable,
              SetSpec{.name = "local4", .key_type = kTypeIpAddr, .key_len = 4, .key_order = kBigEndian});
    SetRef local6 =
        b.set(kSpaceTable,
              SetSpec{.name = "local6", .key_type = kTypeIp6Addr, .key_len = 16, .key_order = kBigEndian});
    // Each concatenated field takes a whole 32-bit register, hence 4 + 4 bytes; like
    // nft, no byte order is recorded for a concatenation as a whole.
    SetRef hidden = b.set(
        kSpaceTable,
        SetSpec{.name = "hidden", .key_type = concat_type(kTypeInetProto, kTypeInetService), .key_len = 8});

    for (const IpAddr& a : spec.local) {
        if (a.family != AF_INET && a.family != AF_INET6)
            return make_error(EINVAL, "install child table: local address of unknown family");
        const SetRef& set = a.family == AF_INET ? local4 : local6;
        b.element(NFT_MSG_NEWSETELEM, kSpaceTable, set, bytes_of(a), std::nullopt,
                  "add element " + a.str() + " to set " + set.name);
    }
    for (const HiddenService& h : spec.hidden) {
        b.element(NFT_MSG_NEWSETELEM, kSpaceTable, hidden, service_key(h), std::nullopt,
                  "add element " + proto_name(h.proto) + " . " + std::to_string(h.port) + " to set hidden");
    }
    SetRef published = b.set(kSpaceTable, SetSpec{.name = "published",
                                                  .key_type = concat_type(kTypeInetProto, kTypeInetService),
                                                  .key_len = 8});
    for (const HiddenService& p : spec.published)
        b.element(NFT_MSG_NEWSETELEM, kSpaceTable, published, service_key(p), std::nullopt,
                  "add element " + published_name(p.proto, p.port) + " to set published");

    b.chain(kSpaceTable, "raw_out", "filter", NF_INET_LOCAL_OUT, kPrioRaw);
    b.chain(kSpaceTable, "raw_pre", "filter", NF_INET_PRE_ROUTING, kPrioRaw);
    b.chain(kSpaceTable, "svc", "nat", NF_INET_PRE_ROUTING, kPrioDstnat);
    // The space's own IKE and ESP are never tracked here either, as in its parent: an
    // IKE_SA_INIT its parent dispatched to it before its charon listened would otherwise be
    // handed on to the parent as an inherited service (svc's DNAT), and that conntrack entry
    // then made the space's own request to the same peer leave with a remapped source port
    // (measured: two spaces initiating to each other at once, one from port 511).
    // First in both chains, and returning: a zone set later would track them after all.
    constexpr uint32_t kTh = NFT_PAYLOAD_TRANSPORT_HEADER;
    for (const char* chain : {"raw_pre", "raw_out"}) {
        for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
            for (auto [off, dir] : {std::pair{2u, "dport"}, std::pair{0u, "sport"}}) {
                Rule r(kSpaceTable, chain,
                       std::string("udp ") + dir + " " + std::to_string(port) + " notrack return");
                r.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP}).payload(kTh, off, 2).eq(htons(port));
                b.rule(r.notrack().verdict(NFT_RETURN));
            }
        }
        Rule esp(kSpaceTable, chain, "meta l4proto esp notrack return");
        b.rule(esp.meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_ESP}).notrack().verdict(NFT_RETURN));
    }
    if (auto up = ifname_key(spec.uplink)) {
        // What the parent hands in for a port this space publishes stays here: no DNAT
        // back up (a space nested here that publishes the same port at this space's
        // addresses then gets it by this namespace's own publish chain).
        Rule r(kSpaceTable, "svc",
               "iifname \"" + spec.uplink + "\" meta l4proto . th dport @published return");
        r.meta(NFT_META_IIFNAME).eq(*up);
        r.meta(NFT_META_L4PROTO).payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01).lookup(published);
        b.rule(r.verdict(NFT_RETURN));
    }
    add_family_rules(b, Family{"ip", NFPROTO_IPV4, 16, 4, 12, local4, spec.parent4, spec.down4}, hidden);
    add_family_rules(b, Family{"ip6", NFPROTO_IPV6, 24, 16, 8, local6, spec.parent6, spec.down6}, hidden);
    return b.commit();
}

Status child_remove() { return remove_table(kSpaceTable); }

Status child_set_local(const std::vector<IpAddr>& local) {
    Batch b;
    const SetRef local4{"local4"}, local6{"local6"};
    b.flush_set(kSpaceTable, local4);
    b.flush_set(kSpaceTable, local6);
    std::vector<IpAddr> seen;
    for (const IpAddr& a : local) {
        if (a.family != AF_INET && a.family != AF_INET6)
            return make_error(EINVAL, "update child table: local address of unknown family");
        if (std::find(seen.begin(), seen.end(), a) != seen.end()) continue;
        seen.push_back(a);
        const SetRef& set = a.family == AF_INET ? local4 : local6;
        b.element(NFT_MSG_NEWSETELEM, kSpaceTable, set, bytes_of(a), std::nullopt,
                  "add element " + a.str() + " to set " + set.name);
    }
    return b.commit();
}

Status overlay_guard_install(const std::string& uplink) {
    auto key = ifname_key(uplink);
    if (!key) return make_error(EINVAL, "overlay guard: invalid interface name '" + uplink + "'");
    Batch b;
    b.table(kOverlayTable, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
            std::string("add table ") + kOverlayTable);
    for (auto [chain, hook] : {std::pair{"out", NF_INET_LOCAL_OUT}, std::pair{"fwd", NF_INET_FORWARD}}) {
        b.chain(kOverlayTable, chain, "filter", hook, 0);
        const std::string on = "oifname \"" + uplink + "\" ";
        for (uint16_t port : {uint16_t{500}, uint16_t{4500}}) {
            Rule r(kOverlayTable, chain, on + "udp dport " + std::to_string(port) + " accept");
            r.meta(NFT_META_OIFNAME).eq(*key).meta(NFT_META_L4PROTO).eq(uint8_t{IPPROTO_UDP});
            r.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).eq(htons(port)).verdict(NF_ACCEPT);
            b.rule(r);
        }
        Rule esp(kOverlayTable, chain, on + "meta l4proto esp accept");
        esp.meta(NFT_META_OIFNAME)
            .eq(*key)
            .meta(NFT_META_L4PROTO)
            .eq(uint8_t{IPPROTO_ESP})
            .verdict(NF_ACCEPT);
        b.rule(esp);
        // The kernel datapath: a plaintext packet for the overlay passes this hook before
        // XFRM encrypts it (its ESP packet passes again, above); without this rule the
        // overlay-only space could not send anything into its own overlay.
        Rule xfrm(kOverlayTable, chain, on + "rt ipsec exists accept");
        xfrm.meta(NFT_META_OIFNAME).eq(*key).rt_xfrm().eq(uint8_t{1}).verdict(NF_ACCEPT);
        b.rule(xfrm);
        Rule drop(kOverlayTable, chain, on + "drop");
        drop.meta(NFT_META_OIFNAME).eq(*key).verdict(NF_DROP);
        b.rule(drop);
    }
    return b.commit();
}

}  // namespace personalnet::nft
