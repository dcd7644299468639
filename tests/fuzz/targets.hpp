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
// Text for policy::parse_policy; what it accepts must keep policy.hpp's promises.
int fuzz_policy(const uint8_t* data, size_t size);
// An overlay definition's text for ike::parse_overlay, then the swanctl conversions the
// space runs on it; what it accepts keeps overlay_config.hpp's promises, and each
// connection's VICI message decodes to itself.
int fuzz_overlay(const uint8_t* data, size_t size);
// pam.conf text for pam::parse_pam_config; what it accepts keeps pam_config.hpp's promises
// and parses to the same configuration when written out again.
int fuzz_pam(const uint8_t* data, size_t size);
// The raw byte stream of the helper's channel, read with helper::receive_message until it
// fails; each message read frames back to the bytes it took and passes check_framing, and
// the error that stops it is the one channel.hpp names for where it stopped.
int fuzz_channel(const uint8_t* data, size_t size);
// One VICI segment's payload (as charon sends it) for ike::decode_packet; what decodes
// encodes back to the same bytes.
int fuzz_vici(const uint8_t* data, size_t size);
// /proc/self/mountinfo text for fs::parse_mountinfo; points are unique, their mount_key
// decodes back to them, and the table written out again parses to itself.
int fuzz_mountinfo(const uint8_t* data, size_t size);
// A user's network definition for ike::parse_user_definition; what it accepts keeps
// user_definition.hpp's promises (no forbidden key, peers and local_addrs as allowed,
// only shared secrets), and every refusal is one line naming the file.
int fuzz_userdef(const uint8_t* data, size_t size);
// DN map text for policy::parse_dn_map; every DN it accepts is in normal form, looks up
// to its user, and the map written out again parses to the same entries.
int fuzz_dnmap(const uint8_t* data, size_t size);
// Certificate and private-key bytes for ike::certificate_der, subject_dn and
// read_private_key; DER comes back unchanged, every subject shown is one the DN map reads,
// and a key's DER reads as the same type.
int fuzz_credentials(const uint8_t* data, size_t size);
// A Slurm hostlist expression (SLURM_JOB_NODELIST) for slurm::expand_hostlist; what it
// accepts are at most max_hosts unique host names that expand to themselves written out
// as a plain list, and one host fewer allowed refuses it; a refusal is one bounded line.
int fuzz_hostlist(const uint8_t* data, size_t size);

}  // namespace personalnet::fuzz
