// Slurm hostlist expressions (lib/slurm/hostlist): expanded as `scontrol show hostnames`
// does, in order, zero padding kept, several bracket groups as a cartesian product; and
// every malformed, oversized or repeated list refused with an error naming the value.
#include "lib/slurm/hostlist.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pn_unit {
namespace {

namespace ps = personalnet::slurm;
using Names = std::vector<std::string>;

Names expand(const std::string& text, size_t max_hosts = 4096) {
    auto r = ps::expand_hostlist(text, max_hosts);
    EXPECT_TRUE(r.ok()) << text << ": " << r.error().message();
    return r.ok() ? r.value() : Names{};
}

// text is refused with EINVAL and a message containing "hostlist: " + message.
void expect_refused(const std::string& text, const std::string& message, size_t max_hosts = 4096) {
    auto r = ps::expand_hostlist(text, max_hosts);
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_EQ(r.error().code, EINVAL) << text;
    EXPECT_NE(r.error().message().find("hostlist: " + message), std::string::npos)
        << text << " gave: " << r.error().message();
}

TEST(Hostlist, ExpandsInOrder) {
    EXPECT_EQ(expand("node[1-3,7],gpu[01-02],login"),
              (Names{"node1", "node2", "node3", "node7", "gpu01", "gpu02", "login"}));
    EXPECT_EQ(expand("login"), (Names{"login"}));
    EXPECT_EQ(expand("node01"), (Names{"node01"}));
    EXPECT_EQ(expand("a.b_c-D9"), (Names{"a.b_c-D9"}));
    EXPECT_EQ(expand("n[5]"), (Names{"n5"}));
    // The expression's order, not sorted.
    EXPECT_EQ(expand("b,a[3,1-2],c"), (Names{"b", "a3", "a1", "a2", "c"}));
    // Commas inside brackets belong to them.
    EXPECT_EQ(expand("n[1,3,5-6],m"), (Names{"n1", "n3", "n5", "n6", "m"}));
    // An empty prefix, as Slurm allows.
    EXPECT_EQ(expand("[1-3]"), (Names{"1", "2", "3"}));
}

TEST(Hostlist, ZeroPaddingIsTheLowerBoundsWidth) {
    EXPECT_EQ(expand("n[01-10]"),
              (Names{"n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10"}));
    EXPECT_EQ(expand("n[8-10]"), (Names{"n8", "n9", "n10"}));
    EXPECT_EQ(expand("n[008-010]"), (Names{"n008", "n009", "n010"}));
    EXPECT_EQ(expand("n[098-101]"), (Names{"n098", "n099", "n100", "n101"}));
    EXPECT_EQ(expand("n[0]"), (Names{"n0"}));
    EXPECT_EQ(expand("n[00-01]"), (Names{"n00", "n01"}));
    // The width is the lower bound's, each range's own.
    EXPECT_EQ(expand("n[1-02]"), (Names{"n1", "n2"}));
    EXPECT_EQ(expand("n[01,2,003]"), (Names{"n01", "n2", "n003"}));
    // Nine digits, padded or not.
    EXPECT_EQ(expand("n[999999998-999999999]"), (Names{"n999999998", "n999999999"}));
    EXPECT_EQ(expand("n[000000001]"), (Names{"n000000001"}));
}

TEST(Hostlist, SuffixesAndSeveralGroups) {
    EXPECT_EQ(expand("rack[1-2]-ib"), (Names{"rack1-ib", "rack2-ib"}));
    EXPECT_EQ(expand("a[1]b"), (Names{"a1b"}));
    // Two groups: the leftmost varies slowest.
    EXPECT_EQ(expand("rack[1-2]n[1-3]"),
              (Names{"rack1n1", "rack1n2", "rack1n3", "rack2n1", "rack2n2", "rack2n3"}));
    EXPECT_EQ(expand("[1-2][3-4]"), (Names{"13", "14", "23", "24"}));
    EXPECT_EQ(expand("rack[1-2]n[1-2]-ib,x"),
              (Names{"rack1n1-ib", "rack1n2-ib", "rack2n1-ib", "rack2n2-ib", "x"}));
    // More: the last varies fastest, then the first, the second, ... (what scontrol prints).
    EXPECT_EQ(expand("a[1-2]b[1-2]c[1-2]"),
              (Names{"a1b1c1", "a1b1c2", "a2b1c1", "a2b1c2", "a1b2c1", "a1b2c2", "a2b2c1", "a2b2c2"}));
    EXPECT_EQ(expand("r[1-2]c[01,03]n[7]-ib"),
              (Names{"r1c01n7-ib", "r2c01n7-ib", "r1c03n7-ib", "r2c03n7-ib"}));
    EXPECT_EQ(expand("a[1-2]b[1-2]c[1-2]d[1-2]"),
              (Names{"a1b1c1d1", "a1b1c1d2", "a2b1c1d1", "a2b1c1d2", "a1b2c1d1", "a1b2c1d2", "a2b2c1d1",
                     "a2b2c1d2", "a1b1c2d1", "a1b1c2d2", "a2b1c2d1", "a2b1c2d2", "a1b2c2d1", "a1b2c2d2",
                     "a2b2c2d1", "a2b2c2d2"}));
}

TEST(Hostlist, NamesUpTo64Characters) {
    const std::string p62(62, 'p'), p63(63, 'p'), p64(64, 'p'), p65(65, 'p');
    EXPECT_EQ(expand(p64), (Names{p64}));
    EXPECT_EQ(expand(p62 + "[9-10]"), (Names{p62 + "9", p62 + "10"}));
    EXPECT_EQ(expand(p62.substr(1) + "[1]-x"), (Names{p62.substr(1) + "1-x"}));
    expect_refused(p65, "'" + p65 + "': host names longer than 64 characters");
    // The longest name counts: p63 + "1" would fit, p63 + "10" does not.
    expect_refused(p63 + "[1-10]", "'" + p63 + "[1-10]': host names longer than 64 characters");
    expect_refused(p62 + "[001]", "'" + p62 + "[001]': host names longer than 64 characters");
    expect_refused("a,b" + p63 + "[1]x", "'b" + p63 + "[1]x': host names longer than 64 characters");
    expect_refused("a[1][2]" + p62, "'a[1][2]" + p62 + "': host names longer than 64 characters");
}

TEST(Hostlist, AtMostMaxHosts) {
    EXPECT_EQ(expand("n[1-4096]").size(), 4096u);
    EXPECT_EQ(expand("a,b,c", 3), (Names{"a", "b", "c"}));
    EXPECT_EQ(expand("a[1-2]b[1-3]", 6).size(), 6u);
    expect_refused("n[1-4097]", "'n[1-4097]': more than 4096 hosts in the list");
    expect_refused("n[1-4000],m[1-97]", "'m[1-97]': more than 4096 hosts in the list");
    expect_refused("a,b,c", "'c': more than 2 hosts in the list", 2);
    expect_refused("a", "'a': more than 0 hosts in the list", 0);
    expect_refused("a[1-2]b[1-3]", "'a[1-2]b[1-3]': more than 5 hosts in the list", 5);
    expect_refused("n[1-2000,2001-4097]", "'n[1-2000,2001-4097]': more than 4096 hosts in the list");
    expect_refused("a[1-100]b[1-100]", "'a[1-100]b[1-100]': more than 4096 hosts in the list");

    // Refused before anything is made, even where the product would overflow 64 bits.
    const auto start = std::chrono::steady_clock::now();
    expect_refused("node[1-999999999]", "'node[1-999999999]': more than 4096 hosts in the list");
    expect_refused("a[1-999999999]b[1-999999999]c[1-999999999]",
                   "'a[1-999999999]b[1-999999999]c[1-999999999]': more than 18446744073709551615 hosts",
                   SIZE_MAX);
    expect_refused("a[1-999999999,1-999999999]", "'a[1-999999999,1-999999999]': more than 1000000000 hosts",
                   1000000000);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(Hostlist, RefusesMalformedLists) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "'' names no host"},
        // Empty items.
        {"a,,b", "'a,,b' has an empty item"},
        {",a", "',a' has an empty item"},
        {"a,", "'a,' has an empty item"},
        {",", "',' has an empty item"},
        // Unbalanced and nested brackets.
        {"a[1-2", "'a[1-2': '[' is not closed"},
        {"a[1,b", "'a[1,b': '[' is not closed"},
        {"a[1],b[2", "'b[2': '[' is not closed"},
        {"[", "'[': '[' is not closed"},
        {"a]", "'a]': ']' closes no '['"},
        {"a[1]]", "'a[1]]': ']' closes no '['"},
        {"a[1-2],b]", "'b]': ']' closes no '['"},
        {"]a[1]", "']a[1]': ']' closes no '['"},
        {"a[1[2]]", "'a[1[2]]': brackets are nested"},
        {"a[[1]]", "'a[[1]]': brackets are nested"},
        // Empty ranges.
        {"a[]", "'a[]': empty range"},
        {"a[1,]", "'a[1,]': empty range"},
        {"a[,1]", "'a[,1]': empty range"},
        {"a[1,,2]", "'a[1,,2]': empty range"},
        {"a[1]b[]", "'a[1]b[]': empty range"},
        // Anything but digits in a range.
        {"a[x]", "'a[x]': 'x' is not a valid range"},
        {"a[1-x]", "'a[1-x]': '1-x' is not a valid range"},
        {"a[-1]", "'a[-1]': '-1' is not a valid range"},
        {"a[1-]", "'a[1-]': '1-' is not a valid range"},
        {"a[-]", "'a[-]': '-' is not a valid range"},
        {"a[1--2]", "'a[1--2]': '1--2' is not a valid range"},
        {"a[1-2-3]", "'a[1-2-3]': '1-2-3' is not a valid range"},
        {"a[+1]", "'a[+1]': '+1' is not a valid range"},
        {"a[ 1]", "'a[ 1]': ' 1' is not a valid range"},
        {"a[1x2]", "'a[1x2]': '1x2' is not a valid range"},
        {"a[0x1]", "'a[0x1]': '0x1' is not a valid range"},
        {"a[1,b]", "'a[1,b]': 'b' is not a valid range"},
        {"a[\xd9\xa1]", "'a[\xd9\xa1]': '\xd9\xa1' is not a valid range"},  // ARABIC-INDIC DIGIT ONE
        // Ranges that end before they start.
        {"node[3-1]", "'node[3-1]': '3-1' is not a valid range: it ends before it starts"},
        {"n[1,10-09]", "'n[1,10-09]': '10-09' is not a valid range: it ends before it starts"},
        // Numbers of more than 9 digits, leading zeros included.
        {"a[1234567890]", "'a[1234567890]': '1234567890' is not a valid range: more than 9 digits"},
        {"a[1-1234567890]", "'a[1-1234567890]': '1-1234567890' is not a valid range: more than 9 digits"},
        {"a[0000000001]", "'a[0000000001]': '0000000001' is not a valid range: more than 9 digits"},
        {"a[99999999999999999999999]",
         "'a[99999999999999999999999]': '99999999999999999999999' is not a valid range: more than 9 digits"},
        // Characters no host name has, outside brackets; control characters shown escaped.
        {"a b", "'a b': ' ' is not allowed in a host name"},
        {"a, b", "' b': ' ' is not allowed in a host name"},
        {"a/b", "'a/b': '/' is not allowed in a host name"},
        {"../x", "'../x': '/' is not allowed in a host name"},
        {"a*", "'a*': '*' is not allowed in a host name"},
        {"a\tb", "'a\\x09b': '\\x09' is not allowed in a host name"},
        {"a\nb", "'a\\x0ab': '\\x0a' is not allowed in a host name"},
        {std::string("a\0b", 3), "'a\\x00b': '\\x00' is not allowed in a host name"},
        {"n\xc3\xa9", "'n\xc3\xa9': '\xc3' is not allowed in a host name"},
        {"a[1]:b", "'a[1]:b': ':' is not allowed in a host name"},
        {"$(id)", "'$(id)': '$' is not allowed in a host name"},
    };
    for (const auto& [text, message] : cases) expect_refused(text, message);
}

TEST(Hostlist, RefusesDuplicates) {
    expect_refused("a,a", "'a' is named twice");
    expect_refused("node[1-3],node2", "'node2' is named twice");
    expect_refused("n[1,1]", "'n1' is named twice");
    expect_refused("n[1-3,2]", "'n2' is named twice");
    expect_refused("a1,a[1]", "'a1' is named twice");
    expect_refused("r[1-2]n[1,1]", "'r1n1' is named twice");
    expect_refused("[1-2][2],12", "'12' is named twice");
    // The first name seen twice, in the list's order.
    expect_refused("a,b,b,a", "'b' is named twice");
    // Different texts are different hosts, whatever their numbers.
    EXPECT_EQ(expand("n[1],n[01],n001"), (Names{"n1", "n01", "n001"}));
}

TEST(Hostlist, LongValuesAreCutInMessages) {
    const std::string junk = std::string(150, 'x') + "/";
    auto r = ps::expand_hostlist(junk);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("hostlist: '" + std::string(100, 'x') + "...': '/' is not allowed"),
              std::string::npos)
        << r.error().message();
    EXPECT_LT(r.error().message().size(), 200u);
}

}  // namespace
}  // namespace pn_unit
