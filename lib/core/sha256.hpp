// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), written here rather than linked:
// the Slurm plugin derives each job's IPsec pre-shared key as HMAC-SHA-256(site secret,
// job id), and the library may not link OpenSSL nor count on AF_ALG hash sockets.
// Inputs are raw bytes in a std::string_view (NULs included). No byte of a key or message
// decides a branch or a table index: the time taken tells only their lengths.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace personalnet::sha256 {

constexpr size_t kDigestSize = 32;
// The compression function's block, and HMAC's B (RFC 2104, section 2).
constexpr size_t kBlockSize = 64;

using Digest = std::array<uint8_t, kDigestSize>;

// An incremental hash: update() any number of times, then finish(). Its state, which may
// hold a secret (HMAC's key block), is wiped when it is destroyed and after finish().
class Sha256 {
public:
    Sha256() { reset(); }
    Sha256(const Sha256&) = default;
    Sha256& operator=(const Sha256&) = default;
    ~Sha256();

    void update(std::string_view data);
    // The digest of everything given since construction or the last finish(); the object
    // then starts over, as if new.
    Digest finish();

private:
    void reset();
    void compress(const uint8_t* block);
    void wipe();

    std::array<uint32_t, 8> state_{};
    std::array<uint8_t, kBlockSize> buffer_{};
    size_t buffered_ = 0;  // bytes of buffer_ in use, always < kBlockSize
    uint64_t length_ = 0;  // bytes hashed so far (FIPS 180-4 allows < 2^64 bits)
};

// SHA-256 of data, in one call.
Digest digest(std::string_view data);

// HMAC-SHA-256 (RFC 2104; test vectors in RFC 4231). A key longer than the block (64
// bytes) is hashed first, one shorter is padded with zeros, as the RFC says.
Digest hmac(std::string_view key, std::string_view message);

// Lowercase hexadecimal, 64 characters.
std::string hex(const Digest& d);

}  // namespace personalnet::sha256
