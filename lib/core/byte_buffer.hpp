// A fixed-size byte buffer that is not zeroed.
//
// For netlink messages: libmnl and libnftnl zero what they write (a message's header,
// its extra header, each attribute's padding) and the kernel fills what it returns, so
// zeroing the whole buffer first (what std::vector<char>(n) does) only costs a write to
// every page, and a page fault for each page not touched before. A 128 KiB nftables
// batch buffer is a fresh mmap each time: 32 faults for a message of a few hundred bytes.
#pragma once

#include <cstddef>
#include <memory>

namespace personalnet {

class ByteBuffer {
public:
    explicit ByteBuffer(size_t size) : bytes_(std::make_unique_for_overwrite<char[]>(size)), size_(size) {}
    char* data() { return bytes_.get(); }
    const char* data() const { return bytes_.get(); }
    size_t size() const { return size_; }

private:
    std::unique_ptr<char[]> bytes_;
    size_t size_;
};

}  // namespace personalnet
