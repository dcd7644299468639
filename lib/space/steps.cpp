#include "lib/space/steps.hpp"

namespace personalnet::space {

Status StepRunner::run(std::vector<Step> steps) {
    using Clock = std::chrono::steady_clock;
    for (auto& step : steps) {
        auto start = Clock::now();
        Status st = step.run();
        timings_.emplace_back(step.name,
                              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (!st.ok()) {
            // Not swallowed: what an undo left is the caller's to hear of, in one line
            // after the failure itself (as Leftovers joins several).
            if (auto undone = rollback(); !undone.ok())
                return Error{0, st.error().message() + "; " + undone.error().message(), {}};
            return st;
        }
        done_.push_back(std::move(step));
    }
    return {};
}

Status StepRunner::rollback() {
    while (!done_.empty()) {
        Step step = std::move(done_.back());
        done_.pop_back();
        if (!step.undo) continue;
        if (auto st = step.undo(); !st.ok()) {
            done_.clear();
            return st.error().wrap("undo '" + step.name + "'");
        }
    }
    return {};
}

std::vector<std::string> StepRunner::completed() const {
    std::vector<std::string> out;
    for (const auto& s : done_) out.push_back(s.name);
    return out;
}

}  // namespace personalnet::space
