// Creation as a list of named steps, each with its undo. The runner runs them in order,
// times each one (the breakdown `mkportspace` prints with PERSONALNET_TIMING=1 and
// bench/run-bench parses, so a step's name is part of that output), and when one fails
// undoes the steps completed so far, newest first, and returns the failing step's error.
//
// The runner's undo is for a failure inside this process. Crash safety is the record's:
// creation writes it before any kernel object exists, and gc undoes a killed creation
// through it (destroy_state), never through this list.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::space {

struct Step {
    std::string name;  // also its line in the timing breakdown
    std::function<Status()> run;
    std::function<Status()> undo;  // empty: nothing of the step outlives a failure
};

// CPU time so far, in ms: every thread of this process, and the children it has reaped.
double cpu_ms_so_far();

class StepRunner {
public:
    using Timings = std::vector<std::pair<std::string, double>>;
    // Each step's wall time in ms goes to out, and its CPU time (this process's threads and
    // the children it reaped meanwhile) to cpu when given: wall minus CPU is waiting.
    explicit StepRunner(Timings& out, Timings* cpu = nullptr) : timings_(out), cpu_(cpu) {}

    // Runs the steps in order, after those of earlier calls. On the first failure, undoes
    // every completed step (of this call and earlier ones) and returns that step's error,
    // with the undo's failure, if one failed, added to its text.
    Status run(std::vector<Step> steps);

    // Undoes the completed steps, newest first, and forgets them. It stops at the first
    // undo that fails: an earlier step's undo may need what that one should have removed
    // gone first (or, for a lock, taken again). What is left is still named in the record,
    // for a retry by destroy or gc.
    Status rollback();

    // The names of the completed steps, oldest first: how far creation got.
    std::vector<std::string> completed() const;

private:
    Timings& timings_;
    Timings* cpu_;
    std::vector<Step> done_;
};

}  // namespace personalnet::space
