#include "lib/core/nlack.hpp"

#include <cstring>

namespace personalnet::nlack {

std::string extack_of(const nlmsghdr* nlh) {
    // The TLVs follow the nlmsgerr, which embeds the whole offending request unless the
    // socket asked for capped ACKs (NETLINK_CAP_ACK).
    if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {};
    const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
    size_t offset = NLMSG_LENGTH(sizeof(nlmsgerr));
    if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += NLMSG_ALIGN(err->msg.nlmsg_len) - NLMSG_HDRLEN;
    const auto* base = reinterpret_cast<const char*>(nlh);
    size_t end = nlh->nlmsg_len;
    while (offset + NLA_HDRLEN <= end) {
        const auto* attr = reinterpret_cast<const nlattr*>(base + offset);
        if (attr->nla_len < NLA_HDRLEN || offset + attr->nla_len > end) break;
        if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const char* text = base + offset + NLA_HDRLEN;
            size_t len = attr->nla_len - NLA_HDRLEN;
            return std::string(text, strnlen(text, len));
        }
        offset += NLA_ALIGN(attr->nla_len);
    }
    return {};
}

Error error_of(const nlmsghdr* nlh, const std::string& context) {
    int code = 0;
    if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)))
        code = -static_cast<const nlmsgerr*>(NLMSG_DATA(nlh))->error;
    return Error{code, context, extack_of(nlh)};
}

}  // namespace personalnet::nlack
