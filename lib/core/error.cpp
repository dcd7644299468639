#include "personalnet/error.hpp"

#include <cstring>

namespace personalnet {

std::string Error::message() const {
    std::string m = context;
    if (code != 0) {
        m += m.empty() ? "" : ": ";
        m += std::strerror(code);
    }
    if (!extack.empty()) m += " (" + extack + ")";
    return m;
}

Error errno_error(const std::string& context) { return Error{errno, context, {}}; }

Error make_error(int code, const std::string& context) { return Error{code, context, {}}; }

}  // namespace personalnet
