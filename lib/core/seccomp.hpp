// A seccomp filter that keeps a command in a space from typing into the terminal it was
// started from: ioctl(fd, TIOCSTI, ...) (push a byte into the terminal's input, which the
// outer shell reads once the space ends) and ioctl(fd, TIOCLINUX, ...) (the virtual
// console's selection paste, the same thing by another name) fail with EPERM. Everything
// else is allowed: job control, ^C, window size and every other ioctl are untouched.
//
// The filter is classic BPF written by hand (no libseccomp): it checks the architecture
// (x86-64 and its i386 and x32 ABIs; AArch64 and its 32-bit ARM ABI), the system call
// number of ioctl in each, and the low 32 bits of its second argument (the kernel reads
// the command as an unsigned int). An architecture it does not know kills the process.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace personalnet::seccomp {

class TtyFilter {
public:
    // Built before fork(): install() only makes system calls.
    TtyFilter();
    TtyFilter(const TtyFilter&) = delete;
    TtyFilter& operator=(const TtyFilter&) = delete;

    // In the process about to exec: installs the filter on the calling thread (inherited
    // by every child and kept across exec). Needs no_new_privs or CAP_SYS_ADMIN; root's
    // own commands are installed with the capability and keep set-uid programs working.
    // Returns 0 or the errno of seccomp(2). Async-signal-safe.
    int install() const noexcept;

    const std::vector<sock_filter>& program() const { return insns_; }

private:
    std::vector<sock_filter> insns_;
    sock_fprog prog_{};
};

}  // namespace personalnet::seccomp
