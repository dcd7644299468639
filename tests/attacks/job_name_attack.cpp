// A user who squats a batch job's space name (issue 19): the Slurm plugin names a job's
// space on each node "job-<id>", and job ids are predictable. A user's own job-<id> space
// there would make that job fail on the node (another user's) or start it on what the
// user left behind (their own). The helper refuses every such name from a user.
#include <string>

#include "lib/helper/channel.hpp"
#include "lib/helper/request.hpp"
#include "tests/attacks/attack.hpp"

namespace pntest {
namespace {

namespace helper = personalnet::helper;

class JobNameAttack : public AttackTest {};

TEST_F(JobNameAttack, AUserCannotMakeAJobsSpace) {
    const std::string before = A().snapshot();
    for (const char* name : {"job-1", "job-4711", "job-x"}) {
        helper::Request r;
        r.op = helper::Op::create;
        r.spec.name = name;
        r.spec.file_space = false;
        const std::string answer = ask_helper_raw(kAlice, helper::encode(helper::to_message(r)));
        EXPECT_TRUE(contains(answer, "names starting with 'job-' are reserved for batch jobs"))
            << name << ": " << answer;
        EXPECT_EQ(A().snapshot(), before) << name;
    }
}

}  // namespace
}  // namespace pntest
