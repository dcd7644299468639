#include "lib/space/steps.hpp"

#include <sys/resource.h>

namespace personalnet::space {

double cpu_ms_so_far() {
    double total = 0;
    for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
        struct rusage ru {};
        if (::getrusage(who, &ru) != 0) continue;
        for (const timeval& tv : {ru.ru_utime, ru.ru_stime})
            total += static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
    }
    return total;
}

Status StepRunner::run(std::vector<Step> steps) {
    using Clock = std::chrono::steady_clock;
    for (auto& step : steps) {
        auto start = Clock::now();
        const double cpu_start = cpu_ != nullptr ? cpu_ms_so_far() : 0;
        Status st = step.run();
        timings_.emplace_back(step.name,
                              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        if (cpu_ != nullptr) cpu_->emplace_back(step.name, cpu_ms_so_far() - cpu_start);
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
