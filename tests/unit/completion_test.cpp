// The bash completion (completions/personalnet): sourced in a fresh bash with the words
// of a command line in COMP_WORDS, the function `complete` registered for the command
// must leave the expected words in COMPREPLY.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/kernel_helpers.hpp"

namespace {

// Sources the completion, stands a shell function in for `pnet list` (two named spaces
// and an unnamed one), completes the last of `words` and prints COMPREPLY, one a line.
// The script and the words are bash's arguments, never spliced into its text.
constexpr const char* kScript = R"(
source "$1" || exit 3
shift
pnet() { printf 'NAME                 LABEL\nwork 0011\nanon-0012 0012\nweb 0013\n'; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
read -r _ _ fn _ < <(complete -p "$1") || exit 4
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}"
)";

class Completion : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pn-completion-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::ofstream(dir_ + "/corp.conf") << "";
        std::ofstream(dir_ + "/home.conf") << "";
        std::ofstream(dir_ + "/notes.txt") << "";
        ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0755), 0);
    }
    void TearDown() override { pn_unit::run({"/bin/rm", "-rf", dir_}); }

    // COMPREPLY for `words` (the last one is being completed), one a line, in order.
    std::string complete(const std::vector<std::string>& words) {
        std::vector<std::string> argv = {"/usr/bin/env", "PERSONALNET_OVERLAYDIR=" + dir_,
                                         "/bin/bash",    "--norc",
                                         "--noprofile",  "-c",
                                         kScript,        "bash",
                                         PN_COMPLETION};
        argv.insert(argv.end(), words.begin(), words.end());
        std::string out;
        std::string err = pn_unit::run(argv, &out);
        EXPECT_EQ(err, "");
        return out;
    }

    std::string dir_;
};

TEST_F(Completion, MkportspaceCompletesItsOptions) {
    EXPECT_EQ(complete({"mkportspace", "--ad"}), "--admin\n");
    EXPECT_EQ(complete({"mkportspace", "--no-inherit-"}), "--no-inherit-routes\n--no-inherit-services\n");
    EXPECT_EQ(complete({"mkportspace", "--fs-backend", "k"}), "kernel\n");
    EXPECT_EQ(complete({"mkportspace", "--dispatch", "b"}), "bpf\n");
    EXPECT_EQ(complete({"mkportspace", "--pub"}), "--publish\n");
    EXPECT_EQ(complete({"mkportspace", "--publish", "u"}), "udp/\n");
    // A port is no command: the next word is an option again.
    EXPECT_EQ(complete({"mkportspace", "--publish", "tcp/8080", "--pr"}), "--private-tmp\n");
    // bash splits "--file-space=n" at the '=' (COMP_WORDBREAKS).
    EXPECT_EQ(complete({"mkportspace", "--file-space", "=", "n"}), "none\n");
    EXPECT_EQ(complete({"mkportspace", "--file-space", "="}), "overlay\nnone\n");
}

TEST_F(Completion, MkportspaceCompletesNamesOverlaysAndPaths) {
    EXPECT_EQ(complete({"mkportspace", "--name", "w"}), "work\nweb\n");
    EXPECT_EQ(complete({"mkportspace", "-q", "-n", ""}), "work\nweb\n") << "unnamed spaces cannot be joined";
    EXPECT_EQ(complete({"mkportspace", "--overlay", ""}), "corp\nhome\n");
    EXPECT_EQ(complete({"mkportspace", "--share", dir_ + "/"}), dir_ + "/sub\n");
    EXPECT_EQ(complete({"mkportspace", "--resolv-conf", dir_ + "/n"}), dir_ + "/notes.txt\n");
}

TEST_F(Completion, MkportspaceCompletesTheCommandAfterItsOptions) {
    EXPECT_TRUE(pn_unit::has(complete({"mkportspace", "--", "bas"}), "bash\n"));
    EXPECT_TRUE(pn_unit::has(complete({"mkportspace", "--name", "work", "bas"}), "bash\n"));
    // Past the command, its own options are not mkportspace's.
    EXPECT_EQ(complete({"mkportspace", "bash", "--ad"}), "");
}

TEST_F(Completion, PnetCompletesSubcommandsAndSpaceNames) {
    EXPECT_EQ(complete({"pnet", "sh"}), "show\n");
    EXPECT_EQ(complete({"pnet", "d"}), "destroy\ndiff\n");
    EXPECT_EQ(complete({"pnet", "--v"}), "--version\n");
    EXPECT_EQ(complete({"pnet", "show", ""}), "work\nanon-0012\nweb\n");
    EXPECT_EQ(complete({"pnet", "destroy", "--k"}), "--keep-files\n");
    EXPECT_EQ(complete({"pnet", "destroy", "we"}), "web\n");
    EXPECT_EQ(complete({"pnet", "diff", ""}), "work\nweb\n");
    EXPECT_EQ(complete({"pnet", "exec", "wo"}), "work\n");
    EXPECT_TRUE(pn_unit::has(complete({"pnet", "exec", "work", "--", "bas"}), "bash\n"));
    EXPECT_EQ(complete({"pnet", "list", "--"}), "--json\n");
}

}  // namespace
