#include "lib/core/sha256.hpp"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <bit>
#include <cstring>

namespace personalnet::sha256 {
namespace {

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4, 5.3.3: the first 32 bits of the fractional parts of the square roots of the
// first 8 primes.
constexpr std::array<uint32_t, 8> kInitial = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// The functions of FIPS 180-4, 4.1.2, named as there (Ch, Maj, Σ0, Σ1, σ0, σ1).
constexpr uint32_t ch(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (~x & z); }
constexpr uint32_t maj(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (x & z) ^ (y & z); }
constexpr uint32_t big_sigma0(uint32_t x) { return std::rotr(x, 2) ^ std::rotr(x, 13) ^ std::rotr(x, 22); }
constexpr uint32_t big_sigma1(uint32_t x) { return std::rotr(x, 6) ^ std::rotr(x, 11) ^ std::rotr(x, 25); }
constexpr uint32_t small_sigma0(uint32_t x) { return std::rotr(x, 7) ^ std::rotr(x, 18) ^ (x >> 3); }
constexpr uint32_t small_sigma1(uint32_t x) { return std::rotr(x, 17) ^ std::rotr(x, 19) ^ (x >> 10); }

// SHA-256 reads and writes its words big-endian, whatever the machine's order.
uint32_t load_be32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

void store_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// explicit_bzero, not memset: a memset of memory never read again is a dead store the
// compiler may remove, and this memory held a secret.
void wipe_bytes(void* p, size_t n) { ::explicit_bzero(p, n); }

template <size_t N>
std::string_view bytes_of(const std::array<uint8_t, N>& a) {
    return {reinterpret_cast<const char*>(a.data()), a.size()};
}

}  // namespace

Sha256::~Sha256() { wipe(); }

void Sha256::reset() {
    state_ = kInitial;
    buffered_ = 0;
    length_ = 0;
}

void Sha256::wipe() {
    wipe_bytes(state_.data(), state_.size() * sizeof(uint32_t));
    wipe_bytes(buffer_.data(), buffer_.size());
    buffered_ = 0;
    length_ = 0;
}

void Sha256::update(std::string_view data) {
    // An empty view may have a null data(), which memcpy may not be given even for 0 bytes.
    if (data.empty()) return;
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t n = data.size();
    length_ += n;
    // Complete a block begun by an earlier call first; whole blocks then go from the input
    // straight to compress(), and the rest waits in buffer_ for the next call or finish().
    if (buffered_ > 0) {
        size_t take = std::min(n, kBlockSize - buffered_);
        std::memcpy(buffer_.data() + buffered_, p, take);
        buffered_ += take;
        p += take;
        n -= take;
        if (buffered_ < kBlockSize) return;
        compress(buffer_.data());
        buffered_ = 0;
    }
    for (; n >= kBlockSize; p += kBlockSize, n -= kBlockSize) compress(p);
    if (n > 0) std::memcpy(buffer_.data(), p, n);
    buffered_ = n;
}

Digest Sha256::finish() {
    // FIPS 180-4, 5.1.1: a 1 bit, zeros up to 8 bytes short of a block's end, then the
    // message's length in bits as a 64-bit big-endian number. When the 1 bit leaves no
    // room for the length, the padding takes a block of its own.
    const uint64_t bits = length_ * 8;
    buffer_[buffered_++] = 0x80;
    if (buffered_ > kBlockSize - 8) {
        std::memset(buffer_.data() + buffered_, 0, kBlockSize - buffered_);
        compress(buffer_.data());
        buffered_ = 0;
    }
    std::memset(buffer_.data() + buffered_, 0, kBlockSize - 8 - buffered_);
    for (size_t i = 0; i < 8; ++i) buffer_[kBlockSize - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
    compress(buffer_.data());

    Digest out;
    for (size_t i = 0; i < state_.size(); ++i) store_be32(out.data() + 4 * i, state_[i]);
    wipe();
    reset();
    return out;
}

void Sha256::compress(const uint8_t* block) {
    // FIPS 180-4, 6.2.2. Step 1, the message schedule.
    std::array<uint32_t, 64> w;
    for (size_t t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
    for (size_t t = 16; t < 64; ++t)
        w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];

    // Steps 2 to 4: 64 rounds over the working variables, added into the state.
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (size_t t = 0; t < 64; ++t) {
        const uint32_t t1 = h + big_sigma1(e) + ch(e, f, g) + kRound[t] + w[t];
        const uint32_t t2 = big_sigma0(a) + maj(a, b, c);
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;

    // The schedule begins with the block itself, which for HMAC is the padded key.
    wipe_bytes(w.data(), w.size() * sizeof(uint32_t));
}

Digest digest(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Digest hmac(std::string_view key, std::string_view message) {
    // RFC 2104, section 2: K is zero-padded to the block size B, after being hashed if it
    // is longer than B.
    std::array<uint8_t, kBlockSize> k0{};
    if (key.size() > kBlockSize) {
        Digest hashed = digest(key);
        std::memcpy(k0.data(), hashed.data(), hashed.size());
        wipe_bytes(hashed.data(), hashed.size());
    } else if (!key.empty()) {
        std::memcpy(k0.data(), key.data(), key.size());
    }

    // H(K XOR opad, H(K XOR ipad, text)), ipad 0x36 and opad 0x5c repeated B times. One
    // buffer serves both pads, so that there is one less copy of the key to wipe.
    std::array<uint8_t, kBlockSize> pad;
    Sha256 h;
    for (size_t i = 0; i < kBlockSize; ++i) pad[i] = static_cast<uint8_t>(k0[i] ^ 0x36);
    h.update(bytes_of(pad));
    h.update(message);
    Digest inner = h.finish();
    for (size_t i = 0; i < kBlockSize; ++i) pad[i] = static_cast<uint8_t>(k0[i] ^ 0x5c);
    h.update(bytes_of(pad));
    h.update(bytes_of(inner));
    Digest out = h.finish();

    wipe_bytes(k0.data(), k0.size());
    wipe_bytes(pad.data(), pad.size());
    wipe_bytes(inner.data(), inner.size());
    return out;
}

std::string hex(const Digest& d) {
    // Arithmetic rather than a "0123456789abcdef" lookup, so that no byte of a digest
    // (a job's pre-shared key is handed on in hex) becomes a memory index.
    auto digit = [](unsigned n) {
        // For n > 9, 9 - n wraps around and >> 8 leaves its low bits all ones; for n <= 9
        // it is 0. The mask keeps the gap from '9' to 'a' for the letters only.
        unsigned above_nine = (9U - n) >> 8;
        return static_cast<char>('0' + n + (above_nine & ('a' - '9' - 1)));
    };
    std::string out;
    out.reserve(2 * d.size());
    for (uint8_t b : d) {
        out += digit(b >> 4);
        out += digit(b & 0xfU);
    }
    return out;
}

}  // namespace personalnet::sha256
