// What an undo could not remove. Destroy and gc go on with the other steps after one
// fails (each removes something different), so the caller learns of every piece left
// behind at once, and they succeed only when nothing is.
#pragma once

#include <string>
#include <vector>

#include "personalnet/error.hpp"

namespace personalnet::space {

class Leftovers {
public:
    // Notes st's failure, if any, under what ("remove rule 10 of pn0011h").
    void note(const Status& st, const std::string& what) {
        if (!st.ok()) failures_.push_back(st.error().wrap(what));
    }
    bool empty() const { return failures_.empty(); }
    // Success when nothing was left; else the one failure, or every failure's message in
    // one line (the first one's errno).
    Status result() const {
        if (failures_.empty()) return {};
        if (failures_.size() == 1) return failures_.front();
        std::string all;
        for (const auto& e : failures_) all += (all.empty() ? "" : "; ") + e.message();
        return Error{0, all, {}};
    }

private:
    std::vector<Error> failures_;
};

}  // namespace personalnet::space
