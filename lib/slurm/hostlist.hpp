// Slurm's hostlist expressions (SLURM_JOB_NODELIST, `scontrol show hostnames`), expanded
// into the host names they stand for. The SPANK plugin runs as root in slurmstepd on
// text from the job's environment, so the parser is strict and bounded: anything outside
// the grammar below is refused (Slurm itself accepts more, e.g. "a,,b" or "a b"), and no
// name is made before the count is known to be within the limit.
//
//   list   := item (',' item)*                 commas inside brackets belong to them
//   item   := word? (group word?)+ | word      word: [A-Za-z0-9._-]+
//   group  := '[' range (',' range)* ']'       no nesting
//   range  := N | N '-' M                      decimal, at most 9 digits, N <= M
//
// "node[1-3,7],gpu[01-02],login" is node1 node2 node3 node7 gpu01 gpu02 login. A number
// keeps the width of its range's lower bound ("[01-10]": 01 ... 10, "[8-10]": 8 9 10).
// Several groups in one item expand as a cartesian product in Slurm's order: with two,
// the leftmost varies slowest ("rack[1-2]n[1-2]": rack1n1 rack1n2 rack2n1 rack2n2); with
// more, the last varies fastest, then the first, the second, ... ("a[1-2]b[1-2]c[1-2]":
// a1b1c1 a1b1c2 a2b1c1 a2b1c2 a1b2c1 a1b2c2 a2b2c1 a2b2c2), as `scontrol show hostnames`
// prints them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::slurm {

// The longest host name accepted, and the most digits a number of a range may have.
inline constexpr size_t kMaxHostName = 64;
inline constexpr size_t kMaxRangeDigits = 9;

// The names of text in its order. EINVAL naming the bad value (or item) for: empty text,
// an empty item or range, unbalanced or nested brackets, a character outside
// [A-Za-z0-9._-] outside brackets or other than digits, '-' and ',' inside them, a range
// whose end is below its start or with a number of more than kMaxRangeDigits digits, a
// name longer than kMaxHostName, more than max_hosts names in all, or a name given twice.
Result<std::vector<std::string>> expand_hostlist(const std::string& text, size_t max_hosts = 4096);

}  // namespace personalnet::slurm
