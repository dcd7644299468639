// The creation step runner: order, one timing entry per step run, rollback of the
// completed steps only (newest first, across calls), the failing step's error returned,
// and an undo's failure reported with it.
#include "lib/space/steps.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace pn_unit {
namespace {

using personalnet::make_error;
using personalnet::Status;
using personalnet::space::Step;
using personalnet::space::StepRunner;

class StepsTest : public ::testing::Test {
protected:
    // A step that logs "run NAME" and "undo NAME"; fails to run (or undo) when asked.
    Step step(const std::string& name, bool fail_run = false, bool fail_undo = false) {
        return Step{name,
                    [this, name, fail_run]() -> Status {
                        log_.push_back("run " + name);
                        if (fail_run) return make_error(EIO, "run " + name);
                        return {};
                    },
                    [this, name, fail_undo]() -> Status {
                        log_.push_back("undo " + name);
                        if (fail_undo) return make_error(EBUSY, "undo " + name);
                        return {};
                    }};
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, ms] : timings_) {
            EXPECT_GE(ms, 0.0) << name;
            out.push_back(name);
        }
        return out;
    }
    StepRunner::Timings timings_;
    std::vector<std::string> log_;
};

TEST_F(StepsTest, RunsInOrderAndTimesEachStep) {
    StepRunner runner(timings_);
    ASSERT_TRUE(runner.run({step("a"), step("b"), step("c")}).ok());
    EXPECT_EQ(log_, (std::vector<std::string>{"run a", "run b", "run c"}));
    EXPECT_EQ(names(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(runner.completed(), (std::vector<std::string>{"a", "b", "c"}));
}

// The CPU each step used, beside its wall time: a step that sleeps waits (CPU near 0), one
// that spins does not (CPU near its wall time). What make bench's wait row is made of.
TEST_F(StepsTest, CountsEachStepsCpuBesideItsWallTime) {
    StepRunner::Timings cpu;
    StepRunner runner(timings_, &cpu);
    Step sleeps{"sleeps",
                [] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(60));
                    return Status{};
                },
                {}};
    Step spins{"spins",
               [] {
                   const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(60);
                   volatile unsigned n = 0;
                   while (std::chrono::steady_clock::now() < end) n = n + 1;
                   return Status{};
               },
               {}};
    ASSERT_TRUE(runner.run({sleeps, spins}).ok());
    ASSERT_EQ(cpu.size(), 2u);
    EXPECT_EQ(cpu[0].first, "sleeps");
    EXPECT_EQ(cpu[1].first, "spins");
    EXPECT_GE(timings_[0].second, 60.0);
    EXPECT_LT(cpu[0].second, 20.0) << "a sleeping step waits";
    // Spinning on a shared core may be preempted: most of its wall time, not all of it.
    EXPECT_GT(cpu[1].second, timings_[1].second / 3) << "a spinning step computes";
}

TEST_F(StepsTest, FailureUndoesTheCompletedStepsNewestFirstAndReturnsItsError) {
    StepRunner runner(timings_);
    auto st = runner.run({step("a"), step("b"), step("c", true), step("d")});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, EIO);
    EXPECT_EQ(st.error().message(), make_error(EIO, "run c").message()) << "the step's error, unchanged";
    // The failing step is not undone (its partial work is its first step's undo's), the
    // one after it never runs.
    EXPECT_EQ(log_, (std::vector<std::string>{"run a", "run b", "run c", "undo b", "undo a"}));
    EXPECT_EQ(names(), (std::vector<std::string>{"a", "b", "c"})) << "the failed step is timed too";
    EXPECT_TRUE(runner.completed().empty());
}

TEST_F(StepsTest, RollbackCoversEarlierCallsAndStepsWithoutUndo) {
    StepRunner runner(timings_);
    ASSERT_TRUE(runner.run({step("a")}).ok());
    Step quiet{"quiet",
               [this]() -> Status {
                   log_.push_back("run quiet");
                   return {};
               },
               {}};
    ASSERT_TRUE(runner.run({std::move(quiet), step("b")}).ok());
    EXPECT_FALSE(runner.run({step("c", true)}).ok());
    EXPECT_EQ(log_, (std::vector<std::string>{"run a", "run quiet", "run b", "run c", "undo b", "undo a"}));
}

TEST_F(StepsTest, AnUndoFailureIsReportedAndStopsTheRollback) {
    StepRunner runner(timings_);
    auto st = runner.run({step("a"), step("b", false, true), step("c"), step("d", true)});
    ASSERT_FALSE(st.ok());
    // a's undo would run after b's: it may need what b's undo failed to remove gone.
    EXPECT_EQ(log_, (std::vector<std::string>{"run a", "run b", "run c", "run d", "undo c", "undo b"}));
    const std::string msg = st.error().message();
    EXPECT_NE(msg.find("run d"), std::string::npos) << msg;
    EXPECT_NE(msg.find("undo 'b': undo b"), std::string::npos) << "not swallowed: " << msg;
    EXPECT_TRUE(runner.completed().empty());
}

TEST_F(StepsTest, ExplicitRollback) {
    StepRunner runner(timings_);
    ASSERT_TRUE(runner.run({step("a"), step("b")}).ok());
    EXPECT_TRUE(runner.rollback().ok());
    EXPECT_EQ(log_, (std::vector<std::string>{"run a", "run b", "undo b", "undo a"}));
    EXPECT_TRUE(runner.rollback().ok()) << "nothing left to undo";
    EXPECT_EQ(log_.size(), 4u);
}

}  // namespace
}  // namespace pn_unit
