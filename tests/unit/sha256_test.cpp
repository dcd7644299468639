// SHA-256 and HMAC-SHA-256 (lib/core/sha256): the FIPS 180-2 appendix vectors, the
// lengths where padding changes shape (one block or two), incremental against one-shot,
// and the RFC 4231 HMAC vectors. Expected values not from a standard were computed with
// Python's hashlib and hmac.
#include "lib/core/sha256.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pn_unit {
namespace {

namespace sha = personalnet::sha256;

// Bytes i*37 mod 256: NUL first, then every kind of byte, high bit included.
std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 37) & 0xff);
    return s;
}

std::string hash_hex(std::string_view data) { return sha::hex(sha::digest(data)); }
std::string hmac_hex(std::string_view key, std::string_view msg) { return sha::hex(sha::hmac(key, msg)); }

// The same data through update() in pieces of at most `piece` bytes.
sha::Digest in_pieces(std::string_view data, size_t piece) {
    sha::Sha256 h;
    for (size_t at = 0; at < data.size(); at += piece) h.update(data.substr(at, piece));
    return h.finish();
}

TEST(Sha256, Fips180Vectors) {
    EXPECT_EQ(hash_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hash_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionA) {
    const std::string a(1000000, 'a');
    const std::string want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    EXPECT_EQ(hash_hex(a), want);
    // Pieces that do not divide the block, so that most calls start and end mid-block.
    EXPECT_EQ(sha::hex(in_pieces(a, 1000)), want);
    EXPECT_EQ(sha::hex(in_pieces(a, 37)), want);
}

// 55 bytes leave room in the block for the 0x80 and the length; 56 to 63 do not, so the
// padding takes a second block; 64 and 65 start one. 119, 120 and 128 are the same
// edges one block on.
TEST(Sha256, PaddingBoundaries) {
    const struct {
        size_t length;
        const char* want;
    } cases[] = {
        {55, "3b453d648ef01a1ddbc30ef4cee00724bb53fe40b38a08c04cfd6009235c09bf"},
        {56, "a5f1426b20451b15d1c92aef1b27b36b038d13a77874409d73889c02fa1ca778"},
        {63, "b728e1a944ecf6d47629afefa1656cbe11fd7bf23145fcba144af99ea5ec14f5"},
        {64, "17ff3615c8f2285b470ee569e15b37503eae49e36882b63ccc1aceb055d7f082"},
        {65, "f747a3be9b4a85941804d77e333783b22f194e6252b37570fd51bc2bc7886a57"},
        {119, "82de88568c056a67ab49f9f8408249a8ff036b4294485b27d1f5d5de43d90759"},
        {120, "e207dc7fa98501df87f645ccd4d9864be6d3f8f96417ff84e54eb1fa40452b98"},
        {128, "44d942056dd7041cfe6a1bbcb1a1f3afc385bb951b5efd787e71f514f29e1ddc"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.length);
        const std::string data = pattern(c.length);
        const sha::Digest whole = sha::digest(data);
        EXPECT_EQ(sha::hex(whole), c.want);
        EXPECT_EQ(in_pieces(data, 1), whole);
        // Every split into two calls, with an empty one between them.
        for (size_t cut = 0; cut <= data.size(); ++cut) {
            sha::Sha256 h;
            h.update(std::string_view(data).substr(0, cut));
            h.update("");
            h.update(std::string_view(data).substr(cut));
            EXPECT_EQ(h.finish(), whole) << "cut at " << cut;
        }
    }
}

TEST(Sha256, NulBytesAreData) {
    EXPECT_EQ(hash_hex(std::string_view("a\0b", 3)),
              "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
    EXPECT_NE(hash_hex(std::string_view("a\0b", 3)), hash_hex("a"));
}

TEST(Sha256, FinishStartsOver) {
    sha::Sha256 h;
    h.update("not this");
    (void)h.finish();
    h.update("abc");
    EXPECT_EQ(sha::hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha::hex(h.finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, CopyCarriesOnIndependently) {
    sha::Sha256 h;
    h.update(pattern(70));
    sha::Sha256 copy = h;
    h.update("x");
    copy.update("y");
    EXPECT_EQ(h.finish(), sha::digest(pattern(70) + "x"));
    EXPECT_EQ(copy.finish(), sha::digest(pattern(70) + "y"));
}

TEST(Sha256, HexIsLowercaseAndPadded) {
    sha::Digest d{};
    d[0] = 0x09;
    d[1] = 0x0a;
    d[2] = 0xf0;
    d[3] = 0xff;
    d[4] = 0x9a;
    d[31] = 0x01;
    EXPECT_EQ(sha::hex(d), "090af0ff9a" + std::string(52, '0') + "01");
}

// RFC 4231, section 4: HMAC-SHA-256 test cases.
TEST(HmacSha256, Rfc4231) {
    // 1: a 20-byte key.
    EXPECT_EQ(hmac_hex(std::string(20, '\x0b'), "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // 2: a key shorter than the digest.
    EXPECT_EQ(hmac_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // 3: key and data of bytes that are not text.
    EXPECT_EQ(hmac_hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
              "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    // 4: the key 0x01 0x02 ... 0x19.
    std::string key4;
    for (char c = 0x01; c <= 0x19; ++c) key4 += c;
    EXPECT_EQ(hmac_hex(key4, std::string(50, '\xcd')),
              "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    // 5: the RFC gives only the first 128 bits.
    EXPECT_EQ(hmac_hex(std::string(20, '\x0c'), "Test With Truncation").substr(0, 32),
              "a3b6167473100ee06e0c796c2955552b");
    // 6 and 7: a 131-byte key, longer than the block, so hashed first.
    const std::string long_key(131, '\xaa');
    EXPECT_EQ(hmac_hex(long_key, "Test Using Larger Than Block-Size Key - Hash Key First"),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    EXPECT_EQ(hmac_hex(long_key,
                       "This is a test using a larger than block-size key and a larger than block-size data. "
                       "The key needs to be hashed before being used by the HMAC algorithm."),
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// A key of exactly one block is used as it is; one byte more and it is hashed first, so
// that it means the same as its digest as a key.
TEST(HmacSha256, KeyAtBlockSize) {
    const std::string block_key = pattern(64);
    const std::string over_key = pattern(65);
    EXPECT_EQ(hmac_hex(block_key, "job 4242"),
              "21ad37693816bd0fd7f04d888be50e7dff9060b64e92e8f3921eaf9ed6d6e66d");
    EXPECT_EQ(hmac_hex(over_key, "job 4242"),
              "94fab7c2ba8c0c5f1977791a49042e07e6133753ec9dbdbb0a363bba20e82315");
    auto as_key = [](const sha::Digest& d) { return std::string(d.begin(), d.end()); };
    EXPECT_EQ(hmac_hex(as_key(sha::digest(over_key)), "job 4242"), hmac_hex(over_key, "job 4242"));
    EXPECT_NE(hmac_hex(as_key(sha::digest(block_key)), "job 4242"), hmac_hex(block_key, "job 4242"));
}

TEST(HmacSha256, EmptyKeyAndMessage) {
    EXPECT_EQ(hmac_hex("", ""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
}  // namespace pn_unit
