#include "lib/core/kernel.hpp"

#include <sys/utsname.h>

#include <cstdio>

namespace personalnet::sys {

bool kernel_at_least(const std::string& release, int major, int minor) {
    int have_major = 0, have_minor = 0;
    if (std::sscanf(release.c_str(), "%d.%d", &have_major, &have_minor) != 2) return true;
    return have_major != major ? have_major > major : have_minor >= minor;
}

Status require_supported_kernel() {
    static const Status verdict = []() -> Status {
        struct utsname u {};
        if (::uname(&u) != 0) return {};  // cannot tell: the features' own errors will say
        if (kernel_at_least(u.release, kMinKernelMajor, kMinKernelMinor)) return {};
        return make_error(0, "personalnet needs Linux " + std::to_string(kMinKernelMajor) + "." +
                                 std::to_string(kMinKernelMinor) + " or later; this kernel is " + u.release);
    }();
    return verdict;
}

}  // namespace personalnet::sys
