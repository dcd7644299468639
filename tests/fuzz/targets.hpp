// The fuzz targets: one plain function per parser of untrusted input. Each is compiled
// into the unit tests (which replay tests/fuzz/corpus/TARGET/ through it) and, by
// `make fuzz`, into a libFuzzer binary (driver.cpp). A target returns 0, or 1 after
// printing on stderr which property an input broke; crashes and sanitizer reports need
// no return value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace personalnet::fuzz {

// Text for ike::parse_settings; what parses must print back and re-parse to the same tree.
int fuzz_settings(const uint8_t* data, size_t size);
// Wire bytes for helper::decode then helper::parse_request; what parses must re-encode to
// bytes that parse again into the same request.
int fuzz_request(const uint8_t* data, size_t size);
// mkportspace's arguments after argv[0], each ended by a NUL (the last one's NUL may be
// missing); parsing twice must give the same answer.
int fuzz_mkportspace(const uint8_t* data, size_t size);
// Text for policy::parse_policy (built only once lib/policy/policy.hpp exists).
int fuzz_policy(const uint8_t* data, size_t size);

}  // namespace personalnet::fuzz
